/** A `wharf registry serve` started for a test, raw HTTP against it, and images made by hand. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WHARF } from './harness.js';

export interface Registry {
  proc: ChildProcess;
  root: string;
  /** `127.0.0.1:port` */
  host: string;
  url: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startRegistry(args: string[] = [], root?: string, nodeArgs: string[] = []): Promise<Registry> {
  const dir = root ?? (await mkdtemp(join(tmpdir(), 'wharf-registry-')));
  const proc = spawn(process.execPath, [...nodeArgs, WHARF, 'registry', 'serve', '--addr', '127.0.0.1:0', '--root', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`registry did not start:\n${out}`)), 15_000);
    const check = () => {
      const m = /listening on (https?:\/\/[\d.]+:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`registry exited ${code}:\n${out}`));
    });
  });
  return {
    proc,
    root: dir,
    url,
    host: new URL(url).host,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await gone;
        clearTimeout(t);
      }
      if (!root) await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  json<T = any>(): T;
}

export interface ReqOpts {
  headers?: Record<string, string | number>;
  body?: Buffer | string | Buffer[];
  ca?: Buffer;
}

/** One HTTP request; `body` as an array is sent chunked, one write per element. */
export function req(base: string, method: string, path: string, opts: ReqOpts = {}): Promise<Reply> {
  const u = new URL(path, base);
  const doRequest = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let answered = false;
    const r = doRequest(
      // The path goes as written (no URL normalisation), so tests can send `..` to the server.
      { host: u.hostname, port: u.port, path: path.startsWith('/') ? path : u.pathname + u.search, method, headers: opts.headers, agent: false, ...(opts.ca ? { ca: opts.ca } : {}) },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString(), json: () => JSON.parse(body.toString()) });
        });
        res.on('error', reject);
      },
    );
    r.setTimeout(30_000, () => r.destroy(new Error(`${method} ${path}: timeout`)));
    // A server may answer before it has read the whole body (a 413); our own socket closing
    // under the rest of the body is then no failure.
    r.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (Array.isArray(opts.body)) {
      for (const b of opts.body) r.write(b);
      r.end();
    } else r.end(opts.body);
  });
}

export const digestOf = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function pushBlob(base: string, repo: string, data: Buffer | string, headers: Record<string, string> = {}): Promise<string> {
  const d = digestOf(data);
  const r = await req(base, 'POST', `/v2/${repo}/blobs/uploads/?digest=${d}`, { body: data, headers: { 'Content-Type': 'application/octet-stream', ...headers } });
  if (r.status !== 201) throw new Error(`push blob: ${r.status} ${r.text}`);
  return d;
}

export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** A small runnable-looking image: a gzipped tar layer with one file, its config, and a manifest of `mediaType`. */
export async function makeImage(content: string, mediaType = DOCKER_MANIFEST): Promise<{ layer: Buffer; config: Buffer; manifest: Buffer; digest: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-regimg-'));
  try {
    await mkdir(join(dir, 'root/etc'), { recursive: true });
    await writeFile(join(dir, 'root/etc/greeting'), content);
    const tar = spawnSync('tar', ['-C', join(dir, 'root'), '--mtime=@0', '--owner=0', '--group=0', '-cf', '-', 'etc'], { maxBuffer: 1 << 26 });
    const layerTar = tar.stdout;
    const gz = spawnSync('gzip', ['-n', '-c'], { input: layerTar, maxBuffer: 1 << 26 }).stdout;
    const oci = mediaType === OCI_MANIFEST;
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: ['/bin/sh'] },
        rootfs: { type: 'layers', diff_ids: [digestOf(layerTar)] },
      }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType,
        config: { mediaType: oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json', digest: digestOf(config), size: config.length },
        layers: [{ mediaType: oci ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: digestOf(gz), size: gz.length }],
      }),
    );
    return { layer: gz, config, manifest, digest: digestOf(manifest) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function pushImage(base: string, repo: string, tag: string, img: { layer: Buffer; config: Buffer; manifest: Buffer }, mediaType = DOCKER_MANIFEST, headers: Record<string, string> = {}): Promise<Reply> {
  await pushBlob(base, repo, img.layer, headers);
  await pushBlob(base, repo, img.config, headers);
  return req(base, 'PUT', `/v2/${repo}/manifests/${tag}`, { body: img.manifest, headers: { 'Content-Type': mediaType, ...headers } });
}

/** Writes an OCI image layout (what `skopeo copy oci:DIR:TAG` reads) holding one image. */
export async function writeOciLayout(dir: string, tag: string, img: { layer: Buffer; config: Buffer; manifest: Buffer }): Promise<void> {
  await mkdir(join(dir, 'blobs/sha256'), { recursive: true });
  for (const b of [img.layer, img.config, img.manifest]) await writeFile(join(dir, 'blobs/sha256', digestOf(b).slice(7)), b);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: OCI_MANIFEST, digest: digestOf(img.manifest), size: img.manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
}
