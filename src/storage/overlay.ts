import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, lstatSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, WharfError, diskUsage, errorMessage, isErrno, isMountPoint, readJsonIfExists, rootPair, type IdMapping, type Mount } from '../util/index.js';
import { applyLayerOffThread, rebuildTarOffThread } from './apply-worker.js';
import { chainIdOf } from './chain.js';
import { EMPTY_LAYER_DIFF_ID, upperDiff } from './diff.js';
import { mountOverlay, unmount } from './mount.js';
import type { Diff, DiffOptions, LayerInfo, SnapshotMountOptions, Snapshotter, Unpacked, Usage, View } from './snapshotter.js';

const hex = (d: string) => d.replace(/^sha256:/, '');
/** Short names under l/ keep a mount's option string within one page even with ~200 layers. */
const shortName = (chainId: string) => hex(chainId).slice(0, 16);
/** Keys name directories: no separators, no dots of their own, no overlay option syntax. */
const KEY = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
/** Anything being made or removed carries this in its name, so init can tell it from what is whole. */
const TMP = '.tmp';

/** The layers below a snapshot, top first (see #chain). */
interface Chain {
  dirs: string[];
  long: string;
  short: string;
}

function checkKey(key: string): void {
  if (!KEY.test(key)) throw new InvalidArgumentError(`invalid snapshot key "${key}": use letters, digits, '_' and '-'`);
}

/**
 * The overlay snapshotter: layers extracted once by chain ID, and one writable upper/work
 * pair per active snapshot, mounted over them with overlayfs.
 *
 * On disk, under `root` (`<data root>/overlay`). wharfd starts on a data root that an earlier
 * wharfd wrote, with its containers still running (live restore), so this layout does not
 * change without a migration; it is Docker's overlay2 layout in all but names:
 *
 *   layers/<chain hex>/diff          a layer's files (OCI whiteouts as overlay whiteouts)
 *   layers/<chain hex>/layer.json    its LayerInfo
 *   l/<16 hex>                        -> ../layers/<chain hex>/diff, the short lowerdir names
 *   containers/<key>/{upper,work,merged}   an active snapshot, mounted at merged
 *   empty/                            the lower dir of a snapshot over no layer
 *   views/<key>-<random>/             read-only views being read (never kept across a restart)
 *
 * Names containing ".tmp" are being made or removed; init deletes them.
 */
export class OverlaySnapshotter implements Snapshotter {
  readonly #root: string;
  /** Whether the kernel takes overlayfs's `volatile`; the first mount that asks for it finds out. */
  #volatileWorks = true;
  readonly #layers = new Map<string, LayerInfo>();
  readonly #chains = new Map<string, Chain>();
  /**
   * Snapshots whose writable directory may become the layer of a chain ID (see
   * DiffOptions.handOver): chain ID -> key, learnt when the snapshot's tar was read whole.
   */
  readonly #handOvers = new Map<string, string>();
  /** Unpacked layers not committed or discarded yet: their directories (`unpack-*.tmp`) and sizes. */
  readonly #unpacked = new Map<Unpacked, { dir: string; size: number }>();
  readonly #d: { layers: string; links: string; containers: string; empty: string; views: string };

  /** A remapped root (userns-remap): layers hold the host IDs of the tars' owners, and snapshots are its root's. */
  readonly #idmap: IdMapping | undefined;

  constructor(root: string, opts: { idmap?: IdMapping } = {}) {
    this.#root = root;
    this.#idmap = opts.idmap;
    this.#d = { layers: join(root, 'layers'), links: join(root, 'l'), containers: join(root, 'containers'), empty: join(root, 'empty'), views: join(root, 'views') };
  }

