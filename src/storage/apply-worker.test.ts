import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, LAYER_WORKER_PATH, sha256, tarOfEntries, tarSplitter } from '../util/index.js';
import { applyLayerOffThread, rebuildTarOffThread } from './apply-worker.js';

// The cases both ways of extracting share are in apply.test.ts; these are the worker's own.

const threads = () => Number(/^Threads:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);

async function inTemp(fn: (base: string) => Promise<void>): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'wharf-apply-worker-'));
  try {
    await fn(base);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

/** A tar larger than the worker's window (a 20 MB file and 300 small ones), to cross it in many chunks. */
async function bigTar(): Promise<{ big: Buffer; tar: Buffer }> {
  const big = Buffer.alloc(20 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
  return { big, tar: await tarOfEntries([{ name: 'a/big', body: big }, ...Array.from({ length: 300 }, (_, i) => ({ name: `a/small-${i}`, body: `file ${i}` }))]) };
}

test('the worker bundle is built, so the daemon does extract off its thread', () => {
  assert.ok(existsSync(LAYER_WORKER_PATH), `${LAYER_WORKER_PATH} (npm run build makes it)`);
});

test('a layer extracts on a thread of its own, fed in order, and the tar arrives whole', async () => {
  await inTemp(async (base) => {
    const root = join(base, 'root');
    await mkdir(root);
    // More than the worker's window, in many chunks, so the sender pauses and resumes.
    const { big, tar } = await bigTar();
    const source = new PassThrough();
    const before = threads();
    const done = applyLayerOffThread(source, root);
    source.write(tar.subarray(0, 1024 * 1024));
    // Held mid-tar: the extraction is under way on another thread.
    const deadline = Date.now() + 10_000;
    while (threads() <= before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(threads() > before, 'a worker thread runs the extraction');
    for (let off = 1024 * 1024; off < tar.length; off += 64 * 1024) source.write(tar.subarray(off, off + 64 * 1024));
    source.end();
    const { size } = await done;
    assert.equal(size, big.length + Array.from({ length: 300 }, (_, i) => `file ${i}`.length).reduce((a, b) => a + b, 0));
    assert.ok((await readFile(join(root, 'a/big'))).equals(big));
    assert.equal((await readdir(join(root, 'a'))).length, 301);
    assert.equal(await readFile(join(root, 'a/small-299'), 'utf8'), 'file 299');
  });
});

test('a source that fails mid-tar fails the extraction with its own error; the worker takes the next layer', async () => {
  await inTemp(async (base) => {
    const [first, second] = [join(base, 'first'), join(base, 'second')];
    await mkdir(first);
    await mkdir(second);
    const tar = await tarOfEntries([{ name: 'f', body: 'x'.repeat(200_000) }]);
    const cut = new Error('the download broke off');
    const failing = new Readable({ read() {} });
    const done = applyLayerOffThread(failing, first);
    failing.push(tar.subarray(0, 10_000));
    setTimeout(() => failing.destroy(cut), 50);
    await assert.rejects(done, (err) => err === cut);
    // Settled means the worker stopped: the caller may remove what it wrote.
    await rm(first, { recursive: true });
    await applyLayerOffThread(Readable.from([await tarOfEntries([{ name: 'g', body: 'next' }])]), second);
    assert.equal(await readFile(join(second, 'g'), 'utf8'), 'next');
    assert.equal(existsSync(first), false, 'nothing written after the failure settled');
  });
});

test('a bad entry fails with its kind and text across the thread', async () => {
  await inTemp(async (base) => {
    const root = join(base, 'root');
    await mkdir(root);
    await assert.rejects(applyLayerOffThread(Readable.from([await tarOfEntries([{ name: '../evil', body: 'x' }])]), root), (err: Error) => err instanceof InvalidArgumentError && err.message.includes('../evil'));
    assert.deepEqual(await readdir(base), ['root']);
  });
});

test('a tar destroyed before the extraction starts, or destroyed without an error, fails it at once', { timeout: 20_000 }, async () => {
  await inTemp(async (base) => {
    const root = join(base, 'root');
    await mkdir(root);
    const cut = new Error('the download failed while the layer directory was made');
    const early = new PassThrough();
    early.on('error', () => {});
    early.destroy(cut);
    await new Promise((r) => setImmediate(r));
    await assert.rejects(applyLayerOffThread(early, root), (err) => err === cut);
    const quiet = new PassThrough();
    const done = applyLayerOffThread(quiet, root);
    quiet.write(Buffer.alloc(512));
    setTimeout(() => quiet.destroy(), 50);
    await assert.rejects(done, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });
});

test('a layer tar is rebuilt from its split on a worker thread: byte for byte, paced by its reader, failing when the files differ, and a reader that leaves frees the worker', async () => {
  await inTemp(async (base) => {
    const root = join(base, 'root');
    await mkdir(root);
    const { tar } = await bigTar();
    const split = join(base, 'split');
    const s = tarSplitter(split);
    await Promise.all([pipeline(Readable.from([tar]), s.sink), applyLayerOffThread(Readable.from([tar]), root)]);
    assert.equal((await s.result).lossy, undefined);
    const digest = sha256(tar);
    // Over REBUILD_IN_PLACE_MAX: the worker's path.
    const sizes = { tar: tar.length, content: tar.length };
    const collect = async (r: Readable, slow = false) => {
      const parts: Buffer[] = [];
      for await (const c of r) {
        parts.push(c as Buffer);
        if (slow) await new Promise((resolve) => setTimeout(resolve, 2));
      }
      return Buffer.concat(parts);
    };
    const rebuilt = rebuildTarOffThread(split, root, digest, sizes);
    // A slow reader: the worker waits for it instead of sending the whole tar at once.
    const got = await collect(rebuilt, true);
    assert.ok(got.equals(tar));
    // Readers that stop early: each worker goes back to the pool (idle ones live 5 s), so five
    // of them, each followed by a whole rebuild, need no more than two workers at a time.
    const before = threads();
    for (let i = 0; i < 5; i++) {
      for await (const _ of rebuildTarOffThread(split, root, digest, sizes)) break;
      assert.ok((await collect(rebuildTarOffThread(split, root, digest, sizes))).equals(tar));
    }
    assert.ok(threads() <= before + 2, `${threads() - before} more threads: the workers of readers that left were not freed`);
    await assert.rejects(collect(rebuildTarOffThread(split, root, sha256('another tar'), sizes)), /cannot rebuild the layer tar from .*: what its files give is sha256:[0-9a-f]{64}, not sha256:/);
    await rm(join(root, 'a/small-7'));
    await assert.rejects(collect(rebuildTarOffThread(split, root, digest, sizes)), /ENOENT.*a\/small-7/);
  });
});
