import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidArgumentError, WharfError, errorMessage, isErrno, readJsonIfExists, sha256 } from '../util/index.js';
import { applyLayer } from './apply.js';
import { isMounted, mountOverlay, unmount } from './overlay.js';

/** What is kept about an extracted layer, in `<overlay>/layers/<chain hex>/layer.json`. */
export interface LayerMeta {
  chainId: string;
  diffId: string;
  parent?: string;
  /** Bytes of file content, Docker's layer size. */
  size: number;
}

/** OCI chain IDs for a list of diff IDs, bottom first. */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  return out;
}

export function chainIdOf(parent: string | undefined, diffId: string): string {
  return parent ? sha256(`${parent} ${diffId}`) : diffId;
}

const hex = (d: string) => d.replace(/^sha256:/, '');
/** Short names under l/ keep a mount's option string within one page even with ~200 layers. */
const shortName = (chainId: string) => hex(chainId).slice(0, 16);

/**
 * The overlay snapshotter: image layers extracted once by chain ID, and one writable
 * upper/work pair per container mounted over them.
 */
export class LayerStore {
  readonly #root: string;
  readonly #layers = new Map<string, LayerMeta>();

  /** `root` is `<data root>/overlay`. */
  constructor(root: string) {
    this.#root = root;
  }

  get #d() {
    return { layers: join(this.#root, 'layers'), links: join(this.#root, 'l'), containers: join(this.#root, 'containers'), empty: join(this.#root, 'empty') };
  }

  /** Loads layer metadata and removes what a crash left half-made. */
  async init(): Promise<void> {
    const d = this.#d;
    for (const p of [d.layers, d.links, d.containers, d.empty]) await mkdir(p, { recursive: true, mode: 0o700 });
    for (const name of await readdir(d.layers)) {
      const meta = name.includes('.tmp') ? undefined : await readJsonIfExists<LayerMeta>(join(d.layers, name, 'layer.json')).catch(() => undefined);
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
  }

  has(chainId: string): boolean {
    return this.#layers.has(chainId);
  }

  get(chainId: string): LayerMeta | undefined {
    return this.#layers.get(chainId);
  }

  all(): LayerMeta[] {
    return [...this.#layers.values()];
  }

  diffDir(chainId: string): string {
    return join(this.#d.layers, hex(chainId), 'diff');
  }

  async #link(chainId: string): Promise<void> {
    const path = join(this.#d.links, shortName(chainId));
    const want = `../layers/${hex(chainId)}/diff`;
    try {
      await symlink(want, path);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
  }

  /**
   * Extracts the layer `diffId` on top of `parent` unless it already is; `open` gives its
   * uncompressed tar. A failed extraction leaves nothing behind.
   */
  async create(parent: string | undefined, diffId: string, open: () => Readable): Promise<LayerMeta> {
    const chainId = chainIdOf(parent, diffId);
    const existing = this.#layers.get(chainId);
    if (existing) return existing;
    if (parent && !this.#layers.has(parent)) throw new InvalidArgumentError(`layer ${diffId}: its parent layer ${parent} is not present`);
    const final = join(this.#d.layers, hex(chainId));
    const tmp = `${final}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      await mkdir(join(tmp, 'diff'), { recursive: true, mode: 0o755 });
      const { size } = await applyLayer(open(), join(tmp, 'diff'));
      const meta: LayerMeta = { chainId, diffId, ...(parent ? { parent } : {}), size };
      await writeFile(join(tmp, 'layer.json'), JSON.stringify(meta));
      await rename(tmp, final);
      this.#layers.set(chainId, meta);
      await this.#link(chainId);
      return meta;
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      if (err instanceof WharfError) throw err;
      throw new Error(`extracting layer ${diffId}: ${errorMessage(err)}`, { cause: err });
    }
  }

  async remove(chainId: string): Promise<void> {
    await rm(join(this.#d.links, shortName(chainId)), { force: true });
    // Rename first so that a crash mid-delete leaves a .tmp dir that init removes, not a torn layer.
    const dir = join(this.#d.layers, hex(chainId));
    const doomed = `${dir}.tmp-rm-${randomBytes(4).toString('hex')}`;
    await rename(dir, doomed).catch((err) => {
      if (!isErrno(err, 'ENOENT')) throw err;
    });
    await rm(doomed, { recursive: true, force: true });
    this.#layers.delete(chainId);
  }

  // ------------------------------------------------------------ container snapshots

  paths(id: string) {
    const dir = join(this.#d.containers, id);
    return { dir, upper: join(dir, 'upper'), work: join(dir, 'work'), merged: join(dir, 'merged') };
  }

  /** Container IDs that have a snapshot on disk. */
  async snapshots(): Promise<string[]> {
    return readdir(this.#d.containers).catch(() => []);
  }

  async prepare(id: string): Promise<void> {
    const p = this.paths(id);
    for (const d of [p.upper, p.work, p.merged]) await mkdir(d, { recursive: true, mode: 0o755 });
  }

  /** Lower directory options for `chain` (bottom first), relative to the store root, top first. */
  #lowers(chain: string[]): string[] {
    for (const c of chain) if (!this.#layers.has(c)) throw new Error(`layer ${c} is missing from the layer store`);
    return chain.length ? [...chain].reverse().map((c) => `l/${shortName(c)}`) : ['empty'];
  }

  /** Mounts the container's root file system; idempotent. Returns the merged path. */
  async mount(id: string, chain: string[]): Promise<string> {
    const p = this.paths(id);
    // The directories were made with the snapshot (prepare); mountOverlay leaves an existing mount alone.
    await mountOverlay({ cwd: this.#root, lowers: this.#lowers(chain), upper: p.upper, work: p.work, target: p.merged });
    return p.merged;
  }

  /**
   * A read-only view of the container's file system (its upper dir as the top lower layer) at
   * `target`, for export while the container is not running. The caller unmounts it.
   */
  async mountReadOnly(id: string, chain: string[], target: string): Promise<void> {
    const lowers = [this.paths(id).upper, ...this.#lowers(chain)];
    await mountOverlay({ cwd: this.#root, lowers, target });
  }

  async unmount(id: string): Promise<void> {
    await unmount(this.paths(id).merged);
  }

  async isMounted(id: string): Promise<boolean> {
    return isMounted(this.paths(id).merged);
  }

  /** Unmounts and deletes the container's snapshot; idempotent. */
  async removeSnapshot(id: string): Promise<void> {
    const p = this.paths(id);
    await unmount(p.merged);
    await rm(p.dir, { recursive: true, force: true });
  }
}
