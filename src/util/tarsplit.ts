/**
 * A layer tar kept as its split instead of whole: every byte that is not the content of a
 * regular file (headers, PAX records, padding, the end blocks), plus, for each file, its path
 * and size. With the layer's extracted files that is the tar again, byte for byte, so a pulled
 * or loaded image costs its size on disk once, not twice (Docker keeps a tar-split too).
 *
 * The split is read off the raw bytes as they arrive, beside the extraction, and follows the
 * rules of the parser that untar uses (tar-stream), so that each file's bytes are the ones
 * untar wrote at that path. Where the files on disk may not be those bytes any more (an entry
 * that replaces or removes an earlier one, a path below a symlink of the layer), the split says
 * it is lossy, and the caller keeps the whole tar instead. A rebuilt tar is checked against
 * its digest before its last byte goes out.
 *
 * The file: "WTS1", 4 bytes reserved, the tar's size (float64 BE), then gzip of records:
 *   0x01 u32 n, n bytes          bytes of the tar as they were
 *   0x02 u16 n, n bytes, f64 s   s bytes of the file at that path (relative to the layer root)
 */
import { createHash } from 'node:crypto';
import { closeSync, constants as fsConstants, createWriteStream, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGunzip, createGzip, constants as zlibConstants } from 'node:zlib';
import { errorMessage } from './errors.js';
import { paxRecords, ustarChecksum } from './tarpax.js';
import { cleanEntryPath } from './untar.js';

const MAGIC = Buffer.from('WTS1');
const PREFIX_BYTES = 16;
const RAW = 0x01;
const FILE = 0x02;
/** Raw bytes are gathered up to this much per record. */
const RAW_RECORD_MAX = 64 * 1024;
/** Records are compressed this much at a time. */
const BATCH_BYTES = 256 * 1024;
/** Bytes of one file read at once when the tar is rebuilt. */
const READ_CHUNK = 1024 * 1024;

export interface SplitResult {
  /** Bytes of the whole tar. */
  size: number;
  /** Why the extracted files cannot give this tar back; the whole tar must be kept. */
  lossy?: string;
}

// tar-stream's type flags (header byte 156 minus '0'; a NUL is 0).
const T_FILE = 0;
const T_DIR = 5;
const T_CONTIGUOUS = 7;
const T_PAX = 72;
const T_PAX_GLOBAL = 55;
const T_GNU_LONG_LINK = 27;
const T_GNU_LONG_PATH = [28, 30];
const USTAR_MAGIC = Buffer.from('ustar\0', 'latin1');
const GNU_MAGIC = Buffer.from('ustar ', 'latin1');
const GNU_VERSION = Buffer.from(' \0', 'latin1');

const cstr = (b: Buffer, start: number, len: number): string => {
  const end = b.indexOf(0, start);
  return b.toString('utf8', start, end < 0 || end > start + len ? start + len : end);
};

/** A numeric header field as tar-stream reads it: octal, or base-256 when the high bit is set. */
function numField(b: Buffer, start: number, len: number): number {
  const v = b.subarray(start, start + len);
  if (v[0] & 0x80) {
    if (v[0] !== 0x80 && v[0] !== 0xff) return NaN;
    let sum = 0;
    for (let i = 1; i < v.length; i++) sum = sum * 256 + (v[0] === 0x80 ? v[i] : 0xff - v[i]);
    return v[0] === 0x80 ? sum : -sum;
  }
  let i = 0;
  while (i < v.length && v[i] === 32) i++;
  let end = v.indexOf(32, i);
  if (end < 0) end = v.length;
  while (i < end && v[i] === 0) i++;
  if (i === end) return 0;
  return parseInt(v.toString('latin1', i, end), 8);
}

/** What the split needs of a PAX header: its records as text. */
function decodePax(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of paxRecords(b)) out[key] = value.toString('utf8');
  return out;
}

const padding = (size: number) => (size % 512 === 0 ? 0 : 512 - (size % 512));

/** The path untar extracts an entry to, or undefined when it refuses it. */
function cleanRel(name: string): string | undefined {
  try {
    return cleanEntryPath(name);
  } catch {
    return undefined;
  }
}

/** A file record holds its path's length in 16 bits; a longer path's bytes stay in the split. */
const PATH_MAX_BYTES = 0xffff;

/**
 * What the extraction has put where, to tell when a later entry changes what an earlier file's
 * bytes are on disk: the layer's directory starts empty, so only its own entries can.
 */
