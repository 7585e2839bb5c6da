/**
 * Volumes, wharf against Docker, side by side in one run, through the same docker CLI.
 *
 *   sudo node dist/bench/bench-vol.js [--quick] [--mb N] [--only cp]
 *
 * Starts Debian's dockerd (package docker.io) and wharfd, each on its own socket and data root
 * on a new ext4 file system of its own, with its work files (networking off on both: every
 * container runs with --network none, so the figures are about mounts and file copying), loads
 * wharf's busybox into Docker, and measures:
 *
 * - starting a container with 5 named volumes and 5 bind mounts (`run --rm ... true`);
 * - the seeds' backup (`run --rm --volumes-from data -v DIR:/backup busybox tar cf ...`) and
 *   restore (`tar xf` into a new container's anonymous volume) of a volume of N MiB (1024 by
 *   default) in 64 MiB files of random bytes;
 * - wharf's own `volume export` / `volume import` of the same volume (no Docker twin: the
 *   ratio row compares them with Docker's tar through a helper container);
 * - `cp` of a 100 MiB directory (96 files of 1 MiB and 1024 of 4 KiB, random bytes) into a
 *   running container and back out of it, and out of the same container once stopped.
 *
 * `--only cp` measures the cp rows alone, five rounds of them; `--only backup` the backup, restore,
 * export and import rows alone, five rounds of them.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WHARF, DOCKER, exec } from '../test/harness.js';
import { freshFilesystem, median, printComparison, startDockerd, startWharfd, timeIt, untilSignal } from './engines.js';

const quick = process.argv.includes('--quick');
const mbArg = process.argv.indexOf('--mb');
const SIZE_MB = mbArg > 0 ? Number(process.argv[mbArg + 1]) : quick ? 256 : 1024;
const N = quick ? 5 : 15;
const FILE_MB = 64;
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
if (ONLY !== undefined && ONLY !== 'cp' && ONLY !== 'backup') throw new Error(`--only ${ONLY}: expected cp or backup`);
const ROUNDS = ONLY === 'backup' ? 5 : ONLY ? 0 : quick ? 1 : 2;
const CP_ROUNDS = ONLY === 'cp' ? 5 : ONLY ? 0 : quick ? 1 : 3;

interface Engine {
  name: string;
  socket: string;
  dir: string;
  proc: ChildProcess;
  stop: () => Promise<void>;
}

function cli(e: Engine, args: string[], bin = DOCKER) {
  const env = { ...process.env, DOCKER_HOST: `unix://${e.socket}`, DOCKER_CONFIG: '/tmp/wharf-bench-docker-config' };
  return bin === DOCKER ? exec(DOCKER, args, { env, timeoutMs: 1_800_000 }) : exec(process.execPath, [WHARF, ...args], { env, timeoutMs: 1_800_000 });
}

async function must(e: Engine, args: string[], bin = DOCKER): Promise<string> {
  const r = await cli(e, args, bin);
  if (r.code !== 0) throw new Error(`${e.name}: ${bin === DOCKER ? 'docker' : 'wharf'} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

async function startDocker(dir: string, spawned: (e: Engine) => void): Promise<void> {
  await startDockerd(dir, 'wharfbenchvol', (d) => spawned({ name: 'docker', dir, ...d }));
}

/** Drops the page cache, so each copy reads from the disk as a restore after a reboot would. */
function dropCaches(): void {
  // Twice: the engines' file systems sit on loop devices, and the first sync can leave what it
  // wrote through them dirty in their backing files' pages; the next row would wait on that.
  spawnSync('sync');
  spawnSync('sync');
  try {
    spawnSync('bash', ['-c', 'echo 3 > /proc/sys/vm/drop_caches']);
  } catch {
    /* not allowed here: warm caches for both alike */
  }
}

const NONE = ['--network', 'none'];
const FILES = Math.max(1, Math.round(SIZE_MB / FILE_MB));

/** The volumes, binds and data each engine's figures use, made before anything is timed. */
async function prepare(e: Engine, work: string): Promise<string[]> {
  const flags: string[] = [];
  for (let i = 0; i < 5; i++) flags.push('-v', `bench-vol${i}:/v${i}`);
  for (let i = 0; i < 5; i++) {
    await mkdir(join(work, `bind${i}`), { recursive: true });
    flags.push('-v', `${join(work, `bind${i}`)}:/b${i}`);
  }
  await must(e, ['run', '--rm', ...NONE, ...flags, 'busybox', 'true']);
  // The data: SIZE_MB in 64 MiB files of random bytes, in a named volume of a data container.
  await must(e, ['run', '--rm', ...NONE, '-v', 'bench-data:/dbdata', 'busybox', 'sh', '-c', `mkdir -p /dbdata/db && for i in $(seq 1 ${FILES}); do head -c ${FILE_MB * 1024 * 1024} /dev/urandom > /dbdata/db/f$i; done`]);
  await must(e, ['create', '--name', 'bench-dbstore', ...NONE, '-v', 'bench-data:/dbdata', 'busybox', 'true']);
  return flags;
}

