/**
 * What every side-by-side bench needs: starting and stopping each engine on its own socket and
 * roots, and the timing helpers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { WHARFD, cleanupRoots, dockerdArgs, ping, testBridge } from '../test/harness.js';

export async function waitSocket(socket: string, proc: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${what} exited early`);
    if (await ping(socket)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not start`);
}

/** SIGTERM, and SIGKILL after 30 s: a daemon that hangs must not keep the bench from cleaning up. */
export async function stopProc(proc: ChildProcess, what: string): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => {
    console.error(`${what} did not stop in 30 s; killing it`);
    proc.kill('SIGKILL');
  }, 30_000);
  await exited;
  clearTimeout(timer);
}

/** A Debian package the bench needs, installed on first use when `binary` is missing. */
function ensurePackage(binary: string[], pkg: string): void {
  if (!binary.some((b) => existsSync(b))) {
    spawnSync('bash', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkg}`], { stdio: 'inherit' });
  }
}

/** Debian's dockerd, installed on first use (CI's install step has it already). */
export function ensureDockerd(): void {
  ensurePackage(['/usr/sbin/dockerd', '/usr/bin/dockerd'], 'docker.io');
}

/** Debian's Podman (4.3 on bookworm), installed on first use. */
export function ensurePodman(): void {
  ensurePackage(['/usr/bin/podman'], 'podman');
}

export interface PodmanSetup {
  /** The podman command line for `args`, with the bench's own storage, run root and configuration. */
  command(args: string[]): { file: string; args: string[]; env: NodeJS.ProcessEnv };
  /** Removes every container, network and image, then the roots (podman unmounts what it mounted). */
  stop(): Promise<void>;
}

/**
 * Podman as a user of it runs it: no daemon, each `podman` command does its own work, a conmon
 * per container. Everything it keeps is under `dir`; runc, because crun refuses this cgroup
 * hybrid host; netavark with a default subnet of the bench's own (`subnet`). Its default limits
 * (1048576 open files, 4194304 processes) exceed what root may set here (CAP_SYS_RESOURCE is not
 * in this host's bounding set), so containers get the bench's own open-file limit and 32768
 * processes, which is also what conmon allows them.
 */
export async function preparePodman(dir: string, subnet: string): Promise<PodmanSetup> {
  ensurePodman();
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const nofile = Number(/^Max open files\s+\S+\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 1024);
  const conf = join(dir, 'containers.conf');
  await writeFile(
    conf,
    [
      '[containers]',
      `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=32768:32768"]`,
      '[engine]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${join(dir, 'events.log')}"`,
      '[network]',
      'network_backend = "netavark"',
      `network_config_dir = "${join(dir, 'networks')}"`,
      `default_subnet = "${subnet}"`,
      '',
    ].join('\n'),
  );
  const command = (args: string[]) => ({
    file: 'podman',
    args: ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--tmpdir', join(dir, 'tmp'), ...args],
    env: { ...process.env, CONTAINERS_CONF: conf },
  });
  const quiet = (args: string[]) => {
    const c = command(args);
    spawnSync(c.file, c.args, { env: c.env, stdio: 'ignore', timeout: 120_000 });
  };
  return {
    command,
    stop: async () => {
      quiet(['rm', '-af', '-t', '0']);
      quiet(['network', 'prune', '-f']);
      quiet(['system', 'reset', '-f']);
      spawnSync('bash', ['-c', `grep ' ${dir}' /proc/self/mounts | awk '{print $2}' | sort -r | xargs -r umount -l`]);
    },
  };
}

