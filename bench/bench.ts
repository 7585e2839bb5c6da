/**
 * wharf against Docker, side by side in one run, through the same docker CLI.
 *
 *   sudo node dist/bench/bench.js [--quick]
 *
 * Starts Debian's dockerd (package docker.io) and wharfd, each on its own socket and data root
 * in a temp directory, loads the same busybox image into both (exported from wharf with
 * `docker save`), measures, and prints each figure with the ratio wharf/docker.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { WHARFD, DOCKER, exec, ping, cleanupRoots, dockerdArgs, testBridge } from '../test/harness.js';

const quick = process.argv.includes('--quick');
const N = quick ? 5 : 20;
const LOG_LINES = quick ? 100_000 : 1_000_000;
const PS_CONTAINERS = quick ? 50 : 200;
const DETACHED = quick ? 10 : 50;

interface Engine {
  name: string;
  socket: string;
  pids: () => number[];
  /** Processes that exist per running container (monitors/shims). */
  monitorPids: () => number[];
  proc: ChildProcess;
  stop: () => Promise<void>;
}

function docker(e: Engine, args: string[], input?: Buffer) {
  return exec(DOCKER, args, { env: { ...process.env, DOCKER_HOST: `unix://${e.socket}`, DOCKER_CONFIG: '/tmp/wharf-bench-docker-config' }, input, timeoutMs: 600_000 });
}

