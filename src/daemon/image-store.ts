import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ImageDeleteItem } from '../types/index.js';
import { ContentStore, hasher, matchIdPrefix, splitTag, tagged, tryParseReference, type ImageConfig } from '../image/index.js';
import { chainIdOf, chainIds, type Layers, type Unpacked } from '../storage/index.js';
import { InvalidArgumentError, LARGE_READ, NotFoundError, WharfError, errorMessage, isHostFault, parseDigest, readJsonIfExists, splitTarSize, tarSplitter, writeJsonAtomic, type Logger } from '../util/index.js';
import { Slots } from './mutex.js';

/** The layers that container file systems stand on, which the image store must keep. */
export interface LayersInUse {
  layersInUse(): { chainIds: Iterable<string>; diffIds: Iterable<string> };
}

export interface ImageStoreOptions {
  /** The daemon's data root; images live in <root>/image. */
  root: string;
  logger: Logger;
  /** Extracted layers (the storage snapshotter); the store decides which are still needed. */
  layers: Layers;
  layerUsers: LayersInUse;
  onEvent(action: string, id: string, attrs: Record<string, string>): void;
}

export interface StoredImage {
  id: string;
  config: ImageConfig;
  /** Chain IDs of the layers, bottom first. */
  chain: string[];
  size: number;
  lastTagTime: string;
  /** The image this one was committed from, as Docker's Parent. */
  parent?: string;
  /** `name@sha256:<manifest digest>` of the registries it was pulled from or pushed to, as Docker's RepoDigests. */
  repoDigests: string[];
}

/** Local facts about an image, in <root>/image/images/<hex>.json; the config itself is a blob. */
interface ImageMeta {
  lastTagTime: string;
  parent?: string;
  /** Absent in data roots written before pull and push existed. */
  repoDigests?: string[];
}

/**
 * A source read while it still arrives. A failed extraction of it waits for the whole, since
 * the bytes it read may not have been the right ones: the source's own failure is then the
 * layer's error, and a source that started over meanwhile is extracted once more.
 */
export interface LiveSource {
  /** Resolves once the whole is there and verified; rejects with the source's failure. */
  readonly whole: Promise<unknown>;
  /** Bumps each time the source starts over. */
  readonly generation: number;
}

/** What reading a LiveSource fails with when the source started over. */
export class SourceRestarted extends Error {
  constructor(what: string) {
    super(`${what} started over`);
    this.name = 'SourceRestarted';
  }
}

/** A layer to be made by ensureLayers. */
export interface NewLayer {
  diffId: string;
  /**
   * The uncompressed tar; may wait for it (a download). Called again once when its `live`
   * source started over. Absent: the layer is present already (and pinned), nothing is fetched.
   */
  open?: () => Promise<Readable>;
  /** What feeds the tar when it is read as it arrives (a download followed as it grows). */
  live?: LiveSource;
  /** How errors name the layer. */
  what: string;
}

/** A layer tar verified into a temp file: the whole tar, or its split (util/tarsplit.ts). */
interface Kept {
  tmp: string;
  split: boolean;
}

/** A layer extracted and its tar kept, not committed yet. */
interface Staged {
  unpacked: Unpacked;
  kept: Kept;
}

/** A layer tar the store can give: how long it is, and its bytes. */
export interface LayerTar {
  size: number;
  open(): Readable;
}

/**
 * Layers extracted at once, for all pulls and loads together: as many as dockerd downloads at
 * once by default, since a layer extracts while it downloads. Side by side, the decompression
 * and the writes of one overlap another's tar parsing on this thread.
 */
const EXTRACT_CONCURRENCY = 3;

/** Where the store keeps its files under a data root (see ImageStore). */
function storeDirs(root: string) {
  const image = join(root, 'image');
  return { images: join(image, 'images'), splits: join(image, 'tarsplit'), tmp: join(image, 'tmp'), repositories: join(image, 'repositories.json') };
}

export const hex = (digest: string) => digest.replace(/^sha256:/, '');

