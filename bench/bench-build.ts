/**
 * Builds, wharf against Docker's two builders, side by side in one run.
 *
 *   sudo node dist/bench/bench-build.js [--quick] [--reps N]
 *
 * A multi-stage Dockerfile (stage 1 FROM busybox copies the context and transforms it; stage 2
 * FROM busybox copies a result out of stage 1 and sets LABEL, ENV, CMD) over a generated
 * context of 1,000 files, 50 MB of pseudo-random bytes from a fixed seed. Every repetition
 * copies the context to a new directory, as a CI checkout would, and measures three cases:
 *
 * - cold: no image and no build cache (the images and the cache removed first);
 * - cached: the same context again, everything from the cache;
 * - one file changed: the COPY and everything after it rebuilt.
 *
 * Engines: wharfd through the wharf CLI and through docker CLI 28 with the classic builder
 * (DOCKER_BUILDKIT=0); Debian's dockerd (docker.io) through the same docker CLI 28 with the
 * classic builder, and with BuildKit through Debian's CLI 20.10 (/usr/bin/docker,
 * DOCKER_BUILDKIT=1). All builds run with --network none (both daemons run without a bridge).
 * An engine whose builds fail is reported as such and left out, the others still measured.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WHARF, DOCKER, exec, type RunResult } from '../test/harness.js';
import { median, startDockerd, startWharfd, timeIt, untilSignal } from './engines.js';

const quick = process.argv.includes('--quick');
const repsArg = process.argv.indexOf('--reps');
const REPS = repsArg > 0 ? Number(process.argv[repsArg + 1]) : quick ? 2 : 5;
const FILES = 1000;
const TOTAL_BYTES = 50 * 1000 * 1000;
const DEBIAN_DOCKER = '/usr/bin/docker';
const TAG = 'bench-build:latest';

const DOCKERFILE = `FROM busybox AS stage1
COPY . /src
RUN find /src -type f | wc -l > /count && tar c /src | md5sum > /sum

FROM busybox
COPY --from=stage1 /count /sum /out/
LABEL org.example.bench=build
ENV RESULT=/out
CMD ["cat", "/out/count", "/out/sum"]
`;

interface Daemon {
  name: string;
  socket: string;
  stop(): Promise<void>;
}

/** One column of the table: a daemon driven by one client. */
interface Engine {
  name: string;
  daemon: Daemon;
  /** The client's program and arguments before the command's own. */
  bin: string[];
  env: NodeJS.ProcessEnv;
  /** The first failure, after which the engine is left out. */
  failed?: string;
  times: Record<Case, number[]>;
}

type Case = 'cold' | 'cached' | 'one file changed';
const CASES: Case[] = ['cold', 'cached', 'one file changed'];

function run(e: Engine, args: string[]): Promise<RunResult> {
  const [file, ...pre] = e.bin;
  return exec(file, [...pre, ...args], { env: e.env, timeoutMs: 1_800_000 });
}

async function must(e: Engine, args: string[]): Promise<string> {
  const r = await run(e, args);
  if (r.code !== 0) throw new Error(`${e.name}: ${args.join(' ')} failed (${r.code}): ${(r.stderr || r.stdout).trim().slice(-1500)}`);
  return r.stdout;
}

/** A fixed-seed generator (xorshift32): the same context on every machine and run. */
function bytes(seed: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= n; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b.writeUInt32LE(x, i);
  }
  return b;
}

/** 1,000 files in 20 directories, 50 MB in all, sizes varying around the mean. */
async function makeContext(dir: string): Promise<void> {
  const mean = TOTAL_BYTES / FILES;
  let left = TOTAL_BYTES;
  for (let i = 0; i < FILES; i++) {
    const sub = join(dir, `d${String(i % 20).padStart(2, '0')}`);
    await mkdir(sub, { recursive: true });
    const size = i === FILES - 1 ? left : Math.round(mean * (0.5 + ((i * 7919) % 1000) / 1000));
    left -= size;
    await writeFile(join(sub, `f${String(i).padStart(4, '0')}.bin`), bytes(0x9e3779b9 ^ i, Math.max(0, size)));
  }
  await writeFile(join(dir, 'Dockerfile'), DOCKERFILE);
}

let copies = 0;
async function freshCopy(template: string, base: string): Promise<string> {
  const dir = join(base, `ctx-${copies++}`);
  await cp(template, dir, { recursive: true });
  return dir;
}

const build = (e: Engine, dir: string) => must(e, ['build', '--network', 'none', '-q', '-t', TAG, dir]);

/** No image of ours and no build cache: the next build is cold. */
async function clearCache(e: Engine): Promise<void> {
  await run(e, ['rmi', '-f', TAG]);
  // The classic builder's intermediate images go with the image; BuildKit's and wharf's cache with prune.
  await run(e, ['builder', 'prune', '-af']);
  await run(e, ['image', 'prune', '-f']);
}

async function startDocker(dir: string, spawned: (d: Daemon) => void): Promise<void> {
  await startDockerd(dir, 'wharfbenchbuild', (d) => spawned({ name: 'docker', ...d }));
}

function engine(name: string, daemon: Daemon, bin: string[], buildkit: boolean): Engine {
  const env = { ...process.env, DOCKER_HOST: `unix://${daemon.socket}`, DOCKER_CONFIG: '/tmp/wharf-bench-docker-config', DOCKER_BUILDKIT: buildkit ? '1' : '0', DOCKER_CLI_HINTS: 'false' };
  return { name, daemon, bin, env, times: { cold: [], cached: [], 'one file changed': [] } };
}

