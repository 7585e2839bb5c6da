import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { LARGE_READ } from '../util/index.js';
import { SourceRestarted, type LiveSource } from './image-store.js';

/**
 * A file one writer appends to while readers follow it: a layer blob extracts as it downloads,
 * instead of after. A follower ends only once the writer says the whole is good (its digest
 * verified), and fails with the writer's error, so nothing it fed is taken for a whole layer
 * before then.
 */
export class GrowingFile implements LiveSource {
  readonly path: string;
  /** Resolves when the writer finishes, rejects with its failure. */
  readonly whole: Promise<void>;
  readonly #what: string;
  #size = 0;
  #generation = 0;
  #end: { error?: Error } | undefined;
  readonly #waiters = new Set<() => void>();
  readonly #settle: { resolve: () => void; reject: (err: Error) => void };

  constructor(path: string, what: string) {
    this.path = path;
    this.#what = what;
    let settle!: { resolve: () => void; reject: (err: Error) => void };
    this.whole = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    this.whole.catch(() => {});
    this.#settle = settle;
  }

  /** Bumps each time the writer starts the file over. */
  get generation(): number {
    return this.#generation;
  }

  /** The first `size` bytes are written and may be read. */
  grew(size: number): void {
    this.#size = size;
    this.#wake();
  }

  /** The writer truncated the file to write it again: followers fail with SourceRestarted. */
  restarted(): void {
    this.#generation++;
    this.#size = 0;
    this.#wake();
  }

  finish(): void {
    this.#end = {};
    this.#settle.resolve();
    this.#wake();
  }

  fail(error: Error): void {
    this.#end = { error };
    this.#settle.reject(error);
    this.#wake();
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  /** The file from its start, as it grows. */
  follow(): Readable {
    const generation = this.#generation;
    let pos = 0;
    let fh: FileHandle | undefined;
    let pumping = false;
    const pump = async (): Promise<void> => {
      if (pumping || out.destroyed) return;
      pumping = true;
      try {
        for (;;) {
          if (this.#generation !== generation) throw new SourceRestarted(this.#what);
          if (pos < this.#size) {
            if (!fh) {
              const opened = await open(this.path, 'r');
              if (out.destroyed) {
                await opened.close();
                return;
              }
              fh = opened;
            }
            const want = Math.min(LARGE_READ, this.#size - pos);
            const { bytesRead, buffer } = await fh.read(Buffer.allocUnsafe(want), 0, want, pos);
            if (out.destroyed) return;
            if (bytesRead === 0) throw new Error(`${this.#what}: ${this.path} is shorter than written`);
            pos += bytesRead;
            if (!out.push(buffer.subarray(0, bytesRead))) return;
            continue;
          }
          if (this.#end?.error) throw this.#end.error;
          if (this.#end) {
            out.push(null);
            return;
          }
          this.#waiters.add(wake);
          return;
        }
      } catch (err) {
        out.destroy(err as Error);
      } finally {
        pumping = false;
      }
    };
    const wake = () => void pump();
    const out = new Readable({
      highWaterMark: LARGE_READ,
      read: () => void pump(),
      destroy: (err, cb) => {
        this.#waiters.delete(wake);
        const closing = fh?.close() ?? Promise.resolve();
        closing.then(
          () => cb(err),
          () => cb(err),
        );
      },
    });
    return out;
  }
}
