/**
 * A systemd container (issue 9, the seeds' studio container): a Debian bookworm image with
 * systemd and openssh-server, built from the Debian archive with mmdebstrap, boots under wharf
 * with `--privileged /usr/sbin/init`, `systemctl` works inside and sshd answers on the published
 * port. The image is cached between tests of one CI run (WHARF_TEST_CACHE); building it takes
 * about a minute. Skipped, saying why, when mmdebstrap or the archive is not there.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, startDaemon, type TestDaemon } from './harness.js';

const MIRROR = process.env.WHARF_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const CACHE = process.env.WHARF_TEST_CACHE ?? join(tmpdir(), 'wharf-test-cache');
const IMAGE_TAR = join(CACHE, 'bookworm-systemd.tar');
const IMAGE = 'wharf-test/bookworm-systemd:1';
const PACKAGES = 'systemd,systemd-sysv,openssh-server,dbus';

let d: TestDaemon | undefined;
let skipReason: string | undefined;
let buildSeconds: number | undefined;
let importSeconds: number | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function archiveReachable(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${MIRROR}/dists/bookworm/Release`, { method: 'HEAD', timeout: 10_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** The root file system tarball, from the cache or made now (to a temporary name, renamed when whole). */
async function imageTarball(): Promise<string | undefined> {
  if (existsSync(IMAGE_TAR)) return IMAGE_TAR;
  if (spawnSync('mmdebstrap', ['--version']).status !== 0) {
    skipReason = 'mmdebstrap is not installed (scripts/install-deps.sh installs it)';
    return undefined;
  }
  if (!(await archiveReachable())) {
    skipReason = `the Debian archive (${MIRROR}) is unreachable`;
    return undefined;
  }
  await mkdir(CACHE, { recursive: true });
  const partial = `${IMAGE_TAR}.${process.pid}.partial.tar`;
  const t0 = Date.now();
  const r = await exec('mmdebstrap', ['--variant=apt', `--include=${PACKAGES}`, 'bookworm', partial, MIRROR], { timeoutMs: 15 * 60_000 });
  if (r.code !== 0) {
    await rm(partial, { force: true });
    throw new Error(`mmdebstrap failed (${r.code}): ${r.stderr.slice(-2000)}`);
  }
  buildSeconds = (Date.now() - t0) / 1000;
  await rename(partial, IMAGE_TAR);
  return IMAGE_TAR;
}

before(async () => {
  const tar = await imageTarball();
  if (!tar) return;
  d = await startDaemon();
  const t0 = Date.now();
  const imp = await d.docker(['import', tar, IMAGE], { timeoutMs: 5 * 60_000 });
  importSeconds = (Date.now() - t0) / 1000;
  if (imp.code !== 0) throw new Error(`import failed: ${imp.stderr}`);
});

after(async () => {
  await d?.stop();
});

/** Bounded wait for boot: "running", or "degraded" when a unit this container has no use for failed. */
async function bootState(dd: TestDaemon, name: string): Promise<string> {
  let state = '';
  for (let i = 0; i < 120 && !['running', 'degraded'].includes(state); i++) {
    state = (await dd.docker(['exec', name, 'systemctl', 'is-system-running'])).stdout.trim();
    if (!['running', 'degraded'].includes(state)) await sleep(1000);
  }
  return state;
}

/** The first bytes a TCP server sends on 127.0.0.1:port, within a bound. */
function banner(port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      sock.destroy();
      resolve(got);
    };
    sock.setTimeout(10_000, done);
    sock.on('data', (b) => {
      got += b.toString();
      if (got.includes('\n')) done();
    });
    sock.on('error', done);
    sock.on('close', done);
  });
}

