import { createWriteStream } from 'node:fs';
import { link, lstat, mkdir, readFile, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, pack } from 'tar-stream';
import { InvalidArgumentError, LARGE_READ, WharfError, errorMessage, sha256 } from '../util/index.js';
import { fullName, parseReference, splitTag, tagged } from './reference.js';
import { MEDIA_TYPES, goArch, type ArchiveManifestEntry } from './types.js';

const BAD = 'invalid image archive';

/** One image found in an archive: paths relative to the extracted archive. */
export interface ArchiveImage {
  config: string;
  layers: string[];
  repoTags: string[];
}

/** An archive path made relative, refusing any that would leave the extraction dir. */
function archivePath(name: string): string {
  const n = posix.normalize(name.replace(/^\/+/, '')).replace(/\/+$/, '');
  if (n === '..' || n.startsWith('../')) throw new InvalidArgumentError(`${BAD}: entry "${name}" escapes the archive`);
  return n === '.' ? '' : n;
}

/**
 * Unpacks an image archive's files into `dir` (a fresh temp dir). Only regular files and
 * symlinks between them (old `docker save` dedups layer.tar that way) are kept: a symlink becomes
 * a hard link to its target, so nothing inside `dir` can point outside it.
 */
export async function extractArchive(input: Readable, dir: string): Promise<void> {
  const links: [string, string][] = [];
  const ex = extract();
  ex.on('entry', (h, stream, next) => {
    // Errors of a truncated archive reach us through the outer pipeline; see storage/apply.ts.
    stream.on('error', () => {});
    (async () => {
      const rel = archivePath(h.name);
      if (rel && (h.type === 'file' || h.type === 'contiguous-file')) {
        await mkdir(join(dir, posix.dirname(rel)), { recursive: true });
        await pipeline(stream, createWriteStream(join(dir, rel), { flags: 'wx', highWaterMark: LARGE_READ }));
        return;
      }
      stream.resume();
      if (rel && (h.type === 'symlink' || h.type === 'link')) {
        const target = h.type === 'symlink' ? posix.join(posix.dirname(rel), h.linkname ?? '') : (h.linkname ?? '');
        links.push([rel, archivePath(target)]);
      }
    })().then(
      () => next(),
      (err: Error) => {
        stream.resume();
        next(err);
      },
    );
  });
  try {
    await pipeline(input, ex);
  } catch (err) {
    if (err instanceof WharfError) throw err;
    throw new InvalidArgumentError(`${BAD}: ${errorMessage(err)} (is the archive truncated?)`, { cause: err });
  }
  // Targets may come after their links in the tar; resolve chains of links too.
  for (let pass = 0; pass < 8 && links.length; pass++) {
    for (let i = links.length - 1; i >= 0; i--) {
      const [from, to] = links[i];
      const st = await lstat(join(dir, to)).catch(() => undefined);
      if (!st?.isFile()) continue;
      await mkdir(join(dir, posix.dirname(from)), { recursive: true });
      await link(join(dir, to), join(dir, from)).catch(() => {});
      links.splice(i, 1);
    }
  }
}

async function readJson<T>(dir: string, rel: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(join(dir, archivePath(rel)), 'utf8');
  } catch {
    throw new InvalidArgumentError(`${BAD}: ${what} (${rel}) is missing`);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new InvalidArgumentError(`${BAD}: ${what} (${rel}) is not valid JSON`);
  }
}

const blobPath = (digest: string) => {
  const m = /^(sha256|sha512):([a-f0-9]+)$/.exec(digest);
  if (!m) throw new InvalidArgumentError(`${BAD}: bad digest "${digest}"`);
  return `blobs/${m[1]}/${m[2]}`;
};

interface Descriptor {
  mediaType?: string;
  digest: string;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string };
}

/** A familiar `name:tag` from an OCI index entry's annotations, if it names one. */
function nameOf(d: Descriptor): string | undefined {
  const a = d.annotations ?? {};
  for (const n of [a['io.containerd.image.name'], a['org.opencontainers.image.ref.name']]) {
    if (!n || !/[/:]/.test(n) || n.includes('@')) continue;
    try {
      const r = parseReference(n);
      if (r.tag) return tagged(r);
    } catch {
      // Just a tag, or not a name: the image is loaded untagged.
    }
  }
  return undefined;
}

/**
 * The images in an extracted archive: Docker's manifest.json (both the legacy layout and Docker
 * 25's OCI one carry it), or else a plain OCI layout's index.json.
 */
