import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DirWatch } from './dirwatch.js';
import type { LogEntry } from './types.js';

/*
 * Container logs are the k8s-file format that conmon writes, one record per line:
 *   2024-05-01T10:00:00.123456789+02:00 stdout F text of the line\n
 * F ends a line; P is a piece of a longer line (conmon adds the newline to the record).
 * Rotation keeps <log>.1 ... <log>.N-1 beside the current file, oldest last.
 */

export interface ReadLogsOptions {
  follow: boolean;
  /** Number of lines from the end; -1 for all. */
  tail: number;
  since?: Date;
  until?: Date;
  stdout: boolean;
  stderr: boolean;
  signal?: AbortSignal;
  /** When following: resolves when the writer is gone for good (the container exited). */
  stopWhen?: Promise<unknown>;
}

/**
 * One record of a log file, as offsets into the buffer read from it: a read of 1,000,000 lines
 * makes one of these per line and nothing else until a line is emitted (#12: making Buffers and
 * strings per line cost more than the rest of the read, most of it in the garbage collector).
 */
interface Record {
  data: Buffer;
  /** The timestamp, conmon's local time with offset, is data[start, tsEnd). */
  start: number;
  tsEnd: number;
  stream: 'stdout' | 'stderr';
  partial: boolean;
  /** The text is data[contentStart, contentEnd). */
  contentStart: number;
  contentEnd: number;
}

const SP = 0x20;
const NL = 0x0a;

// Runs once per log line, so it compares bytes instead of making strings. `end` is past the newline.
function parseRecord(data: Buffer, start: number, end: number): Record | undefined {
  const a = data.indexOf(SP, start);
  if (a < 0 || end < a + 10 || data[a + 7] !== SP) return undefined;
  // "stdout" and "stderr" differ first at their fourth letter.
  if (data[a + 1] !== 0x73 || data[a + 2] !== 0x74 || data[a + 3] !== 0x64) return undefined;
  const fourth = data[a + 4];
  const stream = fourth === 0x6f && data[a + 5] === 0x75 && data[a + 6] === 0x74 ? 'stdout' : fourth === 0x65 && data[a + 5] === 0x72 && data[a + 6] === 0x72 ? 'stderr' : undefined;
  if (!stream) return undefined;
  const partial = data[a + 8] === 0x50; // 'P'
  // A partial record carries a newline conmon added; a full one ends with the line's own.
  return { data, start, tsEnd: a, stream, partial, contentStart: a + 10, contentEnd: partial ? end - 1 : end };
}

/** A log line whose time stays bytes of its record until someone asks for it, which most reads never do. */
class Entry implements LogEntry {
  constructor(
    readonly stream: 'stdout' | 'stderr',
    readonly line: Buffer,
    private readonly ts: { data: Buffer; start: number; tsEnd: number },
  ) {}

  get time(): string {
    return this.ts.data.toString('latin1', this.ts.start, this.ts.tsEnd);
  }
}

/** The last whole second parseLogTime turned into UTC: a log's lines come many to a second. */
let lastSecond = { key: '', ms: 0, iso: '' };

/** conmon's local-time timestamp -> milliseconds and Docker's fixed-width UTC RFC 3339 with nanoseconds. */
export function parseLogTime(ts: string): { ms: number; nano: string } {
  const dot = ts.indexOf('.');
  if (dot < 0) {
    const ms = Date.parse(ts);
    return { ms, nano: new Date(ms).toISOString().slice(0, 19) + '.000000000Z' };
  }
  let end = dot + 1;
  while (end < ts.length && ts.charCodeAt(end) >= 48 && ts.charCodeAt(end) <= 57) end++;
  const frac = ts.slice(dot + 1, end).padEnd(9, '0').slice(0, 9);
  const key = ts.slice(0, dot) + ts.slice(end);
  if (key !== lastSecond.key) {
    const ms = Date.parse(key);
    lastSecond = { key, ms, iso: new Date(ms).toISOString().slice(0, 19) };
  }
  return { ms: lastSecond.ms + Number(frac.slice(0, 3)) + Number(frac.slice(3)) / 1e6, nano: `${lastSecond.iso}.${frac}Z` };
}

/** Splits records into lines (joining partial records), filtering by stream and time. */
class EntryAssembler {
  readonly #pending = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  /** The first record of a line still being joined: its time is the line's. */
  readonly #firstTs: { stdout?: Record; stderr?: Record } = {};
  readonly #since: number;
  readonly #until: number;