class Tree {
  /** Entries seen: true for a directory. */
  readonly #kinds = new Map<string, boolean>();
  /** Every directory above an entry seen. */
  readonly #above = new Set<string>();
  lossy?: string;

  entry(rel: string, isDir: boolean, name: string): void {
    if (rel === '') return;
    const base = posix.basename(rel);
    if (base.startsWith('.wh.')) {
      if (base.startsWith('.wh..wh.')) return this.#parents(rel, name);
      const target = posix.join(posix.dirname(rel), base.slice(4));
      if (this.#kinds.has(target) || this.#above.has(target)) this.lossy ??= `whiteout "${name}" removes an entry of the same layer`;
      this.#parents(rel, name);
      this.#kinds.set(target, false);
      return;
    }
    const was = this.#kinds.get(rel);
    if (was !== undefined && !(was && isDir)) this.lossy ??= `entry "${name}" replaces an earlier one`;
    if (!isDir && this.#above.has(rel)) this.lossy ??= `entry "${name}" replaces a directory of the same layer`;
    this.#parents(rel, name);
    this.#kinds.set(rel, isDir);
  }

  #parents(rel: string, name: string): void {
    for (let dir = posix.dirname(rel); dir !== '.'; dir = posix.dirname(dir)) {
      if (this.#kinds.get(dir) === false) this.lossy ??= `entry "${name}" lies below a non-directory of the same layer`;
      if (this.#above.has(dir)) return;
      this.#above.add(dir);
    }
  }
}

/**
 * A Writable that takes a tar's bytes and writes its split to `path` (a new file). `result`
 * resolves once the input has ended and the split is on disk.
 */
export function tarSplitter(path: string): { sink: Writable; result: Promise<SplitResult> } {
  const gz = createGzip({ level: zlibConstants.Z_BEST_SPEED });
  // The prefix, which holds the size, is written last, over the hole left for it.
  const file = createWriteStream(path, { flags: 'wx', start: PREFIX_BYTES });
  gz.pipe(file);
  gz.on('error', (e) => file.destroy(e));
  // Closed, the gzip lets a sink waiting for its drain go on, with the error (a full disk).
  file.on('error', (e) => gz.destroy(e));
  const tree = new Tree();
  let total = 0;
  // Records go to gzip in batches: each write to a zlib stream is a job on the thread pool.
  let batch: Buffer[] = [];
  let batchBytes = 0;
  const emit = (b: Buffer) => {
    batch.push(b);
    batchBytes += b.length;
    if (batchBytes >= BATCH_BYTES) flushBatch();
  };
  const flushBatch = () => {
    if (!batchBytes) return;
    gz.write(Buffer.concat(batch, batchBytes));
    batch = [];
    batchBytes = 0;
  };
  let raw: Buffer[] = [];
  let rawBytes = 0;
  const flushRaw = () => {
    if (!rawBytes) return;
    const head = Buffer.alloc(5);
    head[0] = RAW;
    head.writeUInt32BE(rawBytes, 1);
    emit(head);
    for (const b of raw) emit(b);
    raw = [];
    rawBytes = 0;
  };
  const keepRaw = (b: Buffer) => {
    if (!b.length) return;
    raw.push(Buffer.from(b));
    rawBytes += b.length;
    if (rawBytes >= RAW_RECORD_MAX) flushRaw();
  };
  const fileRecord = (rel: string, size: number) => {
    flushRaw();
    const p = Buffer.from(rel, 'utf8');
    const rec = Buffer.alloc(3 + p.length + 8);
    rec[0] = FILE;
    rec.writeUInt16BE(p.length, 1);
    p.copy(rec, 3);
    rec.writeDoubleBE(size, 3 + p.length);
    emit(rec);
  };

  // The parser's state, as tar-stream's: a header block being gathered, a long header's body
  // (PAX, GNU long names) being gathered, or an entry's body and then its padding passing by.
  let block: Buffer = Buffer.alloc(0);
  let longType = -1;
  let longBody: Buffer[] = [];
  let longLeft = 0;
  let bodyLeft = 0;
  let bodyIsFile = false;
  let padLeft = 0;
  let broken = false;
  let pax: Record<string, string> | null = null;
  let paxGlobal: Record<string, string> | null = null;
  let longPath: string | null = null;

  /** From here on everything is kept as it is, and the split does not stand for the tar. */
  const brokenAt = (why: string) => {
    broken = true;
    tree.lossy ??= why;
  };
  const endLong = () => {
    const body = Buffer.concat(longBody);
    if (T_GNU_LONG_PATH.includes(longType)) longPath = cstr(body, 0, body.length);
    else if (longType === T_PAX_GLOBAL) paxGlobal = decodePax(body);
    else if (longType === T_PAX) pax = paxGlobal === null ? decodePax(body) : { ...paxGlobal, ...decodePax(body) };
    padLeft = padding(body.length);
    longType = -1;
  };
  const header = (b: Buffer) => {
    const sum = ustarChecksum(b);
    // All zero but for the checksum field: tar-stream passes over it (the end blocks).
    if (sum === 8 * 32) return;
    const ustar = b.subarray(257, 263).equals(USTAR_MAGIC);
    const gnu = b.subarray(257, 263).equals(GNU_MAGIC) && b.subarray(263, 265).equals(GNU_VERSION);
    // The extraction fails on these; what is kept of such a tar does not matter.
    if (sum !== numField(b, 148, 8) || (!ustar && !gnu)) return brokenAt('a header tar-stream refuses');
    let type = b[156] === 0 ? 0 : b[156] - 48;
    let name = cstr(b, 0, 100);
    let size = numField(b, 124, 12);
    if (type === T_PAX || type === T_PAX_GLOBAL || type === T_GNU_LONG_LINK || T_GNU_LONG_PATH.includes(type)) {
      longType = type;
      longLeft = size;
      longBody = [];
      // tar-stream mistakes the next padding for the body of an empty long header.
      if (!(longLeft > 0)) return brokenAt('an empty long header');
      return;
    }
    if (ustar && b[345]) name = cstr(b, 345, 155) + '/' + name;
    if (type === T_FILE && name.endsWith('/')) type = T_DIR;
    if (longPath !== null) name = longPath;
    longPath = null;
    if (pax) {
      if (pax.path) name = pax.path;
      if (pax.size) size = parseInt(pax.size, 10);
      pax = null;
    }
    if (!(size >= 0)) return brokenAt(`entry "${name}" has no size`);
    const rel = cleanRel(name);
    if (rel === undefined) tree.lossy ??= `entry "${name}" leaves the layer`;
    else tree.entry(rel, type === T_DIR, name);
    // tar-stream gives a directory no body, whatever its size says.
    if (size === 0 || type === T_DIR) return;
    bodyIsFile = (type === T_FILE || type === T_CONTIGUOUS) && !!rel && !posix.basename(rel).startsWith('.wh.') && Buffer.byteLength(rel) <= PATH_MAX_BYTES;
    if (bodyIsFile) fileRecord(rel!, size);
    bodyLeft = size;
    padLeft = padding(size);
  };

  const take = (chunk: Buffer) => {
    total += chunk.length;
    let at = 0;
    while (at < chunk.length) {
      const left = chunk.length - at;
      if (broken) {
        keepRaw(chunk.subarray(at));
        return;
      }
      if (bodyLeft > 0) {
        const n = Math.min(bodyLeft, left);
        if (!bodyIsFile) keepRaw(chunk.subarray(at, at + n));
        bodyLeft -= n;
        at += n;
      } else if (longType >= 0) {
        const n = Math.min(longLeft, left);
        const part = chunk.subarray(at, at + n);
        longBody.push(Buffer.from(part));
        keepRaw(part);
        longLeft -= n;
        at += n;
        if (longLeft === 0) endLong();
      } else if (padLeft > 0) {
        const n = Math.min(padLeft, left);
        keepRaw(chunk.subarray(at, at + n));
        padLeft -= n;
        at += n;
      } else {
        const n = Math.min(512 - block.length, left);
        const part = chunk.subarray(at, at + n);
        block = block.length ? Buffer.concat([block, part]) : part.length === 512 ? part : Buffer.from(part);
        keepRaw(part);
        at += n;
        if (block.length === 512) {
          const b = block;
          block = Buffer.alloc(0);
          header(b);
        }
      }
    }
  };

  const result = (async (): Promise<SplitResult> => {
    await finished(file);
    const prefix = Buffer.alloc(PREFIX_BYTES);
    MAGIC.copy(prefix, 0);
    prefix.writeDoubleBE(total, 8);
    const fh = await open(path, 'r+');
    try {
      await fh.write(prefix, 0, PREFIX_BYTES, 0);
    } finally {
      await fh.close();
    }
    return { size: total, ...(tree.lossy ? { lossy: tree.lossy } : {}) };
  })();
  result.catch(() => {});
  const whenWritable = (cb: () => void) => {
    if (!gz.writableNeedDrain) return cb();
    const go = () => {
      gz.off('drain', go).off('close', go);
      cb();
    };
    gz.on('drain', go).on('close', go);
  };
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      take(chunk);
      whenWritable(() => cb(gz.destroyed && !gz.writableFinished ? new Error('the tar split could not be written') : null));
    },
    final(cb) {
      if (bodyLeft > 0 || longType >= 0 || block.length) tree.lossy ??= 'the tar ends inside an entry';
      flushRaw();
      flushBatch();
      gz.end();
      cb();
    },
    destroy(err, cb) {
      if (err) gz.destroy(err);
      cb(err);
    },
  });
  return { sink, result };
}

