/**
 * Pull and push through a registry on loopback: wharf against Docker, with skopeo as the
 * near-limit reference, side by side in one run.
 *
 *   sudo node dist/bench/bench-pull.js [--reps N]
 *
 * The image: busybox plus three layers copied from this machine's /usr (Python's library, the
 * package docs, Perl's library: about 200 MB of real, compressible files), built once by wharfd
 * and loaded into dockerd, so both engines move the same bytes. Each measurement gets a fresh
 * registry (Debian's docker-registry, a new root on a new port), so nothing is skipped because a
 * registry already holds it:
 *
 * - push: the image from the engine's store into the empty registry;
 * - pull: the image (removed from the engine first, layers included) back from that registry.
 *
 * Engines: wharfd and Debian's dockerd, each with its roots on a new ext4 file system of its own
 * (a loop device), both driven by docker CLI 28; skopeo copies the same
 * image (docker-archive: -> registry for push; registry -> dir: for pull, which downloads and
 * verifies but does not extract).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCKER, exec, type RunResult } from '../test/harness.js';
import { freshFilesystem, median, startDockerd, startWharfd, stopProc, timeIt, untilSignal } from './engines.js';

const repsArg = process.argv.indexOf('--reps');
const REPS = repsArg > 0 ? Number(process.argv[repsArg + 1]) : 3;
const LAYER_SOURCES = ['/usr/lib/python3', '/usr/share/doc', '/usr/share/perl'];
const IMAGE = 'bench-pull:latest';

interface Registry {
  host: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Debian's reference registry on a fresh root and port. */
async function startRegistry(dir: string): Promise<Registry> {
  const root = await mkdtemp(join(dir, 'registry-'));
  const port = await freePort();
  const config = join(root, 'config.yml');
  await writeFile(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${root}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const proc: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: 'ignore' });
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await exec('curl', ['-sf', '-o', '/dev/null', `http://${host}/v2/`]).catch(() => undefined);
    if (r?.code === 0) break;
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error('docker-registry did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host,
    stop: async () => {
      await stopProc(proc, 'docker-registry');
      await rm(root, { recursive: true, force: true });
    },
  };
}

function must(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r;
}

const docker = (socket: string, args: string[]) => exec(DOCKER, args, { env: { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_BUILDKIT: '0' }, timeoutMs: 600_000 });

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-bench-pull-'));
  const cleanups: (() => Promise<void>)[] = [];
  try {
    await untilSignal(async () => {
      let wharfd = '';
      let dockerd = '';
      // Each engine on a file system of its own (freshFilesystem says why).
      const own = async (name: string) => {
        const mount = join(dir, `fs-${name}`);
        cleanups.push(await freshFilesystem(mount));
        return join(mount, name);
      };
      await startWharfd(await own('wharf'), (w) => {
        wharfd = w.socket;
        cleanups.push(w.stop);
      });
      await startDockerd(await own('docker'), 'bench-pull', (d) => {
        dockerd = d.socket;
        cleanups.push(d.stop);
      });

      const ctx = join(dir, 'context');
      await mkdir(ctx);
      const names = LAYER_SOURCES.map((_, i) => `layer${i}`);
      for (const [i, src] of LAYER_SOURCES.entries()) await cp(src, join(ctx, names[i]), { recursive: true, dereference: false, verbatimSymlinks: true });
      await writeFile(join(ctx, 'Dockerfile'), `FROM busybox\n${names.map((n) => `COPY ${n} /${n}`).join('\n')}\n`);
      must(await docker(wharfd, ['build', '-q', '-t', IMAGE, ctx]), 'build in wharfd');
      const archive = join(dir, 'image.tar');
      must(await docker(wharfd, ['save', '-o', archive, IMAGE]), 'save from wharfd');
      must(await docker(dockerd, ['load', '-q', '-i', archive]), 'load into dockerd');
      const size = (await exec('du', ['-sm', archive])).stdout.split('\t')[0];
      console.log(`image: busybox + ${LAYER_SOURCES.join(', ')} (${size} MB uncompressed), ${REPS} repetitions, median\n`);

      const times: Record<string, { push: number[]; pull: number[] }> = { wharf: { push: [], pull: [] }, docker: { push: [], pull: [] }, skopeo: { push: [], pull: [] } };
      const engines: [string, string][] = [
        ['wharf', wharfd],
        ['docker', dockerd],
      ];
      for (let rep = 0; rep < REPS; rep++) {
        for (const [name, socket] of engines) {
          const reg = await startRegistry(dir);
          try {
            const remote = `${reg.host}/bench/${name}:1`;
            must(await docker(socket, ['tag', IMAGE, remote]), `tag in ${name}`);
            times[name].push.push(await timeIt(async () => must(await docker(socket, ['push', '-q', remote]), `push from ${name}`)));
            must(await docker(socket, ['rmi', remote]), `rmi in ${name}`);
            // Layers must go too, or the pull finds them all: keep no other name of the image.
            await docker(socket, ['rmi', IMAGE]);
            times[name].pull.push(await timeIt(async () => must(await docker(socket, ['pull', '-q', remote]), `pull into ${name}`)));
            must(await docker(socket, ['tag', remote, IMAGE]), `tag back in ${name}`);
            must(await docker(socket, ['rmi', remote]), `rmi in ${name}`);
          } finally {
            await reg.stop();
          }
        }
        const reg = await startRegistry(dir);
        try {
          const remote = `docker://${reg.host}/bench/skopeo:1`;
          times.skopeo.push.push(await timeIt(async () => must(await exec('skopeo', ['copy', '-q', '--dest-tls-verify=false', `docker-archive:${archive}`, remote], { timeoutMs: 600_000 }), 'skopeo push')));
          const out = join(dir, `skopeo-pull-${rep}`);
          times.skopeo.pull.push(await timeIt(async () => must(await exec('skopeo', ['copy', '-q', '--src-tls-verify=false', remote, `dir:${out}`], { timeoutMs: 600_000 }), 'skopeo pull')));
          await rm(out, { recursive: true, force: true });
        } finally {
          await reg.stop();
        }
      }

      const s = (xs: number[]) => median(xs) / 1000;
      const rows = (['push', 'pull'] as const).map((op) => {
        const w = s(times.wharf[op]);
        const d = s(times.docker[op]);
        const k = s(times.skopeo[op]);
        return [op, w.toFixed(2), d.toFixed(2), k.toFixed(2), (w / d).toFixed(2), (w / k).toFixed(2)];
      });
      const head = ['s', 'wharf', 'docker', 'skopeo', 'wharf/docker', 'wharf/skopeo'];
      const widths = head.map((_, i) => Math.max(...[head, ...rows].map((r) => r[i].length)));
      const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
      console.log(line(head));
      for (const r of rows) console.log(line(r));
      console.log('\ntargets: wharf/docker <= 0.5 and wharf/skopeo <= 1.3 for both');
    });
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err) => console.error(`cleanup: ${(err as Error).message}`));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
