import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseVolumeSpec, parseVolumesFrom, planMounts, plannedMountPoint, plannedRuntimeMount } from './plan.js';

test('parseVolumeSpec: binds, named volumes (mode z), anonymous volumes, and Docker\'s refusals', () => {
  assert.deepEqual(parseVolumeSpec('/h//a:/c:ro,rshared'), { type: 'bind', source: '/h/a', destination: '/c', rw: false, mode: 'ro,rshared', propagation: 'rshared', copyData: false, createSource: true });
  assert.deepEqual(parseVolumeSpec('data:/var/lib/db'), { type: 'volume', name: 'data', source: '', destination: '/var/lib/db', rw: true, mode: 'z', propagation: '', copyData: true });
  assert.equal(parseVolumeSpec('data:/d:ro,nocopy').copyData, false);
  assert.equal(parseVolumeSpec('data:/d:ro,nocopy').rw, false);
  assert.deepEqual(parseVolumeSpec('/scratch'), { type: 'volume', name: '', source: '', destination: '/scratch', rw: true, mode: '', propagation: '', copyData: true, anonymous: true });
  assert.throws(() => parseVolumeSpec('/foo:ro'), { message: "invalid volume specification: '/foo:ro'" });
  assert.throws(() => parseVolumeSpec('a:b:c:d'), { message: "invalid volume specification: 'a:b:c:d'" });
  assert.throws(() => parseVolumeSpec('data:rel'), { message: `invalid volume specification: 'data:rel': invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute` });
  assert.throws(() => parseVolumeSpec('data:/d:bogus'), { message: 'invalid mode: bogus' });
  assert.throws(() => parseVolumeSpec('data:/d:rshared'), { message: 'invalid mode: rshared' });
});

test('parseVolumesFrom: a container with an optional ro/rw', () => {
  assert.deepEqual(parseVolumesFrom('data'), { container: 'data', mode: '' });
  assert.deepEqual(parseVolumesFrom('data:ro'), { container: 'data', mode: 'ro' });
  assert.throws(() => parseVolumesFrom('data:x'), { message: 'invalid mode: x' });
});

test('planMounts: image VOLUMEs, then --volumes-from, then -v, then --mount; the user\'s own may not share a destination', () => {
  const from = [{ mounts: [{ type: 'volume' as const, name: 'v1', source: '/vols/v1/_data', destination: '/dbdata', rw: true, mode: '', propagation: '', copyData: true, anonymous: true }], mode: 'ro' as const }];
  const plan = planMounts(
    { Binds: ['named:/data'], Mounts: [{ Type: 'volume', Target: '/m', VolumeOptions: { NoCopy: true, DriverConfig: { Options: { type: 'tmpfs', device: 'tmpfs' } }, Labels: { a: 'b' } } }, { Type: 'tmpfs', Target: '/t' }] },
    { Volumes: { '/data': {}, '/img': {} } },
    from,
  );
  assert.deepEqual(plan.map((m) => [m.destination, m.type, m.name, m.rw, Boolean(m.anonymous)]), [
    ['/data', 'volume', 'named', true, false],
    ['/img', 'volume', '', true, true],
    ['/dbdata', 'volume', 'v1', false, false],
    ['/m', 'volume', '', true, true],
  ]);
  const m = plan.find((x) => x.destination === '/m')!;
  assert.equal(m.copyData, false);
  assert.deepEqual(m.driverOptions, { type: 'tmpfs', device: 'tmpfs' });
  assert.deepEqual(m.labels, { a: 'b' });
  assert.equal(plan.find((x) => x.destination === '/dbdata')!.copyData, false, 'volumes-from mounts are never filled again');
  assert.throws(() => planMounts({ Binds: ['a:/x'], Mounts: [{ Type: 'bind', Source: '/h', Target: '/x/' }] }, {}), { message: 'Duplicate mount point: /x' });
});

test('plannedMountPoint and plannedRuntimeMount: inspect\'s shape and the runtime\'s bind', () => {
  const v = { type: 'volume' as const, name: 'n', source: '/r/n/_data', destination: '/d', rw: false, mode: 'ro', propagation: '', copyData: true };
  assert.deepEqual(plannedMountPoint(v), { Type: 'volume', Name: 'n', Source: '/r/n/_data', Destination: '/d', Driver: 'local', Mode: 'ro', RW: false, Propagation: '' });
  assert.deepEqual(plannedRuntimeMount(v, '/r/n/_data'), { type: 'bind', source: '/r/n/_data', target: '/d', options: ['rbind', 'ro', 'rprivate'] });
  const b = parseVolumeSpec('/h:/c:rslave');
  assert.deepEqual(plannedMountPoint(b), { Type: 'bind', Source: '/h', Destination: '/c', Mode: 'rslave', RW: true, Propagation: 'rslave' });
});
