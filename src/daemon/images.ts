import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import type {
  ContainerConfig,
  FilesystemChange,
  ImageDeleteItem,
  ImageHistoryItem,
  ImageInspect,
  ImagePruneResponse,
  ImageSummary,
  ProgressMessage,
} from '../api/types/index.js';
import {
  MEDIA_TYPES,
  applyChanges,
  busyboxConfig,
  busyboxLayer,
  fullName,
  goArch,
  parseReference,
  splitTag,
  tagged,
  type ArchiveManifestEntry,
  type ImageConfig,
} from '../image/index.js';
import { applyLayer, cleanEntryPath, diskUsage, isWhiteout, mountOverlay, packDir, unmount } from '../storage/index.js';
import {
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  errorMessage,
  isErrno,
  readJsonIfExists,
  sha256,
  writeFileAtomic,
  writeJsonAtomic,
  type Logger,
} from '../util/index.js';
import { matchesFilters, parseLabelFilter } from './filters.js';

/** An image as the rest of the daemon sees it. */
export interface ImageRecord {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  created: string;
  size: number;
  config: ImageConfig;
}

export interface ImageUsage {
  containersUsing(imageId: string): { id: string; running: boolean }[];
}

export interface ImageServiceOptions {
  /** The daemon's data root; images live in <root>/image, layers and container filesystems in <root>/overlay. */
  root: string;
  logger: Logger;
  /** Debian's static busybox, from which the default image is made. */
  busyboxPath: string;
  onEvent(action: string, id: string, attrs: Record<string, string>): void;
}

interface StoredImage {
  id: string;
  config: ImageConfig;
  /** Chain IDs of the layers, bottom first. */
  chain: string[];
  size: number;
  lastTagTime: string;
}

interface LayerMeta {
  chainId: string;
  diffId: string;
  size: number;
}

interface RootfsCache {
  sizeRw: number;
  at: number;
}

const SIZE_CACHE_MS = 5000;

function hex(digest: string): string {
  return digest.replace(/^sha256:/, '');
}

function short(id: string): string {
  return hex(id).slice(0, 12);
}

function chainOf(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  return out;
}

