/**
 * Privileges and isolation (issue 9): the default seccomp allow-list, capabilities, devices,
 * namespace modes and the other security flags, through the real docker CLI and wharf.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAP_SETUID_EFF, capEffOfCopy, cappedBusybox, startDaemon, syscallTool, type TestDaemon } from './harness.js';

let d: TestDaemon;
let tools: string;
/** A static helper: `sc NR [ARG...]` makes system call NR and prints `ok` or the errno's number. */
let sc: string | undefined;


before(async () => {
  d = await startDaemon();
  const made = await syscallTool('wharf-priv-tools-');
  tools = made.dir;
  if (made.built) sc = join(tools, 'sc');
});

after(async () => {
  await d?.stop();
  if (tools) await rm(tools, { recursive: true, force: true });
});

const EPERM = '1';
const ENOSYS = '38';
// x86-64 numbers.
const SYS_PERSONALITY = 135;
const SYS_TUXCALL = 184;
const SYS_SOCKET = 41;
/** file_getattr (Linux 6.17), newer than any list a profile was written from. */
const SYS_FILE_GETATTR = 468;
const AF_VSOCK = 40;
const SOCK_STREAM = 1;

async function syscalls(extra: string[], calls: (number | string)[][]): Promise<string[]> {
  const script = calls.map((c) => `/t/sc ${c.join(' ')}`).join('; ');
  const r = await d.docker(['run', '--rm', '-v', `${tools}:/t:ro`, ...extra, 'busybox', 'sh', '-c', script]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n');
}

test('seccomp: the default profile is an allow-list; unknown and newer calls, personality flags and AF_VSOCK are refused', async (t) => {
  if (!sc) return t.skip('gcc -static is not available to build the syscall helper');
  const calls = [
    [SYS_TUXCALL],
    [SYS_FILE_GETATTR, -1, 0, 0, 0, 0],
    [SYS_PERSONALITY, 0xffffffff],
    // ADDR_NO_RANDOMIZE: turns address randomisation off, not among the allowed personas.
    [SYS_PERSONALITY, 0x0040000],
    [SYS_SOCKET, AF_VSOCK, SOCK_STREAM, 0],
  ];
  const [tux, newer, query, noRandom, vsock] = await syscalls([], calls);
  // A call the list does not name: EPERM from the filter, where the kernel would say ENOSYS.
  assert.equal(tux, EPERM, 'tuxcall');
  // A call newer than the list: refused by the filter (runc answers ENOSYS above the highest it knows).
  assert.ok([EPERM, ENOSYS].includes(newer), `file_getattr: ${newer}`);
  assert.equal(query, 'ok', 'personality(0xffffffff)');
  assert.equal(noRandom, EPERM, 'personality(ADDR_NO_RANDOMIZE)');
  assert.equal(vsock, EPERM, 'socket(AF_VSOCK)');

  // Unconfined, the same calls reach the kernel and get its answers: the difference is the profile's.
  const [tuxU, newerU, , noRandomU, vsockU] = await syscalls(['--security-opt', 'seccomp=unconfined'], calls);
  assert.equal(tuxU, ENOSYS);
  assert.ok(![EPERM, ENOSYS].includes(newerU), `file_getattr unconfined: ${newerU}`);
  assert.equal(noRandomU, 'ok');
  assert.notEqual(vsockU, EPERM);
});

test('seccomp: a capability gives its calls back (CAP_SYS_TIME: clock_settime reaches the kernel)', async (t) => {
  if (!sc) return t.skip('gcc -static is not available to build the syscall helper');
  const SYS_CLOCK_SETTIME = 227;
  // A null timespec: the kernel answers EFAULT (14) once the filter lets the call through, and sets no clock.
  const [without] = await syscalls([], [[SYS_CLOCK_SETTIME, 0, 0]]);
  const [withCap] = await syscalls(['--cap-add', 'SYS_TIME'], [[SYS_CLOCK_SETTIME, 0, 0]]);
  assert.equal(without, EPERM);
  assert.equal(withCap, '14');
});

test('capabilities: drop ALL then add one, with or without CAP_; unknown ones are refused with Docker\'s text', async () => {
  const r = await d.docker(['run', '--rm', '--cap-drop', 'ALL', '--cap-add', 'net_bind_service', 'busybox', 'grep', 'CapEff', '/proc/self/status']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /CapEff:\s+0000000000000400\n/);
  const all = await d.wharf(['run', '--rm', '--cap-add', 'ALL', '--cap-drop', 'CAP_NET_RAW', 'busybox', 'grep', 'CapEff', '/proc/self/status']);
  const eff = BigInt(`0x${all.stdout.split(/\s+/)[1]}`);
  assert.equal((eff >> 13n) & 1n, 0n, 'CAP_NET_RAW (bit 13) dropped');
  assert.equal((eff >> 21n) & 1n, 1n, 'CAP_SYS_ADMIN (bit 21) added');
  for (const [flag, what] of [['--cap-add', 'CapAdd'], ['--cap-drop', 'CapDrop']]) {
    const bad = await d.docker(['run', '--rm', flag, 'bogus', 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, new RegExp(`invalid ${what}: unknown capability: "CAP_BOGUS"`));
  }
  const api = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { CapAdd: ['CAP_NOPE'] } });
  assert.equal(api.status, 400);
  assert.equal(JSON.parse(api.body).message, 'invalid CapAdd: unknown capability: "CAP_NOPE"');
});

