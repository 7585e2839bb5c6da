import { spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { AuthConfig, AuthResponse, ContainerConfig, ImageDeleteItem, ImageHistoryItem, ImageInspect, ImagePruneResponse, ImageSummary, ProgressMessage } from '../types/index.js';
import { DEFAULT_DEBIAN_MIRROR, busyboxConfig, busyboxLayer, debianConfig, debianRecipe, isIdPrefix, parseReference, runMmdebstrap, splitTag, tagged, type DebianRecipe, type DebianSources, type ImageConfig } from '../image/index.js';
import { OverlaySnapshotter, type Layers } from '../storage/index.js';
import { compareCodeUnits, ConflictError, DEFAULT_IMAGE_WORKER_PATH, InvalidArgumentError, NotFoundError, UnavailableError, errorMessage, shortId, type IdMapping, type Logger, type LogLevel, type PlatformSpec } from '../util/index.js';
import { Distribution, isUnreachable, type RegistryClient } from './distribution.js';

import { checkFilterKeys, matchesFilters, parseFilterTime, parseLabelFilter } from './filters.js';
import { commitConfigImage, commitImage, importImage, loadArchive, restoreLayerImage, saveArchive, scratchBase, spool, type CommitImageRequest, type ImageBase } from './image-archives.js';
import { ImageStore, type LayersInUse, type StoredImage } from './image-store.js';

/** What Docker's inspect shows as ContainerConfig for an image no commit made: Go's zero config. */
const EMPTY_CONTAINER_CONFIG: ContainerConfig = {
  Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false, Tty: false, OpenStdin: false, StdinOnce: false,
  Env: null, Cmd: null, Image: '', Volumes: null, WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: null,
};

export type { CommitImageRequest, ImageBase, LayersInUse };

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

/** What a container's root file system is made from: the image's layers, size and config. */
export interface ImageLayers extends ImageBase {
  size: number;
}

/** Which containers use an image, for rmi's and prune's refusals (the container service answers). */
export interface ImageUsage {
  containersUsing(imageId: string): { id: string; running: boolean }[];
}

export interface ImageServiceOptions {
  /** The daemon's data root; images live in <root>/image (see image-store.ts). */
  root: string;
  logger: Logger;
  /** Debian's static busybox, from which the default image is made. */
  busyboxPath: string;
  /** Where `debian:<suite>` images are made from (config `debian-mirror`); deb.debian.org when unset. */
  debian?: DebianSources;
  onEvent(action: string, id: string, attrs: Record<string, string>): void;
  /** Extracted layers: the storage snapshotter, initialised before this service. */
  layers: Layers;
  containers: ImageUsage;
  /** The layers container file systems stand on, kept while they do (daemon/rootfs.ts). */
  layerUsers: LayersInUse;
  /** Registries to pull from and push to; without it (unit tests) only local names pull. */
  registries?: RegistryClient;
  /** daemon.json `max-concurrent-downloads` / `max-concurrent-uploads` (3 and 5 when unset). */
  maxConcurrentDownloads?: number;
  maxConcurrentUploads?: number;
}

/** Docker's reference filter glob: `*` and `?` stay within one path component. */
function globMatch(pattern: string, value: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`).test(value);
}

/**
 * Local images, tags and archives: a content store of configs and layer tarballs whose layers
 * the storage snapshotter extracts once. Container file systems are daemon/rootfs.ts's.
 */
const DEFAULT_TAG = 'busybox:latest';

/** The default image from the embedded busybox, made into `store` and `layers` (both initialised). */
async function createBusybox(store: ImageStore, layers: Layers, busyboxPath: string, logger: Logger): Promise<void> {
  try {
    // Through a file, in chunks: see busyboxLayer.
    const { tmp, diffId } = await spool(store, await busyboxLayer(busyboxPath));
    const id = await store
      .locked(async () => {
        await store.content.adopt(tmp, diffId);
        await layers.apply(undefined, diffId, () => createReadStream(store.content.path(diffId)));
        const id = await store.register(Buffer.from(JSON.stringify(busyboxConfig(diffId, busyboxPath))));
        await store.setTag(DEFAULT_TAG, id);
        return id;
      })
      .finally(() => rm(tmp, { force: true }));
    logger.info('created the default image busybox:latest', { id });
  } catch (err) {
    logger.error('could not create the default busybox image', { path: busyboxPath, error: errorMessage(err) });
  }
}

export interface DefaultImageJob {
  /** The daemon's data root. */
  root: string;
  busyboxPath: string;
  /** The daemon's, for the worker's log lines. */
  logLevel: LogLevel;
  /** The daemon's remapped root (userns-remap), whose IDs the layer's files take. */
  idmap?: IdMapping;
}

/**
 * The default image made on a data root that lacks it, by the worker process (cmd/
 * wharf-default-image.ts), before the daemon opens its stores there. Nothing else: no collection
 * (the worker does not know the containers' layers).
 */
export async function makeDefaultImage(job: DefaultImageJob, logger: Logger): Promise<void> {
  const layers = new OverlaySnapshotter(join(job.root, 'overlay'), { idmap: job.idmap });
  await layers.init();
  const store = new ImageStore({ root: job.root, logger, layers, layerUsers: { layersInUse: () => ({ chainIds: [], diffIds: [] }) }, onEvent: () => {} });
  await store.init();
  if (!store.tags.has(DEFAULT_TAG)) await createBusybox(store, layers, job.busyboxPath, logger);
}

/**
 * Makes the default image in a process of its own when the data root lacks it (a first start):
 * reading, hashing, packing and extracting busybox in the daemon left some 9 MB resident in it for
 * good (issue 12 keeps the idle daemon near bare node). Call before the daemon's stores open the
 * root. A worker that fails is logged; the image service then makes the image itself.
 */
export async function makeDefaultImageApart(job: DefaultImageJob, logger: Logger): Promise<void> {
  if (await ImageStore.hasTag(job.root, DEFAULT_TAG)) return;
  if (!existsSync(DEFAULT_IMAGE_WORKER_PATH)) return;
  const child = spawn(process.execPath, [DEFAULT_IMAGE_WORKER_PATH, JSON.stringify(job)], { stdio: ['ignore', 'ignore', 'inherit'] });
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(null));
    child.once('exit', (c) => resolve(c));
  });
  if (code !== 0) logger.warn('the default image worker failed; making the image in the daemon', { worker: DEFAULT_IMAGE_WORKER_PATH, exitCode: code });
}

export class ImageService {
  readonly #o: ImageServiceOptions;
  readonly #store: ImageStore;
  readonly #dist: Distribution | undefined;

  constructor(opts: ImageServiceOptions) {
    this.#o = opts;
    this.#store = new ImageStore({ root: opts.root, logger: opts.logger, layers: opts.layers, layerUsers: opts.layerUsers, onEvent: opts.onEvent });
    this.#dist = opts.registries
      ? new Distribution(
          {
            store: this.#store,
            registries: opts.registries,
            logger: opts.logger,
            maxDownloads: opts.maxConcurrentDownloads ?? 3,
            maxUploads: opts.maxConcurrentUploads ?? 5,
            onEvent: opts.onEvent,
          },
          join(opts.root, 'image'),
        )
      : undefined;
  }

  async init(): Promise<void> {
    await this.#store.init();
    await this.#dist?.init();
    await this.#store.collect();
    if (!this.#store.tags.has(DEFAULT_TAG)) await this.#createBusybox();
  }

  async #createBusybox(): Promise<void> {
    await createBusybox(this.#store, this.#o.layers, this.#o.busyboxPath, this.#o.logger);
  }

  // ------------------------------------------------------------ lookups

  #record(img: StoredImage): ImageRecord {
    return { id: img.id, repoTags: this.#store.tagsOf(img.id), repoDigests: [...img.repoDigests], created: img.config.created ?? '', size: img.size, config: img.config };
  }

  get(ref: string): ImageRecord {
    return this.#record(this.#store.mustFind(ref));
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
    const createdOf = (k: string) => this.#createdSec(this.#store.mustFind(k));
    const before = f.before?.length ? Math.min(...f.before.map(createdOf)) : undefined;
    const since = f.since?.length ? Math.max(...f.since.map(createdOf)) : undefined;
    const until = f.until?.length ? parseFilterTime(f.until[0]) : undefined;
    for (const v of f.dangling ?? []) if (!['true', 'false', '1', '0'].includes(v)) throw new InvalidArgumentError(`invalid filter 'dangling=${v}'`);
    const refMatch = (v: string, t: string) => globMatch(v, t) || globMatch(v, splitTag(t).repo);
    // A layer counts as shared when more than one image has it.
    const users = new Map<string, number>();
    if (opts.sharedSize) for (const img of this.#store.images.values()) for (const c of img.chain) users.set(c, (users.get(c) ?? 0) + 1);
    const out: ImageSummary[] = [];
    const parents = this.#store.parentIds();
    for (const img of this.#store.images.values()) {
      const tags = this.#store.tagsOf(img.id);
      const created = this.#createdSec(img);
      if (before !== undefined && created >= before) continue;
      if (since !== undefined && created <= since) continue;
      if (until !== undefined && this.#createdMs(img) > until) continue;
      const labels = img.config.config?.Labels ?? {};
      // An untagged image that others were built on is an intermediate image: shown only with -a,
      // and never dangling (Docker: untagged and without children).
      const intermediate = tags.length === 0 && parents.has(img.id);
      if (intermediate && !opts.all) continue;
      const ok = matchesFilters(f, {
        dangling: (v) => ((v === 'true' || v === '1') ? tags.length === 0 && img.repoDigests.length === 0 && !intermediate : tags.length > 0 || img.repoDigests.length > 0),
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
        RepoDigests: [...img.repoDigests],
        Created: created,
        Size: img.size,
        SharedSize: opts.sharedSize ? img.chain.reduce((n, c) => n + ((users.get(c) ?? 0) > 1 ? this.#store.layerSize(c) : 0), 0) : -1,
        Labels: img.config.config?.Labels ?? null,
        Containers: opts.containerCount ? opts.containerCount(img.id) : -1,
      });
    }
    return out.sort((a, b) => b.Created - a.Created || compareCodeUnits(a.Id, b.Id));
  }

  inspect(ref: string): ImageInspect {
    const img = this.#store.mustFind(ref);
    const c = img.config;
    const dirs = [...img.chain].reverse().map((ch) => this.#o.layers.layerPath(ch));
    const driver: Record<string, string> = {};
    if (dirs.length) driver.UpperDir = dirs[0];
    if (dirs.length > 1) driver.LowerDir = dirs.slice(1).join(':');
    return {
      Id: img.id,
      RepoTags: this.#store.tagsOf(img.id),
      RepoDigests: [...img.repoDigests],
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
      Container: c.container ?? '',
      ContainerConfig: c.container_config ?? { ...EMPTY_CONTAINER_CONFIG },
    };
  }

  history(ref: string): ImageHistoryItem[] {
    const img = this.#store.mustFind(ref);
    const hist = img.config.history?.length ? img.config.history : img.config.rootfs.diff_ids.map(() => ({}) as NonNullable<ImageConfig['history']>[number]);
    let layer = 0;
    const items = hist.map((h) => {
      const size = h.empty_layer ? 0 : this.#store.layerSize(img.chain[layer++]);
      const t = Date.parse(h.created ?? '');
      return { Id: '<missing>', Created: Number.isNaN(t) ? 0 : Math.floor(t / 1000), CreatedBy: h.created_by ?? '', Tags: null as string[] | null, Size: size, Comment: h.comment ?? '' };
    });
    items.reverse();
    // Docker names each row after the image of the parent chain it came from (a classic build's
    // step images); the rows below the first image it no longer has stay `<missing>`.
    let cur: StoredImage | undefined = img;
    for (const item of items) {
      if (!cur) break;
      item.Id = cur.id;
      const tags = this.#store.tagsOf(cur.id);
      item.Tags = tags.length ? tags : null;
      cur = cur.parent ? this.#store.images.get(cur.parent) : undefined;
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
    const img = await this.#store.locked(async () => {
      const found = this.#store.mustFind(ref);
      await this.#store.setTag(name, found.id);
      return found;
    });
    this.#o.onEvent('tag', img.id, { name });
  }

  /** Docker's `rmi` decisions (daemon/images/image_delete.go), message for message. */
  async remove(ref: string, opts: { force: boolean; noPrune: boolean }): Promise<ImageDeleteItem[]> {
    return this.#store.locked(async () => {
      const store = this.#store;
      const img = store.mustFind(ref);
      const out: ImageDeleteItem[] = [];
      const users = this.#o.containers.containersUsing(img.id);
      const untag = (t: string) => {
        store.tags.delete(t);
        out.push({ Untagged: t });
        // Docker names the image, not the tag, in untag events.
        this.#o.onEvent('untag', img.id, { name: img.id });
      };
      const untagDigest = async (d: string) => {
        await store.removeRepoDigest(d, img.id);
        out.push({ Untagged: d });
        this.#o.onEvent('untag', img.id, { name: img.id });
      };
      const untagAll = async () => {
        for (const t of store.tagsOf(img.id)) untag(t);
        for (const d of [...img.repoDigests]) await untagDigest(d);
        await store.saveTags();
      };
      const repoOf = (r: string) => (r.includes('@') ? r.slice(0, r.indexOf('@')) : splitTag(r).repo);
      let quiet = false;
      if (!isIdPrefix(img.id, ref)) {
        const r = parseReference(ref);
        if (!opts.force && store.refsOf(img.id).length <= 1 && users.length) {
          throw new ConflictError(
            `conflict: unable to remove repository reference ${JSON.stringify(ref)} (must force) - container ${shortId(users[0].id)} is using its referenced image ${shortId(img.id)}`,
          );
        }
        const repoDigest = r.digest ? `${r.repo}@${r.digest}` : undefined;
        if (repoDigest && img.repoDigests.includes(repoDigest)) await untagDigest(repoDigest);
        else {
          const name = tagged(r);
          if (store.tags.get(name) === img.id) untag(name);
          // The last tag of a repository takes that repository's digests with it, as in Docker.
          if (!store.tagsOf(img.id).some((t) => splitTag(t).repo === r.repo)) {
            for (const d of img.repoDigests.filter((x) => repoOf(x) === r.repo)) await untagDigest(d);
          }
        }
        await store.saveTags();
        if (store.refsOf(img.id).length) return out;
        // The last name is gone: the image goes too, unless something still needs it.
        quiet = true;
      } else if (store.tagsOf(img.id).length <= 1 && new Set(store.refsOf(img.id).map(repoOf)).size <= 1) {
        this.#checkDeleteConflict(img, users, { soft: !opts.force, activeReference: false });
        await untagAll();
      }
      try {
        this.#checkDeleteConflict(img, users, { soft: !opts.force, activeReference: !opts.force });
      } catch (err) {
        // After untagging by name, an image still needed silently stays: by its containers, or as
        // the parent of others (an intermediate image of a build).
        if (quiet && (users.length || store.children(img.id).length)) return out;
        throw err;
      }
      await untagAll();
      out.push(...(await store.delete(img)));
      if (!opts.noPrune) out.push(...(await this.#pruneParents(img)));
      return out;
    });
  }

  /**
   * After `img` went: its parent too when nothing else needs it (no tag, no container, no other
   * child), and so on up the chain, quietly stopping at the first that is needed, as Docker's
   * imageDeleteHelper does for a build's intermediate images. The store's lock is held.
   */
  async #pruneParents(img: StoredImage): Promise<ImageDeleteItem[]> {
    const out: ImageDeleteItem[] = [];
    let parentId = img.parent;
    for (let depth = 0; parentId && depth < 10_000; depth++) {
      const parent = this.#store.images.get(parentId);
      if (!parent) break;
      if (this.#store.refsOf(parent.id).length || this.#store.children(parent.id).length || this.#o.containers.containersUsing(parent.id).length) break;
      out.push(...(await this.#store.delete(parent)));
      parentId = parent.parent;
    }
    return out;
  }

  #checkDeleteConflict(img: StoredImage, users: { id: string; running: boolean }[], mask: { soft: boolean; activeReference: boolean }): void {
    const conflict = (hard: boolean, message: string) =>
      new ConflictError(`conflict: unable to delete ${shortId(img.id)} (${hard ? 'cannot be forced' : 'must be forced'}) - ${message}`);
    if (this.#store.children(img.id).length) throw conflict(true, 'image has dependent child images');
    const running = users.find((u) => u.running);
    if (running) throw conflict(true, `image is being used by running container ${shortId(running.id)}`);
    if (mask.activeReference && this.#store.refsOf(img.id).length > 0) throw conflict(false, 'image is referenced in multiple repositories');
    if (mask.soft && users.length) throw conflict(false, `image is being used by stopped container ${shortId(users[0].id)}`);
  }

  async prune(opts: { all: boolean; filters: Record<string, string[]> }): Promise<ImagePruneResponse> {
    checkFilterKeys(opts.filters, ['label', 'label!', 'until']);
    const until = opts.filters.until?.length ? parseFilterTime(opts.filters.until[0]) : undefined;
    const deleted: ImageDeleteItem[] = [];
    let reclaimed = 0;
    await this.#store.locked(async () => {
      const before = this.#store.layersTotal();
      // With -a, an image whose children this pass removed is a head in the next one.
      for (let pass = 0, progress = true; progress && pass <= this.#store.images.size; pass++) {
        progress = false;
        // Parents of images this pass deletes stay skipped until the next pass: prune goes by heads.
        const parents = this.#store.parentIds();
        for (const img of [...this.#store.images.values()]) {
          // Gone already: a parent pruned with its last child.
          if (!this.#store.images.has(img.id)) continue;
          const tags = this.#store.tagsOf(img.id);
          if (!opts.all && this.#store.refsOf(img.id).length) continue;
          // An image others were built on goes only with them (Docker's prune looks at heads).
          if (parents.has(img.id)) continue;
          if (this.#o.containers.containersUsing(img.id).length) continue;
          if (until !== undefined && this.#createdMs(img) >= until) continue;
          const labels = img.config.config?.Labels ?? {};
          if (!matchesFilters(opts.filters, { label: (v) => parseLabelFilter(v)(labels), 'label!': (v) => !parseLabelFilter(v)(labels), until: () => true })) continue;
          for (const t of tags) {
            this.#store.tags.delete(t);
            deleted.push({ Untagged: t });
            this.#o.onEvent('untag', img.id, { name: img.id });
          }
          for (const d of [...img.repoDigests]) {
            await this.#store.removeRepoDigest(d, img.id);
            deleted.push({ Untagged: d });
            this.#o.onEvent('untag', img.id, { name: img.id });
          }
          await this.#store.saveTags();
          deleted.push(...(await this.#store.delete(img)));
          deleted.push(...(await this.#pruneParents(img)));
          progress = true;
        }
      }
      reclaimed = before - this.#store.layersTotal();
    });
    this.#o.onEvent('prune', '', { reclaimed: String(reclaimed) });
    return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  // ------------------------------------------------------------ pull, push, login

  /**
   * `docker pull`: from the registry the name says (daemon/distribution.ts), except
   * `debian:<suite>` recipes, which are made from the Debian archive. A bare name pulls every
   * tag. A registry that cannot be reached at all leaves a local image as it is, up to date:
   * the default busybox works on machines without a network.
   */
  async pull(image: string, tag: string | undefined, emit: (m: ProgressMessage) => void, opts: { platform?: PlatformSpec; auth?: AuthConfig; signal?: AbortSignal } = {}): Promise<void> {
    const ref = tag ? (/^sha256:[a-f0-9]{64}$/.test(tag) ? `${image.replace(/:$/, '')}@${tag}` : `${image.replace(/:$/, '')}:${tag}`) : image.replace(/:$/, '');
    const r = parseReference(ref);
    const recipe = r.digest ? undefined : debianRecipe(r.repo, r.tag);
    if (recipe) {
      // Made here, not fetched: one that is here is as new as it gets.
      const local = this.#store.find(ref);
      if (!local) return this.#pullDebian(recipe, tagged(r), r.tag ?? 'latest', emit);
      emit({ status: 'Pulling from library/debian', id: r.tag ?? 'latest' });
      emit({ status: `Digest: ${local.id}` });
      emit({ status: `Status: Image is up to date for ${ref}` });
      return;
    }
    if (!this.#dist) throw new UnavailableError(`pull access denied for ${r.repo}: this wharfd has no registry client`);
    try {
      await this.#dist.pull({ ref, platform: opts.platform, auth: opts.auth, signal: opts.signal }, emit);
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      const local = r.tag || r.digest ? this.#store.find(ref) : [...this.#store.tags.keys()].some((t) => splitTag(t).repo === r.repo);
      if (!local) throw err;
      const shown = r.digest ? `${r.repo}@${r.digest}` : r.tag ? tagged(r) : r.repo;
      this.#o.logger.info('registry unreachable, keeping the local image', { ref: shown, error: errorMessage(err) });
      emit({ status: `Registry unreachable, using the local image: ${errorMessage(err)}`, id: r.digest ?? r.tag ?? 'latest' });
      emit({ status: `Status: Image is up to date for ${shown}` });
    }
  }

  /** `docker push`: one tag, or every tag of the repository when `tag` is undefined. */
  async push(name: string, tag: string | undefined, emit: (m: ProgressMessage) => void, opts: { auth?: AuthConfig } = {}): Promise<void> {
    const r = parseReference(name);
    if (r.digest) throw new InvalidArgumentError('cannot push a digest reference');
    if (tag !== undefined && !/^[\w][\w.-]{0,127}$/.test(tag)) throw new InvalidArgumentError('invalid tag format');
    if (!this.#dist) throw new UnavailableError('this wharfd has no registry client');
    await this.#dist.push({ name: r.repo, tag: tag ?? r.tag, auth: opts.auth }, emit);
  }

  /** POST /auth: the credentials checked against the registry. */
  login(auth: AuthConfig): Promise<AuthResponse> {
    if (!this.#dist) throw new UnavailableError('this wharfd has no registry client');
    return this.#dist.login(auth);
  }

  /** Makes of a `debian:<suite>` recipe under way, by recipe: concurrent pulls of one share it. */
  readonly #making = new Map<string, { listeners: Set<(m: ProgressMessage) => void>; id: Promise<string> }>();

  async #pullDebian(recipe: DebianRecipe, name: string, tag: string, emit: (m: ProgressMessage) => void): Promise<void> {
    emit({ status: 'Pulling from library/debian', id: tag });
    const store = this.#store;
    const key = `${recipe.suite}${recipe.slim ? '-slim' : ''}`;
    // Another name of the same recipe is here (debian:12 for debian:bookworm): the same image, as in the registry.
    let id = recipe.aliases.map((a) => store.tags.get(`debian:${a}`)).find((x) => x !== undefined);
    if (!id) {
      let job = this.#making.get(key);
      if (job) emit({ status: 'Waiting', progress: `debian:${key} is being made by another pull`, id: tag });
      else {
        const listeners = new Set<(m: ProgressMessage) => void>();
        job = { listeners, id: this.#makeDebian(recipe, name, (m) => listeners.forEach((l) => l(m))) };
        this.#making.set(key, job);
        const forget = () => this.#making.delete(key);
        job.id.then(forget, forget);
      }
      // A client that went away must not break the make the others wait for.
      const relay = (m: ProgressMessage) => {
        try {
          emit(m);
        } catch {
          job.listeners.delete(relay);
        }
      };
      job.listeners.add(relay);
      try {
        id = await job.id;
      } finally {
        job.listeners.delete(relay);
      }
    }
    const made = id;
    await store.locked(async () => {
      if (!store.images.has(made)) throw new NotFoundError(`debian:${key} was removed while it was being tagged ${name}; pull it again`);
      await store.setTag(name, made);
    });
    this.#o.onEvent('pull', name, { name: 'debian' });
    emit({ status: `Digest: ${made}` });
    emit({ status: `Status: Downloaded newer image for ${name}` });
  }

  /** Runs mmdebstrap and stores its tar as the one layer of a new image; a failure leaves nothing behind. */
  async #makeDebian(recipe: DebianRecipe, name: string, emit: (m: ProgressMessage) => void): Promise<string> {
    const store = this.#store;
    const src: DebianSources = this.#o.debian ?? { mirror: DEFAULT_DEBIAN_MIRROR };
    const what = `${recipe.suite}${recipe.slim ? '-slim' : ''}`;
    const t0 = Date.now();
    const tmpDir = store.tmpPath('mmdebstrap');
    await mkdir(tmpDir, { recursive: true, mode: 0o700 });
    emit({ status: 'Making from the Debian archive', progress: `mmdebstrap --variant=minbase ${what} ${src.mirror}`, id: 'mmdebstrap' });
    this.#o.logger.info('making a Debian image with mmdebstrap', { suite: what, mirror: src.mirror });
    let spooled: { tmp: string; diffId: string } | undefined;
    try {
      const build = runMmdebstrap(recipe, src, {
        tmpDir,
        onLine: (line) => emit({ status: 'Making from the Debian archive', progress: line, id: 'mmdebstrap' }),
      });
      const spooling = spool(store, build.tar);
      // Whichever fails first: a write error must stop mmdebstrap, and a failed mmdebstrap's partial tar is no layer.
      spooling.catch(() => build.kill());
      const [a, b] = await Promise.allSettled([spooling, build.done]);
      // A write error (disk full) is the cause when both failed: mmdebstrap was killed for it.
      if (a.status === 'rejected') throw a.reason;
      spooled = a.value;
      if (b.status === 'rejected') throw b.reason;
      const layer = a.value;
      emit({ status: 'Extracting', progress: `layer ${shortId(layer.diffId)}`, id: 'mmdebstrap' });
      const id = await store.locked(async () => {
        try {
          await store.content.adopt(layer.tmp, layer.diffId);
          await store.ensureLayer(undefined, layer.diffId, undefined, `debian:${what}`);
          const config = debianConfig(layer.diffId, recipe, src, new Date().toISOString());
          const made = await store.register(Buffer.from(JSON.stringify(config)));
          // Tagged under the same lock: an untagged image could be pruned before its pull tags it.
          await store.setTag(name, made);
          return made;
        } finally {
          await store.collect();
        }
      });
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      this.#o.logger.info('made a Debian image', { suite: what, id, seconds: secs });
      emit({ status: 'Pull complete', progress: `made in ${secs} s`, id: 'mmdebstrap' });
      return id;
    } catch (err) {
      this.#o.logger.error('could not make a Debian image', { suite: what, error: errorMessage(err) });
      throw err;
    } finally {
      if (spooled) await rm(spooled.tmp, { force: true });
      await rm(tmpDir, { recursive: true, force: true });
    }
  }

  // ------------------------------------------------------------ archives

  load(input: Readable, onProgress: (m: ProgressMessage) => void): Promise<void> {
    return loadArchive(this.#store, input, onProgress);
  }

  save(refs: string[]): Readable {
    return saveArchive(this.#store, refs);
  }

  import(input: Readable, opts: { repo?: string; tag?: string; changes: string[]; message?: string; platform?: string }): Promise<string> {
    return importImage(this.#store, input, opts);
  }

  // ------------------------------------------------------------ for container file systems

  /** Whether the image `imageId` is still here. */
  has(imageId: string): boolean {
    return this.#store.images.has(imageId);
  }

  /** What a container made from `ref` stands on. */
  imageLayers(ref: string): ImageLayers {
    const img = this.#store.images.get(ref) ?? this.#store.find(ref);
    if (!img) throw new NotFoundError(`No such image: ${ref}`);
    return { imageId: img.id, chain: img.chain, diffIds: img.config.rootfs.diff_ids, size: img.size, config: img.config };
  }

  /** A container's changes as a new image; returns its ID. */
  commit(req: CommitImageRequest): Promise<string> {
    return commitImage(this.#store, req);
  }

  /**
   * A build step that changes only metadata: an image with the layers of `baseId` (undefined:
   * none, `FROM scratch`) and `config` as its whole container config.
   */
  commitConfig(baseId: string | undefined, req: { config: ContainerConfig; createdBy: string; comment?: string; created?: string; author?: string }): Promise<string> {
    const base = baseId === undefined ? scratchBase() : this.imageLayers(baseId);
    return commitConfigImage(this.#store, base, req);
  }

  /**
   * A `--cache-from` step that made a layer: an image on `baseId` (undefined: `FROM scratch`)
   * whose new layer is layer `diffIndex` of the image `sourceId`, with its history line.
   */
  restoreLayer(baseId: string | undefined, sourceId: string, diffIndex: number, req: { config: ContainerConfig; createdBy: string; author?: string }): Promise<string> {
    const base = baseId === undefined ? scratchBase() : this.imageLayers(baseId);
    return restoreLayerImage(this.#store, base, sourceId, diffIndex, req);
  }

  /**
   * Makes `parentId` the Parent of `imageId`: a `--cache-from` image a build took whole for its
   * last step becomes the child of that step's base, as Docker links it, so the images
   * restored below it are intermediate images of a build, not dangling ones.
   */
  setParent(imageId: string, parentId: string): Promise<void> {
    return this.#store.locked(() => this.#store.setParent(imageId, parentId));
  }

  /** Frees what nothing uses any more, after a container file system went away. */
  async collect(): Promise<void> {
    await this.#store.locked(() => this.#store.collect());
  }

  async layersSize(): Promise<number> {
    return this.#store.layersTotal();
  }
}
