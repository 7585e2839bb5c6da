import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { isOpaque, isWhiteout, packDir } from './pack.js';
import type { Change, Diff, DiffOptions } from './snapshotter.js';
import type { IdMapping } from '../util/index.js';

/** The diff ID of a layer with nothing in it (a tar of only its end-of-archive blocks). */
export const EMPTY_LAYER_DIFF_ID = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

const NO_MOUNT_POINTS: ReadonlySet<string> = new Set();

/** An upper-dir directory the kernel copied up from below without changing what it is. */
function copiedUpOnly(upperPath: string, st: Stats, lower: Stats): boolean {
  return st.isDirectory() && lower.isDirectory() && st.mode === lower.mode && st.uid === lower.uid && st.gid === lower.gid && !isOpaque(upperPath);
}

/** Whether a whited-out or opaque parent in `layer` hides everything below it in lower layers. */
async function hiddenBelow(layer: string, rel: string): Promise<boolean> {
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

/**
 * The changes of an overlay upper directory over its lower directories (top first): what a
 * path is in the upper dir, compared with what the layers below show at the same path.
 */
class UpperDiff implements Diff {
  readonly #upper: string;
  readonly #lowers: string[];
  readonly #mountPoints: ReadonlySet<string>;
  readonly #mtimeMax: Date | undefined;
  readonly #idmap: IdMapping | undefined;

  constructor(upper: string, lowers: string[], opts: DiffOptions, idmap: IdMapping | undefined) {
    this.#upper = upper;
    this.#lowers = lowers;
    this.#mountPoints = opts.mountPoints ?? NO_MOUNT_POINTS;
    this.#mtimeMax = opts.mtimeMax;
    this.#idmap = idmap;
  }

  /** What the layers below show at `rel`, or undefined when nothing (or a whiteout hides it). */
  async #lowerStat(rel: string): Promise<Stats | undefined> {
    for (const l of this.#lowers) {
      const st = await lstat(join(l, rel)).catch(() => undefined);
      if (st) return isWhiteout(st) ? undefined : st;
      if (await hiddenBelow(l, rel)) return undefined;
    }
    return undefined;
  }

  /** Whether an upper-dir entry is only a mount point the runtime made (see DiffOptions). */
  async #isMountPoint(rel: string, st: Stats, inLower: Stats | undefined): Promise<boolean> {
    if (!this.#mountPoints.has(rel) || inLower) return false;
    if (st.isFile()) return st.size === 0;
    if (st.isDirectory()) return (await readdir(join(this.#upper, rel)).catch(() => [])).length === 0;
    return false;
  }

  async changes(): Promise<Change[]> {
    const upper = this.#upper;
    const out: Change[] = [];
    // Returns whether anything at or below `rel` was reported.
    const walk = async (rel: string): Promise<boolean> => {
      let any = false;
      const names = await readdir(rel ? join(upper, rel) : upper).catch(() => [] as string[]);
      for (const name of names) {
        const r = rel ? `${rel}/${name}` : name;
        const st = await lstat(join(upper, r)).catch(() => undefined);
        if (!st) continue;
        if (isWhiteout(st)) {
          out.push({ path: `/${r}`, kind: 'deleted' });
          any = true;
          continue;
        }
        const lower = await this.#lowerStat(r);
        if (await this.#isMountPoint(r, st, lower)) continue;
        if (!lower) {
          out.push({ path: `/${r}`, kind: 'added' });
          any = true;
          if (st.isDirectory()) await walk(r);
          continue;
        }
        const below = st.isDirectory() ? await walk(r) : false;
        // A copied-up directory counts as changed only when its own metadata or something below it did.
        if (!copiedUpOnly(join(upper, r), st, lower) || below) {
          out.push({ path: `/${r}`, kind: 'modified' });
          any = true;
        }
      }
      return any;
    };
    await walk('');
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async tar(): Promise<Readable> {
    return (await this.tarAndSkips()).tar;
  }

  /** The tar, and how many upper-dir paths it leaves out (mount points and their parents). */
  async tarAndSkips(): Promise<{ tar: Readable; skipped: number }> {
    const upper = this.#upper;
    const skip = new Set<string>();
    for (const rel of this.#mountPoints) {
      const st = await lstat(join(upper, rel)).catch(() => undefined);
      if (st && (await this.#isMountPoint(rel, st, await this.#lowerStat(rel)))) skip.add(rel);
    }
    // A directory the kernel copied up only to hold those mount points (etc/ for etc/hosts) is
    // not a change either, as `changes` already says: a snapshot that changed nothing packs an
    // empty layer.
    for (const dir of new Set([...skip].filter((r) => r.includes('/')).map((r) => r.slice(0, r.lastIndexOf('/'))))) {
      const st = await lstat(join(upper, dir)).catch(() => undefined);
      const lower = await this.#lowerStat(dir);
      if (!st || !lower || !copiedUpOnly(join(upper, dir), st, lower)) continue;
      const names = await readdir(join(upper, dir)).catch(() => [] as string[]);
      if (names.every((n) => skip.has(`${dir}/${n}`))) skip.add(dir);
    }
    const tar = packDir(upper, { layer: true, skip: (rel) => skip.has(rel), mtimeMax: this.#mtimeMax, idmap: this.#idmap }) as unknown as Readable;
    return { tar, skipped: skip.size };
  }
}

/** The changes of the overlay upper directory `upper` over `lowers` (top first); `idmap`: a remapped root's files, written with the container's IDs. */
export function upperDiff(upper: string, lowers: string[], opts: DiffOptions = {}, idmap?: IdMapping): Diff & { tarAndSkips(): Promise<{ tar: Readable; skipped: number }> } {
  return new UpperDiff(upper, lowers, opts, idmap);
}
