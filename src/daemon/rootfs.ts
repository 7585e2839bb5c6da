import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FilesystemChange } from '../types/index.js';
import { packDir, type ActiveSnapshots, type ChangeKind } from '../storage/index.js';
import { NotFoundError, errorMessage, readJsonIfExists, writeJsonAtomic, type IdMapping, type Logger } from '../util/index.js';
import type { CommitOptions, RootfsCreateOptions, RootfsPort } from './containers/ports.js';
import type { CommitImageRequest, ImageLayers } from './images.js';
import { scratchBase } from './image-archives.js';

/** What container file systems need of the image service (daemon/images.ts answers). */
export interface RootfsImages {
  /** The layers, size and config of the image `ref`; NotFoundError `No such image: <ref>`. */
  imageLayers(ref: string): ImageLayers;
  has(imageId: string): boolean;
  /** Frees layers and blobs that nothing uses any more. */
  collect(): Promise<void>;
  /** Registers a container's changes (a layer tar) and config as a new image, tagged if asked. */
  commit(req: CommitImageRequest): Promise<string>;
}

export interface ContainerFilesystemsOptions {
  /** The daemon's data root. */
  root: string;
  logger: Logger;
  /** Active snapshots, keyed by container ID. */
  snapshots: ActiveSnapshots;
  images: RootfsImages;
  /** The daemon's remapped root (userns-remap): an export names the container's IDs, not the host's. */
  idmap?: IdMapping;
}

/**
 * What a container's root file system is made of, in <root>/image/containers/<id>.json (where
 * earlier wharfds wrote it: a data root with running containers is restored as it is, so the
 * place and shape stay). Self-contained, so the container keeps working (and its layers stay)
 * when its image is removed.
 */
