/**
 * The local volume store: the owner of `<root>/<name>/_data` (the volume's content) and
 * `<root>/<name>/volume.json` (its record), as Docker's local driver lays them out. Records are
 * written atomically and loaded at start, so a volume survives a kill -9 of the daemon at any
 * moment: a directory without a record is a create that died half-way and is removed.
 *
 * A volume with mount options (`-o type=tmpfs|none|<fs> o=... device=...`) is mounted on its
 * `_data` when its first user needs it and unmounted when the last one is done (`acquire` /
 * `release`); the store counts users in memory, and asks the kernel (mountinfo) whether a
 * volume is still mounted from before a restart.
 */
import { randomBytes } from 'node:crypto';
import { chown, lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, InvalidArgumentError, NotFoundError, isErrno, isMountPoint, readJsonIfExists, runChecked, umountAsync, writeJsonAtomic, type Ids, type Logger } from '../util/index.js';

/** The label Docker puts on anonymous volumes; prune without `all` removes only these. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

const NAME_CHARS = '[a-zA-Z0-9][a-zA-Z0-9_.-]';
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const VALID_OPTS = ['type', 'o', 'device', 'size'];
const MANDATORY_OPTS: Record<string, string[]> = { device: ['type'], type: ['device'], o: ['device', 'type'] };

/** What is kept of a volume: Docker's Volume object without the parts computed on demand. */
export interface VolumeRecord {
  name: string;
  driver: 'local';
  createdAt: string;
  /** As given: null when the request had none, `{}` when it had an empty map (as Docker keeps them). */
  labels: Record<string, string> | null;
  /** The driver options as given (`type`, `o`, `device`), null when none were. */
  options: Record<string, string> | null;
}

export interface CreateVolumeOptions {
  name?: string;
  driver?: string;
  labels?: Record<string, string> | null;
  options?: Record<string, string> | null;
}

/** A volume name's check, in Docker's words (without the operation prefix). */
export function checkVolumeName(name: string): void {
  if (name.length === 1) throw new InvalidArgumentError('volume name is too short, names should be at least two alphanumeric characters');
  if (!NAME_RE.test(name)) {
    throw new InvalidArgumentError(`"${name}" includes invalid characters for a local volume name, only "${NAME_CHARS}" are allowed. If you intended to pass a host directory, use absolute path`);
  }
}

/** The local driver's options check, in Docker's words. */
export function checkVolumeOptions(opts: Record<string, string>): void {
  for (const k of Object.keys(opts)) if (!VALID_OPTS.includes(k)) throw new InvalidArgumentError(`invalid option: "${k}"`);
  // No quota support on this store: Docker says the same without a quota-capable backing fs.
  if (opts.size !== undefined) throw new InvalidArgumentError('quota size requested but no quota support');
  for (const [k, required] of Object.entries(MANDATORY_OPTS)) {
    if (!(k in opts)) continue;
    for (const r of required) if (!(r in opts)) throw new InvalidArgumentError(`missing required option: "${r}"`);
  }
}

/** A volume the store mounts on its `_data` at use (`-o type=... device=...`). */
export function hasMountOptions(v: VolumeRecord): boolean {
  return Boolean(v.options?.type || v.options?.device);
}


export class VolumeStore {
  readonly #root: string;
  readonly #log: Logger | undefined;
  readonly #volumes = new Map<string, VolumeRecord>();
  /** Users (container IDs) of each mounted options volume. */
  readonly #users = new Map<string, Set<string>>();
  /** One operation at a time per volume name: create, remove, acquire, release. */
  readonly #locks = new Map<string, Promise<unknown>>();

  /** Who owns a new volume's `_data`: the remapped root (userns-remap), else the host's root. */
  readonly #owner: Ids | undefined;

  constructor(root: string, logger?: Logger, owner?: Ids) {
    this.#root = root;
    this.#log = logger;
    this.#owner = owner;
  }

