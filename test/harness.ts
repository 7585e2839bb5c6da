/**
 * Starts a private wharfd (own socket, data root and exec root in a temp directory) for an
 * integration test, and cleans up everything it may leave (containers, conmon, mounts, files)
 * even when the test failed.
 */
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chmod, copyFile, mkdtemp, readFile, rm, readdir, writeFile } from 'node:fs/promises';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'node:http';
import { createHash } from 'node:crypto';
import { lsetxattr } from '../src/util/index.js';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);
export const WHARFD = join(ROOT, 'dist/src/cmd/wharfd.cjs');
// The launcher the `wharf` bin runs (the bundled CLI, src/cmd/wharf.cts), so tests exercise what users get.
export const WHARF = join(ROOT, 'dist/src/cmd/wharf.cjs');
export const DOCKER = '/usr/local/bin/docker';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestDaemon {
  dir: string;
  socket: string;
  dataRoot: string;
  execRoot: string;
  env: NodeJS.ProcessEnv;
  proc: ChildProcess;
  log(): string;
  /** Run the wharf CLI against this daemon. */
  wharf(args: string[], opts?: ExecOpts): Promise<RunResult>;
  /** Run the real docker CLI against this daemon. */
  docker(args: string[], opts?: ExecOpts): Promise<RunResult>;
  /** Raw HTTP request to the Engine API. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }>;
  /**
   * Kill the daemon (SIGKILL by default) without cleaning up, and start it again on the same
   * roots; `whileDown` runs in between (what happens to containers while no daemon watches).
   */
  restart(signal?: NodeJS.Signals, whileDown?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export interface ExecOpts {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export function exec(file: string, args: string[], opts: ExecOpts & SpawnOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b) => out.push(b));
    child.stderr!.on('data', (b) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({
        code: code ?? (signal ? 128 + 9 : 1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      });
    });
    child.stdin!.on('error', () => {});
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

/**
 * The default network's bridge of a test daemon under `dir`: its own per daemon, so tests never
 * touch the host's wharf0 or each other's rules (the driver tags what it makes with this name).
 */
export function testBridge(dir: string): string {
  return `wt${createHash('sha256').update(dir).digest('hex').slice(0, 8)}`;
}

function spawnDaemon(dir: string, socket: string, extraArgs: string[]): ChildProcess {
  const proc = spawn(
    process.execPath,
    [WHARFD, '-H', `unix://${socket}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'run'), '--pidfile', join(dir, 'wharfd.pid'), '--config-file', join(dir, 'daemon.json'), '--group', 'root', '--bridge', testBridge(dir), ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: false },
  );
  return proc;
}

export function ping(socket: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const req = request({ socketPath: socket, path: '/_ping', method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolvePromise(res.statusCode === 200);
    });
    req.on('error', () => resolvePromise(false));
    req.on('timeout', () => {
      req.destroy();
      resolvePromise(false);
    });
    req.end();
  });
}

async function waitReady(socket: string, proc: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`wharfd exited with ${proc.exitCode}:\n${logs()}`);
    if (await ping(socket)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`wharfd did not become ready in 30s:\n${logs()}`);
}

export async function startDaemon(extraArgs: string[] = [], daemonJson = '{}'): Promise<TestDaemon> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-test-'));
  // A remapped root (userns-remap) must be able to pass through to its data root, as dockerd requires.
  if (extraArgs.includes('--userns-remap')) await chmod(dir, 0o711);
  const socket = join(dir, 'wharf.sock');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(dir, 'daemon.json'), daemonJson);
  let logText = '';
  let proc = spawnDaemon(dir, socket, extraArgs);
  const capture = (p: ChildProcess) => {
    p.stdout!.on('data', (b) => (logText += b));
    p.stderr!.on('data', (b) => (logText += b));
  };
  capture(proc);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKER_HOST: `unix://${socket}`,
    DOCKER_CONFIG: join(dir, 'docker-config'),
    DOCKER_CLI_HINTS: 'false',
  };
  const d: TestDaemon = {
    dir,
    socket,
    dataRoot: join(dir, 'data'),
    execRoot: join(dir, 'run'),
    env,
    get proc() {
      return proc;
    },
    log: () => logText,
    wharf: (args, opts = {}) => exec(process.execPath, [WHARF, ...args], { ...opts, env: { ...env, ...(opts.env ?? {}) } }),
    docker: (args, opts = {}) => exec(DOCKER, args, { ...opts, env: { ...env, ...(opts.env ?? {}) } }),
    api: (method, path, body, headers = {}) =>
      new Promise((resolvePromise, reject) => {
        const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
        const req = request(
          { socketPath: socket, path, method, headers: { ...(payload !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
            // A body the daemon cut short (a stream that failed after its headers) has no 'end'.
            res.on('error', reject);
            res.on('close', () => res.complete || reject(new Error(`${method} ${path}: the response was cut short`)));
          },
        );
        req.on('error', reject);
        req.end(payload);
      }),
    restart: async (signal = 'SIGKILL', whileDown) => {
      proc.kill(signal);
      await new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r(null) : proc.once('exit', r)));
      await whileDown?.();
      proc = spawnDaemon(dir, socket, extraArgs);
      capture(proc);
      await waitReady(socket, proc, () => logText);
    },
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await Promise.race([new Promise((r) => proc.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      }
      await cleanupRoots(dir, bridgeOf(dir, extraArgs));
    },
  };
  try {
    await waitReady(socket, proc, () => logText);
  } catch (err) {
    await d.stop();
    throw err;
  }
  return d;
}

/**
 * Arguments for a private Debian dockerd under `dir` (the bench and the interop test compare
 * against it): its own socket, roots and containerd namespace, and no networking of its own.
 */
export function dockerdArgs(dir: string, namespace: string): string[] {
  return [
    '-H', `unix://${join(dir, 'docker.sock')}`,
    '--data-root', join(dir, 'data'),
    '--exec-root', join(dir, 'exec'),
    '--pidfile', join(dir, 'dockerd.pid'),
    '--bridge=none', '--iptables=false', '--ip6tables=false',
    '--containerd-namespace', namespace,
    '--containerd-plugins-namespace', `${namespace}p`,
  ];
}

/** Everything a test daemon may leave behind: containers (via runc state), conmon processes, mounts. */
/** The bridge a test daemon runs with: the test's own unless its arguments name another (`--bridge none`). */
function bridgeOf(dir: string, extraArgs: string[]): string {
  const i = extraArgs.lastIndexOf('--bridge');
  return i >= 0 && i + 1 < extraArgs.length ? extraArgs[i + 1] : testBridge(dir);
}

export async function cleanupRoots(dir: string, bridge = testBridge(dir)): Promise<void> {
  const runtimeDir = join(dir, 'run', 'runtime');
  if (existsSync(runtimeDir)) {
    for (const rt of await readdir(runtimeDir)) {
      const bin = rt === 'crun' ? '/usr/bin/crun' : '/usr/sbin/runc';
      const root = join(runtimeDir, rt, 'runc');
      if (!existsSync(root)) continue;
      const list = spawnSync(bin, ['--root', root, 'list', '-q'], { encoding: 'utf8' });
      for (const id of (list.stdout ?? '').split('\n').filter(Boolean)) {
        spawnSync(bin, ['--root', root, 'kill', id, 'KILL'], { stdio: 'ignore' });
        spawnSync(bin, ['--root', root, 'delete', '--force', id], { stdio: 'ignore' });
      }
    }
  }
  // conmon processes whose command line names this test's directory.
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.startsWith('/usr/bin/conmon') && cmdline.includes(dir)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && m.startsWith(dir))
    .sort((a, b) => b.length - a.length);
  // Its name server outlives the daemon by design: stop it, by the pid it wrote, if it is aardvark-dns.
  const dnsPid = Number(await readFile(join(dir, 'run', 'network', 'dns', 'aardvark.pid'), 'utf8').catch(() => ''));
  if (dnsPid > 0 && (await readFile(`/proc/${dnsPid}/cmdline`, 'utf8').catch(() => '')).includes('aardvark-dns')) {
    try {
      process.kill(dnsPid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  // The daemon's bridge, veths, namespaces and firewall rules: everything tagged with its bridge.
  const { BridgeDriver, bridgeTag } = await import('../src/network/index.js');
  await new BridgeDriver({ netnsDir: join(dir, 'run', 'netns'), tag: bridgeTag(bridge, join(dir, 'data')) })
    .cleanup({ networks: [], endpoints: [] })
    .catch((err) => console.error(`cleaning up the network of ${dir}: ${err}`));
  for (const m of mounts) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  await rm(dir, { recursive: true, force: true });
}

export type Cli = 'docker' | 'wharf';

const SC_SOURCE = `#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
  long a[6] = {0};
  for (int i = 2; i < argc && i < 8; i++) a[i - 2] = strtol(argv[i], 0, 0);
  long r = syscall(strtol(argv[1], 0, 0), a[0], a[1], a[2], a[3], a[4], a[5]);
  if (r < 0) printf("%d\\n", errno); else printf("ok\\n");
  return 0;
}
`;

/**
 * A new directory (mode 0755, so the tests' other users reach it) holding `sc`, a static helper
 * built with gcc: `sc NR [ARG...]` makes system call NR and prints `ok` or the errno's number,
 * what a seccomp filter lets through. `built` is false where gcc cannot link it statically.
 */
export async function syscallTool(prefix: string): Promise<{ dir: string; built: boolean }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  await writeFile(join(dir, 'sc.c'), SC_SOURCE);
  return { dir, built: spawnSync('gcc', ['-static', '-O2', '-o', join(dir, 'sc'), join(dir, 'sc.c')]).status === 0 };
}

/**
 * `setcap cap_setuid+ep` as the kernel stores it (revision 2, effective): its mask byte 0x80 is
 * not UTF-8, what tar-stream's text decoding of PAX values lost on every pull and load.
 */
export const CAP_SETUID_EP = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
/** CapEff of a process that holds cap_setuid alone. */
export const CAP_SETUID_EFF = '0000000000000080';

/**
 * A copy of Debian's static busybox in `dir` with cap_setuid+ep; named busybox, since it finds
 * its applet from argv[0] only when called that.
 */
export async function cappedBusybox(dir: string): Promise<string> {
  const box = join(dir, 'busybox');
  await copyFile(['/usr/bin/busybox', '/bin/busybox'].find((p) => existsSync(p))!, box);
  lsetxattr(box, 'security.capability', CAP_SETUID_EP);
  return box;
}

/** CapEff of the capped busybox copied to /tmp/busybox in `image`, run by user 1000 (its `cat` runs in that process). */
export async function capEffOfCopy(engine: Pick<TestDaemon, 'docker'>, image: string): Promise<string> {
  const r = await engine.docker(['run', '--rm', '--user', '1000', image, '/tmp/busybox', 'cat', '/proc/self/status']);
  assert.equal(r.code, 0, r.stderr);
  return /CapEff:\s+(\w+)/.exec(r.stdout)?.[1] ?? r.stdout;
}

/**
 * A private wharfd for the tests of one file, which `start`s it in its own `before`; after its
 * tests, the containers and networks they registered in `made` are removed and the daemon
 * stops, even when they failed.
 */
export function fileDaemon(extraArgs: string[] = []) {
  const made = { containers: new Set<string>(), networks: new Set<string>() };
  let daemon: TestDaemon | undefined;
  after(async () => {
    if (!daemon) return;
    if (made.containers.size) await daemon.docker(['rm', '-f', ...made.containers], { timeoutMs: 60_000 });
    for (const n of made.networks) await daemon.docker(['network', 'rm', n], { timeoutMs: 30_000 });
    await daemon.stop();
  });
  const start = async (): Promise<TestDaemon> => (daemon = await startDaemon(extraArgs));
  const started = (): TestDaemon => {
    if (!daemon) throw new Error('start() the daemon in the test file\'s before()');
    return daemon;
  };
  /** Runs `cli args`, which must exit 0; its stdout. */
  const ok = async (cli: Cli, args: string[]): Promise<string> => {
    const r = await started()[cli](args, { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `${cli} ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  /** `run -d --name name ...args`, removed after the file's tests whatever happens; its ID. */
  const runDetached = async (cli: Cli, name: string, args: string[]): Promise<string> => {
    made.containers.add(name);
    return (await ok(cli, ['run', '-d', '--name', name, ...args])).trim();
  };
  return { made, start, ok, runDetached };
}

export const DOCKERD = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => existsSync(p));

/** A private dockerd (the interop and build tests compare against it), with its log kept for failures. */
export interface Dockerd {
  dir: string;
  socket: string;
  dataRoot: string;
  readonly proc: ChildProcess;
  env: NodeJS.ProcessEnv;
  log(): string;
  docker(args: string[], opts?: ExecOpts): Promise<RunResult>;
  /** Stop it and start it again on the same roots (what survives a daemon restart). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function exited(proc: ChildProcess, ms: number): Promise<boolean> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => resolvePromise(false), ms);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolvePromise(true);
    });
  });
}

/** Starts a private Debian dockerd in its own temp dir and containerd namespace `namespace`. */
export async function startDockerd(namespace: string): Promise<Dockerd> {
  if (!DOCKERD) throw new Error('dockerd is not installed (apt-get install -y docker.io)');
  const dir = await mkdtemp(join(tmpdir(), `wharf-${namespace}-docker-`));
  const socket = join(dir, 'docker.sock');
  const logFile = join(dir, 'dockerd.log');
  const launch = () => {
    const fd = openSync(logFile, 'a');
    const p = spawn(DOCKERD, dockerdArgs(dir, namespace), { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    return p;
  };
  let proc = launch();
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, 'docker-config'), DOCKER_CLI_HINTS: 'false' };
  const halt = async () => {
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
  };
  const ready = async () => {
    const deadline = Date.now() + 60_000;
    while (!(await ping(socket))) {
      if (proc.exitCode !== null || Date.now() > deadline) {
        const text = log();
        await d.stop();
        throw new Error(`dockerd did not start (exit ${proc.exitCode}):\n${text}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const d: Dockerd = {
    dir,
    socket,
    dataRoot: join(dir, 'data'),
    get proc() {
      return proc;
    },
    env,
    log,
    docker: (args, opts = {}) => exec(DOCKER, args, { timeoutMs: 120_000, ...opts, env: { ...env, ...(opts.env ?? {}) } }),
    restart: async () => {
      await halt();
      proc = launch();
      await ready();
    },
    stop: async () => {
      await halt();
      await cleanupRoots(dir);
    },
  };
  await ready();
  return d;
}
