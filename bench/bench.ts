/**
 * wharf against Docker and Podman, side by side in one run: wharf and Docker through the same
 * docker CLI, Podman through its own (`--no-podman` leaves it out).
 *
 *   sudo node dist/bench/bench.js [--quick] [--only SECTION,...]
 *
 * Sections: idle, run, detached, exec, memory, stats, usernet, parallel, published, ps, logs (all by
 * default; exec, memory and stats need the detached containers, which then start untimed
 * unless `detached` is selected too). `--only usernet,published` is a short run of the
 * networking rows, `--only stats` of #9's stats row.
 *
 * Starts Debian's dockerd (package docker.io) and wharfd, each on its own socket and data root
 * in a temp directory, loads the same busybox image into both (exported from wharf with
 * `docker save`), measures, and prints each figure with the ratio wharf/docker.
 *
 * Both engines have their default bridge network, NAT and published ports on (dockerd on a
 * bridge of the bench's own, see bench/bench-net.ts), so each figure includes networking unless
 * its row says `--network none`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCKER, exec, testBridge } from '../test/harness.js';
import { ensureDockerd, median, preparePodman, printComparison, startWharfd, stopProc, timeIt, untilSignal, waitSocket } from './engines.js';
import { DOCKER_BRIDGE, cleanupDockerNet, freePort, netLeftovers, prepareDockerNet, throughput, waitHttp, type DockerNet } from './bench-net.js';

const quick = process.argv.includes('--quick');
const SECTIONS = ['idle', 'run', 'detached', 'exec', 'memory', 'stats', 'usernet', 'parallel', 'published', 'ps', 'logs'] as const;
type Section = (typeof SECTIONS)[number];
const only = onlyArg();
const want = (s: Section) => only === undefined || only.has(s);
const withPodman = !process.argv.includes('--no-podman');
const STATS_RUNS = 5;
const N = quick ? 5 : 20;
const LOG_LINES = quick ? 100_000 : 1_000_000;
const PS_CONTAINERS = quick ? 50 : 200;
const DETACHED = quick ? 10 : 50;
const FETCHES = quick ? 30 : 200;
const FETCH_PARALLEL = 4;
/** Clients at once in the parallel-starts row (#12). */
const START_CLIENTS = 8;
/** How long the daemon idles before the settled idle row: V8's memory reducer starts after 8 s. */
const SETTLE_MS = 15_000;
const FETCH_MAX_MS = quick ? 10_000 : 30_000;
// Rounds alternate published and direct, and the best of each counts: on a loaded host a round
// measures mostly what the other work left of the CPU, and the best rounds are the least disturbed.
const FETCH_ROUNDS = quick ? 3 : 7;
/** The user-defined network of the usernet row, one subnet per engine (inside the bench's 10.232.0.0/16). */
const USER_SUBNETS = { docker: '10.232.121.0/24', wharf: '10.232.122.0/24', podman: '10.232.123.0/24' } as const;
/** Podman's default network (its bridge is podman0). */
const PODMAN_SUBNET = '10.232.124.0/24';
const MIB = 2 ** 20;
/** Printed under the table: what a row measures that its name cannot say. */
const NOTES = [
  `start ${DETACHED} detached: on the default bridge, each with one published port (-p 127.0.0.1:<port>:80)`,
  `start ${DETACHED} detached, user network: one after another on a network made by \`network create --subnet\` (name resolution on: aardvark-dns for wharf, the embedded resolver for Docker), no published port; the network's creation is not timed`,
  'per running container: the same containers, so Docker\'s docker-proxy (one per published port) counts for Docker',
  'Podman has no daemon: its idle row is 0, its per-container row is conmon alone, and every podman command starts a process that does the work itself (its times include that start)',
  `published/direct: busybox httpd in a container serving a 1 MiB file, ${FETCHES} GETs ${FETCH_PARALLEL} at a time from the host (at most ${FETCH_MAX_MS / 1000} s), best of ${FETCH_ROUNDS} rounds alternating engine and path, measured after the other rows' containers are gone, through -p 127.0.0.1:<port>:80 and to .NetworkSettings.IPAddress:80 (Docker's 127.0.0.1 path is its docker-proxy)`,
  `start ${DETACHED} detached, ${START_CLIENTS} clients at once: the same containers as the one-after-another row (default bridge, -p each), ${START_CLIENTS} docker CLI processes running at any moment; removed untimed after`,
  `idle daemon RSS: 2 s after the engine's socket answered, before its first request; settled: ${SETTLE_MS / 1000} s after the last engine's, with no request meanwhile`,
  `stats --no-stream: the docker CLI against the ${DETACHED} detached containers, median of ${STATS_RUNS}; both engines answer stream=false with a sample whose previous sample is filled (dockerd waits for its collector's next round, wharf takes two samples 0.5 s apart)`,
];