type ContainerMeta = ImageLayers & {
  /** Thrown away rather than kept across a crash (`run --rm`, a build step): mounted without syncs. */
  volatile?: boolean;
};

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
const INIT_PATHS: ReadonlySet<string> = new Set(['.dockerenv', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf', 'etc/mtab', 'dev/console', 'dev/pts', 'dev/shm', 'dev/mqueue', 'proc', 'sys']);

/** Docker's FilesystemChange kinds. */
const KIND: Record<ChangeKind, FilesystemChange['Kind']> = { modified: 0, added: 1, deleted: 2 };

const top = (meta: ContainerMeta) => meta.chain.at(-1);

/** Containers' root file systems: an active snapshot per container over its image's layers. */
export class ContainerFilesystems implements RootfsPort {
  readonly #o: ContainerFilesystemsOptions;
  readonly #metas = new Map<string, ContainerMeta>();
  readonly #sizes = new Map<string, SizeCache>();

  constructor(opts: ContainerFilesystemsOptions) {
    this.#o = opts;
  }

  get #dir(): string {
    return join(this.#o.root, 'image', 'containers');
  }

  #metaPath(containerId: string): string {
    return join(this.#dir, `${containerId}.json`);
  }

  /** Loads the records; before the image service's start, whose collection must see them. */
  async init(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.#dir)) {
      if (name.endsWith('.tmp')) await rm(join(this.#dir, name), { force: true });
      else if (name.endsWith('.json')) {
        const meta = await readJsonIfExists<ContainerMeta>(join(this.#dir, name)).catch(() => undefined);
        if (meta) this.#metas.set(name.slice(0, -5), meta);
      }
    }
  }

  /** The layers and blobs that container file systems stand on, for the image service's collection. */
  layersInUse(): { chainIds: string[]; diffIds: string[] } {
    const metas = [...this.#metas.values()];
    return { chainIds: metas.flatMap((m) => m.chain), diffIds: metas.flatMap((m) => m.diffIds) };
  }

  #meta(containerId: string): ContainerMeta {
    const m = this.#metas.get(containerId);
    if (!m) throw new NotFoundError(`no root file system for container ${containerId}`);
    return m;
  }

  /**
   * `imageId` undefined: over nothing (`FROM scratch`), for a build step's workspace, which is
   * recorded like a container's file system, so its layers are kept while it lives and a
   * restart's orphan sweep removes it if a crash leaves it.
   */
  async create(containerId: string, imageId: string | undefined, opts: RootfsCreateOptions = {}): Promise<void> {
    const layers = imageId === undefined ? { ...scratchBase(), size: 0 } : { ...this.#o.images.imageLayers(imageId) };
    const meta: ContainerMeta = opts.volatile ? { ...layers, volatile: true } : layers;
    // Indexed before the first await: a collection of layers from now on keeps this image's.
    this.#metas.set(containerId, meta);
    await writeJsonAtomic(this.#metaPath(containerId), meta);
    await this.#o.snapshots.prepare(containerId, top(meta));
  }

  async mount(containerId: string): Promise<string> {
    const meta = this.#meta(containerId);
    this.#sizes.delete(containerId);
    return this.#o.snapshots.mount(containerId, top(meta), { volatile: meta.volatile });
  }

  /**
   * The container's root file system for a copy in or out: where it is mounted while the
   * container runs, else mounted there now until `release`. The caller holds the container's
   * lock, so no start, stop or exit can mount or unmount it meanwhile.
   */
  async open(containerId: string): Promise<{ root: string; release: () => Promise<void> }> {
    if (await this.#o.snapshots.isMounted(containerId)) return { root: this.#o.snapshots.path(containerId), release: async () => {} };
    const root = await this.mount(containerId);
    return { root, release: () => this.unmount(containerId) };
  }

  graphDriverData(containerId: string): Record<string, string> | null {
    const meta = this.#metas.get(containerId);
    if (!meta) return null;
    try {
      return this.#o.snapshots.describe(containerId, top(meta));
    } catch {
      // A layer is missing: there is nothing true to show.
      return null;
    }
  }

  path(containerId: string): string {
    return this.#o.snapshots.path(containerId);
  }

  /**
   * Removes file systems that belong to no container: a daemon that died between making one and
   * writing the container's record leaves them behind. Called once at start-up.
   */
  async removeOrphans(isContainer: (id: string) => boolean): Promise<void> {
    const ids = new Set([...this.#metas.keys(), ...(await this.#o.snapshots.keys())]);
    for (const id of ids) {
      if (isContainer(id)) continue;
      this.#o.logger.info('removing the file system of a container that does not exist', { id });
      await this.remove(id).catch((err) => this.#o.logger.warn('removing an orphaned file system failed', { id, error: errorMessage(err) }));
    }
  }

  async unmount(containerId: string): Promise<void> {
    try {
      await this.#o.snapshots.unmount(containerId);
    } catch (err) {
      this.#o.logger.warn('unmounting a container file system failed', { id: containerId, error: errorMessage(err) });
    }
    this.#sizes.delete(containerId);
  }

  async remove(containerId: string): Promise<void> {
    await this.#o.snapshots.remove(containerId);
    this.#sizes.delete(containerId);
    const meta = this.#metas.get(containerId);
    await rm(this.#metaPath(containerId), { force: true });
    this.#metas.delete(containerId);
    // The last container of a removed image frees its layers.
    if (meta && !this.#o.images.has(meta.imageId)) await this.#o.images.collect();
  }

  async changes(containerId: string): Promise<FilesystemChange[]> {
    const meta = this.#meta(containerId);
    const changes = await this.#o.snapshots.diff(containerId, top(meta), { mountPoints: INIT_PATHS }).changes();
    return changes.map((c) => ({ Path: c.path, Kind: KIND[c.kind] }));
  }

  async export(containerId: string): Promise<Readable> {
    const meta = this.#meta(containerId);
    const snapshots = this.#o.snapshots;
    if (await snapshots.isMounted(containerId)) return packDir(snapshots.path(containerId), { layer: false, idmap: this.#o.idmap }) as unknown as Readable;
    // Not running: a private read-only view, so a concurrent start/stop cannot pull it away mid-export.
    const view = await snapshots.view(containerId, top(meta));
    const tar = packDir(view.path, { layer: false, idmap: this.#o.idmap });
    let cleaned = false;
    const cleanup = () => {
      if (cleaned) return;
      cleaned = true;
      view.release().catch((err) => this.#o.logger.warn('cleaning up an export mount failed', { path: view.path, error: errorMessage(err) }));
    };
    tar.on('end', cleanup);
    tar.on('close', cleanup);
    tar.on('error', cleanup);
    return tar as unknown as Readable;
  }

  async commit(containerId: string, opts: CommitOptions): Promise<string> {
    const meta = this.#meta(containerId);
    return this.#o.images.commit({
      imageId: opts.imageId,
      base: meta,
      layer: () => this.#o.snapshots.diff(containerId, top(meta), { mountPoints: INIT_PATHS }).tar(),
      config: opts.config,
      repo: opts.repo,
      tag: opts.tag,
      comment: opts.comment,
      author: opts.author,
      changes: opts.changes,
      createdBy: opts.containerConfigCmd.join(' '),
      container: opts.container,
    });
  }

  // ------------------------------------------------------------ for builds

  /**
   * A build step's changes as an image: `config` is its whole container config, the history
   * line the step's. `mountPoints`: more paths (relative) that are mount points only, like the runtime's own.
   * `sourceDateEpoch`: the layer's files are extracted from this tar, so clamping here gives
   * containers the same times save/push carry.
   * `handOver`: the caller removes `key` right after (an unmounted build file system), so
   * storage may make its files the layer as they are (DiffOptions.handOver).
   */
  async commitBuild(key: string, req: { config: CommitImageRequest['config']; createdBy: string; comment?: string; created?: string; author?: string; mountPoints?: string[]; sourceDateEpoch?: number; handOver?: boolean }): Promise<string> {
    const meta = this.#meta(key);
    const mountPoints = req.mountPoints?.length ? new Set([...INIT_PATHS, ...req.mountPoints]) : INIT_PATHS;
    const mtimeMax = req.sourceDateEpoch === undefined ? undefined : new Date(req.sourceDateEpoch * 1000);
    return this.#o.images.commit({
      imageId: meta.imageId,
      base: meta,
      layer: () => this.#o.snapshots.diff(key, top(meta), { mountPoints, ...(mtimeMax ? { mtimeMax } : {}), ...(req.handOver ? { handOver: true } : {}) }).tar(),
      config: req.config,
      createdBy: req.createdBy,
      historyComment: req.comment,
      created: req.created,
      author: req.author,
    });
  }

  /** A read-only tree of an image's files until released (COPY --from, RUN --mount=from). */
  async viewImage(imageId: string): Promise<{ path: string; release: () => Promise<void> }> {
    const key = `view-${randomBytes(12).toString('hex')}`;
    await this.create(key, imageId);
    try {
      const meta = this.#meta(key);
      // No layers: the empty snapshot itself is the whole tree.
      if (!meta.chain.length) {
        const path = await this.mount(key);
        return { path, release: () => this.remove(key) };
      }
      const view = await this.#o.snapshots.view(key, top(meta));
      let released: Promise<void> | undefined;
      return { path: view.path, release: () => (released ??= view.release().then(() => this.remove(key))) };
    } catch (err) {
      await this.remove(key).catch(() => {});
      throw err;
    }
  }

  /** Sizes for `ps -s` and inspect: the writable layer is measured at most every few seconds. */
  async size(containerId: string): Promise<{ sizeRw: number; sizeRootFs: number }> {
    const meta = this.#metas.get(containerId);
    let cached = this.#sizes.get(containerId);
    if (!cached || (!cached.pending && Date.now() - cached.at > SIZE_CACHE_MS)) {
      const pending = this.#o.snapshots.usage(containerId).then((u) => u.size);
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
}