/** The size of the tar a split gives back, from its first bytes. */
export async function splitTarSize(path: string): Promise<number> {
  const fh = await open(path, 'r');
  try {
    return readPrefix(path, fh);
  } finally {
    await fh.close();
  }
}

async function readPrefix(path: string, fh: FileHandle): Promise<number> {
  const prefix = Buffer.alloc(PREFIX_BYTES);
  const { bytesRead } = await fh.read(prefix, 0, PREFIX_BYTES, 0);
  if (bytesRead !== PREFIX_BYTES || !prefix.subarray(0, 4).equals(MAGIC)) throw new Error(`${path} is not a tar split`);
  return prefix.readDoubleBE(8);
}

/**
 * The tar again, from its split and the directory its files were extracted to. With `digest`,
 * the stream fails instead of ending when what it gave is not that tar, so a consumer that
 * commits at the end (a push, a save) never commits a wrong one.
 */
export function assembleTar(splitPath: string, dir: string, digest?: string): Readable {
  return Readable.from(rebuildTar(splitPath, dir, digest), { objectMode: false, highWaterMark: READ_CHUNK });
}

type SplitRecord = { raw: Buffer } | { rel: string; size: number };

/** The records of a split, in order. */
async function* records(fh: FileHandle): AsyncGenerator<SplitRecord> {
  let pending: Buffer = Buffer.alloc(0);
  let at = 0;
  const source = fh.createReadStream({ start: PREFIX_BYTES, autoClose: false });
  const input = source.pipe(createGunzip());
  const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const need = async (n: number, atStart = false): Promise<Buffer | undefined> => {
    while (pending.length - at < n) {
      const r = await chunks.next();
      if (r.done) {
        if (atStart && pending.length === at) return undefined;
        throw new Error('the tar split is truncated');
      }
      pending = at < pending.length ? Buffer.concat([pending.subarray(at), r.value]) : r.value;
      at = 0;
    }
    const got = pending.subarray(at, at + n);
    at += n;
    return got;
  };
  try {
    for (;;) {
      const kind = await need(1, true);
      if (!kind) return;
      if (kind[0] === RAW) yield { raw: Buffer.from((await need((await need(4))!.readUInt32BE(0)))!) };
      else if (kind[0] === FILE) {
        const rel = (await need((await need(2))!.readUInt16BE(0)))!.toString('utf8');
        yield { rel, size: (await need(8))!.readDoubleBE(0) };
      } else throw new Error(`unknown record ${kind[0]}`);
    }
  } finally {
    input.destroy();
    source.destroy();
  }
}

