import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type {
  ContainerConfig,
  FilesystemChange,
  ImageDeleteItem,
  ImageHistoryItem,
  ImageInspect,
  ImagePruneResponse,
  ImageSummary,
  ProgressMessage,
} from '../types/index.js';
import {
  ContentStore,
  applyChanges,
  busyboxConfig,
  busyboxLayer,
  extractArchive,
  goArch,
  hasher,
  isIdPrefix,
  matchIdPrefix,
  maybeGunzip,
  parseReference,
  readArchiveImages,
  splitTag,
  tagged,
  tryParseReference,
  writeArchive,
  type ArchiveImage,
  type ImageConfig,
  type SaveImage,
} from '../image/index.js';
import { LayerStore, chainIds, diskUsage, isOpaque, isWhiteout, packDir, unmount } from '../storage/index.js';
import {
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  WharfError,
  errorMessage,
  isHostFault,
  readJsonIfExists,
  sha256,
  shortId,
  writeJsonAtomic,
  type Logger,
} from '../util/index.js';
import { checkFilterKeys, matchesFilters, parseFilterTime, parseLabelFilter } from './filters.js';

/** An image as the rest of the daemon sees it. */
export interface ImageRecord {
  /** `sha256:<hex>`, the digest of the config JSON exactly as stored. */
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
  /** The image this one was committed from, as Docker's Parent. */
  parent?: string;
}

/** Local facts about an image, in <root>/image/images/<hex>.json; the config itself is a blob. */
interface ImageMeta {
  lastTagTime: string;
  parent?: string;
}

/**
 * What a container's root file system is made of, in <root>/image/containers/<id>.json. It is
 * self-contained so the container keeps working (and its layers stay) if its image is removed.
 */
interface ContainerMeta {
  imageId: string;
  chain: string[];
  diffIds: string[];
  size: number;
  config: ImageConfig;
}

interface SizeCache {
  sizeRw: number;
  at: number;
  pending?: Promise<number>;
}

/** How long a measured writable-layer size is trusted: `ps -s` over many containers must stay fast. */
const SIZE_CACHE_MS = 5000;

/**
 * Files the runtime creates as mount points for the container (Docker keeps these in an "init"
 * layer). They are not the user's changes: hidden from `diff` and left out of `commit`.
 */
/** The diff ID of a layer with nothing in it (a tar of only its end-of-archive blocks). */
const EMPTY_LAYER_DIFF_ID = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

