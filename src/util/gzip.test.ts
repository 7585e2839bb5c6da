import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { gzipParallel } from './gzip.js';

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Compressible like a layer: words drawn from a small vocabulary, in chunks of odd sizes. */
function layerLike(bytes: number): Buffer[] {
  const words = Array.from({ length: 400 }, () => randomBytes(1 + (randomBytes(1)[0] % 9)).toString('hex'));
  const text: string[] = [];
  let n = 0;
  while (n < bytes) {
    const w = words[randomBytes(2).readUInt16LE() % words.length];
    text.push(w);
    n += w.length + 1;
  }
  const all = Buffer.from(text.join(' ')).subarray(0, bytes);
  const chunks: Buffer[] = [];
  for (let off = 0, i = 0; off < all.length; i++) {
    const len = [70_000, 1_048_576, 333, 2_000_001][i % 4];
    chunks.push(all.subarray(off, off + len));
    off += len;
  }
  return chunks;
}

test('gzipParallel: one gzip member over many blocks that GNU gzip and zlib read back, about one stream\'s size', async () => {
  const chunks = layerLike(5 * 1024 * 1024 + 12345);
  const input = Buffer.concat(chunks);
  const gz = await collect(gzipParallel(Readable.from(chunks), 1));
  assert.deepEqual(gunzipSync(gz), input);
  const gnu = spawnSync('gzip', ['-dc'], { input: gz, maxBuffer: 64 << 20 });
  assert.equal(gnu.status, 0, gnu.stderr.toString());
  assert.deepEqual(gnu.stdout, input);
  // One member: its trailer (CRC32, size) is the last 8 bytes and covers the whole input.
  assert.equal(gz.readUInt32LE(gz.length - 4), input.length);
  const single = gzipSync(input, { level: 1 });
  assert.ok(gz.length < single.length * 1.02, `${gz.length} bytes against one stream's ${single.length}`);
});

test('gzipParallel: empty and tiny inputs, and an input error ends the output with it', async () => {
  assert.deepEqual(gunzipSync(await collect(gzipParallel(Readable.from([]), 1))), Buffer.alloc(0));
  assert.equal(gunzipSync(await collect(gzipParallel(Readable.from([Buffer.from('x')]), 1))).toString(), 'x');
  const failing = new Readable({
    read() {
      this.destroy(new Error('disk gone'));
    },
  });
  await assert.rejects(collect(gzipParallel(failing, 1)), /disk gone/);
});