const LAYER_FILE_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW;

/**
 * How a rebuild reads the layer's files. Its tree is the daemon's own, and no entry of a split
 * lies below a symlink of it (the split is lossy otherwise); O_NOFOLLOW keeps the last component
 * from being one. Each reader gives exactly `size` bytes and checks that the file ends there.
 */
interface LayerFiles {
  /** A small file whole; a promise of it when read on the thread pool. */
  whole(rel: string, size: number): Buffer | Promise<Buffer>;
  /** A large file's bytes as they are read. */
  chunks(rel: string, size: number): AsyncIterable<Buffer> | Iterable<Buffer>;
  /** Whether reading ahead pays: reads that wait on the thread pool overlap. */
  readAhead: boolean;
}

/**
 * Each read asks for one byte more than is `left` (at most READ_CHUNK): the end of the file must
 * come right after its `size` bytes. Given what a read got, whether the file ended as it must.
 */
const readWant = (left: number) => Math.min(READ_CHUNK, left + 1);
function endedRight(got: number, left: number, rel: string, size: number): boolean {
  if (got > left) throw new Error(`file "${rel}" is longer than its ${size} bytes in the tar`);
  if (got > 0) return false;
  if (left > 0) throw new Error(`file "${rel}" is shorter than its ${size} bytes in the tar`);
  return true;
}

