import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { MEDIA_TYPES } from '../types.js';
import { compressLayer, decompressLayer, sniffCodec } from './layer.js';

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function chunked(b: Buffer, size = 1000): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) parts.push(b.subarray(i, i + size));
  return Readable.from(parts);
}

function zstd(b: Buffer): Buffer {
  const r = spawnSync('zstd', ['-q', '-c', '-3'], { input: b });
  assert.equal(r.status, 0, String(r.stderr));
  return r.stdout;
}

// Compressible and not: a layer is mostly text and binaries.
const tar = Buffer.concat([Buffer.from('usr/bin/x'.repeat(20_000)), randomBytes(200_000)]);

test('magic bytes', () => {
  assert.equal(sniffCodec(Buffer.from([0x1f, 0x8b, 8, 0])), 'gzip');
  assert.equal(sniffCodec(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), 'zstd');
  assert.equal(sniffCodec(Buffer.from('usr/')), 'none');
  assert.equal(sniffCodec(Buffer.alloc(0)), 'none');
});

test('gzip, zstd and plain layers decompress by their type', async () => {
  assert.deepEqual(await collect(decompressLayer(chunked(gzipSync(tar)), MEDIA_TYPES.layerGzip)), tar);
  assert.deepEqual(await collect(decompressLayer(chunked(gzipSync(tar)), MEDIA_TYPES.dockerLayerGzip)), tar);
  assert.deepEqual(await collect(decompressLayer(chunked(zstd(tar)), MEDIA_TYPES.layerZstd)), tar);
  assert.deepEqual(await collect(decompressLayer(chunked(tar), MEDIA_TYPES.layer)), tar);
  assert.deepEqual(await collect(decompressLayer(chunked(tar, 1), MEDIA_TYPES.dockerLayer)), tar.subarray(0, tar.length));
  assert.deepEqual(await collect(decompressLayer(Readable.from([]), MEDIA_TYPES.layerGzip)), Buffer.alloc(0));
});

test('a mislabeled layer still decompresses by its bytes', async () => {
  assert.deepEqual(await collect(decompressLayer(chunked(zstd(tar)), MEDIA_TYPES.layerGzip)), tar);
  assert.deepEqual(await collect(decompressLayer(chunked(gzipSync(tar)), MEDIA_TYPES.layer)), tar);
  assert.deepEqual(await collect(decompressLayer(chunked(tar), MEDIA_TYPES.layerZstd)), tar);
  assert.deepEqual(await collect(decompressLayer(chunked(gzipSync(tar)), 'application/octet-stream')), tar);
});

test('corrupt input fails as a stream error naming the layer', async () => {
  const badGzip = Buffer.concat([gzipSync(tar).subarray(0, 5000), Buffer.alloc(5000, 7)]);
  await assert.rejects(collect(decompressLayer(chunked(badGzip), MEDIA_TYPES.layerGzip)), /layer \(application\/vnd\.oci\.image\.layer\.v1\.tar\+gzip\): gzip: /);
  const badZstd = Buffer.concat([zstd(tar).subarray(0, 5000), Buffer.alloc(5000, 7)]);
  await assert.rejects(collect(decompressLayer(chunked(badZstd), MEDIA_TYPES.layerZstd)), /layer \(application\/vnd\.oci\.image\.layer\.v1\.tar\+zstd\): zstd: /);
  const truncated = zstd(tar).subarray(0, 3000);
  await assert.rejects(collect(decompressLayer(chunked(truncated), MEDIA_TYPES.layerZstd)), /zstd: /);
});

test('an input error reaches the output, and destroying the output ends zstd', async () => {
  const failing = new Readable({ read() {} });
  failing.push(zstd(tar).subarray(0, 100));
  const out = decompressLayer(failing, MEDIA_TYPES.layerZstd);
  setImmediate(() => failing.destroy(new Error('connection reset')));
  await assert.rejects(collect(out), /connection reset/);

  const big = zstd(Buffer.concat(Array.from({ length: 40 }, () => tar)));
  const src = chunked(big, 64 * 1024);
  const out2 = decompressLayer(src, MEDIA_TYPES.layerZstd);
  await new Promise<void>((resolve) => out2.once('data', () => resolve()));
  out2.destroy();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(src.destroyed, true);
});

test('compressLayer gzips and round-trips', async () => {
  const gz = await collect(compressLayer(chunked(tar)));
  assert.equal(sniffCodec(gz), 'gzip');
  assert.ok(gz.length < tar.length);
  assert.deepEqual(await collect(decompressLayer(chunked(gz), MEDIA_TYPES.layerGzip)), tar);
});