async function must(e: Engine, args: string[], input?: Buffer): Promise<string> {
  const r = await docker(e, args, input);
  if (r.code !== 0) throw new Error(`${e.name}: docker ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

async function waitSocket(socket: string, proc: ChildProcess, what: string) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${what} exited early`);
    if (await ping(socket)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not start`);
}

function childPids(parent: number): number[] {
  const r = spawnSync('ps', ['-e', '-o', 'pid=,ppid=,comm='], { encoding: 'utf8' });
  const rows = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
  return rows.filter((x) => Number(x[1]) === parent).map((x) => Number(x[0]));
}

function pidsByComm(comm: string, match: (cmdline: string) => boolean): number[] {
  const r = spawnSync('ps', ['-e', '-o', 'pid=,comm=,args='], { encoding: 'utf8' });
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.split(/\s+/)[1] === comm && match(l))
    .map((l) => Number(l.split(/\s+/)[0]));
}

async function rssKb(pids: number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) {
    try {
      const s = await readFile(`/proc/${pid}/status`, 'utf8');
      total += Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0);
    } catch {
      /* exited */
    }
  }
  return total;
}

async function startDocker(dir: string): Promise<Engine> {
  if (!existsSync('/usr/sbin/dockerd') && !existsSync('/usr/bin/dockerd')) {
    spawnSync('bash', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io'], { stdio: 'inherit' });
  }
  const socket = join(dir, 'docker.sock');
  const proc = spawn('dockerd', dockerdArgs(dir, 'wharfbench'), { stdio: ['ignore', 'ignore', 'ignore'] });
  await waitSocket(socket, proc, 'dockerd');
  return {
    name: 'docker',
    socket,
    proc,
    pids: () => [proc.pid!, ...childPids(proc.pid!).filter((p) => pidsByComm('containerd', () => true).includes(p))],
    monitorPids: () => pidsByComm('containerd-shim', (l) => l.includes('wharfbench')),
    stop: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      spawnSync('bash', ['-c', `grep ' ${dir}' /proc/self/mounts | awk '{print $2}' | sort -r | xargs -r umount -l`]);
    },
  };
}

async function startWharf(dir: string): Promise<Engine> {
  const socket = join(dir, 'wharf.sock');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'daemon.json'), '{}');
  const proc = spawn(process.execPath, [WHARFD, '-H', `unix://${socket}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'run'), '--pidfile', join(dir, 'wharfd.pid'), '--config-file', join(dir, 'daemon.json'), '--bridge', testBridge(dir)], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitSocket(socket, proc, 'wharfd');
  return {
    name: 'wharf',
    socket,
    proc,
    pids: () => [proc.pid!],
    monitorPids: () => pidsByComm('conmon', (l) => l.includes(dir)),
    stop: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      await cleanupRoots(dir);
    },
  };
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function measure(e: Engine): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  await new Promise((r) => setTimeout(r, 2000));
  out['idle daemon RSS (MB)'] = (await rssKb(e.pids())) / 1024;

  await must(e, ['run', '--rm', 'busybox', 'true']);
  const runs: number[] = [];
  for (let i = 0; i < N; i++) runs.push(await timeIt(() => must(e, ['run', '--rm', 'busybox', 'true'])));
  out['run --rm true (ms, median)'] = median(runs);

  const t50 = await timeIt(async () => {
    for (let i = 0; i < DETACHED; i++) await must(e, ['run', '-d', '--name', `bench-d${i}`, 'busybox', 'sleep', '3600']);
  });
  out[`start ${DETACHED} detached (s)`] = t50 / 1000;

  const execs: number[] = [];
  for (let i = 0; i < N; i++) execs.push(await timeIt(() => must(e, ['exec', 'bench-d0', 'true'])));
  out['exec true (ms, median)'] = median(execs);

  const daemonBefore = await rssKb(e.pids());
  const monitors = await rssKb(e.monitorPids());
  out['per running container: monitor + daemon (MB)'] = (monitors + Math.max(0, daemonBefore - out['idle daemon RSS (MB)'] * 1024)) / 1024 / DETACHED;

  for (let i = DETACHED; i < PS_CONTAINERS; i++) await must(e, ['create', '--name', `bench-c${i}`, 'busybox', 'true']);
  const pss: number[] = [];
  for (let i = 0; i < N; i++) pss.push(await timeIt(() => must(e, ['ps', '-a'])));
  out[`ps -a with ${PS_CONTAINERS} containers (ms, median)`] = median(pss);

  await must(e, ['run', '--name', 'bench-logs', 'busybox', 'seq', '1', String(LOG_LINES)]);
  const logs: number[] = [];
  for (let i = 0; i < 3; i++) {
    logs.push(
      await timeIt(async () => {
        const r = await docker(e, ['logs', 'bench-logs']);
        const lines = r.stdout.split('\n').length - 1;
        if (lines !== LOG_LINES) throw new Error(`${e.name}: logs returned ${lines} lines, expected ${LOG_LINES}`);
      }),
    );
  }
  out[`logs of ${LOG_LINES} lines (ms, median)`] = median(logs);

  const ids = (await must(e, ['ps', '-aq'])).trim().split('\n').filter(Boolean);
  await must(e, ['rm', '-f', ...ids]);
  return out;
}

async function main() {
  const base = await mkdtemp(join(tmpdir(), 'wharf-bench-'));
  let wharf: Engine | undefined;
  let dockerEngine: Engine | undefined;
  try {
    wharf = await startWharf(join(base, 'wharf'));
    dockerEngine = await startDocker(join(base, 'docker'));
    // Docker has no registry here: give it wharf's busybox, which also proves the archive format.
    const tarPath = join(base, 'busybox.tar');
    await must(wharf, ['save', '-o', tarPath, 'busybox']);
    await must(dockerEngine, ['load', '-i', tarPath]);

    const w = await measure(wharf);
    const dk = await measure(dockerEngine);
    const rows = Object.keys(w).map((k) => [k, w[k].toFixed(2), dk[k].toFixed(2), (w[k] / dk[k]).toFixed(2)]);
    const widths = [0, 1, 2, 3].map((i) => Math.max(...[['metric', 'wharf', 'docker', 'wharf/docker'], ...rows].map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
    console.log(line(['metric', 'wharf', 'docker', 'wharf/docker']));
    for (const r of rows) console.log(line(r));
  } finally {
    await wharf?.stop().catch(() => {});
    await dockerEngine?.stop().catch(() => {});
    await rm(base, { recursive: true, force: true });
  }
}

await main();