function onlyArg(): Set<Section> | undefined {
  const i = process.argv.findIndex((a) => a === '--only' || a.startsWith('--only='));
  if (i < 0) return undefined;
  const arg = process.argv[i].startsWith('--only=') ? process.argv[i].slice('--only='.length) : process.argv[i + 1];
  const list = (arg ?? '').split(',').filter(Boolean);
  const bad = list.filter((x) => !(SECTIONS as readonly string[]).includes(x));
  if (!list.length || bad.length) throw new Error(`--only takes a comma-separated list of ${SECTIONS.join(', ')}; got "${arg ?? ''}"`);
  return new Set(list as Section[]);
}

interface Engine {
  name: 'docker' | 'wharf' | 'podman';
  /** The command line its user types for `args`: the docker CLI on the engine's socket, or podman. */
  command: (args: string[]) => { file: string; args: string[]; env: NodeJS.ProcessEnv };
  pids: () => number[];
  /** Processes that exist per running container (monitors/shims, Docker's port proxies). */
  monitorPids: () => number[];
  stop: () => Promise<void>;
}

function dockerCli(socket: string): Engine['command'] {
  return (args) => ({ file: DOCKER, args, env: { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: '/tmp/wharf-bench-docker-config' } });
}

function docker(e: Engine, args: string[], input?: Buffer) {
  const c = e.command(args);
  return exec(c.file, c.args, { env: c.env, input, timeoutMs: 600_000 });
}

