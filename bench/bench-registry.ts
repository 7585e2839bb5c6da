/**
 * wharf's registry server against Debian's docker-registry (Go), with the same clients.
 *
 *   sudo node dist/bench/bench-registry.js [--reps N] [--mb TOTAL]
 *
 * One image of four layers of pseudo-random bytes (incompressible; about 200 MB gzipped in all)
 * is pushed to each registry by skopeo from an OCI layout, then pulled by Debian's dockerd
 * (a private one, test/harness.ts) N times (the image removed in between), then pushed by that
 * dockerd to a new repository. Wall time of each and the server's peak RSS (VmHWM) are printed
 * with wharf/docker-registry ratios.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, startDockerd } from '../test/harness.js';
import { req, startRegistry, writeOciLayout } from '../test/registry-helpers.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const REPS = arg('--reps', 3);
const TOTAL_MB = arg('--mb', 200);
const LAYERS = 4;

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function makeBigImage(dir: string): Promise<void> {
  const layers: Buffer[] = [];
  const diffIds: string[] = [];
  for (let i = 0; i < LAYERS; i++) {
    const root = join(dir, `l${i}`);
    await mkdir(root, { recursive: true });
    await writeFile(join(root, `data${i}.bin`), randomBytes(Math.floor((TOTAL_MB * 1e6) / LAYERS)));
    const tar = spawnSync('tar', ['-C', root, '--owner=0', '--group=0', '-cf', '-', '.'], { maxBuffer: 1 << 30 }).stdout;
    diffIds.push(sha(tar));
    layers.push(spawnSync('gzip', ['-1', '-n', '-c'], { input: tar, maxBuffer: 1 << 30 }).stdout);
    await rm(root, { recursive: true });
  }
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(l), size: l.length })),
    }),
  );
  // writeOciLayout takes one layer; write the rest beside it.
  const layout = join(dir, 'oci');
  await writeOciLayout(layout, 'v1', { layer: layers[0]!, config, manifest });
  for (const l of layers.slice(1)) await writeFile(join(layout, 'blobs/sha256', sha(l).slice(7)), l);
}

async function timed(fn: () => Promise<{ code: number; stderr: string; stdout: string }>, what: string): Promise<number> {
  const t = process.hrtime.bigint();
  const r = await fn();
  if (r.code !== 0) throw new Error(`${what} failed: ${r.stderr}${r.stdout}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function hwm(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'wharf-bench-registry-'));
  const dd = await startDockerd('benchreg');
  const servers: { name: string; host: string; pid: number; stop(): Promise<void> }[] = [];
  try {
    process.stderr.write(`making a ${TOTAL_MB} MB image of ${LAYERS} layers\n`);
    await makeBigImage(work);
    const na = process.argv.indexOf('--node-args');
    const w = await startRegistry([], join(work, 'wharf-root'), na > 0 ? process.argv[na + 1]!.split(' ') : []);
    servers.push({ name: 'wharf registry', host: w.host, pid: w.proc.pid!, stop: w.stop });
    const port = 20000 + Math.floor(Math.random() * 20000);
    await writeFile(join(work, 'peer.yml'), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, 'peer-root')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
    const peer = spawn('/usr/bin/docker-registry', ['serve', join(work, 'peer.yml')], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (await req(`http://127.0.0.1:${port}`, 'GET', '/v2/').then((r) => r.status === 200, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    servers.push({
      name: 'docker-registry',
      host: `127.0.0.1:${port}`,
      pid: peer.pid!,
      stop: async () => {
        peer.kill('SIGTERM');
      },
    });
    const rows: Record<string, Record<string, number>> = {};
    for (const s of servers) {
      const row: Record<string, number> = {};
      row['skopeo push (ms)'] = await timed(() => exec('/usr/bin/skopeo', ['--insecure-policy', 'copy', '--dest-tls-verify=false', `oci:${join(work, 'oci')}:v1`, `docker://${s.host}/bench/img:v1`], { timeoutMs: 600_000 }), 'skopeo push');
      row['peak RSS after push (MB)'] = hwm(s.pid);
      const pulls: number[] = [];
      for (let i = 0; i < REPS; i++) {
        await dd.docker(['rmi', '-f', `${s.host}/bench/img:v1`]);
        pulls.push(await timed(() => dd.docker(['pull', '-q', `${s.host}/bench/img:v1`], { timeoutMs: 600_000 }), 'docker pull'));
      }
      row['docker pull (ms, median)'] = median(pulls);
      row['peak RSS after pulls (MB)'] = hwm(s.pid);
      await dd.docker(['tag', `${s.host}/bench/img:v1`, `${s.host}/bench/pushed:v1`]);
      row['docker push (ms)'] = await timed(() => dd.docker(['push', '-q', `${s.host}/bench/pushed:v1`], { timeoutMs: 600_000 }), 'docker push');
      await dd.docker(['rmi', '-f', `${s.host}/bench/img:v1`, `${s.host}/bench/pushed:v1`]);
      row['peak RSS (MB)'] = hwm(s.pid);
      rows[s.name] = row;
    }
    const keys = Object.keys(rows['wharf registry']!);
    const pad = (x: string, n: number) => x.padEnd(n);
    console.log(`${pad('', 26)}${pad('wharf registry', 16)}${pad('docker-registry', 17)}wharf/docker-registry`);
    for (const k of keys) {
      const a = rows['wharf registry']![k]!;
      const b = rows['docker-registry']![k]!;
      console.log(`${pad(k, 26)}${pad(a.toFixed(0), 16)}${pad(b.toFixed(0), 17)}${(a / b).toFixed(2)}`);
    }
  } finally {
    for (const s of servers) await s.stop();
    await dd.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