  constructor(private readonly opts: ReadLogsOptions) {
    this.#since = opts.since?.getTime() ?? -Infinity;
    this.#until = opts.until?.getTime() ?? Infinity;
  }

  push(rec: Record, out: LogEntry[]): void {
    const parts = this.#pending[rec.stream];
    if (rec.partial) {
      if (parts.length === 0) this.#firstTs[rec.stream] = rec;
      parts.push(rec.data.subarray(rec.contentStart, rec.contentEnd));
      return;
    }
    let line = rec.data.subarray(rec.contentStart, rec.contentEnd);
    let ts: Record = rec;
    if (parts.length) {
      parts.push(line);
      line = Buffer.concat(parts);
      parts.length = 0;
      ts = this.#firstTs[rec.stream] ?? ts;
    }
    this.#emit(rec.stream, ts, line, out);
  }

  /** Lines that never got their end (the process exited mid-line). */
  flush(out: LogEntry[]): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const parts = this.#pending[stream];
      if (parts.length) this.#emit(stream, this.#firstTs[stream]!, Buffer.concat(parts), out);
      parts.length = 0;
    }
  }

  #emit(stream: 'stdout' | 'stderr', ts: Record, line: Buffer, out: LogEntry[]): void {
    if (stream === 'stdout' ? !this.opts.stdout : !this.opts.stderr) return;
    const entry = new Entry(stream, line, ts);
    if (this.opts.since || this.opts.until) {
      const ms = parseLogTime(entry.time).ms;
      if (ms < this.#since || ms > this.#until) return;
    }
    out.push(entry);
  }
}