/** Glob of Docker's reference filter: `*` and `?` stay within one path component. */
function globMatch(pattern: string, value: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`).test(value);
}

/** Hashes what passes through (the uncompressed bytes). */
function hasher(): { stream: Transform; digest: () => string; size: () => number } {
  const h = createHash('sha256');
  let n = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      n += chunk.length;
      cb(null, chunk);
    },
  });
  return { stream, digest: () => `sha256:${h.digest('hex')}`, size: () => n };
}

/** The stream, gunzipped when it starts with gzip's magic bytes. */
async function maybeGunzip(input: Readable): Promise<Readable> {
  const it = input[Symbol.asyncIterator]();
  const first = await it.next();
  const out = new PassThrough();
  if (first.done) {
    out.end();
    return out;
  }
  const head = first.value as Buffer;
  const rest = Readable.from(
    (async function* () {
      yield head;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield n.value as Buffer;
      }
    })(),
  );
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return rest.pipe(createGunzip());
  return rest;
}

/** Local images: a content store of configs and layer tarballs, layers extracted once for overlayfs. */
export class ImageService {
  readonly #o: ImageServiceOptions;
  readonly #images = new Map<string, StoredImage>();
  readonly #tags = new Map<string, string>();
  readonly #layers = new Map<string, LayerMeta>();
  readonly #sizes = new Map<string, RootfsCache>();
  #lock: Promise<unknown> = Promise.resolve();

  constructor(opts: ImageServiceOptions) {
    this.#o = opts;
  }

  get #dir() {
    const image = join(this.#o.root, 'image');
    const overlay = join(this.#o.root, 'overlay');
    return {
      configs: join(image, 'configs'),
      blobs: join(image, 'blobs'),
      meta: join(image, 'meta'),
      tmp: join(image, 'tmp'),
      repositories: join(image, 'repositories.json'),
      overlay,
      layers: join(overlay, 'layers'),
      containers: join(overlay, 'containers'),
      empty: join(overlay, 'empty'),
    };
  }

  /** Serializes changes to the store. */
  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#lock.then(fn, fn);
    this.#lock = next.catch(() => {});
    return next;
  }

  async init(): Promise<void> {
    const d = this.#dir;
    for (const p of [d.configs, d.blobs, d.meta, d.layers, d.containers, d.empty]) await mkdir(p, { recursive: true, mode: 0o700 });
    // Whatever was half-written when the daemon last stopped.
    await rm(d.tmp, { recursive: true, force: true });
    await mkdir(d.tmp, { recursive: true, mode: 0o700 });
    for (const name of await readdir(d.layers)) {
      if (name.includes('.tmp')) await rm(join(d.layers, name), { recursive: true, force: true });
    }
    for (const name of await readdir(d.layers)) {
      const meta = await readJsonIfExists<LayerMeta>(join(d.layers, name, 'layer.json'));
      if (meta) this.#layers.set(meta.chainId, meta);
      else await rm(join(d.layers, name), { recursive: true, force: true });
    }
    for (const name of await readdir(d.configs)) {
      if (!name.endsWith('.json')) continue;
      const id = `sha256:${name.slice(0, -5)}`;
      try {
        const config = JSON.parse(await readFile(join(d.configs, name), 'utf8')) as ImageConfig;
        const meta = (await readJsonIfExists<{ lastTagTime: string }>(join(d.meta, name))) ?? { lastTagTime: '' };
        this.#addImage(id, config, meta.lastTagTime);
      } catch (err) {
        this.#o.logger.warn('skipping unreadable image config', { id, error: errorMessage(err) });
      }
    }
    const repos = (await readJsonIfExists<Record<string, string>>(d.repositories)) ?? {};
    for (const [tag, id] of Object.entries(repos)) if (this.#images.has(id)) this.#tags.set(tag, id);
    if (!this.#tags.has('busybox:latest')) await this.#createBusybox();
  }

  #addImage(id: string, config: ImageConfig, lastTagTime: string): StoredImage {
    const chain = chainOf(config.rootfs?.diff_ids ?? []);
    const size = chain.reduce((n, c) => n + (this.#layers.get(c)?.size ?? 0), 0);
    const img: StoredImage = { id, config, chain, size, lastTagTime };
    this.#images.set(id, img);
    return img;
  }

  async #createBusybox(): Promise<void> {
    try {
      const tar = await busyboxLayer(this.#o.busyboxPath);
      const diffId = sha256(tar);
      await this.#ensureLayer(undefined, diffId, () => Readable.from([tar]), tar);
      const id = await this.#register(Buffer.from(JSON.stringify(busyboxConfig(diffId, this.#o.busyboxPath))));
      await this.#setTag('busybox:latest', id);
      this.#o.logger.info('created the default image busybox:latest', { id });
    } catch (err) {
      this.#o.logger.error('could not create the default busybox image', { path: this.#o.busyboxPath, error: errorMessage(err) });
    }
  }

  // ------------------------------------------------------------ layers and blobs

  /** Stores an uncompressed layer tar by its digest (kept so `save` writes the exact bytes back). */
  async #storeBlob(diffId: string, source: Buffer | string): Promise<void> {
    const path = join(this.#dir.blobs, hex(diffId));
    if (await stat(path).catch(() => undefined)) return;
    if (Buffer.isBuffer(source)) await writeFileAtomic(path, source);
    else await rename(source, path);
  }

  /**
   * Makes sure the layer with this diff ID on top of `parent` is extracted; `open` gives its
   * uncompressed tar. A failed extraction leaves nothing behind.
   */
  async #ensureLayer(parent: string | undefined, diffId: string, open: () => Readable, blob: Buffer | string): Promise<string> {
    const chainId = parent ? sha256(`${parent} ${diffId}`) : diffId;
    await this.#storeBlob(diffId, blob);
    if (this.#layers.has(chainId)) return chainId;
    const final = join(this.#dir.layers, hex(chainId));
    const tmp = `${final}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      await mkdir(join(tmp, 'diff'), { recursive: true });
      const { size } = await applyLayer(open(), join(tmp, 'diff'));
      const meta: LayerMeta = { chainId, diffId, size };
      await writeFile(join(tmp, 'layer.json'), JSON.stringify(meta));
      await rename(tmp, final);
      this.#layers.set(chainId, meta);
      return chainId;
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** Writes a config and indexes the image; its layers must exist. Returns the image ID. */
  async #register(configBytes: Buffer): Promise<string> {
    const id = sha256(configBytes);
    const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    if (!config.rootfs || !Array.isArray(config.rootfs.diff_ids)) throw new InvalidArgumentError('invalid image config: no rootfs.diff_ids');
    await writeFileAtomic(join(this.#dir.configs, `${hex(id)}.json`), configBytes);
    if (!this.#images.has(id)) this.#addImage(id, config, '');
    return id;
  }

  async #saveTags(): Promise<void> {
    await writeJsonAtomic(this.#dir.repositories, Object.fromEntries(this.#tags));
  }

  async #setTag(repoTag: string, id: string): Promise<void> {
    this.#tags.set(repoTag, id);
    const img = this.#images.get(id)!;
    img.lastTagTime = new Date().toISOString();
    await writeJsonAtomic(join(this.#dir.meta, `${hex(id)}.json`), { lastTagTime: img.lastTagTime });
    await this.#saveTags();
  }

  /** Deletes layers, blobs and configs that no image references any more. */
  async #collect(): Promise<void> {
    const chains = new Set<string>();
    const diffs = new Set<string>();
    for (const img of this.#images.values()) {
      for (const c of img.chain) chains.add(c);
      for (const d of img.config.rootfs.diff_ids) diffs.add(d);
    }
    for (const [chainId] of this.#layers) {
      if (chains.has(chainId)) continue;
      await rm(join(this.#dir.layers, hex(chainId)), { recursive: true, force: true });
      this.#layers.delete(chainId);
    }
    for (const name of await readdir(this.#dir.blobs)) if (!diffs.has(`sha256:${name}`)) await rm(join(this.#dir.blobs, name), { force: true });
    for (const dir of [this.#dir.configs, this.#dir.meta]) {
      for (const name of await readdir(dir)) if (!this.#images.has(`sha256:${name.replace(/\.json$/, '')}`)) await rm(join(dir, name), { force: true });
    }
  }

  // ------------------------------------------------------------ lookups

  #find(ref: string): StoredImage | undefined {
    try {
      const r = parseReference(ref);
      if (!r.digest) {
        const id = this.#tags.get(tagged(r));
        if (id) return this.#images.get(id);
      }
    } catch {
      // Not a name; maybe an ID.
    }
    const h = ref.startsWith('sha256:') ? ref.slice(7) : ref;
    if (/^[a-f0-9]+$/.test(h) && h.length > 0) {
      const matches = [...this.#images.values()].filter((i) => hex(i.id).startsWith(h));
      if (matches.length === 1) return matches[0];
    }
    return undefined;
  }

  #tagsOf(id: string): string[] {
    return [...this.#tags].filter(([, v]) => v === id).map(([k]) => k).sort();
  }

  #record(img: StoredImage): ImageRecord {
    return { id: img.id, repoTags: this.#tagsOf(img.id), repoDigests: [], created: img.config.created ?? '', size: img.size, config: img.config };
  }

  get(ref: string): ImageRecord {
    const img = this.#find(ref);
    if (!img) throw new NotFoundError(`No such image: ${ref}`);
    return this.#record(img);
  }

  #createdSec(img: StoredImage): number {
    const t = Date.parse(img.config.created ?? '');
    return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
  }

  list(opts: { all?: boolean; filters?: Record<string, string[]>; digests?: boolean; containerCount?: (id: string) => number }): ImageSummary[] {
    const f = opts.filters ?? {};
    const ref = (k: string) => {
      const img = this.#find(k);
      if (!img) throw new NotFoundError(`No such image: ${k}`);
      return this.#createdSec(img);
    };
    const before = f.before?.[0] !== undefined ? ref(f.before[0]) : undefined;
    const since = f.since?.[0] !== undefined ? ref(f.since[0]) : undefined;
    const until = f.until?.[0] !== undefined ? parseTime(f.until[0]) : undefined;
    const out: ImageSummary[] = [];
    for (const img of this.#images.values()) {
      const tags = this.#tagsOf(img.id);
      const created = this.#createdSec(img);
      if (before !== undefined && created >= before) continue;
      if (since !== undefined && created <= since) continue;
      if (until !== undefined && created * 1000 > until) continue;
      const ok = matchesFilters(f, {
        dangling: (v) => (v === 'true' || v === '1') === (tags.length === 0),
        label: (v) => parseLabelFilter(v)(img.config.config?.Labels ?? {}),
        reference: (v) => tags.some((t) => globMatch(v, t) || globMatch(v, splitTag(t).repo)),
        before: () => true,
        since: () => true,
        until: () => true,
      });
      if (!ok) continue;
      // A reference filter shows only the tags it matched, as Docker does.
      const shown = f.reference?.length ? tags.filter((t) => f.reference!.some((v) => globMatch(v, t) || globMatch(v, splitTag(t).repo))) : tags;
      out.push({
        Id: img.id,
        ParentId: '',
        RepoTags: shown,
        RepoDigests: [],
        Created: created,
        Size: img.size,
        SharedSize: -1,
        Labels: img.config.config?.Labels ?? null,
        Containers: opts.containerCount ? opts.containerCount(img.id) : -1,
      });
    }
    return out.sort((a, b) => b.Created - a.Created || a.Id.localeCompare(b.Id));
  }

  inspect(ref: string): ImageInspect {
    const img = this.#find(ref);
    if (!img) throw new NotFoundError(`No such image: ${ref}`);
    const c = img.config;
    return {
      Id: img.id,
      RepoTags: this.#tagsOf(img.id),
      RepoDigests: [],
      Parent: '',
      Comment: c.comment ?? '',
      Created: c.created ?? '',
      DockerVersion: c.docker_version ?? '',
      Author: c.author ?? '',
      Config: c.config ?? {},
      Architecture: c.architecture,
      Variant: c.variant,
      Os: c.os,
      Size: img.size,
      GraphDriver: {
        Name: 'overlay2',
        Data: img.chain.length ? { LowerDir: img.chain.map((ch) => join(this.#dir.layers, hex(ch), 'diff')).reverse().join(':') } : null,
      },
      RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
      Metadata: { LastTagTime: img.lastTagTime || '0001-01-01T00:00:00Z' },
    };
  }

  history(ref: string): ImageHistoryItem[] {
    const img = this.#find(ref);
    if (!img) throw new NotFoundError(`No such image: ${ref}`);
    const hist = img.config.history?.length ? img.config.history : img.config.rootfs.diff_ids.map(() => ({}) as NonNullable<ImageConfig['history']>[number]);
    let layer = 0;
    const items = hist.map((h) => {
      const size = h.empty_layer ? 0 : (this.#layers.get(img.chain[layer++])?.size ?? 0);
      const t = Date.parse(h.created ?? '');
      return { Id: '<missing>', Created: Number.isNaN(t) ? 0 : Math.floor(t / 1000), CreatedBy: h.created_by ?? '', Tags: null as string[] | null, Size: size, Comment: h.comment ?? '' };
    });
    items.reverse();
    if (items.length) {
      items[0].Id = img.id;
      const tags = this.#tagsOf(img.id);
      items[0].Tags = tags.length ? tags : null;
    }
    return items;
  }

  // ------------------------------------------------------------ tags and removal

  async tag(ref: string, repo: string, tag?: string): Promise<void> {
    const img = this.#find(ref);
    if (!img) throw new NotFoundError(`No such image: ${ref}`);
    const r = parseReference(tag ? `${repo}:${tag}` : repo);
    if (r.digest) throw new InvalidArgumentError('refusing to create a tag with a digest reference');
    const name = tagged(r);
    await this.#locked(() => this.#setTag(name, img.id));
    this.#o.onEvent('tag', img.id, { name });
  }

  async remove(ref: string, opts: { force: boolean; noPrune: boolean }, usage: ImageUsage): Promise<ImageDeleteItem[]> {
    return this.#locked(async () => {
      const img = this.#find(ref);
      if (!img) throw new NotFoundError(`No such image: ${ref}`);
      const out: ImageDeleteItem[] = [];
      const tags = this.#tagsOf(img.id);
      const users = usage.containersUsing(img.id);
      let byTag: string | undefined;
      try {
        const r = parseReference(ref);
        if (!r.digest && this.#tags.get(tagged(r)) === img.id) byTag = tagged(r);
      } catch {
        byTag = undefined;
      }
      const untag = async (t: string) => {
        this.#tags.delete(t);
        out.push({ Untagged: t });
        this.#o.onEvent('untag', img.id, { name: t });
      };
      if (byTag && (tags.length > 1 || (users.length > 0 && opts.force))) {
        await untag(byTag);
        await this.#saveTags();
        return out;
      }
      if (users.length > 0) {
        if (byTag) {
          throw new ConflictError(
            `conflict: unable to remove repository reference "${ref}" (must force) - container ${short(users[0].id)} is using its referenced image ${short(img.id)}`,
          );
        }
        const running = users.find((u) => u.running);
        if (running) throw new ConflictError(`conflict: unable to delete ${short(img.id)} (cannot be forced) - image is being used by running container ${short(running.id)}`);
        if (!opts.force) throw new ConflictError(`conflict: unable to delete ${short(img.id)} (must be forced) - image is being used by stopped container ${short(users[0].id)}`);
        // Forced with only stopped users: untag, and keep the image itself for the containers that still need its layers.
        for (const t of tags) await untag(t);
        await this.#saveTags();
        return out;
      }
      if (!byTag && tags.length > 1 && !opts.force) {
        throw new ConflictError(`conflict: unable to delete ${short(img.id)} (must be forced) - image is referenced in multiple repositories`);
      }
      for (const t of tags) await untag(t);
      await this.#saveTags();
      this.#images.delete(img.id);
      out.push({ Deleted: img.id });
      this.#o.onEvent('delete', img.id, {});
      await this.#collect();
      return out;
    });
  }

  async prune(opts: { all: boolean; filters: Record<string, string[]> }, usage: ImageUsage): Promise<ImagePruneResponse> {
    const until = opts.filters.until?.[0] !== undefined ? parseTime(opts.filters.until[0]) : undefined;
    const deleted: ImageDeleteItem[] = [];
    let reclaimed = 0;
    await this.#locked(async () => {
      const layersBefore = [...this.#layers.values()].reduce((n, l) => n + l.size, 0);
      for (const img of [...this.#images.values()]) {
        const tags = this.#tagsOf(img.id);
        if (!opts.all && tags.length) continue;
        if (usage.containersUsing(img.id).length) continue;
        if (until !== undefined && this.#createdSec(img) * 1000 >= until) continue;
        const labels = img.config.config?.Labels ?? {};
        if (!matchesFilters(opts.filters, { label: (v) => parseLabelFilter(v)(labels), 'label!': (v) => !parseLabelFilter(v)(labels), until: () => true })) continue;
        for (const t of tags) {
          this.#tags.delete(t);
          deleted.push({ Untagged: t });
          this.#o.onEvent('untag', img.id, { name: t });
        }
        this.#images.delete(img.id);
        deleted.push({ Deleted: img.id });
        this.#o.onEvent('delete', img.id, {});
      }
      await this.#saveTags();
      await this.#collect();
      reclaimed = layersBefore - [...this.#layers.values()].reduce((n, l) => n + l.size, 0);
    });
    return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  // ------------------------------------------------------------ archives

  async load(input: Readable, onProgress: (m: ProgressMessage) => void): Promise<void> {
    const work = join(this.#dir.tmp, `load-${randomBytes(6).toString('hex')}`);
    await mkdir(work, { recursive: true });
    try {
      await this.#extractArchive(await maybeGunzip(input), work);
      const manifestText = await readFile(join(work, 'manifest.json'), 'utf8').catch(() => {
        throw new InvalidArgumentError('invalid image archive: manifest.json not found (is this the output of docker save?)');
      });
      let manifest: ArchiveManifestEntry[];
      try {
        manifest = JSON.parse(manifestText) as ArchiveManifestEntry[];
        if (!Array.isArray(manifest)) throw new Error('not a list');
      } catch (err) {
        throw new InvalidArgumentError(`invalid image archive: manifest.json: ${errorMessage(err)}`);
      }
      await this.#locked(async () => {
        try {
          for (const entry of manifest) {
            const id = await this.#loadOne(work, entry);
            const tags = (entry.RepoTags ?? []).map((t) => tagged(parseReference(t)));
            for (const t of tags) {
              await this.#setTag(t, id);
              onProgress({ stream: `Loaded image: ${t}\n` });
            }
            if (!tags.length) onProgress({ stream: `Loaded image ID: ${id}\n` });
            this.#o.onEvent('load', id, tags.length ? { name: tags[0] } : {});
          }
        } finally {
          await this.#collect();
        }
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Unpacks an archive's regular files (all a docker save archive holds) into `dir`. */
  async #extractArchive(input: Readable, dir: string): Promise<void> {
    const ex = extract();
    ex.on('entry', (h, stream, next) => {
      (async () => {
        const rel = cleanEntryPath(h.name);
        if (rel && (h.type === 'file' || h.type === 'contiguous-file')) {
          await mkdir(join(dir, posix.dirname(rel)), { recursive: true });
          await pipeline(stream, createWriteStream(join(dir, rel), { flags: 'wx' }));
        } else {
          stream.resume();
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
      if (err instanceof InvalidArgumentError) throw err;
      throw new InvalidArgumentError(`invalid image archive: ${errorMessage(err)}`);
    }
  }

  async #loadOne(work: string, entry: ArchiveManifestEntry): Promise<string> {
    const file = (p: string) => join(work, cleanEntryPath(p));
    const configBytes = await readFile(file(entry.Config)).catch(() => {
      throw new InvalidArgumentError(`invalid image archive: config ${entry.Config} is missing`);
    });
    let config: ImageConfig;
    try {
      config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    } catch {
      throw new InvalidArgumentError(`invalid image archive: config ${entry.Config} is not JSON`);
    }
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== entry.Layers.length) {
      throw new InvalidArgumentError(`invalid image archive: ${entry.Layers.length} layers listed but the config has ${diffIds.length}`);
    }
    let parent: string | undefined;
    for (let i = 0; i < entry.Layers.length; i++) {
      const expected = diffIds[i];
      const chainId = parent ? sha256(`${parent} ${expected}`) : expected;
      if (!this.#layers.has(chainId)) {
        // Uncompress once into the blob store, checking the digest, then extract from there.
        const tmpBlob = join(this.#dir.tmp, `blob-${randomBytes(6).toString('hex')}`);
        const h = hasher();
        try {
          const src = await maybeGunzip(createReadStream(file(entry.Layers[i])));
          await pipeline(src, h.stream, createWriteStream(tmpBlob));
        } catch (err) {
          await rm(tmpBlob, { force: true });
          throw new InvalidArgumentError(`invalid image archive: layer ${entry.Layers[i]}: ${errorMessage(err)}`);
        }
        if (h.digest() !== expected) {
          await rm(tmpBlob, { force: true });
          throw new InvalidArgumentError(`invalid image archive: layer ${entry.Layers[i]} has digest ${h.digest()}, the config expects ${expected}`);
        }
        await this.#storeBlob(expected, tmpBlob);
        const blobPath = join(this.#dir.blobs, hex(expected));
        await this.#ensureLayer(parent, expected, () => createReadStream(blobPath), blobPath);
      }
      parent = chainId;
    }
    return this.#register(configBytes);
  }

  /** Docker 25+'s archive format (an OCI layout plus manifest.json), which older Dockers load too. */
  save(refs: string[]): Readable {
    const p = pack();
    p.on('error', () => {});
    const add = (name: string, body: Buffer) =>
      new Promise<void>((resolve, reject) => p.entry({ name, size: body.length, mode: 0o644, mtime: new Date(0) }, body, (e) => (e ? reject(e) : resolve())));
    const addFile = async (name: string, path: string) => {
      const size = (await stat(path)).size;
      await new Promise<void>((resolve, reject) => {
        const entry = p.entry({ name, size, mode: 0o644, mtime: new Date(0) }, (e) => (e ? reject(e) : resolve()));
        pipeline(createReadStream(path), entry).catch(reject);
      });
    };
    (async () => {
      const chosen = new Map<string, { img: StoredImage; tags: string[] }>();
      for (const ref of refs) {
        const img = this.#find(ref);
        if (!img) throw new NotFoundError(`No such image: ${ref}`);
        const e = chosen.get(img.id) ?? { img, tags: [] };
        try {
          const r = parseReference(ref);
          if (!r.digest && this.#tags.get(tagged(r)) === img.id) e.tags.push(tagged(r));
        } catch {
          // Referenced by ID: saved without a name, as Docker does.
        }
        chosen.set(img.id, e);
      }
      await new Promise<void>((resolve, reject) => p.entry({ name: 'blobs/', type: 'directory', mode: 0o755, mtime: new Date(0) }, (e) => (e ? reject(e) : resolve())));
      await new Promise<void>((resolve, reject) => p.entry({ name: 'blobs/sha256/', type: 'directory', mode: 0o755, mtime: new Date(0) }, (e) => (e ? reject(e) : resolve())));
      const written = new Set<string>();
      const manifestJson: ArchiveManifestEntry[] = [];
      const index: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[] = [];
      const repositories: Record<string, Record<string, string>> = {};
      for (const { img, tags } of chosen.values()) {
        const configBytes = await readFile(join(this.#dir.configs, `${hex(img.id)}.json`));
        const blob = (d: string) => `blobs/sha256/${hex(d)}`;
        if (!written.has(img.id)) await add(blob(img.id), configBytes);
        written.add(img.id);
        const layers: { mediaType: string; digest: string; size: number }[] = [];
        for (const d of img.config.rootfs.diff_ids) {
          const path = join(this.#dir.blobs, hex(d));
          if (!written.has(d)) await addFile(blob(d), path);
          written.add(d);
          layers.push({ mediaType: MEDIA_TYPES.layer, digest: d, size: (await stat(path)).size });
        }
        const manifest = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MEDIA_TYPES.manifest,
            config: { mediaType: MEDIA_TYPES.config, digest: img.id, size: configBytes.length },
            layers,
          }),
        );
        const mDigest = sha256(manifest);
        if (!written.has(mDigest)) await add(blob(mDigest), manifest);
        written.add(mDigest);
        manifestJson.push({ Config: blob(img.id), RepoTags: tags.length ? tags : null, Layers: img.config.rootfs.diff_ids.map(blob) });
        const top = img.config.rootfs.diff_ids.at(-1);
        for (const t of tags) {
          const { repo, tag } = splitTag(t);
          index.push({
            mediaType: MEDIA_TYPES.manifest,
            digest: mDigest,
            size: manifest.length,
            annotations: { 'io.containerd.image.name': `${fullName(repo)}:${tag}`, 'org.opencontainers.image.ref.name': tag },
          });
          if (top) (repositories[repo] ??= {})[tag] = hex(top);
        }
        if (!tags.length) index.push({ mediaType: MEDIA_TYPES.manifest, digest: mDigest, size: manifest.length });
      }
      await add('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: index })));
      await add('manifest.json', Buffer.from(JSON.stringify(manifestJson)));
      await add('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
      if (Object.keys(repositories).length) await add('repositories', Buffer.from(JSON.stringify(repositories)));
      for (const { img } of chosen.values()) this.#o.onEvent('save', img.id, {});
      p.finalize();
    })().catch((err: Error) => p.destroy(err));
    return p as unknown as Readable;
  }

  async import(input: Readable, opts: { repo?: string; tag?: string; changes: string[]; message?: string; platform?: string }): Promise<string> {
    const name = opts.repo ? tagged(parseReference(opts.tag ? `${opts.repo}:${opts.tag}` : opts.repo)) : undefined;
    const containerConfig = applyChanges({}, opts.changes);
    const tmpBlob = join(this.#dir.tmp, `import-${randomBytes(6).toString('hex')}`);
    const h = hasher();
    try {
      await pipeline(await maybeGunzip(input), h.stream, createWriteStream(tmpBlob));
    } catch (err) {
      await rm(tmpBlob, { force: true });
      throw new InvalidArgumentError(`import: could not read the archive: ${errorMessage(err)}`);
    }
    const diffId = h.digest();
    return this.#locked(async () => {
      try {
        await this.#storeBlob(diffId, tmpBlob);
        const blobPath = join(this.#dir.blobs, hex(diffId));
        await this.#ensureLayer(undefined, diffId, () => createReadStream(blobPath), blobPath);
        const now = new Date().toISOString();
        const [os, arch] = (opts.platform ?? '').split('/');
        const config: ImageConfig = {
          architecture: arch || goArch(),
          os: os || 'linux',
          created: now,
          comment: opts.message ?? '',
          config: containerConfig,
          rootfs: { type: 'layers', diff_ids: [diffId] },
          history: [{ created: now, created_by: '', comment: opts.message || 'Imported from -' }],
        };
        const id = await this.#register(Buffer.from(JSON.stringify(config)));
        if (name) await this.#setTag(name, id);
        this.#o.onEvent('import', id, name ? { name } : {});
        return id;
      } finally {
        await rm(tmpBlob, { force: true });
        await this.#collect();
      }
    });
  }

  // ------------------------------------------------------------ container filesystems

  #ctr(id: string) {
    const dir = join(this.#dir.containers, id);
    return { dir, upper: join(dir, 'upper'), work: join(dir, 'work'), merged: join(dir, 'merged'), image: join(dir, 'image.json') };
  }

  async createRootfs(containerId: string, imageId: string): Promise<void> {
    if (!this.#images.has(imageId)) throw new NotFoundError(`No such image: ${imageId}`);
    const c = this.#ctr(containerId);
    for (const d of [c.upper, c.work, c.merged]) await mkdir(d, { recursive: true, mode: 0o755 });
    await writeJsonAtomic(c.image, { imageId });
  }

  async #imageOf(containerId: string): Promise<StoredImage> {
    const meta = await readJsonIfExists<{ imageId: string }>(this.#ctr(containerId).image);
    const img = meta && this.#images.get(meta.imageId);
    if (!img) throw new NotFoundError(`the image of container ${containerId} is gone`);
    return img;
  }

  async mountRootfs(containerId: string): Promise<string> {
    const c = this.#ctr(containerId);
    const img = await this.#imageOf(containerId);
    const lowers = img.chain.length ? [...img.chain].reverse().map((ch) => `layers/${hex(ch)}/diff`) : ['empty'];
    await mountOverlay({ cwd: this.#dir.overlay, lowers, upper: c.upper, work: c.work, target: c.merged });
    return c.merged;
  }

  async unmountRootfs(containerId: string): Promise<void> {
    await unmount(this.#ctr(containerId).merged);
    this.#sizes.delete(containerId);
  }

  async removeRootfs(containerId: string): Promise<void> {
    await this.unmountRootfs(containerId);
    await rm(this.#ctr(containerId).dir, { recursive: true, force: true });
  }

  async changes(containerId: string): Promise<FilesystemChange[]> {
    const c = this.#ctr(containerId);
    const img = await this.#imageOf(containerId);
    const lowers = [...img.chain].reverse().map((ch) => join(this.#dir.layers, hex(ch), 'diff'));
    const inLower = async (rel: string) => {
      for (const l of lowers) if (await lstat(join(l, rel)).catch(() => undefined)) return true;
      return false;
    };
    const out: FilesystemChange[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      for (const name of (await readdir(dir)).sort()) {
        const r = `${rel}/${name}`;
        const st = await lstat(join(dir, name));
        if (isWhiteout(st)) {
          out.push({ Path: r, Kind: 2 });
          continue;
        }
        out.push({ Path: r, Kind: (await inLower(r)) ? 0 : 1 });
        if (st.isDirectory()) await walk(join(dir, name), r);
      }
    };
    await walk(c.upper, '');
    return out;
  }

  async exportRootfs(containerId: string): Promise<Readable> {
    const merged = await this.mountRootfs(containerId);
    return packDir(merged, { layer: false }) as unknown as Readable;
  }

  async commit(
    containerId: string,
    opts: { imageId: string; config: ContainerConfig; repo?: string; tag?: string; comment?: string; author?: string; changes?: string[]; containerConfigCmd: string[] },
  ): Promise<string> {
    const name = opts.repo ? tagged(parseReference(opts.tag ? `${opts.repo}:${opts.tag}` : opts.repo)) : undefined;
    const config = applyChanges(opts.config, opts.changes ?? []);
    const parent = this.#images.get(opts.imageId);
    if (!parent) throw new NotFoundError(`No such image: ${opts.imageId}`);
    const c = this.#ctr(containerId);
    const tmpBlob = join(this.#dir.tmp, `commit-${randomBytes(6).toString('hex')}`);
    const h = hasher();
    try {
      await pipeline(packDir(c.upper, { layer: true }) as unknown as Readable, h.stream, createWriteStream(tmpBlob));
    } catch (err) {
      await rm(tmpBlob, { force: true });
      throw err;
    }
    const diffId = h.digest();
    return this.#locked(async () => {
      try {
        await this.#storeBlob(diffId, tmpBlob);
        const blobPath = join(this.#dir.blobs, hex(diffId));
        await this.#ensureLayer(parent.chain.at(-1), diffId, () => createReadStream(blobPath), blobPath);
        const now = new Date().toISOString();
        const next: ImageConfig = {
          ...parent.config,
          created: now,
          author: opts.author ?? '',
          comment: opts.comment ?? '',
          config,
          container_config: undefined,
          rootfs: { type: 'layers', diff_ids: [...parent.config.rootfs.diff_ids, diffId] },
          history: [...(parent.config.history ?? []), { created: now, created_by: opts.containerConfigCmd.join(' '), author: opts.author, comment: opts.comment }],
        };
        const id = await this.#register(Buffer.from(JSON.stringify(next)));
        if (name) await this.#setTag(name, id);
        return id;
      } finally {
        await rm(tmpBlob, { force: true });
      }
    });
  }

  /** Sizes for `ps -s` and inspect: the writable layer is measured at most every few seconds. */
  async rootfsSize(containerId: string): Promise<{ sizeRw: number; sizeRootFs: number }> {
    const img = await this.#imageOf(containerId).catch(() => undefined);
    let cached = this.#sizes.get(containerId);
    if (!cached || Date.now() - cached.at > SIZE_CACHE_MS) {
      cached = { sizeRw: await diskUsage(this.#ctr(containerId).upper), at: Date.now() };
      this.#sizes.set(containerId, cached);
    }
    return { sizeRw: cached.sizeRw, sizeRootFs: cached.sizeRw + (img?.size ?? 0) };
  }

  async layersSize(): Promise<number> {
    return [...this.#layers.values()].reduce((n, l) => n + l.size, 0);
  }
}

/** A Docker filter time: RFC 3339, Unix seconds, or a duration back from now (10m, 2h). */
function parseTime(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const d = /^(\d+)(s|m|h)$/.exec(v);
  if (d) return Date.now() - Number(d[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[d[2] as 's' | 'm' | 'h'];
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`invalid time filter: ${v}`);
  return t;
}


