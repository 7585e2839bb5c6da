/**
 * Volumes and mounts: the volume API (create, inspect, list, remove, prune, export, import)
 * over the local store, and the container side of them behind the VolumePort: at create a
 * container's mount plan (its named and anonymous volumes made), at start the plan mounted
 * (options volumes mounted, new volumes filled from the image), at rm its anonymous volumes
 * removed. Which containers refer to a volume is the containers' records' to say (`users`).
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { chown, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { ContainerConfig, HostConfig, Volume, VolumeCreateRequest, VolumeListResponse, VolumePruneResponse, VolumeSummary } from '../types/index.js';
import { ConflictError, InvalidArgumentError, errorMessage, isErrno, packTree, rootPair, untar, type Ids, type IdMapping, type Logger, type Mount } from '../util/index.js';
import {
  ANONYMOUS_LABEL,
  VolumeStore,
  bindSourcesToCreate,
  containerMounts,
  copyUp,
  hasMountOptions,
  planMounts,
  plannedRuntimeMount,
  sortMounts,
  tmpfsMounts,
  type PlannedMount,
  type VolumeRecord,
} from '../volume/index.js';
import type { VolumePort } from './containers/ports.js';
import { checkFilterKeys, matchesFilters, parseLabelFilter, type Filters } from './filters.js';

/** The filters `docker volume prune` may send; Docker refuses others even when there is nothing to prune. */
const PRUNE_FILTERS = ['label', 'label!', 'all'];
const LIST_FILTERS = ['name', 'label', 'label!', 'driver', 'dangling'];

export interface VolumeServiceOptions {
  /** `<data root>/volumes`. */
  root: string;
  /** The daemon's remapped root (userns-remap): new volumes are its root's, and export and import speak the container's IDs. */
  idmap?: IdMapping;
  logger?: Logger;
  /** IDs of the containers whose plan refers to the volume, running or not. */
  users?: (name: string) => string[];
  onEvent?: (action: string, name: string, attrs: Record<string, string>) => void;
}

/**
 * Docker makes a missing `-v` source a directory; one that exists, a single file included
 * (`-v ./nginx.conf:/etc/nginx/nginx.conf`), is bound as it is. What it makes is the remapped
 * root's (userns-remap), as dockerd's MkdirAllAndChownNew does; what existed keeps its owner.
 */
async function ensureBindSource(path: string, owner: Ids | undefined): Promise<void> {
  try {
    await stat(path);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
    const first = await mkdir(path, { recursive: true });
    if (!owner || first === undefined) return;
    for (let d = path; ; d = dirname(d)) {
      await chown(d, owner.uid, owner.gid);
      if (d === first || d === dirname(d)) break;
    }
  }
}

export class VolumeService implements VolumePort {
  readonly #store: VolumeStore;
  readonly #o: VolumeServiceOptions;
  /** The options volumes each running container holds mounted. */
  readonly #held = new Map<string, string[]>();
  /**
   * The volumes of containers being created, by container: they count as in use from prepare
   * until the container's record holds them (endPrepare), so a prune or rm meanwhile leaves them.
   */
  readonly #pending = new Map<string, string[]>();

  constructor(o: VolumeServiceOptions) {
    this.#o = o;
    this.#store = new VolumeStore(o.root, o.logger, o.idmap && rootPair(o.idmap));
  }

  /** Wired after construction: the containers service is made after this one. */
  setUsers(users: (name: string) => string[]): void {
    this.#o.users = users;
  }

  init(): Promise<void> {
    return this.#store.init();
  }

  #users(name: string): string[] {
    const recorded = this.#o.users?.(name) ?? [];
    const pending = [...this.#pending].filter(([, names]) => names.includes(name)).map(([id]) => id);
    return pending.length ? [...new Set([...recorded, ...pending])] : recorded;
  }

