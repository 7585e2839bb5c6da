import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capabilities, capsFromMask, generateSpec, DEFAULT_CAPS, ALL_CAPS, INIT_PATH_IN_CONTAINER } from './oci.js';
import type { ContainerSpec } from './types.js';

function spec(over: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    id: 'abc',
    rootfs: '/r',
    readonlyRootfs: false,
    args: ['sh'],
    env: ['PATH=/bin'],
    cwd: '/',
    user: { uid: 0, gid: 0, additionalGids: [] },
    hostname: 'h',
    tty: false,
    openStdin: false,
    stdinOnce: false,
    mounts: [],
    files: { hosts: '/f/hosts', hostname: '/f/hostname', resolvConf: '/f/resolv.conf' },
    network: { mode: 'none' },
    ipc: 'private',
    pid: 'private',
    uts: 'private',
    privileged: false,
    capAdd: [],
    capDrop: [],
    securityOpt: [],
    sysctls: {},
    rlimits: [],
    shmSize: 1024,
    devices: [],
    resources: {},
    ...over,
  };
}
const host = { cgroupV2: false, devices: [], nofileMax: 4096, availableCaps: ALL_CAPS };

test('capabilities: Docker defaults, add and drop by either spelling, drop ALL then add', () => {
  assert.deepEqual(capabilities(spec()), DEFAULT_CAPS);
  const c = capabilities(spec({ capAdd: ['net_admin'], capDrop: ['CAP_CHOWN', 'kill'] }));
  assert.ok(c.includes('CAP_NET_ADMIN'));
  assert.ok(!c.includes('CAP_CHOWN') && !c.includes('CAP_KILL'));
  assert.deepEqual(capabilities(spec({ capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE'] })), ['CAP_NET_BIND_SERVICE']);
  assert.deepEqual(capabilities(spec({ privileged: true })), ALL_CAPS);
  assert.throws(() => capabilities(spec({ capAdd: ['bogus'] })), /unknown capability: "CAP_BOGUS"/);
});

test('capabilities: "all" and the defaults are limited to what the daemon holds', () => {
  // A bounding set without CAP_SYS_RESOURCE (bit 24) and CAP_MKNOD (bit 27), as in some sandboxes.
  const available = capsFromMask('000001fff6ffffff');
  assert.equal(available.length, ALL_CAPS.length - 2);
  assert.ok(!available.includes('CAP_SYS_RESOURCE') && !available.includes('CAP_MKNOD'));
  assert.ok(available.includes('CAP_CHECKPOINT_RESTORE') && available.includes('CAP_CHOWN'));
  assert.deepEqual(capabilities(spec({ privileged: true }), available), available);
  assert.deepEqual(capabilities(spec({ capAdd: ['ALL'] }), available), available);
  assert.deepEqual(capabilities(spec(), available), DEFAULT_CAPS.filter((c) => c !== 'CAP_MKNOD'));
  assert.throws(() => capabilities(spec({ capAdd: ['SYS_RESOURCE'] }), available), /cannot add capability CAP_SYS_RESOURCE: the daemon itself does not hold it/);
});

test('generateSpec: namespaces follow the modes, host files are bind-mounted, paths masked', () => {
  const s = generateSpec(spec(), host);
  const types = s.linux.namespaces.map((n) => n.type).sort();
  assert.deepEqual(types, ['ipc', 'mount', 'network', 'pid', 'uts']);
  assert.equal(s.hostname, 'h');
  assert.ok(s.mounts.some((m) => m.destination === '/etc/hosts' && m.source === '/f/hosts'));
  assert.ok(s.linux.maskedPaths!.includes('/proc/kcore'));
  assert.ok(s.linux.readonlyPaths!.includes('/proc/sys'));
  assert.deepEqual(s.process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 4096, hard: 4096 }]);
  assert.equal(s.linux.cgroupsPath, '/wharf/abc');

  const hostNet = generateSpec(spec({ network: { mode: 'host' }, uts: 'host' }), { ...host, cgroupV2: true });
  const t = hostNet.linux.namespaces.map((n) => n.type);
  assert.ok(!t.includes('network') && !t.includes('uts') && t.includes('cgroup'));
  assert.equal(hostNet.hostname, undefined);
  const joined = generateSpec(spec({ network: { mode: 'path', path: '/run/netns/x' } }), host);
  assert.deepEqual(joined.linux.namespaces.find((n) => n.type === 'network'), { type: 'network', path: '/run/netns/x' });
});

test('generateSpec: init goes in front of the command; user mounts replace defaults; tmpfs mounts as given', () => {
  const s = generateSpec(
    spec({
      init: { path: '/usr/bin/tini' },
      mounts: [
        { type: 'bind', source: '/h', target: '/dev/shm', options: ['rbind', 'rw'] },
        { type: 'tmpfs', source: 'tmpfs', target: '/run', options: ['nosuid', 'nodev', 'exec', 'size=1m'] },
      ],
      readonlyRootfs: true,
    }),
    host,
  );
  assert.deepEqual(s.process.args, [INIT_PATH_IN_CONTAINER, '--', 'sh']);
  assert.ok(s.mounts.some((m) => m.destination === INIT_PATH_IN_CONTAINER && m.source === '/usr/bin/tini'));
  const shm = s.mounts.filter((m) => m.destination === '/dev/shm');
  assert.equal(shm.length, 1);
  assert.equal(shm[0].source, '/h');
  const run = s.mounts.find((m) => m.destination === '/run')!;
  assert.ok(run.options.includes('exec') && !run.options.includes('noexec') && run.options.includes('size=1m'));
  assert.equal(s.root.readonly, true);
});

test('generateSpec: resources and privileged mode', () => {
  const s = generateSpec(spec({ resources: { memory: 1 << 20, cpuQuota: 50000, cpuPeriod: 100000, pidsLimit: 10 } }), host);
  assert.equal(s.linux.resources.memory?.limit, 1 << 20);
  assert.equal(s.linux.resources.cpu?.quota, 50000);
  assert.deepEqual(s.linux.resources.pids, { limit: 10 });
  assert.deepEqual(s.linux.resources.devices[0], { allow: false, access: 'rwm' });
  const p = generateSpec(spec({ privileged: true }), host);
  assert.deepEqual(p.linux.maskedPaths, []);
  assert.deepEqual(p.linux.resources.devices, [{ allow: true, access: 'rwm' }]);
  assert.throws(() => generateSpec(spec({ securityOpt: ['bogus=1'] }), host), /invalid --security-opt 2: "bogus=1"/);
});

test('capabilities: --cap-add ALL wins over --cap-drop ALL and drops only what is named (dockerd)', () => {
  assert.deepEqual(capabilities(spec({ capAdd: ['ALL'], capDrop: ['ALL'] })), ALL_CAPS);
  assert.deepEqual(capabilities(spec({ capAdd: ['all'], capDrop: ['net_raw'] })), ALL_CAPS.filter((c) => c !== 'CAP_NET_RAW'));
});

test('generateSpec: joining another container: its pid and ipc namespaces and its /dev/shm; ipc none has no /dev/shm; ipc host the host\'s', () => {
  const joined = generateSpec(spec({ pid: { path: '/proc/42/ns/pid' }, ipc: { path: '/proc/42/ns/ipc', shm: '/proc/42/root/dev/shm' } }), host);
  assert.deepEqual(joined.linux.namespaces.filter((n) => n.type === 'pid' || n.type === 'ipc'), [
    { type: 'pid', path: '/proc/42/ns/pid' },
    { type: 'ipc', path: '/proc/42/ns/ipc' },
  ]);
  assert.deepEqual(joined.mounts.find((m) => m.destination === '/dev/shm'), { destination: '/dev/shm', type: 'bind', source: '/proc/42/root/dev/shm', options: ['rbind', 'rprivate'] });
  const none = generateSpec(spec({ ipc: 'none' }), host);
  assert.ok(none.linux.namespaces.some((n) => n.type === 'ipc' && !n.path));
  assert.equal(none.mounts.find((m) => m.destination === '/dev/shm'), undefined);
  const h = generateSpec(spec({ ipc: 'host', pid: 'host' }), host);
  assert.ok(!h.linux.namespaces.some((n) => n.type === 'ipc' || n.type === 'pid'));
  assert.equal(h.mounts.find((m) => m.destination === '/dev/shm')?.source, '/dev/shm');
});

test('generateSpec: device cgroup rules with wildcards; a bad rule is Docker\'s error', () => {
  const s = generateSpec(spec({ deviceCgroupRules: ['c 1:3 rwm', 'b *:* m', 'a 7:* r'] }), host);
  assert.deepEqual(s.linux.resources.devices.slice(1), [
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
    { allow: true, type: 'b', major: undefined, minor: undefined, access: 'm' },
    { allow: true, type: 'a', major: 7, minor: undefined, access: 'r' },
  ]);
  assert.throws(() => generateSpec(spec({ deviceCgroupRules: ['x 1:3 rwm'] }), host), /invalid device cgroup format 'x 1:3 rwm'/);
});

test('generateSpec: systemd mode: tmpfs on /run, /run/lock, /tmp, /var/log/journal; its own name=systemd cgroup writable on v1; cgroup rw on v2', () => {
  const v1 = generateSpec(spec({ systemd: true }), { ...host, systemdHierarchy: '/sys/fs/cgroup/systemd' });
  const byDest = (s: typeof v1, d: string) => s.mounts.find((m) => m.destination === d);
  for (const d of ['/run', '/run/lock', '/tmp', '/var/log/journal']) assert.equal(byDest(v1, d)?.type, 'tmpfs', d);
  // /run/lock after /run, or the /run tmpfs would hide it.
  const order = v1.mounts.map((m) => m.destination);
  assert.ok(order.indexOf('/run') < order.indexOf('/run/lock'));
  assert.deepEqual(byDest(v1, '/sys/fs/cgroup/systemd'), {
    destination: '/sys/fs/cgroup/systemd',
    type: 'bind',
    source: '/sys/fs/cgroup/systemd/wharf/abc',
    options: ['rbind', 'rw', 'nosuid', 'nodev', 'noexec', 'rprivate'],
  });
  assert.ok(byDest(v1, '/sys/fs/cgroup')?.options.includes('ro'), 'the other v1 hierarchies stay read-only');
  const v2 = generateSpec(spec({ systemd: true }), { ...host, cgroupV2: true });
  assert.ok(byDest(v2, '/sys/fs/cgroup')?.options.includes('rw'));
  assert.equal(byDest(v2, '/sys/fs/cgroup/systemd'), undefined);
  assert.ok(v2.linux.namespaces.some((n) => n.type === 'cgroup'));
  // A user's mount wins over systemd's tmpfs.
  const user = generateSpec(spec({ systemd: true, mounts: [{ type: 'bind', source: '/h', target: '/tmp', options: ['rbind'] }] }), host);
  assert.equal(byDest(user, '/tmp')?.type, 'bind');
  assert.equal(byDest(generateSpec(spec(), host), '/run'), undefined);
});