async function existing(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The log's files, oldest first. */
async function logFiles(path: string): Promise<string[]> {
  const rotated: string[] = [];
  for (let i = 1; await existing(`${path}.${i}`); i++) rotated.push(`${path}.${i}`);
  return [...rotated.reverse(), path];
}

const CHUNK = 1 << 20;

/** A reader's state between reads: the unfinished last record, and the buffer reads go into. */
interface Carry {
  rest: Buffer;
  scratch?: Buffer;
}

/** Reads whole records from a file handle starting at `pos`; returns the records and the new position. */
async function readRecords(fh: FileHandle, pos: number, carry: Carry): Promise<{ records: Record[]; pos: number }> {
  const records: Record[] = [];
  for (;;) {
    carry.scratch ??= Buffer.allocUnsafe(CHUNK);
    const { bytesRead } = await fh.read(carry.scratch, 0, CHUNK, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    // Records point into what was read, so it is copied out of the reused scratch buffer.
    let data = Buffer.from(carry.scratch.subarray(0, bytesRead));
    if (carry.rest.length) data = Buffer.concat([carry.rest, data]);
    let start = 0;
    for (let nl = data.indexOf(NL, start); nl >= 0; nl = data.indexOf(NL, start)) {
      const rec = parseRecord(data, start, nl + 1);
      if (rec) records.push(rec);
      start = nl + 1;
    }
    carry.rest = data.subarray(start);
    if (records.length > 10_000) break;
  }
  return { records, pos };
}

/** Offset in `path` where the last `n` lines begin, and how many it found (fewer when the file is short). */
async function tailOffset(path: string, n: number): Promise<{ offset: number; found: number }> {
  const fh = await open(path, 'r');
  try {
    let end = (await fh.stat()).size;
    let pending = Buffer.alloc(0);
    let found = 0;
    const buf = Buffer.allocUnsafe(64 * 1024);
    for (;;) {
      const start = Math.max(0, end - buf.length);
      const { bytesRead } = await fh.read(buf, 0, end - start, start);
      const data = Buffer.concat([buf.subarray(0, bytesRead), pending]);
      // data[k] is the byte at file offset start + k; walk whole records from the end.
      let lineEnd = data.length;
      while (lineEnd > 0) {
        const nl = lineEnd >= 2 ? data.lastIndexOf(NL, lineEnd - 2) : -1;
        if (nl < 0 && start > 0) break; // the first record here continues in the previous chunk
        const rec = parseRecord(data, nl + 1, lineEnd);
        if (rec && !rec.partial) {
          if (found === n) return { offset: start + lineEnd, found };
          found++;
        }
        lineEnd = nl + 1;
      }
      if (start === 0) return { offset: 0, found };
      pending = Buffer.from(data.subarray(0, lineEnd));
      end = start;
    }
  } finally {
    await fh.close();
  }
}

/** Where reading starts: the file index and offset that leave the last `tail` lines. */
async function startPoint(files: string[], tail: number): Promise<{ index: number; offset: number }> {
  if (tail < 0) return { index: 0, offset: 0 };
  if (tail === 0) {
    const last = files.length - 1;
    return { index: last, offset: (await stat(files[last]).catch(() => ({ size: 0 }))).size };
  }
  let need = tail;
  for (let i = files.length - 1; i >= 0; i--) {
    const { offset, found } = await tailOffset(files[i], need).catch(() => ({ offset: 0, found: 0 }));
    if (found >= need) return { index: i, offset };
    need -= found;
  }
  return { index: 0, offset: 0 };
}

/**
 * Reads a container's log: the stored lines, then (with follow) new ones until stopWhen or abort.
 * Lines come in batches (up to a file chunk's worth), which keeps a million-line log fast.
 */
export async function* readLogs(path: string, opts: ReadLogsOptions): AsyncGenerator<LogEntry[]> {
  const files = await logFiles(path);
  const start = await startPoint(files, opts.tail);
  const asm = new EntryAssembler(opts);
  const out: LogEntry[] = [];

  for (let i = start.index; i < files.length - 1; i++) {
    const fh = await open(files[i], 'r').catch(() => undefined);
    if (!fh) continue;
    try {
      let pos = i === start.index ? start.offset : 0;
      const carry: Carry = { rest: Buffer.alloc(0) };
      for (;;) {
        const r = await readRecords(fh, pos, carry);
        pos = r.pos;
        for (const rec of r.records) asm.push(rec, out);
        if (out.length) yield out.splice(0);
        if (r.records.length === 0) break;
      }
    } finally {
      await fh.close();
    }
  }

  const internal = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, internal.signal]) : internal.signal;
  let stopping = false;
  const stop = () => {
    stopping = true;
    internal.abort();
  };
  void opts.stopWhen?.then(stop, stop);
  let fh = await open(path, 'r').catch(() => undefined);
  let pos = start.index === files.length - 1 ? start.offset : 0;
  const carry: Carry = { rest: Buffer.alloc(0) };
  // The directory, not the file: rotation puts a new file at the path.
  const changes = opts.follow ? new DirWatch(dirname(path)) : undefined;
  try {
    for (;;) {
      changes?.reset();
      if (fh) {
        const r = await readRecords(fh, pos, carry);
        pos = r.pos;
        for (const rec of r.records) asm.push(rec, out);
        if (out.length) yield out.splice(0);
        if (r.records.length > 0) continue;
      }
      if (!opts.follow || (opts.signal?.aborted ?? false)) break;
      if (stopping) {
        // The writer is gone; one last read picks up what it wrote before exiting.
        if (fh) {
          const r = await readRecords(fh, pos, carry);
          for (const rec of r.records) asm.push(rec, out);
          if (out.length) yield out.splice(0);
        }
        break;
      }
      // The file was rotated or truncated: finish the old one (done above), then start the new one.
      const st = await stat(path).catch(() => undefined);
      const cur = fh ? await fh.stat().catch(() => undefined) : undefined;
      if (st && (!cur || st.ino !== cur.ino || st.size < pos)) {
        await fh?.close();
        fh = await open(path, 'r').catch(() => undefined);
        pos = 0;
        carry.rest = Buffer.alloc(0);
        continue;
      }
      await changes!.next(signal, 1000);
    }
    asm.flush(out);
    if (out.length) yield out.splice(0);
  } finally {
    changes?.close();
    await fh?.close();
  }
}

/**
 * Rotates `path` when it has reached `maxSize`: <path>.1 ... <path>.<maxFiles-1> keep the older
 * lines. The writer keeps its descriptor, so the caller must make it reopen the path afterwards.
 * Returns whether it rotated.
 */
export async function rotateLog(path: string, maxSize: number, maxFiles: number): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  if (!st || st.size < maxSize) return false;
  const keep = Math.max(1, maxFiles) - 1;
  await rm(`${path}.${Math.max(keep, 1)}`, { force: true });
  for (let i = keep - 1; i >= 1; i--) await rename(`${path}.${i}`, `${path}.${i + 1}`).catch(() => {});
  await rename(path, `${path}.1`);
  return true;
}

/** Removes the rotated files of a log (the current one is the caller's). */
export async function removeRotated(path: string): Promise<void> {
  for (let i = 1; await existing(`${path}.${i}`); i++) await rm(`${path}.${i}`, { force: true });
}