test('--privileged: every capability, the host\'s devices, no seccomp', async (t) => {
  const r = await d.docker(['run', '--rm', '--privileged', 'busybox', 'sh', '-c', 'grep -E "CapEff|Seccomp:" /proc/self/status; ls /dev | wc -l']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Seccomp:\s+0\n/);
  assert.ok(Number(r.stdout.trim().split('\n').pop()) > 20, r.stdout);
  if (!sc) return t.skip('no syscall helper');
  const [tux] = await syscalls(['--privileged'], [[SYS_TUXCALL]]);
  assert.equal(tux, ENOSYS);
});

test('--device with a path in the container and permissions; a missing device is Docker\'s error; --device-cgroup-rule', async () => {
  // /dev/loop-control is not among the devices every container gets, so its permissions are the flag's alone.
  if (existsSync('/dev/loop-control')) {
    const script = 'ls -l /dev/myloop; true < /dev/myloop && echo readable; (echo x > /dev/myloop) 2>&1 | grep -c "Operation not permitted"';
    const r = await d.docker(['run', '--rm', '--device', '/dev/loop-control:/dev/myloop:r', 'busybox', 'sh', '-c', script]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^c.* 10,\s+237 .*\/dev\/myloop\nreadable\n1\n$/);
    const rw = await d.docker(['run', '--rm', '--device', '/dev/loop-control:/dev/myloop', 'busybox', 'sh', '-c', script]);
    assert.match(rw.stdout, /readable\n0\n$/, 'rwm by default: the write is the device\'s to refuse, not the cgroup\'s');
  }
  const missing = await d.docker(['run', '--rm', '--device', '/dev/no-such-device', 'busybox', 'true']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /error gathering device information while adding custom device "\/dev\/no-such-device": no such file or directory/);
  // The rule lets the container open a device node it made and was not given (10:237 is not among every container's).
  const open = 'mknod /tmp/lc c 10 237 && true < /tmp/lc && echo opened';
  const rule = await d.docker(['run', '--rm', '--device-cgroup-rule', 'c 10:237 r', 'busybox', 'sh', '-c', open]);
  assert.equal(rule.stdout, 'opened\n', rule.stderr);
  const norule = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', open]);
  assert.equal(norule.stdout, '');
  assert.match(norule.stderr, /Operation not permitted/);
  const bad = await d.docker(['run', '--rm', '--device-cgroup-rule', 'z 1:3 rwm', 'busybox', 'true']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /invalid device cgroup format 'z 1:3 rwm'/);
});

