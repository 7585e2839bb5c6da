/**
 * The container service the API uses, assembled from its rooms:
 *
 *   store.ts      lookup, names, records and state files; `setStatus`, the one way a status changes
 *   state.ts      the record and state documents, the legal-moves table, Docker's status texts
 *   config.ts     what a container is created as (defaults, the image config merged in, signals)
 *   run.ts        the start sequence over the ports, each step with its undo, and its release
 *   links.ts      what a container gets from those it names: --link, --network container:<id>
 *   lifecycle.ts  create, start, stop, kill, pause, unpause, restart, rm, rename, update, wait, prune
 *   monitor.ts    exit watching and recording, the restart rule (pure) and its timer
 *   health.ts     healthcheck loops: checks as execs, Docker's status rules, State.Health
 *   recovery.ts   reconciling with the runtime at daemon start
 *   fsops.ts      cp (stat, archive, extract), export, diff, commit through the RootfsPort
 *   views.ts      inspect, list and its filters, top
 *   stats.ts      stats samples (cgroup and network counters) in dockerd's JSON
 *   streams.ts    attach, logs, resize
 *   ports.ts      what the service needs from the rest of the engine (runtime, rootfs, network,
 *                 volumes, images, events), declared here and wired in daemon.ts
 *
 * Locking. Each container has one lock (a KeyedMutex on its ID). It is taken by everything that
 * moves the container or its file system: start, stop, restart, pause, unpause, rm, rename,
 * recording an exit, a scheduled restart, reconciling at start-up, export, cp (stat, archive,
 * extract, held until the archive is written) and commit (the RootfsPort's calls for one
 * container must not overlap, and a pause in between would be undone by its resume). Not by:
 *   - kill: it must reach a process that a stop, holding the lock, waits on;
 *   - attach: one that waits for the next start is connected by that start, under its lock,
 *     and a session lasts as long as the container runs;
 *   - wait: it registers a listener synchronously, so a `run` that waits before it starts
 *     cannot miss the exit;
 *   - create: the container does not exist yet; its name is reserved synchronously;
 *   - the queries (inspect, list, top, stats, logs, diff, resize): they must not wait for a stop.
 */
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type {
  ContainerConfig,
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerInspect,
  ContainerPathStat,
  ContainerPruneResponse,
  ContainerSummary,
  ContainerStats,
  ContainerTopResponse,
  ContainerUpdateRequest,
  ContainerUpdateResponse,
  EndpointSettings,
  FilesystemChange,
} from '../../types/index.js';
import { ConflictError, type IdMapping, type Logger } from '../../util/index.js';
import type { LogEntry } from '../../runtime/index.js';
import { KeyedMutex } from '../mutex.js';
import type { AttachIO } from '../pump.js';
import type { ContainerContext } from './context.js';
import { FsOps, type CommitRequest } from './fsops.js';
import { HealthMonitor } from './health.js';
import { Lifecycle } from './lifecycle.js';
import { linkedHosts } from './links.js';
import { Monitor, timerSchedule, type Schedule } from './monitor.js';
import type { EventPort, ImagePort, NetworkPort, ProbePort, RootfsPort, RuntimePort, VolumePort } from './ports.js';
import { recover } from './recovery.js';
import { isActive, type ContainerRecord } from './state.js';
import { ContainerStore } from './store.js';
import { Streams, type AttachOptions, type LogsOptions } from './streams.js';
import { Views, type ListOptions } from './views.js';
import { Stats, type StatsOptions } from './stats.js';

export type { AttachIO, AttachOptions, LogsOptions, ListOptions, CommitRequest, ContainerRecord, StatsOptions };
export type * from './ports.js';
export { DEFAULT_LOG_DRIVER, LOG_DRIVERS, mergeImageConfig, signalNumber } from './config.js';
export { decideRestart, restartsAtDaemonStart, type RestartDecision, type RestartInput, type Schedule } from './monitor.js';
export { emptyEndpoints, summaryCommand } from './views.js';

export interface ContainerServiceOptions {
  /** The daemon's data root; containers live in `<dataRoot>/containers/<id>`. */
  dataRoot: string;
  runtimeFor: (name: string) => RuntimePort;
  defaultRuntime: string;
  images: ImagePort;
  rootfs: RootfsPort;
  network: NetworkPort;
  volumes: VolumePort;
  events: EventPort;
  logger: Logger;
  initPath: string;
  logOpts: Record<string, string>;
  /** Told of each container the moment it is removed (the exec service frees its records). */
  onRemoved?: (id: string) => void;
  /** Runs health checks (the exec service); without it a check fails with a message saying so. */
  probes?: ProbePort;
  /** How a restart waits for its back-off; tests fire restarts by hand. */
  schedule?: Schedule;
  /** The daemon's remapped root (userns-remap). */
  idmap?: IdMapping;
}