/** Reads of the layer's files on the thread pool, for the daemon's own thread. */
function asyncFiles(dir: string): LayerFiles {
  async function* chunks(rel: string, size: number): AsyncGenerator<Buffer> {
    const fh = await open(join(dir, rel), LAYER_FILE_FLAGS);
    try {
      for (let left = size; ; ) {
        const want = readWant(left);
        const { bytesRead, buffer } = await fh.read(Buffer.allocUnsafe(want), 0, want, null);
        if (endedRight(bytesRead, left, rel, size)) return;
        left -= bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await fh.close();
    }
  }
  return {
    async whole(rel, size) {
      const parts: Buffer[] = [];
      for await (const b of chunks(rel, size)) parts.push(b);
      return parts.length === 1 ? parts[0] : Buffer.concat(parts);
    },
    chunks,
    readAhead: true,
  };
}

/**
 * Synchronous reads, for a worker thread of its own: they block only it, and wait behind no job
 * of the thread pool (a push's gzip keeps it busy).
 */
export function syncFiles(dir: string): LayerFiles {
  function* chunks(rel: string, size: number): Generator<Buffer> {
    const fd = openSync(join(dir, rel), LAYER_FILE_FLAGS);
    try {
      for (let left = size; ; ) {
        const buffer = Buffer.allocUnsafe(readWant(left));
        const n = readSync(fd, buffer, 0, buffer.length, null);
        if (endedRight(n, left, rel, size)) return;
        left -= n;
        yield buffer.subarray(0, n);
      }
    } finally {
      closeSync(fd);
    }
  }
  return {
    whole(rel, size) {
      const parts = [...chunks(rel, size)];
      return parts.length === 1 ? parts[0] : Buffer.concat(parts);
    },
    chunks,
    readAhead: false,
  };
}

/** Files up to this size are read ahead, side by side; a larger one is streamed in its turn. */
const SMALL_FILE = 256 * 1024;
/** At most this many files and bytes are read ahead of what went out. */
const AHEAD_FILES = 64;
const AHEAD_BYTES = 8 * 1024 * 1024;
/** What goes out is gathered into chunks of about this size. */
const OUT_CHUNK = 256 * 1024;

/** The tar's bytes from its split and the layer's files, in chunks; see assembleTar. */
export async function* rebuildTar(splitPath: string, dir: string, digest: string | undefined, files: LayerFiles = asyncFiles(dir)): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  const fh = await open(splitPath, 'r');
  // Each file is a few system calls on the thread pool: one after the other, the rebuild would
  // wait on them; read ahead, they overlap.
  const ahead: (Buffer | Promise<Buffer> | { rel: string; size: number })[] = [];
  let aheadBytes = 0;
  let it: AsyncGenerator<SplitRecord> | undefined;
  try {
    await readPrefix(splitPath, fh);
    it = records(fh);
    let ended = false;
    const fill = async () => {
      while (!ended && (ahead.length === 0 || (files.readAhead && ahead.length < AHEAD_FILES && aheadBytes < AHEAD_BYTES))) {
        const r = await it!.next();
        if (r.done) {
          ended = true;
          return;
        }
        const rec = r.value;
        if ('raw' in rec) ahead.push(rec.raw);
        else if (rec.size > SMALL_FILE) ahead.push(rec);
        else {
          const b = files.whole(rec.rel, rec.size);
          if (b instanceof Promise) {
            b.catch(() => {});
            aheadBytes += rec.size;
          }
          ahead.push(b);
        }
      }
    };
    let out: Buffer[] = [];
    let outBytes = 0;
    const take = (b: Buffer) => {
      hash.update(b);
      out.push(b);
      outBytes += b.length;
    };
    const flush = () => {
      const b = out.length === 1 ? out[0] : Buffer.concat(out, outBytes);
      out = [];
      outBytes = 0;
      return b;
    };
    for (;;) {
      await fill();
      const next = ahead.shift();
      if (next === undefined) break;
      if (Buffer.isBuffer(next)) take(next);
      else if (next instanceof Promise) {
        const b = await next;
        aheadBytes -= b.length;
        take(b);
      } else {
        if (outBytes) yield flush();
        for await (const b of files.chunks(next.rel, next.size)) {
          hash.update(b);
          yield b;
        }
      }
      if (outBytes >= OUT_CHUNK) yield flush();
    }
    const got = `sha256:${hash.digest('hex')}`;
    if (digest && got !== digest) throw new Error(`what its files give is ${got}, not ${digest}`);
    if (outBytes) yield flush();
  } catch (err) {
    throw new Error(`cannot rebuild the layer tar from ${dir}: ${errorMessage(err)}`, { cause: err });
  } finally {
    await it?.return(undefined).catch(() => {});
    await fh.close().catch(() => {});
  }
}
