import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCreateRequest, healthConfig, parseMount, parsePublish, parseRestart, parseUlimit, readVarFile } from './createopts.js';

test('create request from run flags', () => {
  const r = buildCreateRequest('busybox', ['sh', '-c', 'true'], { interactive: true, tty: true, env: ['A=1', 'HOME_X'], label: ['a=b', 'c'], restart: 'on-failure:3', memory: 1024, cpus: 1.5, entrypoint: '', network: [{ target: 'none' }], publish: ['8080:80'] }, { HOME_X: '/x' });
  assert.deepEqual(r.Cmd, ['sh', '-c', 'true']);
  assert.deepEqual(r.Env, ['A=1', 'HOME_X=/x']);
  assert.deepEqual(r.Labels, { a: 'b', c: '' });
  assert.deepEqual(r.Entrypoint, ['']);
  assert.equal(r.AttachStdin, true);
  assert.equal(r.OpenStdin, true);
  assert.equal(r.StdinOnce, true);
  assert.equal(r.Tty, true);
  assert.deepEqual(r.HostConfig?.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.equal(r.HostConfig?.NanoCpus, 1_500_000_000);
  assert.equal(r.HostConfig?.NetworkMode, 'none');
  assert.deepEqual(r.HostConfig?.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
  assert.deepEqual(r.ExposedPorts, { '80/tcp': {} });
  const d = buildCreateRequest('busybox', [], { detach: true, interactive: true });
  assert.equal(d.AttachStdout, false);
  assert.equal(d.StdinOnce, false);
  assert.equal(d.Cmd, undefined);
  const a = buildCreateRequest('busybox', [], { attach: ['STDERR'] });
  assert.equal(a.AttachStdout, false);
  assert.equal(a.AttachStderr, true);
});

test('StdinOnce only when stdin is both open and attached (docker: OpenStdin && AttachStdin)', () => {
  const once = (f: Parameters<typeof buildCreateRequest>[2]) => buildCreateRequest('busybox', [], f).StdinOnce;
  assert.equal(once({ interactive: true }), true);
  assert.equal(once({ interactive: true, attach: ['stdin', 'stdout'] }), true);
  assert.equal(once({ interactive: true, attach: ['stdout'] }), false);
  assert.equal(once({ interactive: true, detach: true }), false);
  assert.equal(once({ attach: ['stdin'] }), false);
  // create has no -d: `create -i` attaches stdin like docker's, so a later `start -a -i` gets it.
  const c = buildCreateRequest('busybox', [], { interactive: true });
  assert.deepEqual([c.AttachStdin, c.AttachStdout, c.AttachStderr, c.OpenStdin], [true, true, true, true]);
});

test('restart, publish, mount, ulimit parsing', () => {
  assert.deepEqual(parseRestart('always'), { Name: 'always', MaximumRetryCount: 0 });
  assert.throws(() => parseRestart('on-failure:x'), /must be an integer/);
  assert.throws(() => parseRestart(':2'), /no policy provided before colon/);
  assert.throws(() => parseRestart('on-failure:3:4'), /must be an integer/);
  // A count on another policy is the daemon's to refuse, as with docker.
  assert.deepEqual(parseRestart('always:2'), { Name: 'always', MaximumRetryCount: 2 });
  assert.equal(buildCreateRequest('busybox', [], { rm: true }).HostConfig?.AutoRemove, true);
  assert.throws(() => buildCreateRequest('busybox', [], { rm: true, restart: 'always' }), /cannot specify both --restart and --rm/);
  assert.equal(buildCreateRequest('busybox', [], { rm: true, restart: 'no' }).HostConfig?.RestartPolicy?.Name, 'no');
  assert.deepEqual(parsePublish('127.0.0.1:8080:80/udp'), [{ key: '80/udp', binding: { HostIp: '127.0.0.1', HostPort: '8080' } }]);
  assert.deepEqual(parsePublish('80'), [{ key: '80/tcp', binding: { HostIp: '', HostPort: '' } }]);
  assert.equal(parsePublish('8000-8001:80-81').length, 2);
  assert.deepEqual(parseMount('type=bind,source=/a,target=/b,readonly'), { Type: 'bind', Source: '/a', Target: '/b', ReadOnly: true });
  assert.deepEqual(parseMount('type=tmpfs,dst=/t,tmpfs-size=1m'), { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1048576 } });
  assert.throws(() => parseMount('type=bind,source=/a'), /target is required/);
  assert.deepEqual(parseUlimit('nofile=1024:2048'), { Name: 'nofile', Soft: 1024, Hard: 2048 });
  assert.deepEqual(parseUlimit('nproc=10'), { Name: 'nproc', Soft: 10, Hard: 10 });
});

test('env files', () => {
  const lines = readVarFile('f', { B: 'fromenv' }, () => '# c\nA=1\n\nB\nC\n  D=x y\n');
  assert.deepEqual(lines, ['A=1', 'B=fromenv', 'D=x y']);
});

test('healthConfig: the docker CLI Healthcheck from the --health-* flags', () => {
  assert.equal(healthConfig({}), undefined);
  assert.equal(healthConfig({ healthcheck: true }), undefined);
  assert.deepEqual(healthConfig({ healthcheck: false }), { Test: ['NONE'] });
  assert.deepEqual(healthConfig({ healthCmd: 'exit 0', healthInterval: 200e6, healthRetries: 2 }), {
    Test: ['CMD-SHELL', 'exit 0'],
    Interval: 200e6,
    Timeout: 0,
    StartPeriod: 0,
    StartInterval: 0,
    Retries: 2,
  });
  // Without a command the image's stays: the daemon fills the test in.
  assert.equal(healthConfig({ healthTimeout: 1e9 })?.Test, undefined);
  assert.throws(() => healthConfig({ healthcheck: false, healthCmd: 'true' }), { message: '--no-healthcheck conflicts with --health-* options' });
  assert.throws(() => healthConfig({ healthInterval: -1 }), { message: '--health-interval cannot be negative' });
  assert.throws(() => healthConfig({ healthRetries: -1 }), { message: '--health-retries cannot be negative' });
  assert.deepEqual(buildCreateRequest('busybox', [], { healthcheck: false }).Healthcheck, { Test: ['NONE'] });
});

test('privilege and namespace flags, as the docker CLI sends them', async () => {
  const { Command } = await import('commander');
  const { addCreateFlags } = await import('./createopts.js');
  const parse = (args: string[]) => {
    const cmd = addCreateFlags(new Command('run').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} }));
    cmd.argument('[image]').parse(['node', 'run', ...args]);
    return cmd.opts();
  };
  const f = parse(['--device', '/dev/fuse', '--device', '/dev/null:/dev/mynull:r', '--device', '/dev/zero:rw', '--device-cgroup-rule', 'c 1:3 rwm', '--group-add', 'audio', '--ipc', 'shareable', '--pid', 'container:db', '--uts', 'host', '--userns', 'host', '--oom-score-adj', '-500', '--sysctl', 'net.ipv4.ip_forward=1', '--systemd', 'always', 'busybox']);
  const hc = buildCreateRequest('busybox', [], f).HostConfig!;
  assert.deepEqual(hc.Devices, [
    { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' },
    { PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'r' },
    { PathOnHost: '/dev/zero', PathInContainer: '/dev/zero', CgroupPermissions: 'rw' },
  ]);
  assert.deepEqual(hc.DeviceCgroupRules, ['c 1:3 rwm']);
  assert.deepEqual(hc.GroupAdd, ['audio']);
  assert.equal(hc.IpcMode, 'shareable');
  assert.equal(hc.PidMode, 'container:db');
  assert.equal(hc.UTSMode, 'host');
  assert.equal(hc.UsernsMode, 'host');
  assert.equal(hc.OomScoreAdj, -500);
  assert.deepEqual(hc.Sysctls, { 'net.ipv4.ip_forward': '1' });
  assert.deepEqual(hc.Annotations, { 'io.wharf.systemd': 'always' });
  assert.equal(buildCreateRequest('busybox', [], parse(['busybox'])).HostConfig!.Annotations, undefined);
  const refused = (args: string[], text: string) => assert.throws(() => parse(args), (e: Error) => e.message.includes(text), text);
  refused(['--sysctl', 'kernel.hostname=x'], "sysctl 'kernel.hostname=x' is not allowed");
  refused(['--device', '/dev/null:dev/x'], 'dev/x is not an absolute path');
  refused(['--device', '/dev/null:/dev/x:rwx'], 'bad mode specified: rwx');
  refused(['--device', 'a:b:c:d'], 'bad format for path: a:b:c:d');
  refused(['--device-cgroup-rule', 'c 1 rwm'], "invalid device cgroup format 'c 1 rwm'");
  assert.throws(() => buildCreateRequest('busybox', [], { pid: 'bogus' }), /--pid: invalid PID mode/);
  assert.throws(() => buildCreateRequest('busybox', [], { uts: 'private' }), /--uts: invalid UTS mode/);
  assert.throws(() => buildCreateRequest('busybox', [], { userns: 'remap' }), /--userns: invalid USER mode/);
  assert.throws(() => buildCreateRequest('busybox', [], { systemd: 'maybe' }), /for "--systemd" flag/);
});

test('volumes: -v /path is an anonymous volume of the config, the rest are binds; --volumes-from; --mount volume options', () => {
  const r = buildCreateRequest('busybox', [], { volume: ['/scratch', 'data:/d:ro', '/h:/c'], volumesFrom: ['dbstore:ro'] });
  assert.deepEqual(r.Volumes, { '/scratch': {} });
  assert.deepEqual(r.HostConfig?.Binds, ['data:/d:ro', '/h:/c']);
  assert.deepEqual(r.HostConfig?.VolumesFrom, ['dbstore:ro']);
  assert.deepEqual(parseMount('type=volume,src=v,dst=/v,volume-nocopy,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-label=a=b'), {
    Type: 'volume',
    Source: 'v',
    Target: '/v',
    VolumeOptions: { NoCopy: true, DriverConfig: { Options: { type: 'tmpfs', device: 'tmpfs' } }, Labels: { a: 'b' } },
  });
});
