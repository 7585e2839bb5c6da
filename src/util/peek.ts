import { Readable } from 'node:stream';

/**
 * The first `n` bytes of `src` (fewer at its end), and a stream that still yields all of it.
 * The rest is read lazily, so back-pressure reaches the source.
 */
export async function peek(src: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const chunks: Buffer[] = [];
  let len = 0;
  let done = false;
  while (len < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    chunks.push(b);
    len += b.length;
  }
  const first = Buffer.concat(chunks);
  async function* all(): AsyncGenerator<Buffer> {
    if (first.length) yield first;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    }
  }
  const stream = Readable.from(all(), { objectMode: false });
  // Destroying the result must release the source too (an aborted build, a failed extraction).
  stream.once('close', () => {
    if (!src.destroyed && !src.readableEnded) src.destroy();
  });
  return { head: first.subarray(0, n), stream };
}
