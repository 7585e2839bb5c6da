import type { Readable } from 'node:stream';
import type { ProgressMessage } from '../types/index.js';

/** Which of the container's streams a demultiplexed frame belongs to (byte 0 of the header). */
export type StreamId = 0 | 1 | 2;

const HEADER = 8;

/**
 * Splits Docker's multiplexed stream (used when the container has no TTY): each frame is an
 * 8-byte header — stream id in byte 0, three zero bytes, big-endian payload length in bytes
 * 4-7 — then the payload. Frames may arrive split across chunks or several in one chunk.
 */
export class Demuxer {
  #pending: Buffer = Buffer.alloc(0);

  constructor(readonly onFrame: (stream: StreamId, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    let buf = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    while (buf.length >= HEADER) {
      const len = buf.readUInt32BE(4);
      if (buf.length < HEADER + len) break;
      const id = buf[0];
      if (len > 0) this.onFrame(id === 2 ? 2 : id === 0 ? 0 : 1, buf.subarray(HEADER, HEADER + len));
      buf = buf.subarray(HEADER + len);
    }
    // Copy so a retained tail doesn't pin the whole (possibly large) chunk.
    this.#pending = Buffer.from(buf);
  }

  /** Bytes of an unfinished frame left when the stream ended. */
  get leftover(): number {
    return this.#pending.length;
  }
}

/** Sinks for demultiplexed output; stdin frames (id 0) go to stdout as docker's stdcopy does. */
export interface OutputSinks {
  stdout(b: Buffer): void;
  stderr(b: Buffer): void;
}

/** Demultiplexes `input` into the sinks; resolves when the input ends or closes. */
export function demux(input: Readable, out: OutputSinks): Promise<void> {
  const d = new Demuxer((id, payload) => (id === 2 ? out.stderr(payload) : out.stdout(payload)));
  return new Promise((resolve, reject) => {
    input.on('data', (chunk: Buffer) => d.push(chunk));
    input.once('end', resolve);
    input.once('close', resolve);
    input.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve() : reject(err)));
  });
}

/** Copies a raw (TTY) stream into one sink; resolves when it ends. */
export function copyRaw(input: Readable, write: (b: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    input.on('data', (chunk: Buffer) => write(chunk));
    input.once('end', resolve);
    input.once('close', resolve);
    input.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve() : reject(err)));
  });
}

/**
 * Yields each JSON value of a newline-delimited JSON stream (events, progress). `prepare` may
 * rewrite a line before it is parsed (to keep a number JSON.parse would round, as a string).
 */
export async function* jsonLines<T = unknown>(input: AsyncIterable<Buffer | string>, prepare: (line: string) => string = (l) => l): AsyncGenerator<T> {
  let rest = '';
  for await (const chunk of input) {
    rest += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let nl;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl).trim();
      rest = rest.slice(nl + 1);
      if (line) yield JSON.parse(prepare(line)) as T;
    }
  }
  if (rest.trim()) yield JSON.parse(prepare(rest)) as T;
}

/**
 * Reads a progress stream (load, import, pull) to its end, handing each message that is not an
 * error to `onMessage`. Returns the first error message, since the HTTP status is already 200
 * by the time a streamed operation fails.
 */
export async function readProgress(input: Readable, onMessage: (m: ProgressMessage) => void = () => {}): Promise<string | undefined> {
  let error: string | undefined;
  for await (const m of jsonLines<ProgressMessage>(input)) {
    const msg = m.error ?? m.errorDetail?.message;
    if (msg) error ??= msg;
    else onMessage(m);
  }
  return error;
}

export async function readAll(s: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}