export function toInvalid(context: string, err: unknown): Error {
  if (err instanceof WharfError || isHostFault(err)) return err as Error;
  return new InvalidArgumentError(`${context}: ${errorMessage(err)}`, { cause: err });
}

/**
 * The local image store: configs and layer tars by digest, the images and their tags, and
 * which extracted layers are still needed. Module-private to the image service.
 *
 * On disk, under `<data root>/image`. wharfd starts on a data root an earlier wharfd wrote
 * (live restore), so this layout does not change without a migration:
 *
 *   blobs/sha256/<hex>        configs and uncompressed layer tars
 *   tarsplit/<hex>            a pulled or loaded layer's tar without its files' bytes, which
 *                             its extracted layer holds (util/tarsplit.ts); a layer has a blob
 *                             or a split, a data root of before splits has blobs only
 *   images/<hex>.json         ImageMeta of each image
 *   repositories.json         tag -> image ID
 *   distribution.json         layer diffID -> the registry blobs it was pulled as or pushed to (daemon/distribution.ts)
 *   tmp/                      work files, emptied at start
 *   containers/<id>.json      each container's root file system (daemon/rootfs.ts owns these)
 */
export class ImageStore {
  readonly o: ImageStoreOptions;
  readonly content: ContentStore;
  readonly images = new Map<string, StoredImage>();
  readonly tags = new Map<string, string>();
  #lock: Promise<unknown> = Promise.resolve();
  /** Layers and blobs a pull under way has made but no image holds yet: collect keeps them. */
  readonly #pins = new Map<string, number>();
  readonly #extractSlots = new Slots(EXTRACT_CONCURRENCY);

  constructor(opts: ImageStoreOptions) {
    this.o = opts;
    this.content = new ContentStore(join(opts.root, 'image', 'blobs', 'sha256'));
  }

  get dir() {
    return storeDirs(this.o.root);
  }

  /** Whether the data root's tags name `tag`, read from disk without opening the store. */
  static async hasTag(root: string, tag: string): Promise<boolean> {
    const repos = await readJsonIfExists<Record<string, string>>(storeDirs(root).repositories).catch(() => undefined);
    return !!repos && Object.hasOwn(repos, tag);
  }

  /** A fresh path in the work directory. */
  tmpPath(what: string): string {
    return join(this.dir.tmp, `${what}-${randomBytes(6).toString('hex')}`);
  }

