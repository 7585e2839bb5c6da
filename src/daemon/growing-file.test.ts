import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { GrowingFile } from './growing-file.js';
import { SourceRestarted } from './image-store.js';

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

const tick = () => new Promise((r) => setTimeout(r, 10));

async function withFile(fn: (file: GrowingFile, path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-grow-'));
  try {
    const path = join(dir, 'blob');
    await fn(new GrowingFile(path, 'the download'), path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a follower reads what is written as it is written, and ends only when the writer finishes', async () => {
  await withFile(async (file, path) => {
    const early = collect(file.follow());
    await writeFile(path, 'abc');
    file.grew(3);
    await tick();
    // Bytes on disk beyond what the writer announced are not read.
    await appendFile(path, 'defgh');
    file.grew(6);
    let ended = false;
    void early.then(() => (ended = true));
    await tick();
    assert.equal(ended, false, 'no end before finish');
    file.grew(8);
    file.finish();
    assert.equal((await early).toString(), 'abcdefgh');
    // One that starts after the end reads the whole.
    assert.equal((await collect(file.follow())).toString(), 'abcdefgh');
  });
});

test('a follower fails with the writer\'s error, and with SourceRestarted when the file starts over', async () => {
  await withFile(async (file, path) => {
    await writeFile(path, 'old bytes');
    file.grew(9);
    const before = collect(file.follow());
    await tick();
    await truncate(path, 0);
    file.restarted();
    await assert.rejects(before, SourceRestarted);
    const after = collect(file.follow());
    await writeFile(path, 'new');
    file.grew(3);
    await tick();
    const broken = new Error('read ECONNRESET');
    file.fail(broken);
    await assert.rejects(after, (err) => err === broken);
    await assert.rejects(file.whole, (err) => err === broken);
  });
});

test('a destroyed follower stops waiting and holds no file open', async () => {
  await withFile(async (file, path) => {
    await writeFile(path, 'x');
    file.grew(1);
    const f = file.follow();
    f.on('error', () => {});
    f.once('data', () => f.destroy());
    await new Promise((r) => f.once('close', r));
    // A later growth wakes no one; finishing is still fine.
    file.grew(1);
    file.finish();
    assert.equal((await collect(file.follow())).toString(), 'x');
  });
});