  async init(): Promise<void> {
    const d = this.#d;
    for (const p of [d.layers, d.links, d.containers, d.empty, d.views]) await mkdir(p, { recursive: true, mode: 0o700 });
    // The runtime, as a remapped container's root, passes through to the container's file system.
    if (this.#idmap) {
      const { gid } = rootPair(this.#idmap);
      for (const p of [this.#root, d.containers]) {
        await chown(p, 0, gid);
        await chmod(p, 0o710);
      }
    }
    for (const name of await readdir(d.layers)) {
      const meta = name.includes(TMP) ? undefined : await readJsonIfExists<LayerInfo>(join(d.layers, name, 'layer.json')).catch(() => undefined);
      if (meta && hex(meta.chainId) === name) this.#layers.set(meta.chainId, meta);
      else await rm(join(d.layers, name), { recursive: true, force: true });
    }
    const linked = new Set<string>();
    for (const name of await readdir(d.links)) {
      const target = await readlink(join(d.links, name)).catch(() => '');
      const chain = /^\.\.\/layers\/([a-f0-9]{64})\/diff$/.exec(target)?.[1];
      if (chain && this.#layers.has(`sha256:${chain}`) && name === shortName(`sha256:${chain}`)) linked.add(`sha256:${chain}`);
      else await rm(join(d.links, name), { force: true });
    }
    for (const meta of this.#layers.values()) if (!linked.has(meta.chainId)) await this.#link(meta.chainId);
    for (const name of await readdir(d.containers)) if (name.includes(TMP)) await rm(join(d.containers, name), { recursive: true, force: true });
    // A view outlives nothing: its reader died with the daemon that served it.
    for (const name of await readdir(d.views)) {
      await unmount(join(d.views, name));
      await rm(join(d.views, name), { recursive: true, force: true });
    }
  }

  // ------------------------------------------------------------ committed layers

  layer(chainId: string): LayerInfo | undefined {
    return this.#layers.get(chainId);
  }

  layers(): LayerInfo[] {
    return [...this.#layers.values()];
  }

  layerPath(chainId: string): string {
    return join(this.#d.layers, hex(chainId), 'diff');
  }

  tarFromSplit(chainId: string, splitPath: string, tarSize: number): Readable {
    const l = this.layer(chainId);
    if (!l) throw new Error(`layer ${chainId} is not in the layer store`);
    return rebuildTarOffThread(splitPath, this.layerPath(chainId), l.diffId, { tar: tarSize, content: l.size });
  }

  async #link(chainId: string): Promise<void> {
    try {
      await symlink(`../layers/${hex(chainId)}/diff`, join(this.#d.links, shortName(chainId)));
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
  }

  async apply(parent: string | undefined, diffId: string, source: (() => Readable) | Unpacked): Promise<LayerInfo> {
    const chainId = chainIdOf(parent, diffId);
    const unpacked = typeof source === 'function' ? undefined : this.#unpackedDir(source, diffId);
    const existing = this.#layers.get(chainId);
    if (unpacked && (existing || (parent && !this.#layers.has(parent)))) await (source as Unpacked).discard();
    if (existing) return existing;
    if (parent && !this.#layers.has(parent)) throw new InvalidArgumentError(`layer ${diffId}: its parent layer ${parent} is not present`);
    const final = join(this.#d.layers, hex(chainId));
    if (unpacked) {
      this.#unpacked.delete(source as Unpacked);
      return this.#installOrRemove({ chainId, diffId, ...(parent ? { parent } : {}), size: unpacked.size }, unpacked.dir, final);
    }
    const tmp = `${final}${TMP}-${randomBytes(4).toString('hex')}`;
    const handed = await this.#takeOver(chainId, diffId, parent, final, tmp);
    if (handed) return handed;
    const { size } = await this.#extract(tmp, diffId, source as () => Readable);
    return this.#installOrRemove({ chainId, diffId, ...(parent ? { parent } : {}), size }, tmp, final);
  }

  async unpack(diffId: string, open: () => Readable): Promise<Unpacked> {
    const dir = join(this.#d.layers, `unpack-${randomBytes(6).toString('hex')}${TMP}`);
    const { size } = await this.#extract(dir, diffId, open);
    const u: Unpacked = {
      diffId,
      discard: async () => {
        if (!this.#unpacked.delete(u)) return;
        await rm(dir, { recursive: true, force: true });
      },
    };
    this.#unpacked.set(u, { dir, size });
    return u;
  }

  /** Where an Unpacked of this snapshotter lies; anything else is the caller's mistake. */
  #unpackedDir(u: Unpacked, diffId: string): { dir: string; size: number } {
    const found = this.#unpacked.get(u);
    if (!found || u.diffId !== diffId) throw new Error(`layer ${diffId}: not an unpacked layer of this snapshotter, or committed already`);
    return found;
  }

  /** The tar extracted into `<tmp>/diff`; on failure `tmp` is removed. */
  async #extract(tmp: string, diffId: string, open: () => Readable): Promise<{ size: number }> {
    try {
      await mkdir(join(tmp, 'diff'), { recursive: true, mode: 0o755 });
      return await applyLayerOffThread(open(), join(tmp, 'diff'), this.#idmap);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      if (err instanceof WharfError) throw err;
      throw new Error(`extracting layer ${diffId}: ${errorMessage(err)}`, { cause: err });
    }
  }

  async #installOrRemove(meta: LayerInfo, tmp: string, final: string): Promise<LayerInfo> {
    try {
      return await this.#install(meta, tmp, final);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw new Error(`committing layer ${meta.diffId}: ${errorMessage(err)}`, { cause: err });
    }
  }

  /**
   * The layer made by moving a handed-over snapshot's writable directory into place: the tar
   * of `diffId` was packed from that very tree, so extracting it would write the same files
   * again. Undefined when there is none to take (or it is mounted): then the tar is extracted.
   */
  async #takeOver(chainId: string, diffId: string, parent: string | undefined, final: string, tmp: string): Promise<LayerInfo | undefined> {
    const key = this.#handOvers.get(chainId);
    if (key === undefined) return undefined;
    this.#handOvers.delete(chainId);
    const p = this.#paths(key);
    if (await isMountPoint(p.merged)) return undefined;
    try {
      await mkdir(tmp, { mode: 0o755 });
      await rename(p.upper, join(tmp, 'diff'));
    } catch {
      await rm(tmp, { recursive: true, force: true });
      return undefined;
    }
    try {
      // The snapshot stays a valid one, empty, until its owner removes it.
      await mkdir(p.upper, { mode: 0o755 }).catch(() => {});
      return await this.#install({ chainId, diffId, ...(parent ? { parent } : {}), size: layerSize(join(tmp, 'diff')) }, tmp, final);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw new Error(`committing layer ${diffId} from snapshot ${key}: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** Puts a layer whose `diff` is complete in `tmp` in place at `final`, in one rename, and indexes it. */
  async #install(meta: LayerInfo, tmp: string, final: string): Promise<LayerInfo> {
    await writeFile(join(tmp, 'layer.json'), JSON.stringify(meta));
    await rename(tmp, final);
    this.#layers.set(meta.chainId, meta);
    await this.#link(meta.chainId);
    return meta;
  }

  async removeLayer(chainId: string): Promise<void> {
    await rm(join(this.#d.links, shortName(chainId)), { force: true });
    // Rename first so that a crash mid-delete leaves a .tmp dir that init removes, not a torn layer.
    const dir = join(this.#d.layers, hex(chainId));
    const doomed = `${dir}${TMP}-rm-${randomBytes(4).toString('hex')}`;
    await rename(dir, doomed).catch((err) => {
      if (!isErrno(err, 'ENOENT')) throw err;
    });
    await rm(doomed, { recursive: true, force: true });
    this.#layers.delete(chainId);
    this.#chains.clear();
  }

  /**
   * The layers below a snapshot on `parent`, top first: their directories, and the lowerdir
   * option naming them as they are and by their short links (as mounted, from the root, so
   * ~200 layers fit in the one page of options). Cached: container start asks every time.
   */
  #chain(parent: string | undefined): Chain {
    if (!parent) return { dirs: [], long: this.#d.empty, short: 'empty' };
    const cached = this.#chains.get(parent);
    if (cached) return cached;
    const dirs: string[] = [];
    const shorts: string[] = [];
    for (let c: string | undefined = parent; c; c = this.#layers.get(c)!.parent) {
      if (!this.#layers.has(c)) throw new Error(`layer ${c} is missing from the layer store`);
      dirs.push(this.layerPath(c));
      shorts.push(`l/${shortName(c)}`);
    }
    const chain = { dirs, long: dirs.join(':'), short: shorts.join(':') };
    this.#chains.set(parent, chain);
    return chain;
  }

  /** An overlay of `lowerdir` (and upper/work when writable) at `target`. */
  #overlay(target: string, lowerdir: string, rw?: { upper: string; work: string }, volatile = false): Mount {
    // Keys cannot hold them, but the data root might: a comma or colon would change the options' meaning.
    if (/[,:]/.test(this.#root)) throw new InvalidArgumentError(`cannot mount an overlay on "${this.#root}": the path contains a comma or colon`);
    const options = [`lowerdir=${lowerdir}`];
    if (rw) options.push(`upperdir=${rw.upper}`, `workdir=${rw.work}`);
    if (rw && volatile && this.#volatileWorks) options.push('volatile');
    return { type: 'overlay', source: 'overlay', target, options };
  }

  // ------------------------------------------------------------ active snapshots

  #paths(key: string) {
    checkKey(key);
    const dir = join(this.#d.containers, key);
    return { dir, upper: join(dir, 'upper'), work: join(dir, 'work'), merged: join(dir, 'merged') };
  }

  async prepare(key: string, parent: string | undefined): Promise<Mount[]> {
    const p = this.#paths(key);
    const mounts = this.mounts(key, parent);
    // Made whole under a temporary name, so a crash leaves either a snapshot or a .tmp dir.
    const tmp = `${p.dir}${TMP}-${randomBytes(4).toString('hex')}`;
    try {
      for (const d of ['upper', 'work', 'merged']) await mkdir(join(tmp, d), { recursive: true, mode: 0o755 });
      // The root directory the container sees is the upper one: its root's, or it could not write there.
      if (this.#idmap) {
        const root = rootPair(this.#idmap);
        await chown(join(tmp, 'upper'), root.uid, root.gid);
      }
      await rename(tmp, p.dir);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      // Already prepared: prepare is idempotent.
      if (!isErrno(err, 'ENOTEMPTY') && !isErrno(err, 'EEXIST')) throw err;
    }
    return mounts;
  }

  mounts(key: string, parent: string | undefined, opts: SnapshotMountOptions = {}): Mount[] {
    const p = this.#paths(key);
    return [this.#overlay(p.merged, this.#chain(parent).long, p, opts.volatile)];
  }

  async mount(key: string, parent: string | undefined, opts: SnapshotMountOptions = {}): Promise<string> {
    const p = this.#paths(key);
    // What mounts() describes, with the layers named by their short links.
    const overlay = (volatile: boolean) => mountOverlay(this.#overlay(p.merged, this.#chain(parent).short, p, volatile), this.#root);
    if (!opts.volatile || !this.#volatileWorks || (await isMountPoint(p.merged))) {
      await overlay(false);
      return p.merged;
    }
    // A volatile mount leaves work/incompat/volatile behind, even when unmounted cleanly, and the
    // kernel refuses the next mount while it is there. Its snapshot is a thrown-away one.
    await rm(join(p.work, 'work', 'incompat', 'volatile'), { recursive: true, force: true });
    try {
      await overlay(true);
    } catch (err) {
      // An older kernel does not know the option (before 5.10): the same mount without it tells.
      await overlay(false).catch(() => Promise.reject(err));
      this.#volatileWorks = false;
    }
    return p.merged;
  }

  async unmount(key: string): Promise<void> {
    await unmount(this.#paths(key).merged);
  }

  async isMounted(key: string): Promise<boolean> {
    return isMountPoint(this.#paths(key).merged);
  }

  path(key: string): string {
    return this.#paths(key).merged;
  }

  describe(key: string, parent: string | undefined): Record<string, string> {
    const p = this.#paths(key);
    const { dirs } = this.#chain(parent);
    return { ...(dirs.length ? { LowerDir: dirs.join(':') } : {}), MergedDir: p.merged, UpperDir: p.upper, WorkDir: p.work };
  }

  async view(key: string, parent: string | undefined): Promise<View> {
    const p = this.#paths(key);
    const chain = this.#chain(parent);
    const target = join(this.#d.views, `${key}-${randomBytes(6).toString('hex')}`);
    // The snapshot's upper dir as the top lower layer: the same tree, and no upper to write to.
    const m = this.#overlay(target, `${p.upper}:${chain.short}`);
    await mkdir(target, { recursive: true });
    try {
      await mountOverlay(m, this.#root);
    } catch (err) {
      await rm(target, { recursive: true, force: true });
      throw err;
    }
    let released: Promise<void> | undefined;
    return {
      path: target,
      release: () => (released ??= unmount(target).then(() => rm(target, { recursive: true, force: true }))),
    };
  }

  diff(key: string, parent: string | undefined, opts: DiffOptions = {}): Diff {
    const d = upperDiff(this.#paths(key).upper, this.#chain(parent).dirs, opts, this.#idmap);
    if (!opts.handOver || opts.mtimeMax) return d;
    return {
      changes: () => d.changes(),
      tar: async () => {
        const { tar, skipped } = await d.tarAndSkips();
        if (skipped > 0) return tar;
        const hash = createHash('sha256');
        const offer = (chainId: string) => this.#handOvers.set(chainId, key);
        const hashing = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            hash.update(chunk);
            cb(null, chunk);
          },
          // Before the reader sees the end, so its apply of this diff ID finds the offer.
          flush(cb) {
            offer(chainIdOf(parent, `sha256:${hash.digest('hex')}`));
            cb();
          },
        });
        tar.on('error', (err: Error) => hashing.destroy(err));
        return tar.pipe(hashing);
      },
    };
  }

  async commit(key: string, parent: string | undefined, opts: DiffOptions = {}): Promise<LayerInfo | undefined> {
    const tar = await this.diff(key, parent, opts).tar();
    // The tar is kept whole before it is extracted: its digest names the layer.
    const tmp = join(this.#d.layers, `commit-${randomBytes(6).toString('hex')}${TMP}`);
    const hash = createHash('sha256');
    try {
      const hashing = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          cb(null, chunk);
        },
      });
      await pipeline(tar, hashing, createWriteStream(tmp, { flags: 'wx' }));
      const diffId = `sha256:${hash.digest('hex')}`;
      if (diffId === EMPTY_LAYER_DIFF_ID) return undefined;
      return await this.apply(parent, diffId, () => createReadStream(tmp));
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async usage(key: string): Promise<Usage> {
    return diskUsage(this.#paths(key).upper);
  }

  async remove(key: string): Promise<void> {
    const p = this.#paths(key);
    for (const [chainId, k] of this.#handOvers) if (k === key) this.#handOvers.delete(chainId);
    await unmount(p.merged);
    await rm(p.dir, { recursive: true, force: true });
  }

  async keys(): Promise<string[]> {
    return (await readdir(this.#d.containers).catch(() => [] as string[])).filter((n) => KEY.test(n));
  }
}

/**
 * Docker's size of a layer directory, as extracting its tar counts it: bytes of file content
 * (each inode once) and of symlink targets. Synchronous: one lstat per entry.
 */
function layerSize(dir: string): number {
  const seen = new Set<number>();
  let size = 0;
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const st = lstatSync(path);
      if (st.isDirectory()) walk(path);
      else if (st.isSymbolicLink()) size += st.size;
      else if (st.isFile() && !seen.has(st.ino)) {
        seen.add(st.ino);
        size += st.size;
      }
    }
  };
  walk(dir);
  return size;
}
