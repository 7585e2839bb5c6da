import { watch } from 'node:fs';

/** Notices changes in a directory between reset() and next(), so none falls between a check and a wait. */
export class DirWatch {
  #dirty = false;
  #wake: (() => void) | undefined;
  readonly #w: ReturnType<typeof watch> | undefined;

  constructor(dir: string) {
    try {
      this.#w = watch(dir, () => {
        this.#dirty = true;
        this.#wake?.();
      });
      this.#w.on('error', () => {});
    } catch {
      this.#w = undefined;
    }
  }

  reset(): void {
    this.#dirty = false;
  }

  /** Resolves at the next change (at once if one came since reset), after `ms`, or on abort. */
  next(signal: AbortSignal, ms: number): Promise<void> {
    if (this.#dirty || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, this.#w ? ms : Math.min(ms, 100));
      this.#wake = done;
      signal.addEventListener('abort', done);
    });
  }

  close(): void {
    this.#w?.close();
  }
}