test('what wharf cannot give is refused with dockerd\'s texts, not run without it: --gpus, --storage-opt, a throttle on a missing device', async () => {
  const before = (await d.docker(['ps', '-aq'])).stdout;
  const cases: [string[], number, RegExp][] = [
    [['--gpus', 'all'], 125, /could not select device driver "" with capabilities: \[\[gpu\]\]/],
    [['--storage-opt', 'size=1G'], 125, /--storage-opt is supported only for overlay over xfs with 'pquota' mount option/],
    // Go's text, which the docker CLI reads as a missing file: 127, as against dockerd.
    [['--device-read-bps', '/dev/no-such-disk:1mb'], 127, /stat \/dev\/no-such-disk: no such file or directory/],
  ];
  for (const [flags, code, text] of cases) {
    const r = await d.docker(['run', '--rm', ...flags, 'busybox', 'true']);
    assert.equal(r.code, code, `${flags.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, text);
  }
  // A created container asks for its GPUs at start, as on dockerd.
  const created = await d.docker(['create', '--name', 'gpu', '--gpus', 'all', 'busybox', 'true']);
  assert.equal(created.code, 0, created.stderr);
  const start = await d.docker(['start', 'gpu']);
  assert.notEqual(start.code, 0);
  assert.match(start.stderr, /could not select device driver/);
  assert.equal((await d.docker(['rm', 'gpu'])).code, 0);
  assert.equal((await d.docker(['ps', '-aq'])).stdout, before);
});

test('--ipc shareable and container:<c> share shared memory; a stopped donor and a private one are Docker\'s errors; none has no /dev/shm', async () => {
  const donor = 'ipc-donor';
  try {
    const up = await d.docker(['run', '-d', '--name', donor, '--ipc', 'shareable', 'busybox', 'sh', '-c', 'echo from-donor > /dev/shm/token; sleep 600']);
    assert.equal(up.code, 0, up.stderr);
    const ipcOf = async (args: string[]) => (await d.docker(['run', '--rm', ...args, 'busybox', 'readlink', '/proc/self/ns/ipc'])).stdout.trim();
    const joined = await d.docker(['run', '--rm', '--ipc', `container:${donor}`, 'busybox', 'sh', '-c', 'cat /dev/shm/token; readlink /proc/self/ns/ipc']);
    assert.equal(joined.code, 0, joined.stderr);
    const donorNs = (await d.docker(['exec', donor, 'readlink', '/proc/self/ns/ipc'])).stdout.trim();
    assert.equal(joined.stdout, `from-donor\n${donorNs}\n`);
    assert.notEqual(await ipcOf([]), donorNs);
    const none = await d.docker(['run', '--rm', '--ipc', 'none', 'busybox', 'sh', '-c', 'grep -c " /dev/shm " /proc/mounts || true']);
    assert.equal(none.stdout.trim(), '0');

    await d.docker(['run', '-d', '--name', 'ipc-private', 'busybox', 'sleep', '600']);
    const priv = await d.docker(['run', '--rm', '--ipc', 'container:ipc-private', 'busybox', 'true']);
    assert.notEqual(priv.code, 0);
    assert.match(priv.stderr, /non-shareable IPC \(hint: use IpcMode:shareable for the donor container\)/);
    await d.docker(['stop', '-t', '0', donor]);
    const stopped = await d.docker(['run', '--rm', '--ipc', `container:${donor}`, 'busybox', 'true']);
    assert.notEqual(stopped.code, 0);
    assert.match(stopped.stderr, new RegExp(`failed to join IPC namespace: container ${donor} is not running`));
    const bad = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { IpcMode: 'bogus' } });
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.body).message, 'invalid IPC mode: bogus');
  } finally {
    await d.docker(['rm', '-f', donor, 'ipc-private']);
  }
});

test('--pid container:<c> sees its processes; --pid host sees the host\'s; --uts host has the host\'s name', async () => {
  const target = 'pid-target';
  try {
    await d.docker(['run', '-d', '--name', target, 'busybox', 'sleep', '4242']);
    const ps = await d.docker(['run', '--rm', '--pid', `container:${target}`, 'busybox', 'ps', '-o', 'pid,args']);
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stdout, /^\s*1 sleep 4242$/m);
    const host = await d.wharf(['run', '--rm', '--pid', 'host', 'busybox', 'sh', '-c', `test -d /proc/${process.pid} && echo sees-host`]);
    assert.equal(host.stdout, 'sees-host\n', host.stderr);
    const uts = await d.docker(['run', '--rm', '--uts', 'host', 'busybox', 'sh', '-c', 'hostname; cat /etc/hostname']);
    assert.equal(uts.stdout, `${hostname()}\n${hostname()}\n`);
    const named = await d.docker(['run', '--rm', '--uts', 'host', '--hostname', 'x1', 'busybox', 'true']);
    assert.equal(named.code, 125);
    assert.match(named.stderr, /conflicting options: hostname and the UTS mode/);
    await d.docker(['stop', '-t', '0', target]);
    const stopped = await d.docker(['run', '--rm', '--pid', `container:${target}`, 'busybox', 'true']);
    assert.notEqual(stopped.code, 0);
    assert.match(stopped.stderr, /failed to join PID namespace: container pid-target is not running/);
    const bad = await d.docker(['run', '--rm', '--uts', 'private', 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /invalid UTS mode/);
  } finally {
    await d.docker(['rm', '-f', target]);
  }
});

test('--sysctl, --group-add, --oom-score-adj, --userns host, --security-opt no-new-privileges and apparmor', async () => {
  const r = await d.docker([
    'run', '--rm', '--sysctl', 'kernel.shmmax=123456789', '--group-add', '4321', '--oom-score-adj', '500', '--userns', 'host',
    '--security-opt', 'no-new-privileges', '--security-opt', 'apparmor=unconfined',
    'busybox', 'sh', '-c', 'cat /proc/sys/kernel/shmmax; id -G; cat /proc/self/oom_score_adj; grep NoNewPrivs /proc/self/status',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const [shmmax, groups, oom, nnp] = r.stdout.trim().split('\n');
  assert.equal(shmmax, '123456789');
  assert.ok(groups.split(' ').includes('4321'), groups);
  assert.equal(oom, '500');
  assert.match(nnp, /NoNewPrivs:\s+1/);
  const off = await d.docker(['run', '--rm', '--security-opt', 'no-new-privileges=false', 'busybox', 'grep', 'NoNewPrivs', '/proc/self/status']);
  assert.match(off.stdout, /NoNewPrivs:\s+0/);
  const sysctl = await d.wharf(['run', '--rm', '--sysctl', 'kernel.hostname=x', 'busybox', 'true']);
  assert.equal(sysctl.code, 125);
  assert.match(sysctl.stderr, /sysctl 'kernel.hostname=x' is not allowed/);
  const oomBad = await d.docker(['run', '--rm', '--oom-score-adj', '1001', 'busybox', 'true']);
  assert.equal(oomBad.code, 125);
  assert.match(oomBad.stderr, /Invalid value 1001, range for oom score adj is \[-1000, 1000\]/);
});

/**
 * `setcap cap_setuid+ep` as the kernel stores it (revision 2, effective): its mask byte 0x80 is
 * not UTF-8, what tar-stream's text decoding of PAX values lost on every pull and load.
 */
test('file capabilities: set by cp and build\'s COPY (both CLIs), kept by commit, save and load, and in effect for a non-root user', async () => {
  const host = await mkdtemp(join(tmpdir(), 'wharf-caps-'));
  const names = ['wharf-caps-src', 'wharf-caps-img', 'wharf-caps-wharf'];
  try {
    const box = await cappedBusybox(host);
    for (const [cli, name] of [['docker', names[0]], ['wharf', names[2]]] as const) {
      assert.equal((await d[cli](['create', '--name', name, 'busybox', 'true'])).code, 0);
      const cp = await d[cli](['cp', box, `${name}:/tmp/busybox`]);
      assert.equal(cp.code, 0, cp.stderr);
    }
    assert.equal((await d.docker(['commit', names[0], names[1]])).code, 0);
    assert.equal(await capEffOfCopy(d, names[1]), CAP_SETUID_EFF);
    // The same binary without the attribute gives a non-root user nothing.
    const plain = await d.docker(['run', '--rm', '--user', '1000', 'busybox', 'grep', 'CapEff', '/proc/self/status']);
    assert.match(plain.stdout, /CapEff:\s+0000000000000000/);
    assert.equal((await d.docker(['commit', names[2], `${names[2]}:1`])).code, 0);
    assert.equal(await capEffOfCopy(d, `${names[2]}:1`), CAP_SETUID_EFF);

    // A build's context brings the attribute, and COPY keeps it past the owner it sets.
    const ctx = join(host, 'ctx');
    await mkdir(ctx);
    await cappedBusybox(ctx);
    await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY --chown=1000 busybox /tmp/busybox\n');
    for (const cli of ['docker', 'wharf'] as const) {
      const b = await d[cli](['build', '-q', '-t', `${names[2]}:${cli}`, ctx]);
      assert.equal(b.code, 0, b.stderr);
      assert.equal(await capEffOfCopy(d, `${names[2]}:${cli}`), CAP_SETUID_EFF, cli);
    }

    const saved = join(host, 'img.tar');
    assert.equal((await d.docker(['save', '-o', saved, names[1]])).code, 0);
    assert.equal((await d.docker(['rmi', names[1]])).code, 0);
    const load = await d.docker(['load', '-i', saved]);
    assert.equal(load.code, 0, load.stderr);
    assert.equal(await capEffOfCopy(d, names[1]), CAP_SETUID_EFF);
  } finally {
    await d.docker(['rm', '-f', names[0], names[2]]);
    await d.docker(['rmi', '-f', names[1], `${names[2]}:1`, `${names[2]}:docker`, `${names[2]}:wharf`]);
    await rm(host, { recursive: true, force: true });
  }
});