test('a Debian systemd image boots with --privileged /usr/sbin/init: systemctl works and sshd answers on the published port', async (t) => {
  if (!d) return t.skip(skipReason ?? 'no image');
  if (buildSeconds !== undefined) t.diagnostic(`built the image with mmdebstrap in ${buildSeconds.toFixed(0)} s`);
  t.diagnostic(`imported it in ${importSeconds?.toFixed(0)} s`);
  const name = 'studio';
  try {
    const run = await d.docker(['run', '-d', '--name', name, '--privileged', '--hostname', 'studio', '-p', '127.0.0.1::22', IMAGE, '/usr/sbin/init']);
    assert.equal(run.code, 0, run.stderr);

    const t0 = Date.now();
    const state = await bootState(d, name);
    t.diagnostic(`boot took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const failed = (await d.docker(['exec', name, 'systemctl', '--failed', '--no-legend'])).stdout;
    assert.ok(['running', 'degraded'].includes(state), `systemctl is-system-running: ${state}; failed units: ${failed}; logs: ${(await d.docker(['logs', name])).stdout.slice(-3000)}`);
    if (state === 'degraded') t.diagnostic(`degraded; failed units: ${failed.trim()}`);

    const ssh = await d.docker(['exec', name, 'systemctl', 'is-active', 'ssh']);
    assert.equal(ssh.stdout.trim(), 'active', ssh.stderr);
    const port = Number((await d.docker(['port', name, '22/tcp'])).stdout.trim().split(':').pop());
    assert.ok(port > 0);
    assert.match(await banner(port), /^SSH-2\.0-OpenSSH/);
    t.diagnostic(`sshd answered ${((Date.now() - t0) / 1000).toFixed(1)} s after the run`);

    // What wharf prepared: the tmpfs mounts, the environment, the stop signal, a cgroup of its own.
    const mounts = (await d.docker(['exec', name, 'sh', '-c', 'for m in /run /run/lock /tmp; do findmnt -n -o FSTYPE $m; done'])).stdout;
    assert.equal(mounts, 'tmpfs\ntmpfs\ntmpfs\n');
    const env = (await d.docker(['exec', name, 'sh', '-c', "tr '\\0' '\\n' < /proc/1/environ | grep ^container="])).stdout;
    assert.equal(env, 'container=wharf\n');
    const stopSignal = (await d.docker(['inspect', '-f', '{{.Config.StopSignal}}', name])).stdout.trim();
    assert.equal(stopSignal, 'SIGRTMIN+3');
    const unitCgroup = (await d.docker(['exec', name, 'sh', '-c', 'cat /proc/$(systemctl show -p MainPID --value ssh)/cgroup'])).stdout;
    assert.match(unitCgroup, /ssh\.service/);

    // SIGRTMIN+3 makes systemd shut down cleanly, so stop ends before its timeout would kill it.
    const t1 = Date.now();
    const stop = await d.docker(['stop', '-t', '60', name], { timeoutMs: 120_000 });
    t.diagnostic(`stop took ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await d.docker(['inspect', '-f', '{{.State.Status}}', name])).stdout.trim(), 'exited');
  } finally {
    await d.docker(['rm', '-f', name]);
  }
});

test('--systemd=always prepares a container whose command is not systemd; --systemd=false leaves /usr/sbin/init as any command', async (t) => {
  if (!d) return t.skip(skipReason ?? 'no image');
  const always = await d.wharf(['run', '--rm', '--systemd', 'always', IMAGE, 'sh', '-c', 'findmnt -n -o FSTYPE /run; echo $container']);
  assert.equal(always.stdout, 'tmpfs\nwharf\n', always.stderr);
  const create = await d.wharf(['create', '--systemd', 'false', IMAGE, '/usr/sbin/init']);
  const sig = await d.docker(['inspect', '-f', '{{.Config.StopSignal}}', create.stdout.trim()]);
  assert.equal(create.code, 0, create.stderr);
  assert.equal(sig.stdout.trim(), '');
  // The same command without the flag is a systemd container.
  const auto = await d.docker(['create', IMAGE, '/usr/sbin/init']);
  assert.equal((await d.docker(['inspect', '-f', '{{.Config.StopSignal}}', auto.stdout.trim()])).stdout.trim(), 'SIGRTMIN+3');
  await d.docker(['rm', auto.stdout.trim()]);
  await d.docker(['rm', create.stdout.trim()]);
});

test('without --privileged, systemd mode alone boots the image: its own cgroup is writable, the host\'s are not', async (t) => {
  if (!d) return t.skip(skipReason ?? 'no image');
  const name = 'studio-unprivileged';
  try {
    const run = await d.docker(['run', '-d', '--name', name, IMAGE, '/usr/sbin/init']);
    assert.equal(run.code, 0, run.stderr);
    const state = await bootState(d, name);
    const failed = (await d.docker(['exec', name, 'systemctl', '--failed', '--no-legend'])).stdout;
    assert.ok(['running', 'degraded'].includes(state), `systemctl is-system-running: ${state}; failed units: ${failed}`);
    assert.equal((await d.docker(['exec', name, 'systemctl', 'is-active', 'ssh'])).stdout.trim(), 'active');
    // The container's processes cannot write a cgroup file outside systemd's hierarchy.
    const other = await d.docker(['exec', name, 'sh', '-c', 'ls /sys/fs/cgroup/memory >/dev/null 2>&1 || exit 0; echo 1 > /sys/fs/cgroup/memory/cgroup.procs 2>/dev/null && echo wrote || echo refused']);
    assert.notEqual(other.stdout.trim(), 'wrote');
    const stop = await d.docker(['stop', '-t', '60', name], { timeoutMs: 120_000 });
    assert.equal(stop.code, 0, stop.stderr);
  } finally {
    await d.docker(['rm', '-f', name]);
  }
});