export class ContainerService {
  readonly #ctx: ContainerContext;
  readonly #monitor: Monitor;
  readonly #lifecycle: Lifecycle;
  readonly #fs: FsOps;
  readonly #views: Views;
  readonly #streams: Streams;
  readonly #stats: Stats;

  constructor(opts: ContainerServiceOptions) {
    const store = new ContainerStore(join(opts.dataRoot, 'containers'), opts.events);
    const ctx: ContainerContext = {
      store,
      mutex: new KeyedMutex(),
      runtimeOf: (c) => opts.runtimeFor(c.record.hostConfig.Runtime || opts.defaultRuntime),
      runtimeFor: opts.runtimeFor,
      defaultRuntime: opts.defaultRuntime,
      rootfs: opts.rootfs,
      volumes: opts.volumes,
      network: opts.network,
      images: opts.images,
      logger: opts.logger,
      initPath: opts.initPath,
      logOpts: opts.logOpts,
      health: new HealthMonitor(store, opts.probes, opts.logger),
      onRemoved: opts.onRemoved ?? (() => {}),
      idmap: opts.idmap,
    };
    this.#ctx = ctx;
    // The monitor restarts and auto-removes through the lifecycle, which watches through the monitor.
    const monitor: Monitor = new Monitor(
      ctx,
      { startLocked: (c): Promise<void> => lifecycle.startLocked(c), removeLocked: (c): Promise<void> => lifecycle.removeLocked(c) },
      opts.schedule ?? timerSchedule,
    );
    const lifecycle: Lifecycle = new Lifecycle(ctx, monitor);
    this.#monitor = monitor;
    this.#lifecycle = lifecycle;
    this.#fs = new FsOps(ctx);
    this.#views = new Views(ctx);
    this.#streams = new Streams(ctx, (ref) => lifecycle.wait(ref, 'next-exit'));
    this.#stats = new Stats(ctx);
  }

