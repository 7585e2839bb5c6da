import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bindMounts, bindSourcesToCreate, containerMounts, mountPoints, parseBind, tmpfsMount, validateMounts } from './mounts.js';

test('parseBind: source and destination normalized, mode kept as given, propagation picked from it', () => {
  assert.deepEqual(parseBind('/src//a/:/dst/./b'), { source: '/src/a/', destination: '/dst/b', readOnly: false, propagation: 'rprivate', mode: '' });
  assert.deepEqual(parseBind('/s:/d:ro,z,rshared'), { source: '/s', destination: '/d', readOnly: true, propagation: 'rshared', mode: 'ro,z,rshared' });
  assert.equal(parseBind('/s:/d:rw,slave').propagation, 'slave');
});

test('parseBind: Docker-shaped messages for what it refuses', () => {
  assert.throws(() => parseBind('/only'), { code: 'WHARF_INVALID_ARGUMENT', message: "invalid volume specification: '/only'" });
  assert.throws(() => parseBind('/a:/b:ro:x'), { message: "invalid volume specification: '/a:/b:ro:x'" });
  assert.throws(() => parseBind('/a:rel'), {
    message: `invalid volume specification: '/a:rel': invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`,
  });
  assert.throws(() => parseBind('named:/x'), {
    message: "invalid volume specification: 'named:/x': named volumes are not supported by this version of wharf yet; use an absolute host path",
  });
  assert.throws(() => parseBind('/a:/b:bad'), { message: 'invalid mode: bad' });
});

test('bindMounts: -v binds then --mount binds and tmpfs, with their options', () => {
  const mounts = bindMounts({
    Binds: ['/h:/c:ro', '/h2:/c2'],
    Mounts: [
      { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1024, Mode: 0o1777 } },
      { Type: 'bind', Source: '/s', Target: '/m', ReadOnly: true, BindOptions: { Propagation: 'rslave', NonRecursive: true } },
      { Type: 'bind', Source: '/s2', Target: '/m2' },
      { Type: 'tmpfs' },
    ],
  });
  assert.deepEqual(mounts, [
    { type: 'bind', source: '/h', target: '/c', options: ['rbind', 'ro', 'rprivate'] },
    { type: 'bind', source: '/h2', target: '/c2', options: ['rbind', 'rw', 'rprivate'] },
    { type: 'tmpfs', source: 'tmpfs', target: '/t', options: ['nosuid', 'nodev', 'noexec', 'size=1024', 'mode=1777'] },
    { type: 'bind', source: '/s', target: '/m', options: ['bind', 'ro', 'rslave'] },
    { type: 'bind', source: '/s2', target: '/m2', options: ['rbind', 'rw', 'rprivate'] },
  ]);
});

test('tmpfsMount: an option the user gives replaces its opposite', () => {
  assert.deepEqual(tmpfsMount('/t', ''), { type: 'tmpfs', source: 'tmpfs', target: '/t', options: ['nosuid', 'nodev', 'noexec'] });
  assert.deepEqual(tmpfsMount('/t', 'size=1m, exec,nosuid,suid').options, ['nodev', 'size=1m', 'exec', 'suid']);
});

test('containerMounts: --tmpfs first, then what bindMounts gives', () => {
  const hc = { Tmpfs: { '/run': '', '/tmp': 'size=1m' }, Binds: ['/h:/c'], Mounts: [{ Type: 'tmpfs' as const, Target: '/t' }] };
  assert.deepEqual(
    containerMounts(hc).map((m) => m.target),
    ['/run', '/tmp', '/c', '/t'],
  );
  assert.deepEqual(containerMounts(hc).slice(2), bindMounts(hc));
  assert.deepEqual(containerMounts({}), []);
});

test('bindSourcesToCreate: only -v sources, as Docker creates them', () => {
  assert.deepEqual(bindSourcesToCreate({ Binds: ['/a//b:/c', '/d:/e:ro'], Mounts: [{ Type: 'bind', Source: '/m', Target: '/n' }] }), ['/a/b', '/d']);
});

test('validateMounts: a missing -v source is fine, a missing --mount source is not; messages as Docker', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-mounts-'));
  try {
    await validateMounts({ Binds: [`${dir}/missing:/x`], Mounts: [{ Type: 'bind', Source: dir, Target: '/y' }, { Type: 'tmpfs', Target: '/t' }] });
    await assert.rejects(validateMounts({ Mounts: [{ Type: 'bind', Source: `${dir}/missing`, Target: '/y' }] }), {
      code: 'WHARF_INVALID_ARGUMENT',
      message: `invalid mount config for type "bind": bind source path does not exist: ${dir}/missing`,
    });
    await assert.rejects(validateMounts({ Mounts: [{ Type: 'bind', Target: '/y' }] }), { message: 'invalid mount config for type "bind": field Source must not be empty' });
    await assert.rejects(validateMounts({ Mounts: [{ Type: 'tmpfs', Target: 'rel' }] }), {
      message: `invalid mount config for type "tmpfs": invalid mount path: 'rel' mount path must be absolute`,
    });
    await assert.rejects(validateMounts({ Mounts: [{ Type: 'bind', Source: dir }] }), {
      message: `invalid mount config for type "bind": invalid mount path: '' mount path must be absolute`,
    });
    await validateMounts({ Mounts: [{ Type: 'volume', Source: 'n', Target: '/v' }], Binds: ['named:/x', '/anon'] });
    await assert.rejects(validateMounts({ Mounts: [{ Type: 'volume', Target: '/v', BindOptions: {} }] }), {
      message: 'invalid mount config for type "volume": field BindOptions must not be specified',
    });
    await assert.rejects(validateMounts({ Mounts: [{ Type: 'npipe' as never, Target: '/v' }] }), { message: 'invalid mount config: mount type unknown: "npipe"' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('mountPoints: the Mounts of inspect and ps; --tmpfs is not listed, as in Docker', () => {
  assert.deepEqual(
    mountPoints({
      Binds: ['/tmp:/h:ro'],
      Tmpfs: { '/run': '' },
      Mounts: [
        { Type: 'tmpfs', Target: '/tt' },
        { Type: 'bind', Source: '/etc', Target: '/e', ReadOnly: true },
        { Source: '/x' },
      ],
    }),
    [
      { Type: 'bind', Source: '/tmp', Destination: '/h', Mode: 'ro', RW: false, Propagation: 'rprivate' },
      { Type: 'tmpfs', Source: '', Destination: '/tt', Mode: '', RW: true, Propagation: '' },
      { Type: 'bind', Source: '/etc', Destination: '/e', Mode: '', RW: false, Propagation: 'rprivate' },
    ],
  );
});
