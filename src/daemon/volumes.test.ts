import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_CAPS, generateSpec, type ContainerSpec } from '../runtime/index.js';
import type { HostConfig } from '../types/index.js';
import { bindMounts } from './spec.js';
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

test('the runtime writes the same mounts from setup\'s list as from the tmpfs map it took before', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-volumes-'));
  const hc: HostConfig = {
    Tmpfs: { '/t': 'size=1m,exec', '/etc/hosts': '' },
    Binds: [`${dir}/a:/h:ro`, `${dir}/b:/t`],
    Mounts: [{ Type: 'tmpfs', Target: '/u', TmpfsOptions: { SizeBytes: 2048 } }],
  };
  const base: ContainerSpec = {
    id: 'abc', rootfs: '/r', readonlyRootfs: false, args: ['sh'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] },
    hostname: 'h', tty: false, openStdin: false, stdinOnce: false, mounts: [], tmpfs: {},
    files: { hosts: '/f/hosts', hostname: '/f/hostname', resolvConf: '/f/resolv.conf' }, network: { mode: 'none' },
    ipc: 'private', pid: 'private', uts: 'private', privileged: false, capAdd: [], capDrop: [], securityOpt: [], sysctls: {},
    rlimits: [], shmSize: 1024, devices: [], resources: {}, init: { path: '/init' },
  };
  const host = { cgroupV2: true, devices: [], nofileMax: 4096, availableCaps: ALL_CAPS };
  try {
    const before = generateSpec({ ...base, tmpfs: hc.Tmpfs!, mounts: bindMounts(hc) }, host).mounts;
    const mounts = await new VolumeService().setup('abc', hc, {});
    assert.deepEqual(generateSpec({ ...base, mounts }, host).mounts, before);
    // A spec that still passes the tmpfs map as well comes out the same.
    assert.deepEqual(generateSpec({ ...base, tmpfs: hc.Tmpfs!, mounts }, host).mounts, before);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
