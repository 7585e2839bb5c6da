import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform } from 'node:stream';
import { gunzip } from '../util/index.js';

/** Hashes what passes through, for digests of uncompressed layers while they are written. */
export function hasher(): { stream: Transform; digest: () => string } {
  const h = createHash('sha256');
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      cb(null, chunk);
    },
  });
  let digest: string | undefined;
  return { stream, digest: () => (digest ??= `sha256:${h.digest('hex')}`) };
}

/** The stream, gunzipped when it starts with gzip's magic bytes (layers and archives may be either). */
export async function maybeGunzip(input: Readable): Promise<Readable> {
  const it = input[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  // Two bytes decide it; a first chunk of one byte is rare but possible.
  while (head.length < 2) {
    const n = await it.next();
    if (n.done) break;
    head = Buffer.concat([head, n.value as Buffer]);
  }
  if (head.length === 0) {
    const out = new PassThrough();
    out.end();
    return out;
  }
  const rest = Readable.from(
    (async function* () {
      yield head;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield n.value as Buffer;
      }
    })(),
    { objectMode: false },
  );
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const inflate = gunzip();
    rest.on('error', (err) => inflate.destroy(err));
    return rest.pipe(inflate);
  }
  if (head[0] === 0x28 && head[1] === 0xb5) {
    rest.destroy();
    throw new Error('zstd-compressed data is not supported; decompress it first');
  }
  return rest;
}