export interface DockerdProcess {
  socket: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Debian's dockerd with its own socket and roots under `dir` (containerd namespace `namespace`).
 * `spawned` gets it before it is ready, so a cleanup meanwhile stops it too; stopping also ends
 * the containerd of a dockerd that had to be killed and unmounts what it left under `dir`.
 */
export async function startDockerd(dir: string, namespace: string, spawned: (d: DockerdProcess) => void): Promise<void> {
  ensureDockerd();
  await mkdir(dir, { recursive: true });
  const socket = join(dir, 'docker.sock');
  const proc = spawn('dockerd', dockerdArgs(dir, namespace), { stdio: ['ignore', 'ignore', 'ignore'] });
  spawned({
    socket,
    proc,
    stop: async () => {
      await stopProc(proc, 'dockerd');
      try {
        // A dockerd that had to be killed leaves its containerd; that one's pid is in our exec root.
        process.kill(Number(readFileSync(join(dir, 'exec', 'containerd', 'containerd.pid'), 'utf8')), 'SIGKILL');
      } catch {
        /* gone with dockerd */
      }
      spawnSync('bash', ['-c', `grep ' ${dir}' /proc/self/mounts | awk '{print $2}' | sort -r | xargs -r umount -l`]);
    },
  });
  await waitSocket(socket, proc, 'dockerd');
}

export interface WharfdProcess {
  socket: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/**
 * A wharfd with its own socket, roots and default bridge under `dir`. `spawned` gets it before it
 * is ready, so a cleanup meanwhile stops it too. WHARFD_NODE_ARGS (space-separated) go to its
 * node: `--cpu-prof --cpu-prof-dir=/tmp/prof` profiles it (node refuses those in NODE_OPTIONS).
 */
export async function startWharfd(dir: string, spawned: (w: WharfdProcess) => void): Promise<void> {
  const socket = join(dir, 'wharf.sock');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'daemon.json'), '{}');
  const proc = spawn(process.execPath, [...(process.env.WHARFD_NODE_ARGS?.split(' ').filter(Boolean) ?? []), WHARFD, '-H', `unix://${socket}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'run'), '--pidfile', join(dir, 'wharfd.pid'), '--config-file', join(dir, 'daemon.json'), '--bridge', testBridge(dir)], { stdio: ['ignore', 'ignore', 'inherit'] });
  spawned({
    socket,
    proc,
    stop: async () => {
      await stopProc(proc, 'wharfd');
      await cleanupRoots(dir);
    },
  });
  await waitSocket(socket, proc, 'wharfd');
}

/**
 * A new ext4 file system mounted at `mountPoint` (a sparse image beside it on a loop device), for
 * an engine that is timed creating many files. On a root file system that has seen millions of
 * files made and deleted (test runs), ext4's inode allocator scans the recently deleted inodes at
 * every create (find_inode_bit, recently_deleted): 9,513 creates took 9.6 s there and 0.5 s on a
 * fresh file system, and which engine lands where decided the result. Returns the release.
 */
export async function freshFilesystem(mountPoint: string, sizeGiB = 8): Promise<() => Promise<void>> {
  const image = `${mountPoint}.img`;
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  };
  await mkdir(mountPoint, { recursive: true });
  run('truncate', ['-s', `${sizeGiB}G`, image]);
  run('mkfs.ext4', ['-q', '-F', image]);
  run('mount', ['-o', 'loop', image, mountPoint]);
  return async () => {
    // Lazily, so a process the bench could not stop does not keep the image (and its loop device) forever.
    spawnSync('umount', ['-l', mountPoint]);
    await rm(image, { force: true });
    await rm(mountPoint, { recursive: true, force: true });
  };
}

export async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Runs `work` until it ends or SIGINT/SIGTERM arrives, so that Ctrl-C or a kill still reaches the
 * caller's cleanup. After a signal the work fails against the stopped daemons; that failure is
 * expected, not news.
 */
export async function untilSignal(work: () => Promise<void>): Promise<void> {
  let stopped: (err: Error) => void = () => {};
  const signalled = new Promise<never>((_, reject) => (stopped = reject));
  const onSignal = (sig: NodeJS.Signals) => stopped(new Error(`bench stopped by ${sig}; cleaning up`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const running = work();
  running.catch(() => {});
  await Promise.race([signalled, running]);
}

/**
 * The side-by-side table: each metric, wharf's figure, then each peer's figure and the ratio
 * wharf/peer. A peer without a figure for a row (it cannot do that work) shows n/a.
 */
export function printComparison(w: Record<string, number>, dk: Record<string, number>, more: Record<string, Record<string, number>> = {}): void {
  const peers: [string, Record<string, number>][] = [['docker', dk], ...Object.entries(more)];
  const cell = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(2));
  const rows = Object.keys(w).map((k) => [k, w[k].toFixed(2), ...peers.flatMap(([, p]) => [cell(p[k]), cell(p[k] ? w[k] / p[k] : undefined)])]);
  const head = ['metric', 'wharf', ...peers.flatMap(([name]) => [name, `wharf/${name}`])];
  const widths = head.map((_, i) => Math.max(...[head, ...rows].map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  console.log('');
}