  /** Serializes changes to the store. */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#lock.then(fn, fn);
    this.#lock = next.catch(() => {});
    return next;
  }

  /** Loads the images and tags; the layers were loaded by the snapshotter. */
  async init(): Promise<void> {
    const d = this.dir;
    await mkdir(d.images, { recursive: true, mode: 0o700 });
    // Whatever was half-written when the daemon last stopped.
    await rm(d.tmp, { recursive: true, force: true });
    await mkdir(d.tmp, { recursive: true, mode: 0o700 });
    await mkdir(d.splits, { recursive: true, mode: 0o700 });
    await this.content.init();
    for (const name of await readdir(d.images)) if (name.endsWith('.tmp')) await rm(join(d.images, name), { force: true });
    for (const name of await readdir(d.images)) {
      if (!/^[a-f0-9]{64}\.json$/.test(name)) continue;
      const id = `sha256:${name.slice(0, -5)}`;
      try {
        const meta = (await readJsonIfExists<ImageMeta>(join(d.images, name))) ?? { lastTagTime: '' };
        const config = JSON.parse((await this.content.read(id)).toString('utf8')) as ImageConfig;
        this.#addImage(id, config, meta);
      } catch (err) {
        this.o.logger.warn('skipping unreadable image', { id, error: errorMessage(err) });
      }
    }
    const repos = (await readJsonIfExists<Record<string, string>>(d.repositories)) ?? {};
    for (const [tag, id] of Object.entries(repos)) if (this.images.has(id)) this.tags.set(tag, id);
  }

  #splitPath(diffId: string): string {
    return join(this.dir.splits, hex(parseDigest(diffId)));
  }

  /** A committed layer of `diffId`, on any parent, whose files a split rebuilds the tar from. */
  #layerOf(diffId: string): string | undefined {
    return this.o.layers.layers().find((x) => x.diffId === diffId)?.chainId;
  }

  /** Whether the store can give the uncompressed tar of layer `diffId` (layerTar). */
  async hasLayerTar(diffId: string): Promise<boolean> {
    if (await this.content.has(diffId)) return true;
    return this.#layerOf(diffId) !== undefined && (await stat(this.#splitPath(diffId)).then(() => true, () => false));
  }

  /**
   * The uncompressed tar of layer `diffId`: its blob, or rebuilt from its split and its extracted
   * files, checked against `diffId` before its end. NotFoundError when it has neither.
   */
  async layerTar(diffId: string): Promise<LayerTar> {
    const blob = this.content.path(diffId);
    const size = await stat(blob).then((st) => st.size, () => undefined);
    if (size !== undefined) return { size, open: () => createReadStream(blob, { highWaterMark: LARGE_READ }) };
    const split = this.#splitPath(diffId);
    const chainId = this.#layerOf(diffId);
    const splitSize = chainId === undefined ? undefined : await splitTarSize(split).catch(() => undefined);
    if (chainId === undefined || splitSize === undefined) throw new NotFoundError(`layer ${diffId} is not in the content store`);
    return { size: splitSize, open: () => this.o.layers.tarFromSplit(chainId, split, splitSize) };
  }

  /** Commits a kept tar or split under `diffId`, unless the store has either already. */
  async #adoptKept(kept: Kept, diffId: string): Promise<void> {
    if (!kept.split) return this.content.adopt(kept.tmp, diffId);
    if (await this.content.has(diffId)) return;
    await rename(kept.tmp, this.#splitPath(diffId));
  }

  layerSize(chainId: string): number {
    return this.o.layers.layer(chainId)?.size ?? 0;
  }

  layersTotal(): number {
    return this.o.layers.layers().reduce((n, l) => n + l.size, 0);
  }

  #addImage(id: string, config: ImageConfig, meta: ImageMeta): StoredImage {
    const chain = chainIds(config.rootfs?.diff_ids ?? []);
    const size = chain.reduce((n, c) => n + this.layerSize(c), 0);
    const img: StoredImage = { id, config, chain, size, lastTagTime: meta.lastTagTime, ...(meta.parent ? { parent: meta.parent } : {}), repoDigests: [...(meta.repoDigests ?? [])] };
    this.images.set(id, img);
    return img;
  }

  /**
   * Makes sure the uncompressed layer `diffId` is in the content store (verifying its digest)
   * and extracted on top of `parent`. Returns its chain ID.
   */
  async ensureLayer(parent: string | undefined, diffId: string, source: (() => Promise<Readable>) | undefined, what: string): Promise<string> {
    const chainId = chainIdOf(parent, diffId);
    if (source && !this.o.layers.layer(chainId) && !(await this.hasLayerTar(diffId))) return this.#storeAndExtract(parent, chainId, diffId, source, what);
    if (!(await this.hasLayerTar(diffId))) {
      if (!source) throw new InvalidArgumentError(`${what}: layer ${diffId} is missing`);
      let tmp: string | undefined;
      try {
        tmp = await this.#spoolVerified(await source(), diffId, what);
        await this.content.adopt(tmp, diffId);
      } catch (err) {
        throw toInvalid(`${what}: layer ${diffId}`, err);
      } finally {
        if (tmp) await rm(tmp, { force: true });
      }
    }
    if (this.o.layers.layer(chainId)) return chainId;
    const meta = await this.layerTar(diffId)
      .then((tar) => this.o.layers.apply(parent, diffId, () => tar.open()))
      .catch((err) => {
        throw toInvalid(`${what}: layer ${diffId}`, err);
      });
    return meta.chainId;
  }

  /**
   * Layers on top of `parent`, bottom first; returns the top chain ID. Each new layer is
   * extracted as soon as its tar opens (a download may be under way), up to
   * EXTRACT_CONCURRENCY side by side for the whole store, and committed in order: one large
   * layer no longer waits behind the others. `commit` wraps each commit (a pull takes the store
   * lock for it, not for the extraction); `committed(i)` follows each. When one fails, the
   * extractions under way stop and no layer that was not committed leaves anything.
   */
  async ensureLayers(parent: string | undefined, layers: readonly NewLayer[], o: { commit?: <T>(fn: () => Promise<T>) => Promise<T>; committed?: (i: number) => Promise<void> | void } = {}): Promise<string | undefined> {
    const commit = o.commit ?? (<T>(fn: () => Promise<T>) => fn());
    const chain: string[] = [];
    for (const l of layers) chain.push(chainIdOf(chain.at(-1) ?? parent, l.diffId));
    const stop = new AbortController();
    const stageOnce = async (l: NewLayer & { open: () => Promise<Readable> }): Promise<Staged> => {
      const generation = l.live?.generation;
      const input = await l.open();
      const release = await this.#extractSlots.acquire();
      try {
        if (stop.signal.aborted) throw stop.signal.reason;
        const onStop = () => input.destroy(stop.signal.reason as Error);
        stop.signal.addEventListener('abort', onStop, { once: true });
        return await this.#stage(l.diffId, input, l.what, l.open).finally(() => stop.signal.removeEventListener('abort', onStop));
      } catch (err) {
        input.destroy();
        release();
        if (l.live && !stop.signal.aborted) {
          await l.live.whole;
          if (l.live.generation !== generation) throw new SourceRestarted(l.what);
        }
        throw err;
      } finally {
        release();
      }
    };
    const staging = layers.map(async (l, i): Promise<Staged | undefined> => {
      const open = l.open;
      if (!open || this.o.layers.layer(chain[i]) || (await this.hasLayerTar(l.diffId))) return undefined;
      try {
        return await stageOnce({ ...l, open });
      } catch (err) {
        if (!(err instanceof SourceRestarted) || stop.signal.aborted) throw err;
        return stageOnce({ ...l, open });
      }
    });
    // Settled in order below; a later one must not surface as unhandled before then.
    for (const s of staging) s.catch(() => {});
    let top = parent;
    let done = 0;
    try {
      for (; done < layers.length; done++) {
        const l = layers[done];
        const staged = await staging[done];
        if (staged) top = await commit(() => this.#commitStaged(top, staged, l.what));
        else if (l.open) top = await commit(() => this.ensureLayer(top, l.diffId, l.open, l.what));
        else if (this.o.layers.layer(chain[done])) top = chain[done];
        else throw new Error(`${l.what}: layer ${l.diffId} was expected present and is not`);
        await o.committed?.(done);
      }
      return top;
    } catch (err) {
      stop.abort(err);
      const left = await Promise.allSettled(staging.slice(done));
      for (const r of left) if (r.status === 'fulfilled' && r.value) await this.#discard(r.value);
      throw err;
    }
  }

  /**
   * A new layer in one pass: the tar is hashed and its split kept while `consume` (the
   * snapshotter) extracts it, instead of written first and read back. Resolves once all three
   * are done and the digest is `diffId`, with the split to adopt; what `consume` made from a tar
   * whose digest is not `diffId` is undone, so it never enters the store. The rare tar whose
   * extracted files do not give it back (its split is lossy) is read once more from `reopen`
   * and kept whole.
   */
  async #keepWhile<T>(diffId: string, input: Readable, what: string, consume: (tar: Readable) => Promise<T>, undo: (made: T) => Promise<void>, reopen: () => Promise<Readable>): Promise<{ made: T; kept: Kept }> {
    const tmp = this.tmpPath('split');
    const splitter = tarSplitter(tmp);
    const h = hasher();
    const toFile = new PassThrough();
    const toLayer = new PassThrough();
    let made: { value: T } | undefined;
    try {
      // Each chunk to both halves; the slower one paces the input. A half that failed (the
      // extraction of a corrupt tar) is passed by, so the hash still covers the whole input.
      const give = (target: PassThrough, chunk: Buffer, done: () => void) => {
        if (target.destroyed || target.write(chunk)) return done();
        const go = () => {
          target.off('drain', go).off('close', go);
          done();
        };
        target.on('drain', go).on('close', go);
      };
      const fanOut = new Writable({
        write(chunk: Buffer, _enc, cb) {
          let pending = 2;
          const done = () => --pending === 0 && cb();
          give(toFile, chunk, done);
          give(toLayer, chunk, done);
        },
        final(cb) {
          toFile.end();
          if (!toLayer.destroyed) toLayer.end();
          cb();
        },
      });
      const feeding = pipeline(input, h.stream, fanOut);
      const writing = pipeline(toFile, splitter.sink).then(() => splitter.result);
      // A snapshotter that needs no tar (a build's handed-over snapshot) leaves it unread: drain it, so the file half goes on.
      const consuming = consume(toLayer).finally(() => toLayer.resume());
      // The failure reaches the caller through `feeding` or `writing`; the consumer may not be
      // listening on its half yet (it makes its directory first) or any more.
      toLayer.on('error', () => {});
      const stopAll = (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        input.destroy(e);
        toFile.destroy(e);
        toLayer.destroy(e);
      };
      feeding.catch(stopAll);
      writing.catch(stopAll);
      const [fed, wrote, consumed] = await Promise.allSettled([feeding, writing, consuming]);
      if (consumed.status === 'fulfilled') made = { value: consumed.value };
      if (fed.status === 'rejected') throw fed.reason;
      if (wrote.status === 'rejected') throw wrote.reason;
      // The digest first: a tar that is not the one the config names is what the user must hear of, not how it failed to extract.
      if (h.digest() !== diffId) throw new InvalidArgumentError(`${what}: layer digest mismatch: the content is ${h.digest()}, the image config says ${diffId}`);
      if (consumed.status === 'rejected') throw consumed.reason;
      const { lossy } = wrote.value;
      if (!lossy) return { made: made!.value, kept: { tmp, split: true } };
      this.o.logger.debug('keeping the whole layer tar', { layer: diffId, why: lossy });
      await rm(tmp, { force: true });
      return { made: made!.value, kept: { tmp: await this.#spoolVerified(await reopen(), diffId, what), split: false } };
    } catch (err) {
      if (made) await undo(made.value).catch(() => {});
      await rm(tmp, { force: true });
      throw toInvalid(`${what}: layer ${diffId}`, err);
    }
  }

  /** The tar `input` in a new temp file, once its digest proved to be `diffId`. */
  async #spoolVerified(input: Readable, diffId: string, what: string): Promise<string> {
    const tmp = this.tmpPath('layer');
    const h = hasher();
    try {
      await pipeline(input, h.stream, createWriteStream(tmp, { flags: 'wx', highWaterMark: LARGE_READ }));
      if (h.digest() !== diffId) throw new InvalidArgumentError(`${what}: layer digest mismatch: the content is ${h.digest()}, the image config says ${diffId}`);
      return tmp;
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async #storeAndExtract(parent: string | undefined, chainId: string, diffId: string, source: () => Promise<Readable>, what: string): Promise<string> {
    const staged = await this.#stage(diffId, await source(), what, source);
    await this.#commitStaged(parent, staged, what);
    return chainId;
  }

  /** A layer extracted and its tar kept, verified, neither committed yet (see ensureLayers). */
  #stage(diffId: string, input: Readable, what: string, reopen: () => Promise<Readable>): Promise<Staged> {
    return this.#keepWhile(
      diffId,
      input,
      what,
      (tar) => this.o.layers.unpack(diffId, () => tar),
      (u) => u.discard(),
      reopen,
    ).then(({ made, kept }) => ({ unpacked: made, kept }));
  }

  /**
   * The layer's tar (or split) is adopted before the layer is committed: a crash in between
   * leaves a split no layer uses, which the next pull replaces and a prune removes, never a
   * committed layer that push and save cannot give.
   */
  async #commitStaged(parent: string | undefined, staged: Staged, what: string): Promise<string> {
    try {
      await this.#adoptKept(staged.kept, staged.unpacked.diffId);
      const layer = await this.o.layers.apply(parent, staged.unpacked.diffId, staged.unpacked);
      return layer.chainId;
    } catch (err) {
      throw toInvalid(`${what}: layer ${staged.unpacked.diffId}`, err);
    } finally {
      await this.#discard(staged);
    }
  }

  async #discard(staged: Staged): Promise<void> {
    await staged.unpacked.discard().catch(() => {});
    await rm(staged.kept.tmp, { force: true });
  }

  /** Stores a config whose layers are present and indexes the image. Returns the image ID. */
  async register(configBytes: Buffer, parent?: string): Promise<string> {
    let config: ImageConfig;
    try {
      config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    } catch {
      throw new InvalidArgumentError('invalid image config: not JSON');
    }
    if (!config || !config.rootfs || !Array.isArray(config.rootfs.diff_ids)) throw new InvalidArgumentError('invalid image config: no rootfs.diff_ids');
    for (const c of chainIds(config.rootfs.diff_ids)) if (!this.o.layers.layer(c)) throw new Error(`layer ${c} of the image is not in the layer store`);
    const id = await this.content.put(configBytes);
    if (!this.images.has(id)) {
      const meta: ImageMeta = { lastTagTime: '', ...(parent ? { parent } : {}) };
      await writeJsonAtomic(join(this.dir.images, `${hex(id)}.json`), meta);
      this.#addImage(id, config, meta);
    }
    return id;
  }

  async saveTags(): Promise<void> {
    await writeJsonAtomic(this.dir.repositories, Object.fromEntries([...this.tags].sort()));
  }

  async setTag(repoTag: string, id: string): Promise<void> {
    this.tags.set(repoTag, id);
    const img = this.images.get(id)!;
    img.lastTagTime = new Date().toISOString();
    await this.#writeMeta(img);
    await this.saveTags();
  }

  #writeMeta(img: StoredImage): Promise<void> {
    const meta: ImageMeta = { lastTagTime: img.lastTagTime, ...(img.parent ? { parent: img.parent } : {}), ...(img.repoDigests.length ? { repoDigests: img.repoDigests } : {}) };
    return writeJsonAtomic(join(this.dir.images, `${hex(img.id)}.json`), meta);
  }

  /**
   * Records `name@sha256:...` for the image `id`; the same name and digest on another image
   * moves here (a registry's digest names one manifest, and the manifest one config).
   */
  async addRepoDigest(repoDigest: string, id: string): Promise<void> {
    for (const other of this.images.values()) {
      if (other.id === id || !other.repoDigests.includes(repoDigest)) continue;
      other.repoDigests = other.repoDigests.filter((d) => d !== repoDigest);
      await this.#writeMeta(other);
    }
    const img = this.images.get(id);
    if (!img || img.repoDigests.includes(repoDigest)) return;
    img.repoDigests = [...img.repoDigests, repoDigest].sort();
    await this.#writeMeta(img);
  }

  async removeRepoDigest(repoDigest: string, id: string): Promise<void> {
    const img = this.images.get(id);
    if (!img || !img.repoDigests.includes(repoDigest)) return;
    img.repoDigests = img.repoDigests.filter((d) => d !== repoDigest);
    await this.#writeMeta(img);
  }

  /** Tags and repo digests: what names the image, for rmi's decisions. */
  refsOf(id: string): string[] {
    return [...this.tagsOf(id), ...(this.images.get(id)?.repoDigests ?? [])];
  }

  /**
   * Keeps layers (chain IDs) and blobs (diffIDs) from collection until the returned release is
   * called: a pull extracts its layers one by one before its image exists.
   */
  pin(keys: string[]): () => void {
    for (const k of keys) this.#pins.set(k, (this.#pins.get(k) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const k of keys) {
        const n = (this.#pins.get(k) ?? 1) - 1;
        if (n <= 0) this.#pins.delete(k);
        else this.#pins.set(k, n);
      }
    };
  }

  /**
   * Deletes layers, blobs and image metadata that nothing references: reference counts are
   * derived from the images and container file systems themselves, so they cannot drift.
   */
  async collect(): Promise<Set<string>> {
    const chains = new Set<string>();
    const blobs = new Set<string>();
    for (const img of this.images.values()) {
      img.chain.forEach((c) => chains.add(c));
      blobs.add(img.id);
      img.config.rootfs.diff_ids.forEach((d) => blobs.add(d));
    }
    const used = this.o.layerUsers.layersInUse();
    for (const c of used.chainIds) chains.add(c);
    for (const d of used.diffIds) blobs.add(d);
    for (const k of this.#pins.keys()) {
      chains.add(k);
      blobs.add(k);
    }
    const removed = new Set<string>();
    for (const l of this.o.layers.layers()) {
      if (chains.has(l.chainId)) continue;
      await this.o.layers.removeLayer(l.chainId);
      removed.add(l.chainId);
    }
    for (const b of await this.content.list()) if (!blobs.has(b)) await this.content.remove(b);
    for (const name of await readdir(this.dir.splits)) if (!blobs.has(`sha256:${name}`)) await rm(join(this.dir.splits, name), { force: true });
    for (const name of await readdir(this.dir.images)) {
      if (!this.images.has(`sha256:${name.replace(/\.json$/, '')}`)) await rm(join(this.dir.images, name), { force: true });
    }
    return removed;
  }

  /** Drops `img` from the index and its now unused layers from disk; Docker's `Deleted:` lines for both, top layer first. */
  async delete(img: StoredImage): Promise<ImageDeleteItem[]> {
    this.images.delete(img.id);
    this.o.onEvent('delete', img.id, { name: img.id });
    const removed = await this.collect();
    return [{ Deleted: img.id }, ...[...img.chain].reverse().filter((c) => removed.has(c)).map((c) => ({ Deleted: c }))];
  }

  find(ref: string): StoredImage | undefined {
    const r = tryParseReference(ref);
    if (r && !r.digest) {
      const id = this.tags.get(tagged(r));
      if (id) return this.images.get(id);
    }
    if (r?.digest) {
      const wanted = `${r.repo}@${r.digest}`;
      for (const img of this.images.values()) if (img.repoDigests.includes(wanted)) return img;
      // name@<image ID> identifies a local image by content when that name is one of its tags.
      const img = this.images.get(r.digest);
      if (img && this.tagsOf(img.id).some((t) => splitTag(t).repo === r.repo)) return img;
      return undefined;
    }
    const id = matchIdPrefix(this.images.keys(), ref);
    return id ? this.images.get(id) : undefined;
  }

  mustFind(ref: string): StoredImage {
    const img = this.find(ref);
    if (!img) {
      // Docker names what it looked for: `busybox` is `busybox:latest`, an ID stays as given.
      const r = tryParseReference(ref);
      throw new NotFoundError(`No such image: ${r ? (r.digest ? `${r.repo}@${r.digest}` : tagged(r)) : ref}`);
    }
    return img;
  }

  /** Records `parent` as the image's Parent (Docker's SetParent), as register would have. */
  async setParent(id: string, parent: string): Promise<void> {
    const img = this.images.get(id);
    if (!img || img.parent === parent || !this.images.has(parent)) return;
    img.parent = parent;
    await this.#writeMeta(img);
  }

  /** The IDs of the images that others were committed on: one pass, for lists over every image. */
  parentIds(): Set<string> {
    const out = new Set<string>();
    for (const img of this.images.values()) if (img.parent) out.add(img.parent);
    return out;
  }

  /** The images committed on `id` (their Parent), as Docker's image store Children. */
  children(id: string): StoredImage[] {
    const out: StoredImage[] = [];
    for (const img of this.images.values()) if (img.parent === id) out.push(img);
    return out;
  }

  tagsOf(id: string): string[] {
    return [...this.tags]
      .filter(([, v]) => v === id)
      .map(([k]) => k)
      .sort();
  }
}
