import { Readable } from 'node:stream';
import { constants, crc32, createGunzip, deflateRaw, type Gunzip, type ZlibOptions } from 'node:zlib';

/**
 * Output chunk of every gunzip wharf runs. Each chunk is one round trip to the thread pool:
 * node's 16 KiB default made a 114 MB layer take 0.65 s to inflate, 256 KiB takes 0.37 s
 * (GNU gunzip: 0.69 s).
 */
export const GUNZIP_CHUNK = 256 * 1024;

/** Reads of a whole file that is streamed on (a layer blob, a file for a tar): 1 MiB, not 64 KiB. */
export const LARGE_READ = 1024 * 1024;

export function gunzip(): Gunzip {
  return createGunzip({ chunkSize: GUNZIP_CHUNK });
}

/** Input compressed per block, each primed with the 32 KiB before it (deflate's whole window). */
const GZIP_BLOCK = 1024 * 1024;
const WINDOW = 32 * 1024;
/** Blocks compressing at once: the thread pool's four threads. */
const GZIP_IN_FLIGHT = 4;
// ID1 ID2, CM deflate, no flags, no mtime, no extra flags, OS Unix.
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
/** An empty fixed-Huffman block with BFINAL set: the end of the deflate stream. */
const FINAL_BLOCK = Buffer.from([3, 0]);

/** A block's raw deflate on the thread pool (a function, so that loading this module does not load zlib). */
function deflateRawAsync(buf: Buffer, opts: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => deflateRaw(buf, opts, (err, out) => (err ? reject(err) : resolve(out))));
}

/**
 * One gzip member of `input`, compressed block by block on the thread pool's threads side by
 * side, as pigz does: each block is a raw deflate stream that ends on a byte boundary
 * (Z_SYNC_FLUSH) and starts from the previous block's last 32 KiB as its dictionary, so the
 * blocks join into one stream of nearly one stream's size. node's single gzip stream uses one
 * core: a 114 MB layer took 1.7 s at level 1.
 */
export function gzipParallel(input: Readable, level: number): Readable {
  async function* blocks(): AsyncGenerator<Buffer> {
    yield GZIP_HEADER;
    let crc = 0;
    let size = 0;
    let window = Buffer.alloc(0);
    const pending: Promise<Buffer>[] = [];
    const submit = (block: Buffer) => {
      crc = crc32(block, crc);
      size += block.length;
      const p = deflateRawAsync(block, { level, memLevel: 9, dictionary: window, finishFlush: constants.Z_SYNC_FLUSH });
      // Awaited in order below; a failure must not surface as unhandled before then.
      p.catch(() => {});
      pending.push(p);
      window = Buffer.from(block.subarray(Math.max(0, block.length - WINDOW)));
    };
    let parts: Buffer[] = [];
    let held = 0;
    for await (const chunk of input) {
      const c = chunk as Buffer;
      parts.push(c);
      held += c.length;
      while (held >= GZIP_BLOCK) {
        const all = parts.length === 1 ? parts[0] : Buffer.concat(parts);
        submit(all.subarray(0, GZIP_BLOCK));
        const rest = all.subarray(GZIP_BLOCK);
        parts = rest.length ? [rest] : [];
        held = rest.length;
        while (pending.length >= GZIP_IN_FLIGHT) yield await pending.shift()!;
      }
    }
    if (held) submit(parts.length === 1 ? parts[0] : Buffer.concat(parts));
    while (pending.length) yield await pending.shift()!;
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE(size % 2 ** 32, 4);
    yield Buffer.concat([FINAL_BLOCK, trailer]);
  }
  return Readable.from(blocks(), { objectMode: false });
}