  #view(v: VolumeRecord, usage?: { Size: number; RefCount: number }): Volume {
    const out: Volume = {
      CreatedAt: v.createdAt.replace(/\.\d+Z$/, 'Z'),
      Driver: v.driver,
      Labels: v.labels,
      Mountpoint: this.#store.mountpoint(v.name),
      Name: v.name,
      Options: v.options,
      Scope: 'local',
    };
    if (usage) out.UsageData = usage;
    return out;
  }

  // ---------------------------------------------------------------- the volume API

  async create(req: VolumeCreateRequest): Promise<Volume> {
    const existed = req.Name ? this.#store.has(req.Name) : false;
    const v = await this.#store.create({ name: req.Name, driver: req.Driver, labels: req.Labels, options: req.DriverOpts });
    if (!existed) this.#o.onEvent?.('create', v.name, { driver: v.driver });
    return this.#view(v);
  }

  inspect(name: string): Volume {
    return this.#view(this.#store.get(name));
  }

  list(filters: Filters = {}): VolumeListResponse {
    checkFilterKeys(filters, LIST_FILTERS);
    for (const d of filters.dangling ?? []) {
      if (!['true', 'false', '1', '0'].includes(d)) throw new InvalidArgumentError(`invalid filter 'dangling=${d}'`);
    }
    const vols = this.#store.list().filter((v) =>
      matchesFilters(filters, {
        name: (s) => v.name.includes(s),
        driver: (s) => v.driver === s,
        label: (s) => parseLabelFilter(s)(v.labels ?? {}),
        'label!': (s) => !parseLabelFilter(s)(v.labels ?? {}),
        dangling: (s) => (s === 'true' || s === '1') === (this.#users(v.name).length === 0),
      }),
    );
    return { Volumes: vols.map((v) => this.#view(v)), Warnings: null };
  }

  /** DELETE /volumes/{name}: refused while a container refers to it; `force` only hides "no such volume". */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    if (!this.#store.has(name)) {
      if (opts.force) return;
      this.#store.get(name);
    }
    // Checked under the volume's lock: a create that takes the volume waits for it, or comes first.
    await this.#store.remove(name, () => {
      const users = this.#users(name);
      if (users.length) throw new ConflictError(`remove ${name}: volume is in use - [${users.join(', ')}]`);
    });
    this.#o.onEvent?.('destroy', name, { driver: 'local' });
  }

  /**
   * POST /volumes/prune: unused anonymous volumes, or every unused one with `all=true` (API 1.42+).
   */
  async prune(filters: Filters = {}): Promise<VolumePruneResponse> {
    checkFilterKeys(filters, PRUNE_FILTERS);
    const all = (filters.all ?? []).some((v) => v === 'true' || v === '1');
    const rest = { ...filters };
    delete rest.all;
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const v of this.#store.list()) {
      if (!all && !(ANONYMOUS_LABEL in (v.labels ?? {}))) continue;
      const ok = matchesFilters(rest, {
        label: (s) => parseLabelFilter(s)(v.labels ?? {}),
        'label!': (s) => !parseLabelFilter(s)(v.labels ?? {}),
      });
      if (!ok || this.#users(v.name).length) continue;
      const size = await this.#store.size(v.name);
      try {
        await this.remove(v.name);
      } catch (err) {
        // Taken meanwhile by a container being created: no longer unused.
        if (err instanceof ConflictError) continue;
        this.#o.logger?.warn('prune: could not remove volume', { name: v.name, error: errorMessage(err) });
        continue;
      }
      deleted.push(v.name);
      reclaimed += size;
    }
    return { VolumesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  /** The volumes part of `system df`: each with its size and how many containers refer to it. */
  async usage(): Promise<VolumeSummary[]> {
    const out: VolumeSummary[] = [];
    for (const v of this.#store.list()) {
      out.push(this.#view(v, { Size: await this.#store.size(v.name), RefCount: this.#users(v.name).length }));
    }
    return out;
  }

  /**
   * wharf's `volume export`: the volume's content as a tar stream, names relative to its root
   * (`./db/t`). GNU tar reads the tree (several times faster than packing it in Node); it only
   * reads, so a link in the volume can lead it nowhere it could write. A remapped root's volume is
   * packed here instead, with the container's IDs (GNU tar would write the host's) and, as GNU
   * tar, every extended attribute.
   */
  async export(name: string): Promise<Readable> {
    this.#store.get(name);
    const user = `export:${process.hrtime.bigint()}`;
    const data = await this.#store.acquire(name, user);
    if (this.#o.idmap) {
      const packed = packTree(data, { idmap: this.#o.idmap, xattrs: 'all' }) as unknown as Readable;
      packed.once('close', () => void this.#store.release(name, user, this.#users(name).length > 0).catch(() => {}));
      return packed;
    }
    const tar = spawn('tar', ['--create', '--file=-', '--numeric-owner', '--xattrs', `--directory=${data}`, '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    tar.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4096)));
    tar.once('close', (code) => {
      if (code) this.#o.logger?.warn('volume export: tar failed', { name, code, stderr: stderr.trim() });
      void this.#store.release(name, user, this.#users(name).length > 0).catch(() => {});
    });
    // A client that goes away stops the tar.
    tar.stdout.once('close', () => tar.kill());
    return tar.stdout;
  }

  /**
   * wharf's `volume import`: a tar stream extracted into the volume (created when missing), with
   * the owners it records, never writing outside it. Into an empty volume, GNU tar extracts
   * into a fresh directory beside `_data` (it refuses `..` and absolute names, and defers
   * symlinks that point up or out until the end, so no entry goes through one) which then
   * takes `_data`'s place; into a volume with content, the safe extractor of util merges it.
   */
  async import(name: string, tar: Readable): Promise<void> {
    if (!this.#store.has(name)) await this.create({ Name: name });
    const user = `import:${process.hrtime.bigint()}`;
    const data = await this.#store.acquire(name, user);
    try {
      const v = this.#store.get(name);
      const plain = !hasMountOptions(v);
      // GNU tar would keep the archive's IDs as the host's: a remapped root's import shifts them.
      if (plain && !this.#o.idmap && (await readdir(data)).length === 0) await this.#importFresh(name, data, tar);
      else await untar(tar, { view: { root: data }, owner: 'header', idmap: this.#o.idmap, label: `volume ${name}` });
    } finally {
      await this.#store.release(name, user, this.#users(name).length > 0);
    }
  }

  async #importFresh(name: string, data: string, input: Readable): Promise<void> {
    const fresh = join(dirname(data), `.import-${process.hrtime.bigint()}`);
    await mkdir(fresh, { mode: 0o755 });
    try {
      const tar = spawn('tar', ['--extract', '--file=-', '--same-owner', '--preserve-permissions', '--xattrs', '--xattrs-include=*', '--no-overwrite-dir', `--directory=${fresh}`], { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      tar.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4096)));
      const closed = new Promise<number | null>((resolve) => tar.once('close', resolve));
      await pipeline(input, tar.stdin).catch(() => {});
      const code = await closed;
      if (code !== 0) throw new InvalidArgumentError(`volume ${name}: the archive could not be extracted: ${stderr.trim() || `tar exited with ${code}`}`);
      // The tree takes _data's place: a reader sees the old (empty) volume or the whole new one.
      const old = `${fresh}.old`;
      await rename(data, old);
      await rename(fresh, data);
      await rm(old, { recursive: true, force: true });
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  }

  // ---------------------------------------------------------------- containers

  /**
   * The mount plan of a container being created: its `-v`, `--mount`, anonymous and
   * `--volumes-from` mounts, every volume it names created now (anonymous ones with a new name
   * and Docker's anonymous label), as Docker does at create.
   */
  async prepare(containerId: string, hostConfig: HostConfig, config: ContainerConfig, from: { mounts: PlannedMount[]; mode: '' | 'ro' | 'rw' }[] = []): Promise<PlannedMount[]> {
    const plan = planMounts(hostConfig, config, from);
    const volumes = plan.filter((m) => m.type === 'volume');
    // Named before any await and held as in use until endPrepare: an anonymous volume gets its
    // name here, so that no prune can take it between its creation and the container's record.
    for (const m of volumes) if (!m.name) m.name = randomBytes(32).toString('hex');
    this.#pending.set(containerId, volumes.map((m) => m.name!));
    const made: string[] = [];
    try {
      for (const m of volumes) {
        // Through the volume's lock even when it exists: a removal under way ends first, and the
        // volume is then made again.
        const existed = this.#store.has(m.name!);
        const labels = { ...(m.labels ?? {}), ...(m.anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) };
        const v = await this.create({ Name: m.name, Labels: Object.keys(labels).length ? labels : null, DriverOpts: m.driverOptions });
        if (m.anonymous && !existed) made.push(v.Name);
        m.name = v.Name;
        m.source = v.Mountpoint;
        delete m.labels;
        delete m.driverOptions;
      }
    } catch (err) {
      this.#pending.delete(containerId);
      for (const n of made) await this.#store.remove(n).catch(() => {});
      throw err;
    }
    return plan;
  }

  /** The container's record now holds its volumes (or its create failed): they are no longer pending. */
  endPrepare(containerId: string): void {
    this.#pending.delete(containerId);
  }

  /**
   * The container's mounts for the runtime. With a plan: each volume ready (mounted if it has
   * options, filled from the image when new and empty), each `-v` source created when missing.
   */
  async setup(containerId: string, hostConfig: HostConfig, _config: ContainerConfig, ctx?: { rootfs?: string; plan?: PlannedMount[] }): Promise<Mount[]> {
    const plan = ctx?.plan;
    if (!plan) {
      // A container recorded before mount plans: binds and tmpfs only.
      for (const source of bindSourcesToCreate(hostConfig)) await ensureBindSource(source, this.#o.idmap && rootPair(this.#o.idmap));
      return containerMounts(hostConfig);
    }
    const mounts: Mount[] = [...tmpfsMounts(hostConfig)];
    const held: string[] = [];
    this.#held.set(containerId, held);
    try {
      for (const m of plan) {
        if (m.type === 'bind') {
          if (m.createSource) await ensureBindSource(m.source, this.#o.idmap && rootPair(this.#o.idmap));
          mounts.push(plannedRuntimeMount(m, m.source));
          continue;
        }
        const name = m.name!;
        const data = await this.#store.acquire(name, containerId);
        held.push(name);
        if (m.copyData && ctx?.rootfs) await copyUp(ctx.rootfs, m.destination, data);
        mounts.push(plannedRuntimeMount(m, data));
      }
    } catch (err) {
      await this.release(containerId);
      throw err;
    }
    return sortMounts(mounts);
  }

  /**
   * A container found running at daemon start holds its volumes again, as its setup had them
   * before the restart: without this, the next user's release would unmount an options volume
   * under it, and the user after that would get a new, empty tmpfs. The mounts outlived the
   * daemon, so none is made here (acquire mounts only what is not mounted).
   */
  async adopt(containerId: string, plan: PlannedMount[]): Promise<void> {
    const held: string[] = [];
    this.#held.set(containerId, held);
    for (const m of plan) {
      if (m.type === 'bind' || !m.name) continue;
      // A volume that cannot be had again must not keep the running container from its monitor.
      try {
        await this.#store.acquire(m.name, containerId);
        held.push(m.name);
      } catch (err) {
        this.#o.logger?.warn('a running container could not hold its volume again', { id: containerId, name: m.name, error: errorMessage(err) });
      }
    }
  }

  /**
   * After recovery: an options volume still mounted from before the restart that no container
   * holds now (its container ended while the daemon was down) is unmounted.
   */
  async releaseUnheld(): Promise<void> {
    const held = new Set([...this.#held.values()].flat());
    for (const v of this.#store.list()) {
      if (held.has(v.name)) continue;
      await this.#store.releaseIfUnused(v.name).catch((err) => this.#o.logger?.warn('unmounting an unused volume failed', { name: v.name, error: errorMessage(err) }));
    }
  }

  async release(containerId: string): Promise<void> {
    const held = this.#held.get(containerId);
    this.#held.delete(containerId);
    for (const name of held ?? []) {
      const stillUsed = [...this.#held.values()].some((h) => h.includes(name));
      await this.#store.release(name, containerId, stillUsed);
    }
  }

  /**
   * `rm -v` and `--rm`: the anonymous volumes the container made for itself, unless another
   * container (through `--volumes-from`) still refers to one. Call after the container is gone.
   */
  async removeAnonymous(containerId: string, plan: PlannedMount[]): Promise<void> {
    this.#pending.delete(containerId);
    for (const m of plan) {
      if (m.type !== 'volume' || !m.anonymous || !m.name) continue;
      if (this.#users(m.name).some((u) => u !== containerId)) continue;
      await this.remove(m.name, { force: true }).catch((err) => this.#o.logger?.warn('removing an anonymous volume failed', { name: m.name, error: errorMessage(err) }));
    }
  }
}