export async function readArchiveImages(dir: string): Promise<ArchiveImage[]> {
  const hasManifest = await stat(join(dir, 'manifest.json')).then(
    () => true,
    () => false,
  );
  if (hasManifest) {
    const manifest = await readJson<ArchiveManifestEntry[]>(dir, 'manifest.json', 'manifest.json');
    if (!Array.isArray(manifest)) throw new InvalidArgumentError(`${BAD}: manifest.json is not a list`);
    return manifest.map((e) => {
      if (typeof e?.Config !== 'string' || !Array.isArray(e.Layers)) throw new InvalidArgumentError(`${BAD}: manifest.json entry without Config or Layers`);
      return { config: e.Config, layers: e.Layers, repoTags: (e.RepoTags ?? []).map((t) => tagged(parseReference(t))) };
    });
  }
  const hasIndex = await stat(join(dir, 'index.json')).then(
    () => true,
    () => false,
  );
  if (!hasIndex) throw new InvalidArgumentError(`${BAD}: neither manifest.json nor index.json found (is this the output of docker save?)`);
  const out: ArchiveImage[] = [];
  const visit = async (d: Descriptor, name: string | undefined, depth: number): Promise<void> => {
    if (depth > 4) throw new InvalidArgumentError(`${BAD}: index nesting is too deep`);
    const doc = await readJson<{ mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] }>(dir, blobPath(d.digest), `blob ${d.digest}`);
    if (Array.isArray(doc.manifests)) {
      const candidates = doc.manifests.filter((m) => !m.platform || (m.platform.os === 'linux' && m.platform.architecture === goArch()));
      const pick = candidates.find((m) => m.platform) ?? candidates[0];
      if (!pick) throw new InvalidArgumentError(`${BAD}: no linux/${goArch()} image in ${d.digest}`);
      return visit(pick, name, depth + 1);
    }
    if (!doc.config || !Array.isArray(doc.layers)) throw new InvalidArgumentError(`${BAD}: ${d.digest} is neither an image manifest nor an index`);
    const existing = out.find((o) => o.config === blobPath(doc.config!.digest));
    if (existing) {
      if (name && !existing.repoTags.includes(name)) existing.repoTags.push(name);
      return;
    }
    out.push({ config: blobPath(doc.config.digest), layers: doc.layers.map((l) => blobPath(l.digest)), repoTags: name ? [name] : [] });
  };
  const index = await readJson<{ manifests?: Descriptor[] }>(dir, 'index.json', 'index.json');
  for (const m of index.manifests ?? []) await visit(m, nameOf(m), 0);
  return out;
}

/** What `save` needs of one image. */
export interface SaveImage {
  id: string;
  configBytes: Buffer;
  /** Familiar `name:tag`s to record; empty when saved by ID. */
  tags: string[];
  /** Uncompressed layer tars, bottom first: their sizes, and their bytes when asked. */
  layers: { diffId: string; size: number; open(): Readable }[];
}

/**
 * Writes Docker 25's archive: an OCI image layout (index.json, oci-layout, blobs/sha256) plus the
 * manifest.json and repositories files that older `docker load` reads. Errors from `collect`
 * destroy the stream.
 */
export function writeArchive(collect: () => Promise<SaveImage[]>): Readable {
  const p = pack();
  // A reader that goes away mid-stream destroys the pack; that's the reader's error to see, not ours.
  p.on('error', () => {});
  const mtime = new Date(0);
  const entry = (h: { name: string; size?: number; type?: 'directory' }, body?: Buffer) =>
    new Promise<void>((resolve, reject) => p.entry({ mode: h.type ? 0o755 : 0o644, mtime, ...h }, body ?? Buffer.alloc(0), (e) => (e ? reject(e) : resolve())));
  const addFile = async (name: string, file: { size: number; open(): Readable }) => {
    await new Promise<void>((resolve, reject) => {
      const e = p.entry({ name, size: file.size, mode: 0o644, mtime }, (err) => (err ? reject(err) : resolve()));
      pipeline(file.open(), e).catch(reject);
    });
    return file.size;
  };
  (async () => {
    const images = await collect();
    await entry({ name: 'blobs/', type: 'directory' });
    await entry({ name: 'blobs/sha256/', type: 'directory' });
    const written = new Map<string, number>();
    const blob = (d: string) => `blobs/sha256/${d.replace(/^sha256:/, '')}`;
    const manifestJson: ArchiveManifestEntry[] = [];
    const index: (Descriptor & { size: number })[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const img of images) {
      if (!written.has(img.id)) {
        await entry({ name: blob(img.id), size: img.configBytes.length }, img.configBytes);
        written.set(img.id, img.configBytes.length);
      }
      const layers: { mediaType: string; digest: string; size: number }[] = [];
      for (const l of img.layers) {
        if (!written.has(l.diffId)) written.set(l.diffId, await addFile(blob(l.diffId), l));
        layers.push({ mediaType: MEDIA_TYPES.layer, digest: l.diffId, size: written.get(l.diffId)! });
      }
      const manifest = Buffer.from(
        JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config: { mediaType: MEDIA_TYPES.config, digest: img.id, size: img.configBytes.length }, layers }),
      );
      const mDigest = sha256(manifest);
      if (!written.has(mDigest)) {
        await entry({ name: blob(mDigest), size: manifest.length }, manifest);
        written.set(mDigest, manifest.length);
      }
      manifestJson.push({ Config: blob(img.id), RepoTags: img.tags.length ? img.tags : null, Layers: img.layers.map((l) => blob(l.diffId)) });
      const top = img.layers.at(-1)?.diffId;
      for (const t of img.tags) {
        const { repo, tag } = splitTag(t);
        index.push({
          mediaType: MEDIA_TYPES.manifest,
          digest: mDigest,
          size: manifest.length,
          annotations: { 'io.containerd.image.name': `${fullName(repo)}:${tag}`, 'org.opencontainers.image.ref.name': tag },
        });
        if (top) (repositories[repo] ??= {})[tag] = top.replace(/^sha256:/, '');
      }
      if (!img.tags.length) index.push({ mediaType: MEDIA_TYPES.manifest, digest: mDigest, size: manifest.length });
    }
    const json = (v: unknown) => Buffer.from(JSON.stringify(v));
    const files: [string, Buffer][] = [
      ['index.json', json({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: index })],
      ['manifest.json', json(manifestJson)],
      ['oci-layout', json({ imageLayoutVersion: '1.0.0' })],
    ];
    if (Object.keys(repositories).length) files.push(['repositories', json(repositories)]);
    for (const [name, body] of files) await entry({ name, size: body.length }, body);
    p.finalize();
  })().catch((err: Error) => p.destroy(err));
  return p as unknown as Readable;
}