async function backupRound(e: Engine, work: string): Promise<{ backup: number; restore: number }> {
  await rm(join(work, 'backup.tar'), { force: true });
  dropCaches();
  const backup = await timeIt(() => must(e, ['run', '--rm', ...NONE, '--volumes-from', 'bench-dbstore', '-v', `${work}:/backup`, 'busybox', 'tar', 'cf', '/backup/backup.tar', '/dbdata']));
  await must(e, ['run', '--name', 'bench-dbstore2', ...NONE, '-v', '/dbdata', 'busybox', 'true']);
  dropCaches();
  const restore = await timeIt(() => must(e, ['run', '--rm', ...NONE, '--volumes-from', 'bench-dbstore2', '-v', `${work}:/backup`, 'busybox', 'sh', '-c', 'cd /dbdata && tar xf /backup/backup.tar --strip 1']));
  const check = await must(e, ['run', '--rm', ...NONE, '--volumes-from', 'bench-dbstore2', 'busybox', 'sh', '-c', 'ls /dbdata/db | wc -l']);
  if (Number(check.trim()) !== FILES) throw new Error(`${e.name}: restore has ${check.trim()} files, expected ${FILES}`);
  await must(e, ['rm', '-v', 'bench-dbstore2']);
  return { backup, restore };
}

async function exportRound(e: Engine, work: string): Promise<{ exp: number; imp: number }> {
  await rm(join(work, 'v.tar'), { force: true });
  dropCaches();
  const exp = await timeIt(() => must(e, ['volume', 'export', '-o', join(work, 'v.tar'), 'bench-data'], WHARF));
  dropCaches();
  const imp = await timeIt(() => must(e, ['volume', 'import', '-i', join(work, 'v.tar'), 'bench-restored'], WHARF));
  await must(e, ['volume', 'rm', 'bench-restored']);
  return { exp, imp };
}

/** The directory `cp` moves: 96 files of 1 MiB and 1024 of 4 KiB, 100 MiB in all. */
async function makeCpSource(dir: string): Promise<number> {
  await mkdir(join(dir, 'small'), { recursive: true });
  for (let i = 0; i < 96; i++) await writeFile(join(dir, `big${i}`), randomBytes(1024 * 1024));
  for (let i = 0; i < 1024; i++) await writeFile(join(dir, 'small', `s${i}`), randomBytes(4096));
  return 96 + 1024;
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n++;
  return n;
}

/** One round of cp: in and out of a running container, then out of it stopped. */
async function cpRound(e: Engine, work: string, src: string, files: number): Promise<{ into: number; out: number; outStopped: number }> {
  await must(e, ['run', '-d', '--name', 'bench-cp', ...NONE, 'busybox', 'sleep', '3600']);
  dropCaches();
  const into = await timeIt(() => must(e, ['cp', src, 'bench-cp:/cpdst']));
  const inside = await must(e, ['exec', 'bench-cp', 'sh', '-c', 'find /cpdst -type f | wc -l']);
  if (Number(inside.trim()) !== files) throw new Error(`${e.name}: cp into the container left ${inside.trim()} files, expected ${files}`);
  const got = (name: string) => join(work, name);
  await rm(got('cp-out'), { recursive: true, force: true });
  dropCaches();
  const out = await timeIt(() => must(e, ['cp', 'bench-cp:/cpdst', got('cp-out')]));
  if ((await countFiles(got('cp-out'))) !== files) throw new Error(`${e.name}: cp out of the container gave a different tree`);
  await must(e, ['stop', '-t', '0', 'bench-cp']);
  await rm(got('cp-out2'), { recursive: true, force: true });
  dropCaches();
  const outStopped = await timeIt(() => must(e, ['cp', 'bench-cp:/cpdst', got('cp-out2')]));
  if ((await countFiles(got('cp-out2'))) !== files) throw new Error(`${e.name}: cp out of the stopped container gave a different tree`);
  await must(e, ['rm', '-f', 'bench-cp']);
  await rm(got('cp-out'), { recursive: true, force: true });
  await rm(got('cp-out2'), { recursive: true, force: true });
  return { into, out, outStopped };
}

async function cleanup(e: Engine, work: string): Promise<void> {
  await must(e, ['rm', '-v', 'bench-dbstore']);
  await must(e, ['volume', 'rm', 'bench-data', ...Array.from({ length: 5 }, (_, i) => `bench-vol${i}`)]);
  await rm(work, { recursive: true, force: true });
}

/**
 * Every figure for both engines, the engines alternating run by run, so load from other work
 * on the host falls on both alike.
 */
