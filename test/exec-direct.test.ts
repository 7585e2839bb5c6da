/**
 * Attached execs run through wharf's setns helper (native/nsexec.c), detached ones through conmon
 * and runc (#12). Both must give the process the same world: these tests run one probe both ways
 * in containers of different security settings and compare what the process sees, then check the
 * attached path's own behaviour (exit codes and texts, stdin, output, the end of the stream).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileDaemon, syscallTool, type TestDaemon } from './harness.js';

const daemon = fileDaemon();
let d: TestDaemon;
let tools: string;
let haveSc = false;


before(async () => {
  d = await daemon.start();
  ({ dir: tools, built: haveSc } = await syscallTool('wharf-exec-tools-'));
});

after(async () => {
  if (tools) await rm(tools, { recursive: true, force: true });
});

// tuxcall (184): named by no profile; file_getattr (468): newer than the profile's list; unshare(CLONE_NEWUSER).
const SYSCALLS = '/t/sc 184; /t/sc 468 -1 0 0 0 0; /t/sc 272 0x10000000';

/** What a process can see of its own confinement, one fact per line. */
function probe(withSyscalls: boolean): string {
  return [
    "grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|Seccomp_filters):' /proc/self/status",
    'cat /proc/self/cgroup',
    'for n in ipc mnt net pid uts cgroup user; do echo $n $(readlink /proc/self/ns/$n); done',
    'ulimit -a',
    'pwd',
    'env | sort',
    ...(withSyscalls ? [SYSCALLS] : []),
  ].join('; ');
}

