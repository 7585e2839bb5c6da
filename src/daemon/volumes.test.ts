import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostConfig } from '../types/index.js';
import { VolumeService } from './volumes.js';

test('setup: the container\'s mounts, a missing -v source created, a --mount source never', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-volumes-'));
  try {
    const hc: HostConfig = {
      Binds: [`${dir}/new/sub:/data:ro`],
      Mounts: [{ Type: 'bind', Source: `${dir}/other`, Target: '/o' }],
      Tmpfs: { '/run': 'size=1m' },
    };
    const mounts = await new VolumeService().setup('c1', hc, {});
    assert.ok((await stat(`${dir}/new/sub`)).isDirectory());
    assert.equal(existsSync(`${dir}/other`), false);
    assert.deepEqual(mounts, [
      { type: 'tmpfs', source: 'tmpfs', target: '/run', options: ['nosuid', 'nodev', 'noexec', 'size=1m'] },
      { type: 'bind', source: `${dir}/new/sub`, target: '/data', options: ['rbind', 'ro', 'rprivate'] },
      { type: 'bind', source: `${dir}/other`, target: '/o', options: ['rbind', 'rw', 'rprivate'] },
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('release is idempotent, also for a container never set up', async () => {
  const v = new VolumeService();
  await v.release('never');
  await v.release('never');
});

test('list and prune: no volumes yet; prune refuses a filter Docker refuses', () => {
  const v = new VolumeService();
  assert.deepEqual(v.list(), { Volumes: [], Warnings: null });
  assert.deepEqual(v.prune({}), { VolumesDeleted: null, SpaceReclaimed: 0 });
  assert.deepEqual(v.prune({ label: ['a'], 'label!': ['b'], all: ['true'] }), { VolumesDeleted: null, SpaceReclaimed: 0 });
  assert.throws(() => v.prune({ bogus: ['1'] }), { code: 'WHARF_INVALID_ARGUMENT', message: "invalid filter 'bogus'" });
});

test('usage: none for system df', async () => {
  assert.deepEqual(await new VolumeService().usage(), []);
});