/** Runs `fn` for an engine that has not failed yet; a failure leaves it out from then on. */
async function attempt(e: Engine, fn: () => Promise<void>): Promise<void> {
  if (e.failed) return;
  try {
    await fn();
  } catch (err) {
    // The end of the output says why; the start is often a deprecation notice.
    e.failed = (err as Error).message.replace(/\s+/g, ' ').slice(-400);
    console.error(`${e.name}: left out: ${e.failed}`);
  }
}

/** The image works and saw the whole context: 1,000 files plus the Dockerfile. */
async function check(e: Engine): Promise<void> {
  const out = await must(e, ['run', '--rm', '--network', 'none', TAG]);
  if (out.trim().split('\n')[0] !== String(FILES + 1)) throw new Error(`${e.name}: the image counted ${out.trim().split('\n')[0]} files, expected ${FILES + 1}`);
}

/** Engines whose "cached" build made a new image. */
const cacheMisses = new Set<string>();

async function measure(engines: Engine[], template: string, base: string): Promise<void> {
  for (let rep = 0; rep < REPS; rep++) {
    // Engines take turns rep by rep, so load from other work on the host falls on all alike. An
    // engine's three cases run back to back: engines share daemons (and tags), and another's
    // cold start clears what this one's cached case needs.
    for (const e of engines) {
      await attempt(e, async () => {
        await clearCache(e);
        let dir = await freshCopy(template, base);
        let id = '';
        e.times.cold.push(await timeIt(async () => (id = (await build(e, dir)).trim())));
        if (rep === 0) await check(e);
        await rm(dir, { recursive: true, force: true });

        dir = await freshCopy(template, base);
        let again = '';
        e.times.cached.push(await timeIt(async () => (again = (await build(e, dir)).trim())));
        // A cache hit makes the same image: a new ID means the cached figure measured a rebuild.
        if (again !== id) cacheMisses.add(e.name);
        await rm(dir, { recursive: true, force: true });

        dir = await freshCopy(template, base);
        await writeFile(join(dir, 'd07', 'f0007.bin'), `changed ${rep} ${Date.now()}\n`);
        e.times['one file changed'].push(await timeIt(() => build(e, dir)));
        await rm(dir, { recursive: true, force: true });
      });
    }
  }
}

function printTable(engines: Engine[]): void {
  const fmt = (ms: number[]) => (ms.length ? (median(ms) / 1000).toFixed(2) : 'n/a');
  const wharfCols = engines.filter((e) => e.daemon.name === 'wharf');
  const others = engines.filter((e) => e.daemon.name !== 'wharf');
  const head = ['case (s, median)', ...engines.map((e) => e.name)];
  const ratioHeads: string[] = [];
  for (const w of wharfCols) for (const o of others) ratioHeads.push(`${w.name}/${o.name}`);
  const rows = CASES.map((c) => {
    const cells = [c, ...engines.map((e) => fmt(e.times[c]))];
    for (const w of wharfCols) {
      for (const o of others) {
        cells.push(w.times[c].length && o.times[c].length ? (median(w.times[c]) / median(o.times[c])).toFixed(2) : 'n/a');
      }
    }
    return cells;
  });
  const all = [[...head, ...ratioHeads], ...rows];
  const widths = all[0].map((_, i) => Math.max(...all.map((r) => r[i].length)));
  for (const r of all) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  console.log('');
  console.log('- wharf: wharf build against wharfd; wharf-d28: docker CLI 28 (DOCKER_BUILDKIT=0) against wharfd; classic: the same CLI against Debian\'s dockerd; buildkit: Debian\'s CLI 20.10 with DOCKER_BUILDKIT=1 against that dockerd');
  console.log(`- ${FILES} files, ${TOTAL_BYTES / 1e6} MB of pseudo-random bytes (fixed seed), copied to a new directory for every build; ${REPS} repetition(s), the engines taking turns`);
  console.log('- cold: after rmi + builder prune + image prune; cached: the same context again; one file changed: one 50 kB file rewritten');
  for (const n of cacheMisses) console.log(`- ${n}: a "cached" build made a new image ID: its cache missed`);
  for (const e of engines) if (e.failed) console.log(`- ${e.name}: left out after: ${e.failed}`);
}

async function main(): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'wharf-bench-build-'));
  const daemons: Daemon[] = [];
  try {
    await untilSignal(bench);
  } finally {
    for (const d of daemons.reverse()) await d.stop().catch((err) => console.error(`stopping ${d.name}: ${err}`));
    await rm(base, { recursive: true, force: true });
  }

  async function bench(): Promise<void> {
    const wharfDir = join(base, 'wharf');
    let wharf: Daemon | undefined;
    let docker: Daemon | undefined;
    await startWharfd(wharfDir, (w) => daemons.push((wharf = { name: 'wharf', socket: w.socket, stop: w.stop })));
    await startDocker(join(base, 'docker'), (d) => daemons.push((docker = d)));
    if (!wharf || !docker) throw new Error('unreachable: both daemons are set once started');

    const engines = [
      engine('wharf', wharf, [process.execPath, WHARF], false),
      engine('wharf-d28', wharf, [DOCKER], false),
      engine('classic', docker, [DOCKER], false),
      engine('buildkit', docker, [DEBIAN_DOCKER], true),
    ];
    const tarPath = join(base, 'busybox.tar');
    await must(engines[1], ['save', '-o', tarPath, 'busybox']);
    await must(engines[2], ['load', '-i', tarPath]);
    await rm(tarPath, { force: true });

    const template = join(base, 'context');
    await makeContext(template);
    await measure(engines, template, base);
    printTable(engines);
  }
}

await main();
process.exit(0);