  /** Loads every container from disk and reconciles it with what the runtime says runs. */
  init(): Promise<void> {
    return recover(this.#ctx, this.#monitor, this.#lifecycle);
  }

  // ---------------------------------------------------------------- lookup

  /** The container's full ID; throws NotFoundError with Docker's text. */
  resolveId(ref: string): string {
    return this.#ctx.store.get(ref).record.id;
  }

  exists(ref: string): boolean {
    try {
      this.#ctx.store.get(ref);
      return true;
    } catch {
      return false;
    }
  }

  /** Containers created from an image, for image removal decisions. */
  containersUsing(imageId: string): { id: string; running: boolean }[] {
    return this.#ctx.store
      .all()
      .filter((c) => c.record.imageId === imageId)
      .map((c) => ({ id: c.record.id, running: isActive(c.state) }));
  }

  /** IDs of the containers whose mount plan refers to the volume, for volume removal decisions. */
  volumeUsers(name: string): string[] {
    return this.#ctx.store
      .all()
      .filter((c) => c.record.mounts?.some((m) => m.type === 'volume' && m.name === name))
      .map((c) => c.record.id);
  }

  counts(): { total: number; running: number; paused: number; stopped: number } {
    let running = 0;
    let paused = 0;
    const all = this.#ctx.store.all();
    for (const c of all) {
      if (c.state.status === 'running' || c.state.status === 'restarting') running++;
      else if (c.state.status === 'paused') paused++;
    }
    return { total: all.length, running, paused, stopped: all.length - running - paused };
  }

  isTty(ref: string): boolean {
    return this.#ctx.store.get(ref).record.config.Tty ?? false;
  }

  // ---------------------------------------------------------------- lifecycle

  create(req: ContainerCreateRequest, name?: string, step?: { id: string }): Promise<ContainerCreateResponse> {
    return this.#lifecycle.create(req, name, step);
  }
  start(ref: string): Promise<void> {
    return this.#lifecycle.start(ref);
  }
  stop(ref: string, opts: { signal?: string; timeout?: number } = {}): Promise<void> {
    return this.#lifecycle.stop(ref, opts);
  }
  kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    return this.#lifecycle.kill(ref, signal);
  }
  restart(ref: string, opts: { signal?: string; timeout?: number } = {}): Promise<void> {
    return this.#lifecycle.restart(ref, opts);
  }
  pause(ref: string): Promise<void> {
    return this.#lifecycle.pause(ref);
  }
  unpause(ref: string): Promise<void> {
    return this.#lifecycle.unpause(ref);
  }
  wait(ref: string, condition: 'not-running' | 'next-exit' | 'removed' = 'not-running'): Promise<number> {
    return this.#lifecycle.wait(ref, condition);
  }
  remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    return this.#lifecycle.remove(ref, opts);
  }
  /** `rm --link parent/alias`: the link goes, the containers stay. */
  removeLink(name: string): Promise<void> {
    return this.#lifecycle.removeLink(name);
  }
  rename(ref: string, newName: string): Promise<void> {
    return this.#lifecycle.rename(ref, newName);
  }
  update(ref: string, req: ContainerUpdateRequest): Promise<ContainerUpdateResponse> {
    return this.#lifecycle.update(ref, req);
  }
  prune(filters: Record<string, string[]>): Promise<ContainerPruneResponse> {
    return this.#lifecycle.prune(filters);
  }
  connectNetwork(ref: string, network: string, cfg: EndpointSettings | undefined): Promise<void> {
    return this.#lifecycle.connectNetwork(ref, network, cfg);
  }
  disconnectNetwork(ref: string, network: string, force = false): Promise<void> {
    return this.#lifecycle.disconnectNetwork(ref, network, force);
  }

  // ---------------------------------------------------------------- views and streams

  inspect(ref: string, opts: { size?: boolean } = {}): Promise<ContainerInspect> {
    return this.#views.inspect(ref, opts);
  }
  list(opts: ListOptions): Promise<ContainerSummary[]> {
    return this.#views.list(opts);
  }
  top(ref: string, psArgs = '-ef'): Promise<ContainerTopResponse> {
    return this.#views.top(ref, psArgs);
  }
  stats(ref: string, opts: StatsOptions): AsyncGenerator<ContainerStats> {
    return this.#stats.stats(ref, opts);
  }
  logs(ref: string, opts: LogsOptions): { tty: boolean; entries: AsyncIterable<LogEntry[]> } {
    return this.#streams.logs(ref, opts);
  }
  attach(ref: string, opts: AttachOptions, io: AttachIO): Promise<void> {
    return this.#streams.attach(ref, opts, io);
  }
  resize(ref: string, height: number, width: number): Promise<void> {
    return this.#streams.resize(ref, height, width);
  }

  // ---------------------------------------------------------------- file systems

  changes(ref: string): Promise<FilesystemChange[]> {
    return this.#fs.changes(ref);
  }
  export(ref: string): Promise<Readable> {
    return this.#fs.export(ref);
  }
  statPath(ref: string, path: string): Promise<ContainerPathStat> {
    return this.#fs.statPath(ref, path);
  }
  archivePath(ref: string, path: string): Promise<{ stat: ContainerPathStat; tar: Readable }> {
    return this.#fs.archivePath(ref, path);
  }
  extractToDir(ref: string, path: string, tar: Readable, opts: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }): Promise<void> {
    return this.#fs.extractToDir(ref, path, tar, opts);
  }
  commit(ref: string, opts: CommitRequest & { config?: ContainerConfig }): Promise<string> {
    return this.#fs.commit(ref, opts);
  }

  // ---------------------------------------------------------------- for exec and the daemon

  /** For exec: the runtime and record of a running container, or a Docker-worded conflict. */
  runningRuntime(ref: string): { id: string; runtime: RuntimePort; record: ContainerRecord } {
    const c = this.#ctx.store.get(ref);
    if (c.state.status === 'paused') throw new ConflictError(`Container ${ref} is paused, unpause the container before exec`);
    if (c.state.status !== 'running') throw new ConflictError(`Container ${c.record.id} is not running`);
    return { id: c.record.id, runtime: this.#ctx.runtimeOf(c), record: c.record };
  }

  /**
   * The legacy `--link` variables an exec gets, as its container's process got them (moby's
   * exec create computes them anew); none when a target went away or stopped meanwhile.
   */
  linkedEnv(ref: string): string[] {
    const c = this.#ctx.store.get(ref);
    const a = c.network ?? this.#ctx.network.current?.(c.record.id);
    if (!a || !c.record.links?.length) return [];
    try {
      return linkedHosts(this.#ctx, c, a).env;
    } catch {
      return [];
    }
  }

  /** Where a running container's file system is mounted (for exec's user lookup); mounts nothing. */
  rootfsOf(ref: string): string {
    return this.#ctx.rootfs.path(this.#ctx.store.get(ref).record.id);
  }

  /**
   * Publishes an event about the container (exec's). A container removed meanwhile is skipped:
   * an exec that outlived its container has nobody left to tell.
   */
  event(ref: string, action: string, attrs: Record<string, string> = {}): void {
    let c;
    try {
      c = this.#ctx.store.get(ref);
    } catch {
      return;
    }
    this.#ctx.store.publish(c, action, attrs);
  }

  /**
   * Daemon shutdown: finishes the removals under way (at most `limitMs`), then stops watching
   * processes; containers keep running under conmon.
   */
  async shutdown(limitMs: number): Promise<void> {
    await this.#lifecycle.settle(limitMs);
    this.detachAll();
  }

  /** Stops watching processes: containers keep running under conmon. */
  detachAll(): void {
    for (const c of this.#ctx.store.all()) {
      this.#monitor.detach(c);
      this.#ctx.health.detach(c);
    }
  }
}
