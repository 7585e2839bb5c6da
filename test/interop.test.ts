/**
 * Image archives move between the real Docker (Debian's docker.io) and wharf with the same image
 * IDs, both ways. Each engine is driven with the same docker CLI; only DOCKER_HOST differs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCKER, cleanupRoots, dockerdArgs, exec, ping, startDaemon, type ExecOpts, type RunResult, type TestDaemon } from './harness.js';

const DOCKERD = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => existsSync(p));
const TIMEOUT = { timeout: 180_000 };

/** A private dockerd, started the way bench/bench.ts starts it, with its log kept for failures. */
interface Dockerd {
  dir: string;
  proc: ChildProcess;
  log(): string;
  docker(args: string[], opts?: ExecOpts): Promise<RunResult>;
  stop(): Promise<void>;
}

function exited(proc: ChildProcess, ms: number): Promise<boolean> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function startDockerd(): Promise<Dockerd> {
  if (!DOCKERD) throw new Error('dockerd is not installed (apt-get install -y docker.io)');
  const dir = await mkdtemp(join(tmpdir(), 'wharf-interop-docker-'));
  const socket = join(dir, 'docker.sock');
  const logFile = join(dir, 'dockerd.log');
  const fd = openSync(logFile, 'a');
  const proc = spawn(DOCKERD, dockerdArgs(dir, 'wharfinterop'), { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, 'docker-config'), DOCKER_CLI_HINTS: 'false' };
  const d: Dockerd = {
    dir,
    proc,
    log,
    docker: (args, opts = {}) => exec(DOCKER, args, { timeoutMs: 120_000, ...opts, env: { ...env, ...(opts.env ?? {}) } }),
    stop: async () => {
      // Only the dockerd we started, by its pid; it stops the containerd it manages.
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        if (!(await exited(proc, 30_000))) {
          proc.kill('SIGKILL');
          await exited(proc, 5_000);
          // A killed dockerd leaves its containerd behind; that one's pid is in our exec root.
          try {
            process.kill(Number(readFileSync(join(dir, 'exec', 'containerd', 'containerd.pid'), 'utf8')), 'SIGKILL');
          } catch {
            /* not there, or already gone */
          }
        }
      }
      await cleanupRoots(dir);
    },
  };
  const deadline = Date.now() + 60_000;
  while (!(await ping(socket))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      const text = log();
      await d.stop();
      throw new Error(`dockerd did not start (exit ${proc.exitCode}):\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return d;
}

let w: TestDaemon;
let dk: Dockerd;
before(async () => {
  [w, dk] = await Promise.all([startDaemon(), startDockerd()]);
});
after(async () => {
  await Promise.all([w?.stop(), dk?.stop()]);
});

type Engine = Pick<TestDaemon, 'docker'>;

async function must(e: Engine, args: string[], opts?: ExecOpts): Promise<string> {
  const r = await e.docker(args, opts);
  const who = e === dk ? 'docker' : 'wharf';
  if (r.code !== 0) {
    const log = who === 'docker' ? dk.log() : w.log();
    const errors = log.split('\n').filter((l) => /error/i.test(l)).slice(-20).join('\n');
    assert.fail(`${who}: docker ${args.join(' ')} failed (${r.code}): ${r.stderr}\n${errors}`);
  }
  return r.stdout;
}

const idOf = async (e: Engine, ref: string) => (await must(e, ['image', 'inspect', '-f', '{{.Id}}', ref])).trim();

/** wharf's embedded busybox, carried into dockerd as a file. Returns its ID. */
async function busyboxIntoDocker(): Promise<string> {
  const tar = join(w.dir, 'busybox.tar');
  await must(w, ['save', '-o', tar, 'busybox']);
  const out = await must(dk, ['load', '-i', tar]);
  assert.match(out, /Loaded image: busybox:latest/);
  return idOf(w, 'busybox');
}

test('wharf → Docker: the embedded busybox loads with the same ID and runs', TIMEOUT, async () => {
  try {
    const id = await busyboxIntoDocker();
    assert.match(id, /^sha256:[a-f0-9]{64}$/);
    assert.equal(await idOf(dk, 'busybox'), id);
    assert.equal(await must(dk, ['run', '--rm', 'busybox', 'echo', 'ok']), 'ok\n');
  } finally {
    await dk.docker(['rmi', 'busybox']);
  }
});

test('Docker → wharf: an image Docker committed loads with the same ID, from a file and from stdin', TIMEOUT, async () => {
  const tar = join(dk.dir, 'made.tar');
  try {
    await busyboxIntoDocker();
    await must(dk, ['run', '--name', 'made-src', 'busybox', 'sh', '-c', 'echo hi > /f']);
    await must(dk, ['commit', '-c', 'CMD ["cat","/f"]', 'made-src', 'made:1']);
    await must(dk, ['save', 'made:1', '-o', tar]);
    const id = await idOf(dk, 'made:1');

    assert.match(await must(w, ['load', '-i', tar]), /Loaded image: made:1/);
    assert.equal(await idOf(w, 'made:1'), id);
    const layers = async (e: Engine) => (await must(e, ['image', 'inspect', '-f', '{{len .RootFS.Layers}}', 'made:1'])).trim();
    const history = async (e: Engine) => (await must(e, ['history', '-q', 'made:1'])).trim().split('\n').length;
    assert.equal(await layers(w), await layers(dk));
    assert.equal(await layers(w), '2');
    assert.equal(await history(w), await history(dk));
    assert.equal(await must(w, ['run', '--rm', 'made:1']), 'hi\n');

    await must(w, ['rmi', 'made:1']);
    assert.match(await must(w, ['load'], { input: await readFile(tar) }), /Loaded image: made:1/);
    assert.equal(await idOf(w, 'made:1'), id);
    assert.equal(await must(w, ['run', '--rm', 'made:1']), 'hi\n');
  } finally {
    await w.docker(['rmi', 'made:1']);
    await dk.docker(['rm', '-f', 'made-src']);
    await dk.docker(['rmi', 'made:1', 'busybox']);
    await rm(tar, { force: true });
  }
});

test('wharf → Docker: an image wharf committed in two steps loads with the same ID and runs', TIMEOUT, async () => {
  const tar = join(w.dir, 'layered.tar');
  try {
    await must(w, ['run', '--name', 'c1', 'busybox', 'sh', '-c', 'echo one > /a']);
    await must(w, ['commit', 'c1', 'step:1']);
    await must(w, ['run', '--name', 'c2', 'step:1', 'sh', '-c', 'echo two > /b; rm /a']);
    await must(w, ['commit', '-c', 'CMD ["sh","-c","cat /b; ls /a 2>/dev/null || echo gone"]', 'c2', 'layered:1']);
    const id = await idOf(w, 'layered:1');
    assert.equal((await must(w, ['image', 'inspect', '-f', '{{len .RootFS.Layers}}', 'layered:1'])).trim(), '3');
    await must(w, ['save', '-o', tar, 'layered:1']);

    assert.match(await must(dk, ['load', '-i', tar]), /Loaded image: layered:1/);
    assert.equal(await idOf(dk, 'layered:1'), id);
    assert.equal(await must(dk, ['run', '--rm', 'layered:1']), 'two\ngone\n');
  } finally {
    await dk.docker(['rmi', 'layered:1']);
    await w.docker(['rm', '-f', 'c1', 'c2']);
    await w.docker(['rmi', 'layered:1', 'step:1']);
    await rm(tar, { force: true });
  }
});