  /** Loads every record; a directory without one (a create that died) is removed. */
  async init(): Promise<void> {
    await mkdir(this.#root, { recursive: true, mode: 0o701 });
    for (const name of await readdir(this.#root)) {
      if (!NAME_RE.test(name)) continue;
      const dir = join(this.#root, name);
      let rec: VolumeRecord | undefined;
      try {
        rec = await readJsonIfExists<VolumeRecord>(join(dir, 'volume.json'));
      } catch (err) {
        this.#log?.warn('volume record unreadable; volume left out', { name, error: String(err) });
        continue;
      }
      if (rec) this.#volumes.set(name, rec);
      else await rm(dir, { recursive: true, force: true });
    }
  }

  #lock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.#locks.set(name, tail);
    void tail.then(() => {
      if (this.#locks.get(name) === tail) this.#locks.delete(name);
    });
    return next;
  }

  /** The content directory of a volume: Docker's Mountpoint. */
  mountpoint(name: string): string {
    return join(this.#root, name, '_data');
  }

  list(): VolumeRecord[] {
    return [...this.#volumes.values()];
  }

  get(name: string): VolumeRecord {
    const v = this.#volumes.get(name);
    if (!v) throw new NotFoundError(`get ${name}: no such volume`);
    return v;
  }

  has(name: string): boolean {
    return this.#volumes.has(name);
  }

  /**
   * Creates a volume, or answers the one of that name (Docker's create is idempotent for the
   * same driver). A new name without one is 64 random hex digits, as Docker's anonymous ones.
   */
  create(o: CreateVolumeOptions): Promise<VolumeRecord> {
    const name = o.name || randomBytes(32).toString('hex');
    const driver = o.driver || 'local';
    const fail = (err: unknown): never => {
      if (err instanceof InvalidArgumentError) throw new InvalidArgumentError(`create ${name}: ${err.message}`);
      throw err;
    };
    try {
      checkVolumeName(name);
      if (driver !== 'local') throw new NotFoundError(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
      checkVolumeOptions(o.options ?? {});
    } catch (err) {
      fail(err);
    }
    return this.#lock(name, async () => {
      const existing = this.#volumes.get(name);
      if (existing) return existing;
      const rec: VolumeRecord = { name, driver: 'local', createdAt: new Date().toISOString(), labels: o.labels ? { ...o.labels } : null, options: o.options ? { ...o.options } : null };
      const dir = join(this.#root, name);
      try {
        await mkdir(join(dir, '_data'), { recursive: true, mode: 0o755 });
        if (this.#owner) await chown(join(dir, '_data'), this.#owner.uid, this.#owner.gid);
        await writeJsonAtomic(join(dir, 'volume.json'), rec);
      } catch (err) {
        await rm(dir, { recursive: true, force: true }).catch(() => {});
        throw err;
      }
      this.#volumes.set(name, rec);
      return rec;
    });
  }

  /**
   * Deletes a volume and its content. `inUse` is the caller's check that no container refers to
   * it, run under the volume's lock (it throws to refuse); a volume still mounted (an options
   * volume in use) is refused here too.
   */
  remove(name: string, inUse?: () => void): Promise<void> {
    return this.#lock(name, async () => {
      if (!this.#volumes.has(name)) throw new NotFoundError(`get ${name}: no such volume`);
      inUse?.();
      if (this.#users.get(name)?.size) throw new ConflictError(`remove ${name}: volume is in use - [${[...this.#users.get(name)!].join(', ')}]`);
      const data = this.mountpoint(name);
      if (await isMountPoint(data)) await umountAsync(data, true);
      const dir = join(this.#root, name);
      // The record goes first: a crash after it leaves a directory that init() removes.
      await rm(join(dir, 'volume.json'), { force: true });
      this.#volumes.delete(name);
      await rm(dir, { recursive: true, force: true });
    });
  }

  /**
   * Makes the volume's content ready for one user and returns its host path: an options volume
   * is mounted on `_data` when it is the first user.
   */
  acquire(name: string, user: string): Promise<string> {
    return this.#lock(name, async () => {
      const v = this.get(name);
      const data = this.mountpoint(name);
      if (!hasMountOptions(v)) return data;
      const users = this.#users.get(name) ?? new Set<string>();
      if (users.size === 0 && !(await isMountPoint(data))) {
        const o = v.options ?? {};
        const args = ['-t', o.type || 'none'];
        if (o.o) args.push('-o', o.o);
        args.push(o.device || o.type || 'none', data);
        await runChecked('mount', args).catch((err) => {
          throw new InvalidArgumentError(`error while mounting volume '${data}': ${String((err as Error).message ?? err).trim()}`);
        });
      }
      users.add(user);
      this.#users.set(name, users);
      return data;
    });
  }

  /** The user is done with the volume; the last one unmounts an options volume. Idempotent. */
  release(name: string, user: string, stillUsed = false): Promise<void> {
    return this.#lock(name, async () => {
      const users = this.#users.get(name);
      users?.delete(user);
      if (users?.size || stillUsed) return;
      await this.#unmount(name);
    });
  }

  /**
   * Unmounts an options volume that no user of this daemon's life holds: after a restart, one
   * whose last container ended while no daemon was watching.
   */
  releaseIfUnused(name: string): Promise<void> {
    return this.#lock(name, async () => {
      if (!this.#users.get(name)?.size) await this.#unmount(name);
    });
  }

  async #unmount(name: string): Promise<void> {
    const v = this.#volumes.get(name);
    if (!v || !hasMountOptions(v)) return;
    this.#users.delete(name);
    const data = this.mountpoint(name);
    if (!(await isMountPoint(data))) return;
    try {
      // A device volume's unmount writes back what its users wrote: off the main thread.
      await umountAsync(data);
    } catch (err) {
      if (!isErrno(err, 'EINVAL')) await umountAsync(data, true);
    }
  }

  /** Bytes of content under the volume (files once per inode), as `system df -v` shows. */
  async size(name: string): Promise<number> {
    const seen = new Set<string>();
    let total = 0;
    const walk = async (dir: string, depth: number): Promise<void> => {
      if (depth > 256) return;
      let entries: string[];
      try {
        entries = await readdir(dir);
      } catch {
        return;
      }
      for (const e of entries) {
        const p = join(dir, e);
        const st = await lstat(p).catch(() => undefined);
        if (!st) continue;
        if (st.isDirectory()) await walk(p, depth + 1);
        else {
          const key = `${st.dev}:${st.ino}`;
          if (seen.has(key)) continue;
          seen.add(key);
          total += st.size;
        }
      }
    };
    await walk(this.mountpoint(name), 0);
    return total;
  }
}