async function bothWays(name: string, execArgs: string[]): Promise<{ attached: string; detached: string }> {
  const script = probe(haveSc);
  const attached = await d.docker(['exec', ...execArgs, name, 'sh', '-c', script]);
  assert.equal(attached.code, 0, attached.stderr);
  const out = `/tmp/probe-${Math.random().toString(36).slice(2)}`;
  const started = await d.docker(['exec', '-d', ...execArgs, name, 'sh', '-c', `(${script}) > ${out}.part; mv ${out}.part ${out}`]);
  assert.equal(started.code, 0, started.stderr);
  let detached = '';
  for (let i = 0; i < 100; i++) {
    const r = await d.docker(['exec', name, 'cat', out]);
    if (r.code === 0) {
      detached = r.stdout;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(detached, 'the detached probe wrote its file');
  return { attached: attached.stdout, detached };
}

const CASES: { title: string; run: string[]; exec: string[]; expect?: RegExp[] }[] = [
  { title: 'defaults', run: [], exec: [], expect: [/CapEff:\s+00000000a80425fb/, /Seccomp:\s+2/] },
  { title: 'exec --user and -w and -e', run: [], exec: ['-u', '1000:1000', '-w', '/tmp', '-e', 'FOO=bar baz'], expect: [/Uid:\s+1000/, /FOO=bar baz/, /^\/tmp$/m] },
  { title: 'exec --privileged', run: [], exec: ['--privileged'], expect: [/CapEff:\s+0*[13][0-9a-f]{10}\n/] },
  { title: '--cap-drop ALL --cap-add NET_BIND_SERVICE', run: ['--cap-drop', 'ALL', '--cap-add', 'NET_BIND_SERVICE'], exec: [], expect: [/CapEff:\s+0000000000000400/] },
  { title: 'no-new-privileges', run: ['--security-opt', 'no-new-privileges'], exec: [], expect: [/NoNewPrivs:\s+1/] },
  { title: 'seccomp=unconfined', run: ['--security-opt', 'seccomp=unconfined'], exec: [], expect: [/Seccomp:\s+0/] },
  { title: '--ulimit and --group-add', run: ['--ulimit', 'nofile=1000:2000', '--group-add', '1234'], exec: [], expect: [/1000/, /Groups:.*1234/] },
  { title: '--memory and --pids-limit (cgroups)', run: ['--memory', '64m', '--pids-limit', '50'], exec: [] },
];

for (const c of CASES) {
  test(`attached and detached execs see the same confinement: ${c.title}`, async () => {
      const name = `exdir-${c.title.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`.slice(0, 60);
    await daemon.runDetached('docker', name, ['--network', 'none', '-v', `${tools}:/t:ro`, ...c.run, 'busybox', 'sleep', '1000']);
    const { attached, detached } = await bothWays(name, c.exec);
    assert.equal(attached, detached);
    for (const re of c.expect ?? []) assert.match(attached, re);
    if (haveSc && !c.run.includes('seccomp=unconfined') && !c.exec.includes('--privileged')) {
      // EPERM for an unnamed call, ENOSYS above the highest the profile names (as runc answers), EPERM for a user namespace.
      assert.match(attached, /^1\n38\n1\n/m, attached);
    }
  });
}

test('attached exec: the exit codes and texts of the docker CLI', async () => {
  const name = 'exdir-codes';
  await daemon.runDetached('docker', name, ['--network', 'none', 'busybox', 'sleep', '1000']);
  const cases: [string[], number, RegExp?][] = [
    [['true'], 0],
    [['sh', '-c', 'exit 3'], 3],
    [['sh', '-c', 'kill -9 $$'], 137],
    [['nope'], 127, /OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": executable file not found in \$PATH: unknown/],
    [['/nope'], 127, /exec: "\/nope": stat \/nope: no such file or directory: unknown/],
    [['/etc/passwd'], 126, /exec: "\/etc\/passwd": permission denied: unknown/],
    [['/etc'], 126, /exec: "\/etc": permission denied: unknown/],
  ];
  for (const [cmd, code, text] of cases) {
    const r = await d.docker(['exec', name, ...cmd]);
    assert.equal(r.code, code, `${cmd.join(' ')}: ${r.stderr}`);
    // dockerd writes a start failure into the exec's stream, which the docker CLI prints on stdout.
    if (text) assert.match(r.stdout + r.stderr, text);
  }
  const cwd = await d.docker(['exec', '-w', '/nope', name, 'true']);
  assert.equal(cwd.code, 127);
  assert.match(cwd.stdout + cwd.stderr, /chdir to cwd \("\/nope"\) set in config.json failed: no such file or directory: unknown/);
  // The API records the code and the host pid of the process.
  const id = JSON.parse((await d.api('POST', `/containers/${name}/exec`, { Cmd: ['sh', '-c', 'exit 7'], AttachStdout: true })).body).Id as string;
  await d.api('POST', `/exec/${id}/start`, {});
  const inspect = JSON.parse((await d.api('GET', `/exec/${id}/json`)).body);
  assert.equal(inspect.ExitCode, 7);
  assert.equal(inspect.Running, false);
  assert.ok(inspect.Pid > 0);
});

test('attached exec: a process that exits at once still reports its own code on a busy machine', async () => {
  const name = 'exdir-fast';
  await daemon.runDetached('docker', name, ['--network', 'none', 'busybox', 'sleep', '1000']);
  // Busy cores make the helper lose the race with a child that exits right after execve (it once reported 255).
  const burners = [0, 1, 2].map(() => spawn('timeout', ['60', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }));
  try {
    const codes: number[] = [];
    for (let i = 0; i < 40; i++) {
      const id = JSON.parse((await d.api('POST', `/containers/${name}/exec`, { Cmd: ['false'], AttachStdout: true })).body).Id as string;
      await d.api('POST', `/exec/${id}/start`, {});
      codes.push(JSON.parse((await d.api('GET', `/exec/${id}/json`)).body).ExitCode as number);
    }
    assert.deepEqual(codes, codes.map(() => 1));
  } finally {
    // timeout passes TERM on to its shell.
    for (const b of burners) b.kill('SIGTERM');
  }
});

test('attached exec: stdin, 1 MB of output intact, stderr apart, /dev/stdout opens, a background child does not hold the stream', async () => {
  const name = 'exdir-io';
  await daemon.runDetached('docker', name, ['--network', 'none', 'busybox', 'sleep', '1000']);
  const piped = await d.docker(['exec', '-i', name, 'sh', '-c', 'cat; echo done'], { input: 'from stdin\n' });
  assert.equal(piped.stdout, 'from stdin\ndone\n');
  const big = await d.docker(['exec', name, 'sh', '-c', 'head -c 1048576 /dev/zero | tr "\\0" x; echo; echo err >&2']);
  assert.equal(big.code, 0);
  assert.equal(big.stdout.length, 1048577);
  assert.equal(createHash('sha256').update(big.stdout).digest('hex'), createHash('sha256').update(`${'x'.repeat(1048576)}\n`).digest('hex'));
  assert.equal(big.stderr, 'err\n');
  const devs = await d.docker(['exec', name, 'sh', '-c', 'echo out > /dev/stdout; echo err > /dev/stderr']);
  assert.equal(devs.code, 0, devs.stderr);
  assert.equal(devs.stdout, 'out\n');
  assert.equal(devs.stderr, 'err\n');
  const bg = await d.docker(['exec', name, 'sh', '-c', 'sleep 30 & echo started'], { timeoutMs: 15_000 });
  assert.equal(bg.code, 0);
  assert.equal(bg.stdout, 'started\n');
});

test('attached exec: stopping the container ends it with 137, and no helper is left behind', async () => {
  const name = 'exdir-stop';
  await daemon.runDetached('docker', name, ['--network', 'none', 'busybox', 'sleep', '1000']);
  const running = d.docker(['exec', name, 'sleep', '600'], { timeoutMs: 60_000 });
  // The exec is running once ps in the container shows it.
  for (let i = 0; i < 50; i++) {
    const ps = await d.docker(['exec', name, 'ps']);
    if (/sleep 600/.test(ps.stdout)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal((await d.docker(['kill', name])).code, 0);
  const r = await running;
  assert.equal(r.code, 137, r.stderr);
  const children = spawnSync('ps', ['--ppid', String(d.proc.pid), '-o', 'comm='], { encoding: 'utf8' }).stdout;
  assert.doesNotMatch(children, /nsexec|memfd/);
  // Nothing of the exec stays in the exec root either.
  const execs = await readdir(join(d.execRoot, 'runtime', 'runc', 'execs')).catch(() => []);
  assert.deepEqual(execs, []);
});