const INIT_PATHS = new Set(['.dockerenv', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf', 'etc/mtab', 'dev/console', 'dev/pts', 'dev/shm', 'dev/mqueue', 'proc', 'sys']);

const hex = (digest: string) => digest.replace(/^sha256:/, '');

/** Docker's reference filter glob: `*` and `?` stay within one path component. */
function globMatch(pattern: string, value: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`).test(value);
}

/** An upper-dir directory the kernel copied up from below without changing what it is. */
function copiedUpOnly(upperPath: string, st: Stats, lower: Stats): boolean {
  return st.isDirectory() && lower.isDirectory() && st.mode === lower.mode && st.uid === lower.uid && st.gid === lower.gid && !isOpaque(upperPath);
}

function toInvalid(context: string, err: unknown): Error {
  if (err instanceof WharfError || isHostFault(err)) return err as Error;
  return new InvalidArgumentError(`${context}: ${errorMessage(err)}`, { cause: err });
}

/** Local images: a content store of configs and layer tarballs, layers extracted once for overlayfs. */
export class ImageService {
  readonly #o: ImageServiceOptions;
  readonly #content: ContentStore;
  readonly #layers: LayerStore;
  readonly #images = new Map<string, StoredImage>();
  readonly #tags = new Map<string, string>();
  readonly #ctrs = new Map<string, ContainerMeta>();
  readonly #sizes = new Map<string, SizeCache>();
  #lock: Promise<unknown> = Promise.resolve();

  constructor(opts: ImageServiceOptions) {
    this.#o = opts;
    this.#content = new ContentStore(join(opts.root, 'image', 'blobs', 'sha256'));
    this.#layers = new LayerStore(join(opts.root, 'overlay'));
  }

  get #dir() {
    const image = join(this.#o.root, 'image');
    return {
      images: join(image, 'images'),
      containers: join(image, 'containers'),
      tmp: join(image, 'tmp'),
      repositories: join(image, 'repositories.json'),
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
    for (const p of [d.images, d.containers]) await mkdir(p, { recursive: true, mode: 0o700 });
    // Whatever was half-written when the daemon last stopped.
    await rm(d.tmp, { recursive: true, force: true });
    await mkdir(d.tmp, { recursive: true, mode: 0o700 });
    await this.#content.init();
    await this.#layers.init();
    for (const dir of [d.images, d.containers]) {
      for (const name of await readdir(dir)) if (name.endsWith('.tmp')) await rm(join(dir, name), { force: true });
    }
    for (const name of await readdir(d.images)) {
      if (!/^[a-f0-9]{64}\.json$/.test(name)) continue;
      const id = `sha256:${name.slice(0, -5)}`;
      try {
        const meta = (await readJsonIfExists<ImageMeta>(join(d.images, name))) ?? { lastTagTime: '' };
        const config = JSON.parse((await this.#content.read(id)).toString('utf8')) as ImageConfig;
        this.#addImage(id, config, meta);
      } catch (err) {
        this.#o.logger.warn('skipping unreadable image', { id, error: errorMessage(err) });
      }
    }
    const repos = (await readJsonIfExists<Record<string, string>>(d.repositories)) ?? {};
    for (const [tag, id] of Object.entries(repos)) if (this.#images.has(id)) this.#tags.set(tag, id);
    for (const name of await readdir(d.containers)) {
      if (!name.endsWith('.json')) continue;
      const meta = await readJsonIfExists<ContainerMeta>(join(d.containers, name)).catch(() => undefined);
      if (meta) this.#ctrs.set(name.slice(0, -5), meta);
    }
    await this.#collect();
    if (!this.#tags.has('busybox:latest')) await this.#createBusybox();
  }

  #addImage(id: string, config: ImageConfig, meta: ImageMeta): StoredImage {
    const chain = chainIds(config.rootfs?.diff_ids ?? []);
    const size = chain.reduce((n, c) => n + (this.#layers.get(c)?.size ?? 0), 0);
    const img: StoredImage = { id, config, chain, size, lastTagTime: meta.lastTagTime, ...(meta.parent ? { parent: meta.parent } : {}) };
    this.#images.set(id, img);
    return img;
  }

  async #createBusybox(): Promise<void> {
    try {
      const tar = await busyboxLayer(this.#o.busyboxPath);
      const id = await this.#locked(async () => {
        const diffId = await this.#content.put(tar);
        await this.#layers.create(undefined, diffId, () => Readable.from([tar]));
        const id = await this.#register(Buffer.from(JSON.stringify(busyboxConfig(diffId, this.#o.busyboxPath))));
        await this.#setTag('busybox:latest', id);
        return id;
      });
      this.#o.logger.info('created the default image busybox:latest', { id });
    } catch (err) {
      this.#o.logger.error('could not create the default busybox image', { path: this.#o.busyboxPath, error: errorMessage(err) });
    }
  }

  // ------------------------------------------------------------ layers, configs, tags

  /**
   * Makes sure the uncompressed layer `diffId` is in the content store (verifying its digest)
   * and extracted on top of `parent`. Returns its chain ID.
   */
  async #ensureLayer(parent: string | undefined, diffId: string, source: (() => Promise<Readable>) | undefined, what: string): Promise<string> {
    if (!(await this.#content.has(diffId))) {
      if (!source) throw new InvalidArgumentError(`${what}: layer ${diffId} is missing`);
      const tmp = join(this.#dir.tmp, `layer-${randomBytes(6).toString('hex')}`);
      const h = hasher();
      try {
        await pipeline(await source(), h.stream, createWriteStream(tmp, { flags: 'wx' }));
        if (h.digest() !== diffId) throw new InvalidArgumentError(`${what}: layer digest mismatch: the content is ${h.digest()}, the image config says ${diffId}`);
        await this.#content.adopt(tmp, diffId);
      } catch (err) {
        throw toInvalid(`${what}: layer ${diffId}`, err);
      } finally {
        await rm(tmp, { force: true });
      }
    }
    const meta = await this.#layers.create(parent, diffId, () => createReadStream(this.#content.path(diffId))).catch((err) => {
      throw toInvalid(`${what}: layer ${diffId}`, err);
    });
    return meta.chainId;
  }

  /** Stores a config whose layers are present and indexes the image. Returns the image ID. */
  async #register(configBytes: Buffer, parent?: string): Promise<string> {
    let config: ImageConfig;
    try {
      config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    } catch {
      throw new InvalidArgumentError('invalid image config: not JSON');
    }
    if (!config || !config.rootfs || !Array.isArray(config.rootfs.diff_ids)) throw new InvalidArgumentError('invalid image config: no rootfs.diff_ids');
    for (const c of chainIds(config.rootfs.diff_ids)) if (!this.#layers.has(c)) throw new Error(`layer ${c} of the image is not in the layer store`);
    const id = await this.#content.put(configBytes);
    if (!this.#images.has(id)) {
      const meta: ImageMeta = { lastTagTime: '', ...(parent ? { parent } : {}) };
      await writeJsonAtomic(join(this.#dir.images, `${hex(id)}.json`), meta);
      this.#addImage(id, config, meta);
    }
    return id;
  }

  async #saveTags(): Promise<void> {
    await writeJsonAtomic(this.#dir.repositories, Object.fromEntries([...this.#tags].sort()));
  }

  async #setTag(repoTag: string, id: string): Promise<void> {
    this.#tags.set(repoTag, id);
    const img = this.#images.get(id)!;
    img.lastTagTime = new Date().toISOString();
    await writeJsonAtomic(join(this.#dir.images, `${hex(id)}.json`), { lastTagTime: img.lastTagTime, ...(img.parent ? { parent: img.parent } : {}) });
    await this.#saveTags();
  }

  /**
   * Deletes layers, blobs and image metadata that nothing references: reference counts are
   * derived from the images and containers themselves, so they cannot drift.
   */
  async #collect(): Promise<Set<string>> {
    const chains = new Set<string>();
    const blobs = new Set<string>();
    for (const img of this.#images.values()) {
      img.chain.forEach((c) => chains.add(c));
      blobs.add(img.id);
      img.config.rootfs.diff_ids.forEach((d) => blobs.add(d));
    }
    for (const c of this.#ctrs.values()) {
      c.chain.forEach((x) => chains.add(x));
      c.diffIds.forEach((d) => blobs.add(d));
    }
    const removed = new Set<string>();
    for (const l of this.#layers.all()) {
      if (chains.has(l.chainId)) continue;
      await this.#layers.remove(l.chainId);
      removed.add(l.chainId);
    }
    for (const b of await this.#content.list()) if (!blobs.has(b)) await this.#content.remove(b);
    for (const name of await readdir(this.#dir.images)) {
      if (!this.#images.has(`sha256:${name.replace(/\.json$/, '')}`)) await rm(join(this.#dir.images, name), { force: true });
    }
    return removed;
  }

  /** Drops `img` from the index and its now unused layers from disk; Docker's `Deleted:` lines for both, top layer first. */
  async #delete(img: StoredImage): Promise<ImageDeleteItem[]> {
    this.#images.delete(img.id);
    this.#o.onEvent('delete', img.id, { name: img.id });
    const removed = await this.#collect();
    return [{ Deleted: img.id }, ...[...img.chain].reverse().filter((c) => removed.has(c)).map((c) => ({ Deleted: c }))];
  }

  // ------------------------------------------------------------ lookups

  #find(ref: string): StoredImage | undefined {
    const r = tryParseReference(ref);
    if (r && !r.digest) {
      const id = this.#tags.get(tagged(r));
      if (id) return this.#images.get(id);
    }
    if (r?.digest) {
      // No registry digests here: name@<image ID> is what identifies a local image by content.
      const img = this.#images.get(r.digest);
      if (img && this.#tagsOf(img.id).some((t) => splitTag(t).repo === r.repo)) return img;
      return undefined;
    }
    const id = matchIdPrefix(this.#images.keys(), ref);
    return id ? this.#images.get(id) : undefined;
  }

  #mustFind(ref: string): StoredImage {
    const img = this.#find(ref);
    if (!img) {
      // Docker names what it looked for: `busybox` is `busybox:latest`, an ID stays as given.
      const r = tryParseReference(ref);
      throw new NotFoundError(`No such image: ${r ? (r.digest ? `${r.repo}@${r.digest}` : tagged(r)) : ref}`);
    }
    return img;
  }

  #tagsOf(id: string): string[] {
    return [...this.#tags]
      .filter(([, v]) => v === id)
      .map(([k]) => k)
      .sort();
  }

  #record(img: StoredImage): ImageRecord {
    return { id: img.id, repoTags: this.#tagsOf(img.id), repoDigests: [], created: img.config.created ?? '', size: img.size, config: img.config };
  }

  get(ref: string): ImageRecord {
    return this.#record(this.#mustFind(ref));
  }

  #createdMs(img: StoredImage): number {
    const t = Date.parse(img.config.created ?? '');
    return Number.isNaN(t) ? 0 : t;
  }

  #createdSec(img: StoredImage): number {
    return Math.floor(this.#createdMs(img) / 1000);
  }

  /**
   * `containerCount` and `sharedSize` are for `system df`; a plain image list reports -1 for
   * both, as Docker does (its CLI shows N/A).
   */
  list(opts: { all?: boolean; filters?: Record<string, string[]>; digests?: boolean; containerCount?: (id: string) => number; sharedSize?: boolean }): ImageSummary[] {
    const f = opts.filters ?? {};
    checkFilterKeys(f, ['dangling', 'label', 'label!', 'reference', 'before', 'since', 'until']);
    const createdOf = (k: string) => this.#createdSec(this.#mustFind(k));
    const before = f.before?.length ? Math.min(...f.before.map(createdOf)) : undefined;
    const since = f.since?.length ? Math.max(...f.since.map(createdOf)) : undefined;
    const until = f.until?.length ? parseFilterTime(f.until[0]) : undefined;
    for (const v of f.dangling ?? []) if (!['true', 'false', '1', '0'].includes(v)) throw new InvalidArgumentError(`invalid filter 'dangling=${v}'`);
    const refMatch = (v: string, t: string) => globMatch(v, t) || globMatch(v, splitTag(t).repo);
    // A layer counts as shared when more than one image has it.
    const users = new Map<string, number>();
    if (opts.sharedSize) for (const img of this.#images.values()) for (const c of img.chain) users.set(c, (users.get(c) ?? 0) + 1);
    const out: ImageSummary[] = [];
    for (const img of this.#images.values()) {
      const tags = this.#tagsOf(img.id);
      const created = this.#createdSec(img);
      if (before !== undefined && created >= before) continue;
      if (since !== undefined && created <= since) continue;
      if (until !== undefined && this.#createdMs(img) > until) continue;
      const labels = img.config.config?.Labels ?? {};
      const ok = matchesFilters(f, {
        dangling: (v) => (v === 'true' || v === '1') === (tags.length === 0),
        label: (v) => parseLabelFilter(v)(labels),
        'label!': (v) => !parseLabelFilter(v)(labels),
        reference: (v) => tags.some((t) => refMatch(v, t)),
        before: () => true,
        since: () => true,
        until: () => true,
      });
      if (!ok) continue;
      // A reference filter shows only the tags it matched, as Docker does.
      const shown = f.reference?.length ? tags.filter((t) => f.reference!.some((v) => refMatch(v, t))) : tags;
      out.push({
        Id: img.id,
        ParentId: img.parent ?? '',
        RepoTags: shown,
        RepoDigests: [],
        Created: created,
        Size: img.size,
        SharedSize: opts.sharedSize ? img.chain.reduce((n, c) => n + ((users.get(c) ?? 0) > 1 ? (this.#layers.get(c)?.size ?? 0) : 0), 0) : -1,
        Labels: img.config.config?.Labels ?? null,
        Containers: opts.containerCount ? opts.containerCount(img.id) : -1,
      });
    }
    return out.sort((a, b) => b.Created - a.Created || a.Id.localeCompare(b.Id));
  }

  inspect(ref: string): ImageInspect {
    const img = this.#mustFind(ref);
    const c = img.config;
    const dirs = [...img.chain].reverse().map((ch) => this.#layers.diffDir(ch));
    const driver: Record<string, string> = {};
    if (dirs.length) driver.UpperDir = dirs[0];
    if (dirs.length > 1) driver.LowerDir = dirs.slice(1).join(':');
    return {
      Id: img.id,
      RepoTags: this.#tagsOf(img.id),
      RepoDigests: [],
      Parent: img.parent ?? '',
      Comment: c.comment ?? '',
      Created: c.created ?? '',
      DockerVersion: c.docker_version ?? '',
      Author: c.author ?? '',
      Config: c.config ?? {},
      Architecture: c.architecture,
      ...(c.variant ? { Variant: c.variant } : {}),
      Os: c.os,
      Size: img.size,
      GraphDriver: { Name: 'overlay2', Data: dirs.length ? driver : null },
      RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
      Metadata: { LastTagTime: img.lastTagTime || '0001-01-01T00:00:00Z' },
    };
  }

  history(ref: string): ImageHistoryItem[] {
    const img = this.#mustFind(ref);
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
    const r = parseReference(repo);
    if (r.digest) throw new InvalidArgumentError('refusing to create a tag with a digest reference');
    if (tag !== undefined && !/^[\w][\w.-]{0,127}$/.test(tag)) throw new InvalidArgumentError('invalid tag format');
    const name = tagged({ repo: r.repo, tag: tag ?? r.tag });
    // Looked up under the lock: an rmi in between must not leave a tag pointing at nothing.
    const img = await this.#locked(async () => {
      const found = this.#mustFind(ref);
      await this.#setTag(name, found.id);
      return found;
    });
    this.#o.onEvent('tag', img.id, { name });
  }

  /** Docker's `rmi` decisions (daemon/images/image_delete.go), message for message. */
  async remove(ref: string, opts: { force: boolean; noPrune: boolean }, usage: ImageUsage): Promise<ImageDeleteItem[]> {
    return this.#locked(async () => {
      const img = this.#mustFind(ref);
      const out: ImageDeleteItem[] = [];
      const users = usage.containersUsing(img.id);
      const untag = (t: string) => {
        this.#tags.delete(t);
        out.push({ Untagged: t });
        // Docker names the image, not the tag, in untag events.
        this.#o.onEvent('untag', img.id, { name: img.id });
      };
      let quiet = false;
      if (!isIdPrefix(img.id, ref)) {
        const r = parseReference(ref);
        const name = tagged(r);
        if (!opts.force && this.#tagsOf(img.id).length <= 1 && users.length) {
          throw new ConflictError(
            `conflict: unable to remove repository reference ${JSON.stringify(ref)} (must force) - container ${shortId(users[0].id)} is using its referenced image ${shortId(img.id)}`,
          );
        }
        if (this.#tags.get(name) === img.id) untag(name);
        await this.#saveTags();
        if (this.#tagsOf(img.id).length) return out;
        // The last name is gone: the image goes too, unless something still needs it.
        quiet = true;
      } else if (this.#tagsOf(img.id).length <= 1) {
        this.#checkDeleteConflict(img, users, { soft: !opts.force, activeReference: false });
        for (const t of this.#tagsOf(img.id)) untag(t);
        await this.#saveTags();
      }
      try {
        this.#checkDeleteConflict(img, users, { soft: !opts.force, activeReference: !opts.force });
      } catch (err) {
        // After untagging by name, a used image silently stays (as a dangling image its containers need).
        if (quiet && users.length) return out;
        throw err;
      }
      for (const t of this.#tagsOf(img.id)) untag(t);
      await this.#saveTags();
      out.push(...(await this.#delete(img)));
      return out;
    });
  }

  #checkDeleteConflict(img: StoredImage, users: { id: string; running: boolean }[], mask: { soft: boolean; activeReference: boolean }): void {
    const conflict = (hard: boolean, message: string) =>
      new ConflictError(`conflict: unable to delete ${shortId(img.id)} (${hard ? 'cannot be forced' : 'must be forced'}) - ${message}`);
    const running = users.find((u) => u.running);
    if (running) throw conflict(true, `image is being used by running container ${shortId(running.id)}`);
    if (mask.activeReference && this.#tagsOf(img.id).length > 0) throw conflict(false, 'image is referenced in multiple repositories');
    if (mask.soft && users.length) throw conflict(false, `image is being used by stopped container ${shortId(users[0].id)}`);
  }

  async prune(opts: { all: boolean; filters: Record<string, string[]> }, usage: ImageUsage): Promise<ImagePruneResponse> {
    checkFilterKeys(opts.filters, ['label', 'label!', 'until']);
    const until = opts.filters.until?.length ? parseFilterTime(opts.filters.until[0]) : undefined;
    const deleted: ImageDeleteItem[] = [];
    let reclaimed = 0;
    await this.#locked(async () => {
      const before = this.#layersTotal();
      for (const img of [...this.#images.values()]) {
        const tags = this.#tagsOf(img.id);
        if (!opts.all && tags.length) continue;
        if (usage.containersUsing(img.id).length) continue;
        if (until !== undefined && this.#createdMs(img) >= until) continue;
        const labels = img.config.config?.Labels ?? {};
        if (!matchesFilters(opts.filters, { label: (v) => parseLabelFilter(v)(labels), 'label!': (v) => !parseLabelFilter(v)(labels), until: () => true })) continue;
        for (const t of tags) {
          this.#tags.delete(t);
          deleted.push({ Untagged: t });
          this.#o.onEvent('untag', img.id, { name: img.id });
        }
        await this.#saveTags();
        deleted.push(...(await this.#delete(img)));
      }
      reclaimed = before - this.#layersTotal();
    });
    this.#o.onEvent('prune', '', { reclaimed: String(reclaimed) });
    return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  // ------------------------------------------------------------ archives

  async load(input: Readable, onProgress: (m: ProgressMessage) => void): Promise<void> {
    const work = join(this.#dir.tmp, `load-${randomBytes(6).toString('hex')}`);
    await mkdir(work, { recursive: true });
    try {
      let source: Readable;
      try {
        source = await maybeGunzip(input);
      } catch (err) {
        throw toInvalid('invalid image archive', err);
      }
      await extractArchive(source, work);
      const images = await readArchiveImages(work);
      if (!images.length) throw new InvalidArgumentError('invalid image archive: it holds no images');
      await this.#locked(async () => {
        try {
          for (const entry of images) {
            const id = await this.#loadOne(work, entry);
            for (const t of entry.repoTags) {
              const old = this.#tags.get(t);
              if (old && old !== id) {
                // Docker tells when a load takes a name away from another image.
                onProgress({ stream: `The image ${t} already exists, renaming the old one with ID ${old} to empty string\n` });
              }
              await this.#setTag(t, id);
              onProgress({ stream: `Loaded image: ${t}\n` });
            }
            if (!entry.repoTags.length) onProgress({ stream: `Loaded image ID: ${id}\n` });
            this.#o.onEvent('load', id, { name: id });
          }
        } finally {
          await this.#collect();
        }
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  async #loadOne(work: string, entry: ArchiveImage): Promise<string> {
    const file = (p: string) => join(work, p.replace(/^\/+/, ''));
    const configBytes = await readFile(file(entry.config)).catch(() => {
      throw new InvalidArgumentError(`invalid image archive: config ${entry.config} is missing`);
    });
    // Both archive layouts name the config by its digest; a mismatch means corruption.
    const named = /(?:^|\/)([a-f0-9]{64})(?:\.json)?$/.exec(entry.config)?.[1];
    if (named && sha256(configBytes) !== `sha256:${named}`) {
      throw new InvalidArgumentError(`invalid image archive: config ${entry.config} has digest ${sha256(configBytes)}`);
    }
    let config: ImageConfig;
    try {
      config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    } catch {
      throw new InvalidArgumentError(`invalid image archive: config ${entry.config} is not JSON`);
    }
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== entry.layers.length) {
      throw new InvalidArgumentError(`invalid image archive: ${entry.layers.length} layers listed but the config has ${diffIds.length}`);
    }
    let parent: string | undefined;
    for (let i = 0; i < diffIds.length; i++) {
      const path = file(entry.layers[i]);
      parent = await this.#ensureLayer(parent, diffIds[i], () => maybeGunzip(createReadStream(path)), `invalid image archive: ${entry.layers[i]}`);
    }
    return this.#register(configBytes);
  }

  /** Docker 25+'s archive format (an OCI layout plus manifest.json), which older Dockers load too. */
  save(refs: string[]): Readable {
    return writeArchive(async () => {
      const chosen = new Map<string, SaveImage>();
      for (const ref of refs) {
        const img = this.#mustFind(ref);
        const e = chosen.get(img.id) ?? {
          id: img.id,
          configBytes: await this.#content.read(img.id),
          tags: [],
          layers: img.config.rootfs.diff_ids.map((d) => ({ diffId: d, path: this.#content.path(d) })),
        };
        // Saved by name: that name goes along. Saved by ID: no names, as Docker does.
        const r = isIdPrefix(img.id, ref) ? undefined : tryParseReference(ref);
        if (r && !r.digest && this.#tags.get(tagged(r)) === img.id && !e.tags.includes(tagged(r))) e.tags.push(tagged(r));
        chosen.set(img.id, e);
      }
      for (const id of chosen.keys()) this.#o.onEvent('save', id, { name: id });
      return [...chosen.values()];
    });
  }

  async import(input: Readable, opts: { repo?: string; tag?: string; changes: string[]; message?: string; platform?: string }): Promise<string> {
    let name: string | undefined;
    if (opts.repo) {
      const r = parseReference(opts.repo);
      if (r.digest) throw new InvalidArgumentError('refusing to create a tag with a digest reference');
      name = tagged({ repo: r.repo, tag: opts.tag || r.tag });
    }
    const containerConfig = applyChanges({}, opts.changes);
    const [os, arch, variant] = (opts.platform ?? '').split('/');
    if (os && os !== 'linux') throw new InvalidArgumentError(`unsupported os ${os}`);
    const tmp = join(this.#dir.tmp, `import-${randomBytes(6).toString('hex')}`);
    const h = hasher();
    try {
      await pipeline(await maybeGunzip(input), h.stream, createWriteStream(tmp, { flags: 'wx' }));
    } catch (err) {
      await rm(tmp, { force: true });
      throw toInvalid('import: could not read the archive', err);
    }
    const diffId = h.digest();
    return this.#locked(async () => {
      try {
        await this.#content.adopt(tmp, diffId);
        await this.#ensureLayer(undefined, diffId, undefined, 'import');
        const now = new Date().toISOString();
        const msg = opts.message || 'Imported from -';
        const config: ImageConfig = {
          architecture: arch || goArch(),
          ...(variant ? { variant } : {}),
          os: 'linux',
          created: now,
          comment: msg,
          config: containerConfig,
          rootfs: { type: 'layers', diff_ids: [diffId] },
          history: [{ created: now, comment: msg }],
        };
        const id = await this.#register(Buffer.from(JSON.stringify(config)));
        if (name) {
          await this.#setTag(name, id);
          this.#o.onEvent('tag', id, { name });
        }
        this.#o.onEvent('import', id, { name: id });
        return id;
      } finally {
        await rm(tmp, { force: true });
        await this.#collect();
      }
    });
  }

  // ------------------------------------------------------------ container filesystems

  #metaPath(containerId: string): string {
    return join(this.#dir.containers, `${containerId}.json`);
  }

  #ctr(containerId: string): ContainerMeta {
    const m = this.#ctrs.get(containerId);
    if (!m) throw new NotFoundError(`no root file system for container ${containerId}`);
    return m;
  }

  async createRootfs(containerId: string, imageId: string): Promise<void> {
    await this.#locked(async () => {
      const img = this.#images.get(imageId) ?? this.#find(imageId);
      if (!img) throw new NotFoundError(`No such image: ${imageId}`);
      const meta: ContainerMeta = { imageId: img.id, chain: img.chain, diffIds: img.config.rootfs.diff_ids, size: img.size, config: img.config };
      await writeJsonAtomic(this.#metaPath(containerId), meta);
      this.#ctrs.set(containerId, meta);
      await this.#layers.prepare(containerId);
    });
  }

  async mountRootfs(containerId: string): Promise<string> {
    const meta = this.#ctr(containerId);
    this.#sizes.delete(containerId);
    return this.#layers.mount(containerId, meta.chain);
  }

  /**
   * The container's root file system for a copy in or out: where it is mounted while the
   * container runs, else mounted there now until `release`. The caller holds the container's
   * lock, so no start, stop or exit can mount or unmount it meanwhile.
   */
  async openRootfs(containerId: string): Promise<{ root: string; release: () => Promise<void> }> {
    if (await this.#layers.isMounted(containerId)) return { root: this.#layers.paths(containerId).merged, release: async () => {} };
    const root = await this.mountRootfs(containerId);
    return { root, release: () => this.unmountRootfs(containerId) };
  }

  /** Docker's GraphDriver.Data for a container: its layers' directories, top first, and its own. */
  graphDriverData(containerId: string): Record<string, string> | null {
    const meta = this.#ctrs.get(containerId);
    if (!meta) return null;
    const p = this.#layers.paths(containerId);
    const lowers = [...meta.chain].reverse().map((ch) => this.#layers.diffDir(ch));
    return { ...(lowers.length ? { LowerDir: lowers.join(':') } : {}), MergedDir: p.merged, UpperDir: p.upper, WorkDir: p.work };
  }

  /** Where a container's file system is mounted while it runs; nothing is mounted by asking. */
  rootfsPath(containerId: string): string {
    return this.#layers.paths(containerId).merged;
  }

  /**
   * Removes file systems that belong to no container: a daemon that died between making one and
   * writing the container's record leaves them behind. Called once at start-up.
   */
  async removeOrphanedRootfs(isContainer: (id: string) => boolean): Promise<void> {
    const ids = new Set([...this.#ctrs.keys(), ...(await this.#layers.snapshots())]);
    for (const id of ids) {
      if (isContainer(id)) continue;
      this.#o.logger.info('removing the file system of a container that does not exist', { id });
      await this.removeRootfs(id).catch((err) => this.#o.logger.warn('removing an orphaned file system failed', { id, error: errorMessage(err) }));
    }
  }

  async unmountRootfs(containerId: string): Promise<void> {
    try {
      await this.#layers.unmount(containerId);
    } catch (err) {
      this.#o.logger.warn('unmounting a container file system failed', { id: containerId, error: errorMessage(err) });
    }
    this.#sizes.delete(containerId);
  }

  async removeRootfs(containerId: string): Promise<void> {
    await this.#layers.removeSnapshot(containerId);
    this.#sizes.delete(containerId);
    const meta = this.#ctrs.get(containerId);
    await rm(this.#metaPath(containerId), { force: true });
    this.#ctrs.delete(containerId);
    // The last container of a removed image frees its layers.
    if (meta && !this.#images.has(meta.imageId)) await this.#locked(() => this.#collect());
  }

  /** Lower-layer lookups for one container's upper dir. */
  #lowerStat(meta: ContainerMeta): (rel: string) => Promise<Stats | undefined> {
    const lowers = [...meta.chain].reverse().map((c) => this.#layers.diffDir(c));
    return async (rel) => {
      for (const l of lowers) {
        const st = await lstat(join(l, rel)).catch(() => undefined);
        if (st) return isWhiteout(st) ? undefined : st;
        // A whited-out or opaque parent hides everything below it in lower layers.
        if (await this.#hiddenBelow(l, rel)) return undefined;
      }
      return undefined;
    };
  }

  async #hiddenBelow(layer: string, rel: string): Promise<boolean> {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const p = join(layer, ...parts.slice(0, i));
      const st = await lstat(p).catch(() => undefined);
      if (!st) return false;
      if (isWhiteout(st)) return true;
      if (st.isDirectory() && isOpaque(p)) return true;
    }
    return false;
  }

  /** Whether an upper-dir entry is only a mount point the runtime made (see INIT_PATHS). */
  async #isInitArtifact(rel: string, st: Stats, inLower: Stats | undefined, upper: string): Promise<boolean> {
    if (!INIT_PATHS.has(rel) || inLower) return false;
    if (st.isFile()) return st.size === 0;
    if (st.isDirectory()) return (await readdir(join(upper, rel)).catch(() => [])).length === 0;
    return false;
  }

  async changes(containerId: string): Promise<FilesystemChange[]> {
    const meta = this.#ctr(containerId);
    const upper = this.#layers.paths(containerId).upper;
    const lowerStat = this.#lowerStat(meta);
    const out: FilesystemChange[] = [];
    // Returns whether anything at or below `rel` was reported.
    const walk = async (rel: string): Promise<boolean> => {
      let any = false;
      const names = await readdir(rel ? join(upper, rel) : upper).catch(() => [] as string[]);
      for (const name of names) {
        const r = rel ? `${rel}/${name}` : name;
        const st = await lstat(join(upper, r)).catch(() => undefined);
        if (!st) continue;
        if (isWhiteout(st)) {
          out.push({ Path: `/${r}`, Kind: 2 });
          any = true;
          continue;
        }
        const lower = await lowerStat(r);
        if (await this.#isInitArtifact(r, st, lower, upper)) continue;
        if (!lower) {
          out.push({ Path: `/${r}`, Kind: 1 });
          any = true;
          if (st.isDirectory()) await walk(r);
          continue;
        }
        const below = st.isDirectory() ? await walk(r) : false;
        // A copied-up directory counts as changed only when its own metadata or something below it did.
        if (!copiedUpOnly(join(upper, r), st, lower) || below) {
          out.push({ Path: `/${r}`, Kind: 0 });
          any = true;
        }
      }
      return any;
    };
    await walk('');
    return out.sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
  }

  async exportRootfs(containerId: string): Promise<Readable> {
    const meta = this.#ctr(containerId);
    if (await this.#layers.isMounted(containerId)) {
      return packDir(this.#layers.paths(containerId).merged, { layer: false }) as unknown as Readable;
    }
    // Not running: a private read-only view, so a concurrent start/stop cannot pull it away mid-export.
    const target = join(this.#dir.tmp, `export-${randomBytes(6).toString('hex')}`);
    await mkdir(target, { recursive: true });
    try {
      await this.#layers.mountReadOnly(containerId, meta.chain, target);
    } catch (err) {
      await rm(target, { recursive: true, force: true });
      throw err;
    }
    const tar = packDir(target, { layer: false });
    let cleaned = false;
    const cleanup = () => {
      if (cleaned) return;
      cleaned = true;
      unmount(target)
        .then(() => rm(target, { recursive: true, force: true }))
        .catch((err) => this.#o.logger.warn('cleaning up an export mount failed', { path: target, error: errorMessage(err) }));
    };
    tar.on('end', cleanup);
    tar.on('close', cleanup);
    tar.on('error', cleanup);
    return tar as unknown as Readable;
  }

  async commit(
    containerId: string,
    opts: { imageId: string; config: ContainerConfig; repo?: string; tag?: string; comment?: string; author?: string; changes?: string[]; containerConfigCmd: string[] },
  ): Promise<string> {
    let name: string | undefined;
    if (opts.repo) {
      const r = parseReference(opts.repo);
      if (r.digest) throw new InvalidArgumentError('refusing to create a tag with a digest reference');
      name = tagged({ repo: r.repo, tag: opts.tag || r.tag });
    }
    const config = applyChanges(opts.config, opts.changes ?? []);
    const meta = this.#ctr(containerId);
    const parentConfig = this.#images.get(opts.imageId)?.config ?? meta.config;
    const upper = this.#layers.paths(containerId).upper;
    const lowerStat = this.#lowerStat(meta);
    const skip = new Set<string>();
    for (const rel of INIT_PATHS) {
      const st = await lstat(join(upper, rel)).catch(() => undefined);
      if (st && (await this.#isInitArtifact(rel, st, await lowerStat(rel), upper))) skip.add(rel);
    }
    // A directory the kernel copied up only to hold those mount points (etc/ for etc/hosts) is
    // not a change either, as `diff` already says: a container that changed nothing commits an
    // empty layer, which Docker leaves out of the image.
    for (const dir of new Set([...skip].filter((r) => r.includes('/')).map((r) => r.slice(0, r.lastIndexOf('/'))))) {
      const st = await lstat(join(upper, dir)).catch(() => undefined);
      const lower = await lowerStat(dir);
      if (!st || !lower || !copiedUpOnly(join(upper, dir), st, lower)) continue;
      const names = await readdir(join(upper, dir)).catch(() => [] as string[]);
      if (names.every((n) => skip.has(`${dir}/${n}`))) skip.add(dir);
    }
    const tmp = join(this.#dir.tmp, `commit-${randomBytes(6).toString('hex')}`);
    const h = hasher();
    try {
      await pipeline(packDir(upper, { layer: true, skip: (rel) => skip.has(rel) }) as unknown as Readable, h.stream, createWriteStream(tmp, { flags: 'wx' }));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const diffId = h.digest();
    return this.#locked(async () => {
      try {
        for (const c of meta.chain) if (!this.#layers.has(c)) throw new Error(`layer ${c} of the container's image is missing`);
        const empty = diffId === EMPTY_LAYER_DIFF_ID;
        if (!empty) {
          await this.#content.adopt(tmp, diffId);
          await this.#ensureLayer(meta.chain.at(-1), diffId, undefined, 'commit');
        }
        const now = new Date().toISOString();
        const entry = {
          created: now,
          created_by: opts.containerConfigCmd.join(' '),
          ...(opts.author ? { author: opts.author } : {}),
          ...(opts.comment ? { comment: opts.comment } : {}),
          ...(empty ? { empty_layer: true } : {}),
        };
        const next: ImageConfig = {
          ...parentConfig,
          created: now,
          author: opts.author ?? '',
          comment: opts.comment ?? '',
          config,
          container_config: undefined,
          rootfs: { type: 'layers', diff_ids: empty ? meta.diffIds : [...meta.diffIds, diffId] },
          history: [...(parentConfig.history ?? []), entry],
        };
        if (!next.author) delete next.author;
        if (!next.comment) delete next.comment;
        delete next.container_config;
        const id = await this.#register(Buffer.from(JSON.stringify(next)), meta.imageId);
        if (name) {
          await this.#setTag(name, id);
          this.#o.onEvent('tag', id, { name });
        }
        return id;
      } finally {
        await rm(tmp, { force: true });
        await this.#collect();
      }
    });
  }

  /** Sizes for `ps -s` and inspect: the writable layer is measured at most every few seconds. */
  async rootfsSize(containerId: string): Promise<{ sizeRw: number; sizeRootFs: number }> {
    const meta = this.#ctrs.get(containerId);
    let cached = this.#sizes.get(containerId);
    if (!cached || (!cached.pending && Date.now() - cached.at > SIZE_CACHE_MS)) {
      const pending = diskUsage(this.#layers.paths(containerId).upper);
      cached = { sizeRw: cached?.sizeRw ?? 0, at: cached?.at ?? 0, pending };
      this.#sizes.set(containerId, cached);
      const entry = cached;
      pending.then(
        (n) => {
          entry.sizeRw = n;
          entry.at = Date.now();
          entry.pending = undefined;
        },
        () => (entry.pending = undefined),
      );
    }
    const sizeRw = cached.pending ? await cached.pending.catch(() => cached!.sizeRw) : cached.sizeRw;
    return { sizeRw, sizeRootFs: sizeRw + (meta?.size ?? 0) };
  }

  async layersSize(): Promise<number> {
    return this.#layersTotal();
  }

  #layersTotal(): number {
    return this.#layers.all().reduce((n, l) => n + l.size, 0);
  }
}