async function must(e: Engine, args: string[], input?: Buffer): Promise<string> {
  const r = await docker(e, args, input);
  if (r.code !== 0) throw new Error(`${e.name}: ${e.command(args).file} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
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

/** `spawned` gets the engine before it is ready, so a cleanup meanwhile stops it too. */
async function startDocker(dir: string, net: DockerNet, spawned: (e: Engine) => void): Promise<void> {
  ensureDockerd();
  const socket = join(dir, 'docker.sock');
  const proc = spawn('dockerd', net.args, { stdio: ['ignore', 'ignore', 'ignore'] });
  spawned({
    name: 'docker',
    command: dockerCli(socket),
    pids: () => [proc.pid!, ...childPids(proc.pid!).filter((p) => pidsByComm('containerd', () => true).includes(p))],
    monitorPids: () => [...pidsByComm('containerd-shim', (l) => l.includes('wharfbench')), ...pidsByComm('docker-proxy', (l) => l.includes('-container-ip 10.232.120.'))],
    stop: async () => {
      await stopProc(proc, 'dockerd');
      spawnSync('bash', ['-c', `grep ' ${dir}' /proc/self/mounts | awk '{print $2}' | sort -r | xargs -r umount -l`]);
    },
  });
  await waitSocket(socket, proc, 'dockerd');
}

/**
 * The idle rows of each engine: 2 s after its socket answered, before it has served anything
 * (a save or load makes V8 optimise code, which maps some 4 MB more of node for good), and
 * settled, once all of them have idled SETTLE_MS more. `started` starts the engines in turn.
 */
async function idleRss(started: AsyncIterable<Engine>): Promise<Map<Engine, Record<string, number>>> {
  const out = new Map<Engine, Record<string, number>>();
  for await (const e of started) {
    await new Promise((r) => setTimeout(r, 2000));
    out.set(e, { 'idle daemon RSS (MB)': (await rssKb(e.pids())) / 1024 });
  }
  if (want('idle')) {
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    for (const [e, row] of out) row['idle daemon RSS, settled (MB)'] = (await rssKb(e.pids())) / 1024;
  }
  return out;
}

async function measure(e: Engine, idle: Record<string, number>): Promise<Record<string, number>> {
  const out: Record<string, number> = want('idle') ? { ...idle } : {};
  if (!want('idle') && want('memory')) out['idle daemon RSS (MB)'] = idle['idle daemon RSS (MB)']!;
  // What the per-container row adds to: the daemon as the rows before it left it.
  const daemonAtStart = (await rssKb(e.pids())) / 1024;

  if (want('run')) {
    // Alternating, so load from other work on the host falls on both variants alike.
    const variants: [string, string[]][] = [['run --rm true, default bridge (ms, median)', []], ['run --rm true, --network none (ms, median)', ['--network', 'none']]];
    for (const [, flags] of variants) await must(e, ['run', '--rm', ...flags, 'busybox', 'true']);
    const runs: number[][] = variants.map(() => []);
    for (let i = 0; i < N; i++) for (const [k, [, flags]] of variants.entries()) runs[k].push(await timeIt(() => must(e, ['run', '--rm', ...flags, 'busybox', 'true'])));
    for (const [k, [name]] of variants.entries()) out[name] = median(runs[k]);
  }

  if (want('detached') || want('exec') || want('memory') || want('stats')) {
    const ports = await distinctPorts(DETACHED);
    const t50 = await timeIt(async () => {
      for (let i = 0; i < DETACHED; i++) await must(e, ['run', '-d', '--name', `bench-d${i}`, '-p', `127.0.0.1:${ports[i]}:80`, 'busybox', 'sleep', '3600']);
    });
    if (want('detached')) out[`start ${DETACHED} detached, default bridge, -p each (s)`] = t50 / 1000;
  }

  if (want('stats')) {
    // docker's CLI opens one stats request per running container and prints when all answered.
    await must(e, ['stats', '--no-stream']);
    const statsRuns: number[] = [];
    for (let i = 0; i < STATS_RUNS; i++) {
      statsRuns.push(
        await timeIt(async () => {
          const rows = (await must(e, ['stats', '--no-stream'])).trim().split('\n').length - 1;
          if (rows !== DETACHED) throw new Error(`${e.name}: stats --no-stream showed ${rows} containers, expected ${DETACHED}`);
        }),
      );
    }
    out[`stats --no-stream, ${DETACHED} running (ms, median)`] = median(statsRuns);
  }

  if (want('exec')) {
    const execs: number[] = [];
    for (let i = 0; i < N; i++) execs.push(await timeIt(() => must(e, ['exec', 'bench-d0', 'true'])));
    out['exec true (ms, median)'] = median(execs);
  }

  if (want('memory')) {
    const daemonBefore = await rssKb(e.pids());
    const monitors = await rssKb(e.monitorPids());
    out['per running container: monitor + daemon (MB)'] = (monitors + Math.max(0, daemonBefore - daemonAtStart * 1024)) / 1024 / DETACHED;
  }

  if (want('usernet')) out[`start ${DETACHED} detached, user network (s)`] = await userNetwork(e);
  if (want('parallel')) out[`start ${DETACHED} detached, ${START_CLIENTS} clients at once (s)`] = await parallelStarts(e);

  // The published-port rows are measured for both engines at once, after this (publishedThroughput).

  if (want('ps')) {
    // With the detached containers still there, they count towards the total.
    const have = (await must(e, ['ps', '-aq'])).trim().split('\n').filter(Boolean).length;
    for (let i = have; i < PS_CONTAINERS; i++) await must(e, ['create', '--name', `bench-c${i}`, 'busybox', 'true']);
    const pss: number[] = [];
    for (let i = 0; i < N; i++) pss.push(await timeIt(() => must(e, ['ps', '-a'])));
    out[`ps -a with ${PS_CONTAINERS} containers (ms, median)`] = median(pss);
  }

  if (want('logs')) {
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
  }

  const ids = (await must(e, ['ps', '-aq'])).trim().split('\n').filter(Boolean);
  if (ids.length) await must(e, ['rm', '-f', ...ids]);
  return out;
}

/**
 * Seconds to start DETACHED containers one after another on a user-defined network, as a
 * Compose project's services are; then they and the network are removed (untimed).
 */
async function userNetwork(e: Engine): Promise<number> {
  const net = 'bench-usernet';
  await must(e, ['network', 'create', '--subnet', USER_SUBNETS[e.name], net]);
  try {
    const t = await timeIt(async () => {
      for (let i = 0; i < DETACHED; i++) await must(e, ['run', '-d', '--name', `bench-u${i}`, '--network', net, 'busybox', 'sleep', '3600']);
    });
    // Names resolve there: the last container finds the first by name (not timed).
    const ip = (await must(e, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, 'bench-u0'])).trim();
    const found = await must(e, ['exec', `bench-u${DETACHED - 1}`, 'nslookup', 'bench-u0']);
    if (!found.includes(ip)) throw new Error(`${e.name}: bench-u0 (${ip}) does not resolve on ${net}:\n${found}`);
    return t / 1000;
  } finally {
    const ids = (await must(e, ['ps', '-aq', '--filter', 'name=bench-u'])).trim().split('\n').filter(Boolean);
    if (ids.length) await must(e, ['rm', '-f', ...ids]);
    // dockerd may still be releasing the endpoints of containers it has just removed.
    for (let i = 0; ; i++) {
      const r = await docker(e, ['network', 'rm', net]);
      if (r.code === 0) break;
      if (i === 40 || !r.stderr.includes('active endpoints')) {
        const members = (await docker(e, ['network', 'inspect', '-f', '{{json .Containers}}', net])).stdout.trim();
        throw new Error(`${e.name}: docker network rm ${net} failed (${r.code}): ${r.stderr}; still on it: ${members}`);
      }
      await new Promise((res) => setTimeout(res, 250));
    }
  }
}

/**
 * Ports already published by this run's containers. wharf publishes with NAT rules alone, no
 * listening proxy, so a probe for a free port cannot see them.
 */
const handedOut = new Set<number>();

/** `n` free host ports, distinct: the kernel may hand out a port again once the probe that found it closed. */
async function distinctPorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let tries = 0; ports.length < n && tries < n * 10; tries++) {
    const port = await freePort();
    if (!ports.includes(port) && !handedOut.has(port)) ports.push(port);
  }
  for (const p of ports) handedOut.add(p);
  return ports;
}

/** Seconds to start DETACHED containers from START_CLIENTS clients at once; then they are removed (untimed). */
async function parallelStarts(e: Engine): Promise<number> {
  const ports = await distinctPorts(DETACHED);
  let next = 0;
  const client = async () => {
    for (let i = next++; i < DETACHED; i = next++) await must(e, ['run', '-d', '--name', `bench-p${i}`, '-p', `127.0.0.1:${ports[i]}:80`, 'busybox', 'sleep', '3600']);
  };
  try {
    return (await timeIt(() => Promise.all(Array.from({ length: START_CLIENTS }, client)))) / 1000;
  } finally {
    const ids = (await must(e, ['ps', '-aq', '--filter', 'name=bench-p'])).trim().split('\n').filter(Boolean);
    if (ids.length) await must(e, ['rm', '-f', ...ids]);
  }
}

/**
 * One httpd container per engine, each fetched through its published port and directly, in
 * rounds that alternate engine and path: load from other work on the host then falls on all four
 * alike, where measuring one engine after the other would compare two different moments.
 */
async function publishedThroughput(engines: Engine[]): Promise<Map<Engine, Record<string, number>>> {
  const targets: { e: Engine; port: number; ip: string; published: number; direct: number }[] = [];
  const script = `mkdir -p /www && dd if=/dev/urandom of=/www/f bs=${MIB} count=1 2>/dev/null && exec httpd -f -p 80 -h /www`;
  try {
    for (const e of engines) {
      const port = await freePort();
      await must(e, ['run', '-d', '--name', 'bench-httpd', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sh', '-c', script]);
      const ip = (await must(e, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'bench-httpd'])).trim();
      if (!/^(10|172|192\.168)\.[\d.]+$/.test(ip)) throw new Error(`${e.name}: bench-httpd has no private address on the bridge: "${ip}"`);
      await waitHttp(ip, 80, '/f', 10_000);
      await waitHttp('127.0.0.1', port, '/f', 10_000);
      targets.push({ e, port, ip, published: 0, direct: 0 });
    }
    for (let r = 0; r < FETCH_ROUNDS; r++) {
      for (const t of targets) {
        t.published = Math.max(t.published, await throughput('127.0.0.1', t.port, '/f', MIB, FETCHES, FETCH_PARALLEL, FETCH_MAX_MS));
        t.direct = Math.max(t.direct, await throughput(t.ip, 80, '/f', MIB, FETCHES, FETCH_PARALLEL, FETCH_MAX_MS));
      }
    }
  } finally {
    for (const e of engines) await docker(e, ['rm', '-f', 'bench-httpd']);
  }
  return new Map(targets.map((t) => [t.e, { 'published port, 1 MiB GETs (MiB/s)': t.published, 'container IP direct, 1 MiB GETs (MiB/s)': t.direct, 'published/direct': t.published / t.direct }]));
}

async function main() {
  const base = await mkdtemp(join(tmpdir(), 'wharf-bench-'));
  let wharf: Engine | undefined;
  let dockerEngine: Engine | undefined;
  let podman: Engine | undefined;
  let net: DockerNet | undefined;
  try {
    await untilSignal(bench);
  } finally {
    await wharf?.stop().catch((err) => console.error(`stopping wharfd: ${err}`));
    await dockerEngine?.stop().catch((err) => console.error(`stopping dockerd: ${err}`));
    // Before the network cleanup: netavark takes down its own bridges as the containers go.
    await podman?.stop().catch((err) => console.error(`removing Podman's containers: ${err}`));
    if (net) await cleanupDockerNet(net).catch((err) => console.error(`removing ${DOCKER_BRIDGE} and Docker's rules: ${err}`));
    await rm(base, { recursive: true, force: true });
    const left = net ? netLeftovers(net, testBridge(join(base, 'wharf'))) : [];
    if (left.length) console.error(`left on the host:\n${left.join('\n')}`);
  }

  async function bench() {
    const routes = spawnSync('ip', ['-4', 'route'], { encoding: 'utf8' }).stdout;
    for (const subnet of Object.values(USER_SUBNETS)) if (routes.includes(subnet.replace(/0\/24$/, ''))) throw new Error(`${subnet} is routed on this host already; the bench needs it for a user network:\n${routes}`);
    const wharfDir = join(base, 'wharf');
    const idle = await idleRss(
      (async function* () {
        await startWharfd(wharfDir, (w) => (wharf = { name: 'wharf', command: dockerCli(w.socket), stop: w.stop, pids: () => [w.proc.pid!], monitorPids: () => pidsByComm('conmon', (l) => l.includes(wharfDir)) }));
        yield wharf!;
        net = await prepareDockerNet(join(base, 'docker'), 'wharfbench');
        await startDocker(join(base, 'docker'), net, (e) => (dockerEngine = e));
        yield dockerEngine!;
      })(),
    );
    if (!wharf || !dockerEngine) throw new Error('unreachable: both engines are set once started');
    // Docker has no registry here: give it wharf's busybox, which also proves the archive format.
    const tarPath = join(base, 'busybox.tar');
    await must(wharf, ['save', '-o', tarPath, 'busybox']);
    await must(dockerEngine, ['load', '-i', tarPath]);
    if (withPodman) {
      // After Docker's network snapshot, so the cleanup also takes what netavark leaves in iptables.
      const podmanDir = join(base, 'podman');
      const p = await preparePodman(podmanDir, PODMAN_SUBNET);
      podman = { name: 'podman', command: p.command, pids: () => [], monitorPids: () => pidsByComm('conmon', (l) => l.includes(podmanDir)), stop: p.stop };
      await must(podman, ['load', '-i', tarPath]);
    }

    const w = await measure(wharf, idle.get(wharf)!);
    const dk = await measure(dockerEngine, idle.get(dockerEngine)!);
    // Podman has no daemon: nothing of it idles.
    const pm = podman ? await measure(podman, { 'idle daemon RSS (MB)': 0, 'idle daemon RSS, settled (MB)': 0 }) : undefined;
    if (want('published')) {
      const all = await publishedThroughput([wharf, dockerEngine, ...(podman ? [podman] : [])]);
      Object.assign(w, all.get(wharf));
      Object.assign(dk, all.get(dockerEngine));
      if (pm && podman) Object.assign(pm, all.get(podman));
    }
    printComparison(w, dk, pm ? { podman: pm } : {});
    const engines = [wharf, dockerEngine, ...(podman ? [podman] : [])];
    const runtimes = await Promise.all(engines.map(async (e) => `${e.name} ${(await must(e, ['info', '--format', e.name === 'podman' ? '{{.Host.OCIRuntime.Name}}' : '{{.DefaultRuntime}}'])).trim()}`));
    console.log(`- OCI runtime: ${runtimes.join(', ')}`);
    for (const n of NOTES) console.log(`- ${n}`);
  }
}

await main();
// A signal's race leaves bench() running against stopped daemons; nothing of it is wanted now.
process.exit(0);
