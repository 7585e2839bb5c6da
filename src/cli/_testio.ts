import { PassThrough, Writable } from 'node:stream';
import type { IO } from './session.js';

/*
 * For command tests: streams in memory, so a command function (or main()) runs without a
 * process and its output is read back as text.
 */

export interface MemoryIO {
  io: IO;
  /** What was written to stdout so far. */
  stdout(): string;
  stderr(): string;
}

function sink(chunks: string[], tty: boolean): Writable & { isTTY?: boolean } {
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return Object.assign(w, { isTTY: tty || undefined });
}

/** In-memory stdin (ended at once unless `input` is left open), stdout and stderr; `tty` marks stdout as a terminal. */
export function memoryIO(opts: { input?: string; tty?: boolean } = {}): MemoryIO {
  const out: string[] = [];
  const err: string[] = [];
  const stdin = new PassThrough();
  stdin.end(opts.input ?? '');
  return { io: { stdin, stdout: sink(out, Boolean(opts.tty)), stderr: sink(err, false) }, stdout: () => out.join(''), stderr: () => err.join('') };
}
