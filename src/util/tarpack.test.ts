import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lutimes, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { packTree, readTarEntries } from './tarpack.js';

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
