import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lchown, lstat, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { idMapText, rootPair, toContainerIds, toHostIds, type IdMapping } from './idmap.js';
import { packTree, readTarEntries } from './tarpack.js';
import { untar } from './untar.js';

// Two ranges, as /etc/subuid may give a user: container IDs run on from one range to the next.
const MAP: IdMapping = {
  uids: [
    { containerId: 0, hostId: 100000, size: 1000 },
    { containerId: 1000, hostId: 300000, size: 64536 },
  ],
  gids: [{ containerId: 0, hostId: 200000, size: 65536 }],
};

test('IDs cross the ranges both ways, at their edges; one outside them is an error', () => {
  assert.deepEqual(toHostIds(MAP, { uid: 0, gid: 0 }), { uid: 100000, gid: 200000 });
  assert.deepEqual(toHostIds(MAP, { uid: 999, gid: 65535 }), { uid: 100999, gid: 265535 });
  assert.deepEqual(toHostIds(MAP, { uid: 1000, gid: 1 }), { uid: 300000, gid: 200001 });
  assert.deepEqual(toContainerIds(MAP, { uid: 300000, gid: 265535 }), { uid: 1000, gid: 65535 });
  assert.deepEqual(rootPair(MAP), { uid: 100000, gid: 200000 });
  assert.throws(() => toHostIds(MAP, { uid: 65536, gid: 0 }), /container ID 65536 cannot be mapped to a host ID/);
  assert.throws(() => toContainerIds(MAP, { uid: 0, gid: 200000 }), /host ID 0 cannot be mapped to a container ID/);
  assert.equal(idMapText(MAP.uids), '0 100000 1000\n1000 300000 64536\n');
});

test("a remapped tree packs with the container's IDs and extracts back to the host's", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-idmap-test-'));
  try {
    const src = join(dir, 'src');
    await mkdir(join(src, 'd'), { recursive: true });
    await writeFile(join(src, 'd', 'f'), 'f');
    await symlink('d/f', join(src, 'l'));
    for (const p of ['d', 'd/f', 'l']) await lchown(join(src, p), 100007, 200008);
    await lchown(join(src, 'd/f'), 301000, 200009);
    const entries = await readTarEntries(packTree(src, { idmap: MAP }) as unknown as Readable);
    const ids = Object.fromEntries(entries.map((e) => [e.header.name, `${e.header.uid}:${e.header.gid}`]));
    assert.deepEqual(ids, { 'd/': '7:8', 'd/f': '2000:9', l: '7:8' });

    const out = join(dir, 'out');
    await mkdir(out);
    await untar(packTree(src, { idmap: MAP }) as unknown as Readable, { view: { root: out }, owner: 'header', idmap: MAP });
    for (const [p, want] of [['d', [100007, 200008]], ['d/f', [301000, 200009]], ['l', [100007, 200008]]] as const) {
      const st = await lstat(join(out, p));
      assert.deepEqual([st.uid, st.gid], want, p);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an archive owner the ranges do not hold fails the extraction', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-idmap-test-'));
  try {
    const p = pack();
    p.entry({ name: 'far', uid: 70000, gid: 0 }, 'x');
    p.finalize();
    await assert.rejects(untar(p as unknown as Readable, { view: { root: dir }, owner: 'header', idmap: MAP }), /container ID 70000 cannot be mapped to a host ID/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