async function measureBoth(engines: Engine[], base: string, work: string[]): Promise<Record<string, number>[]> {
  const out = engines.map(() => ({}) as Record<string, number>);
  const flags = await Promise.all(engines.map((e, i) => prepare(e, work[i])));
  const starts = engines.map(() => [] as number[]);
  const plain = engines.map(() => [] as number[]);
  for (let n = 0; n < (ONLY ? 0 : N); n++) {
    for (const [i, e] of engines.entries()) {
      starts[i].push(await timeIt(() => must(e, ['run', '--rm', ...NONE, ...flags[i], 'busybox', 'true'])));
      plain[i].push(await timeIt(() => must(e, ['run', '--rm', ...NONE, 'busybox', 'true'])));
    }
  }
  const cpSrc = join(base, 'cp-src');
  const cpFiles = CP_ROUNDS ? await makeCpSource(cpSrc) : 0;
  const cps = engines.map(() => ({ into: [] as number[], out: [] as number[], outStopped: [] as number[] }));
  for (let r = 0; r < CP_ROUNDS; r++) {
    for (const [i, e] of engines.entries()) {
      const c = await cpRound(e, work[i], cpSrc, cpFiles);
      cps[i].into.push(c.into);
      cps[i].out.push(c.out);
      cps[i].outStopped.push(c.outStopped);
    }
  }
  const backups = engines.map(() => [] as number[]);
  const restores = engines.map(() => [] as number[]);
  const exports: number[] = [];
  const imports: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, e] of engines.entries()) {
      const b = await backupRound(e, work[i]);
      backups[i].push(b.backup);
      restores[i].push(b.restore);
      if (e.name === 'wharf') {
        const x = await exportRound(e, work[i]);
        exports.push(x.exp);
        imports.push(x.imp);
      }
    }
  }
  for (const [i, e] of engines.entries()) {
    await cleanup(e, work[i]);
    if (CP_ROUNDS) {
      out[i]['cp of a 100 MiB directory into a running container (ms, median)'] = median(cps[i].into);
      out[i]['cp of it out of the running container (ms, median)'] = median(cps[i].out);
      out[i]['cp of it out of the stopped container (ms, median)'] = median(cps[i].outStopped);
    }
    if (!ONLY) {
      out[i]['run --rm true, 5 named volumes + 5 binds (ms, median)'] = median(starts[i]);
      out[i]['run --rm true, no mounts (ms, median)'] = median(plain[i]);
    }
    if (!ROUNDS) continue;
    console.log(`- ${e.name} backups (s): ${backups[i].map((ms) => (ms / 1000).toFixed(2)).join(' ')}; restores (s): ${restores[i].map((ms) => (ms / 1000).toFixed(2)).join(' ')}`);
    out[i][`backup of ${SIZE_MB} MiB, tar through --volumes-from (s, median)`] = median(backups[i]) / 1000;
    out[i][`restore of ${SIZE_MB} MiB, untar into a new volume (s, median)`] = median(restores[i]) / 1000;
    // wharf's one command against Docker's only way, the tar through a helper container.
    out[i][`wharf volume export of ${SIZE_MB} MiB (s, median)`] = (e.name === 'wharf' ? median(exports) : median(backups[i])) / 1000;
    out[i][`wharf volume import of ${SIZE_MB} MiB (s, median)`] = (e.name === 'wharf' ? median(imports) : median(restores[i])) / 1000;
  }
  return out;
}

async function main(): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'wharf-bench-vol-'));
  let wharf: Engine | undefined;
  let dockerEngine: Engine | undefined;
  const filesystems: (() => Promise<void>)[] = [];
  try {
    await untilSignal(bench);
  } finally {
    await wharf?.stop().catch((err) => console.error(`stopping wharfd: ${err}`));
    await dockerEngine?.stop().catch((err) => console.error(`stopping dockerd: ${err}`));
    for (const release of filesystems) await release().catch((err) => console.error(`releasing a file system: ${err}`));
    await rm(base, { recursive: true, force: true });
  }

  /** A new ext4 file system for one engine's roots and work files (freshFilesystem says why). */
  async function own(name: string): Promise<string> {
    const mount = join(base, `fs-${name}`);
    filesystems.push(await freshFilesystem(mount, 12));
    return mount;
  }

  async function bench(): Promise<void> {
    const wharfFs = await own('wharf');
    const dockerFs = await own('docker');
    const wharfDir = join(wharfFs, 'wharf');
    await startWharfd(wharfDir, (w) => (wharf = { name: 'wharf', dir: wharfDir, ...w }));
    await startDocker(join(dockerFs, 'docker'), (e) => (dockerEngine = e));
    if (!wharf || !dockerEngine) throw new Error('unreachable: both engines are set once started');
    const tarPath = join(base, 'busybox.tar');
    await must(wharf, ['save', '-o', tarPath, 'busybox']);
    await must(dockerEngine, ['load', '-i', tarPath]);

    const [w, dk] = await measureBoth([wharf, dockerEngine], base, [join(wharfFs, 'work'), join(dockerFs, 'work')]);
    printComparison(w, dk);
    console.log(`- each engine's roots and work files on a new ext4 file system of its own; ${SIZE_MB} MiB in ${FILES} files of random bytes; page cache dropped before each copy; ${ROUNDS} round(s), the engines alternating; starts: ${N} runs each, alternating`);
    console.log('- the export/import rows compare wharf\'s one command with Docker\'s backup/restore through a helper container');
  }
}

await main();
process.exit(0);
