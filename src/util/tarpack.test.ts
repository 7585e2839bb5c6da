import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lutimes, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { SMALL_FILE_LIMIT, packTree, readSmallFile, readTarEntries } from './tarpack.js';

test('packTree: mtimeMax caps later mtimes of every entry kind and keeps earlier ones', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-tarpack-test-'));
  try {
    await mkdir(join(dir, 'd'));
    await writeFile(join(dir, 'd/new'), 'n');
    await writeFile(join(dir, 'old'), 'o');
    await symlink('old', join(dir, 'link'));
    await utimes(join(dir, 'old'), 1_000_000_000, 1_000_000_000);
    await lutimes(join(dir, 'link'), 1_800_000_000, 1_800_000_000);
    const max = new Date(1_700_000_000 * 1000);
    const times = async (opts: { mtimeMax?: Date }) =>
      Object.fromEntries((await readTarEntries(packTree(dir, opts) as unknown as Readable)).map((e) => [e.header.name, (e.header.mtime?.getTime() ?? 0) / 1000]));
    assert.deepEqual(await times({ mtimeMax: max }), { 'd/': 1_700_000_000, 'd/new': 1_700_000_000, link: 1_700_000_000, old: 1_000_000_000 });
    // Without it, the files' own times.
    const own = await times({});
    assert.ok(own['d/new']! > 1_700_000_000);
    assert.equal(own.link, 1_800_000_000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('packTree: files read whole (small) and streamed (big) carry their exact bytes; readSmallFile stops at its limit', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-tarpack-test-'));
  try {
    const small = Buffer.from('small file\n'.repeat(100));
    const big = Buffer.alloc(SMALL_FILE_LIMIT + 1, 7);
    big.write('the start', 0);
    await writeFile(join(dir, 'small'), small);
    await writeFile(join(dir, 'big'), big);
    await writeFile(join(dir, 'empty'), '');
    const got = Object.fromEntries((await readTarEntries(packTree(dir) as unknown as Readable)).map((e) => [e.header.name, e]));
    assert.deepEqual(Object.keys(got).sort(), ['big', 'empty', 'small']);
    assert.ok(got.small!.body.equals(small));
    assert.equal(got.small!.header.size, small.length);
    assert.ok(got.big!.body.equals(big));
    assert.equal(got.empty!.body.length, 0);
    assert.ok(readSmallFile(join(dir, 'small'))!.equals(small));
    assert.equal(readSmallFile(join(dir, 'big')), undefined);
    assert.equal(readSmallFile(join(dir, 'small'), small.length - 1), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
