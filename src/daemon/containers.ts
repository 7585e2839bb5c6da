import { access, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { constants as osConstants, hostname as osHostname } from 'node:os';
import type { Readable } from 'node:stream';
import type {
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerInspect,
  ContainerSummary,
  ContainerTopResponse,
  ContainerPruneResponse,
  FilesystemChange,
  ContainerConfig,
  ContainerStateStatus,
  ContainerPathStat,
  Port,
} from '../types/index.js';
import {
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  NotModifiedError,
  CommandInvokeError,
  errorMessage,
  newId,
  randomName,
  validateContainerName,
  run,
  orTimeout,
  resolveInView,
  type Logger,
  type RootView,
} from '../util/index.js';
import { readLogs, type Runtime, type LogEntry, type AttachSession } from '../runtime/index.js';
import type { ImageService, ImageRecord } from './images.js';
import type { EventBus } from './events.js';
import type { RootfsPort } from './containers/ports.js';
import {
  ContainerFiles,
  inspectState,
  newState,
  statusText,
  transition,
  type ContainerRecord,
  type ContainerRuntimeState,
} from './container.js';
import { KeyedMutex } from './mutex.js';
import { resolveUser } from './user.js';
import { writeHostFiles } from './hostfiles.js';
import { DEFAULT_SHM_SIZE, bindMounts, containerHostname, containerSpec, mountPoints, parseBind, validateHostConfig } from './spec.js';
import { archiveIn, extractIn, extractPoint, statIn } from './archive.js';
import { DetachScanner, parseDetachKeys, DEFAULT_DETACH_KEYS } from './detachkeys.js';
import { checkFilterKeys, matchesFilters, parseFilterTime, parseLabelFilter } from './filters.js';
import { pump, type AttachIO } from './pump.js';

export type { AttachIO };

export interface ExitStatus {
  exitCode: number;
  finishedAt: Date;
  oomKilled: boolean;
}

/** One start of a container: the exit it will have, and whether that exit was already recorded. */
interface RunHandle {
  exited: Promise<ExitStatus>;
  abort: AbortController;
  handled: boolean;
  startedAtMs: number;
}

interface Container {
  record: ContainerRecord;
  state: ContainerRuntimeState;
  files: ContainerFiles;
  run?: RunHandle;
  restartTimer?: NodeJS.Timeout;
  restartDelayMs: number;
  exitWaiters: ((code: number) => void)[];
  removeWaiters: ((code: number) => void)[];
  /** Attach requests waiting for the next start: called after the runtime created the process, before it runs. */
  startListeners: Set<(ok: boolean) => Promise<void>>;
}

export interface ContainerServiceOptions {
  dataRoot: string;
  runtimeFor: (name: string) => Runtime;
  defaultRuntime: string;
  images: ImageService;
  rootfs: RootfsPort;
  events: EventBus;
  logger: Logger;
  initPath: string;
  logOpts: Record<string, string>;
}

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  logs: boolean;
  stream: boolean;
  detachKeys?: string;
}

export interface LogsOptions {
  follow: boolean;
  stdout: boolean;
  stderr: boolean;
  since?: Date;
  until?: Date;
  tail: number;
  signal?: AbortSignal;
}

const MIN_RESTART_DELAY_MS = 100;
const MAX_RESTART_DELAY_MS = 60_000;
/** A container that ran this long is considered healthy again and its back-off restarts at the minimum. */
const RESTART_RESET_MS = 10_000;

/** Log driver names accepted; all write the same conmon log, which `logs` reads. */
export const LOG_DRIVERS = ['json-file', 'local', 'k8s-file'];
export const DEFAULT_LOG_DRIVER = 'json-file';

export class ContainerService {
  readonly #opts: ContainerServiceOptions;
  readonly #root: string;
  readonly #byId = new Map<string, Container>();
  readonly #byName = new Map<string, string>();
  readonly #mutex = new KeyedMutex();

  constructor(opts: ContainerServiceOptions) {
    this.#opts = opts;
    this.#root = join(opts.dataRoot, 'containers');
  }

  // ---------------------------------------------------------------- lookup

  /** Find a container by full ID, name or unique ID prefix, as Docker does. */
  #get(ref: string): Container {
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    const byId = this.#byId.get(ref);
    if (byId) return byId;
    const id = this.#byName.get(name);
    if (id) return this.#byId.get(id)!;
    if (/^[a-f0-9]+$/.test(ref) && ref.length > 0) {
      const matches = [...this.#byId.keys()].filter((k) => k.startsWith(ref));
      if (matches.length === 1) return this.#byId.get(matches[0])!;
      if (matches.length > 1) throw new InvalidArgumentError(`Multiple IDs found with provided prefix: ${ref}`);
    }
    throw new NotFoundError(`No such container: ${ref}`);
  }

  /** The container's full ID; throws NotFoundError with Docker's text. */
  resolveId(ref: string): string {
    return this.#get(ref).record.id;
  }

  exists(ref: string): boolean {
    try {
      this.#get(ref);
      return true;
    } catch {
      return false;
    }
  }

  /** Containers created from an image, for image removal decisions. */
  containersUsing(imageId: string): { id: string; running: boolean }[] {
    const out: { id: string; running: boolean }[] = [];
    for (const c of this.#byId.values()) {
      if (c.record.imageId === imageId) out.push({ id: c.record.id, running: isActive(c.state) });
    }
    return out;
  }

  counts(): { total: number; running: number; paused: number; stopped: number } {
    let running = 0;
    let paused = 0;
    for (const c of this.#byId.values()) {
      if (c.state.status === 'running' || c.state.status === 'restarting') running++;
      else if (c.state.status === 'paused') paused++;
    }
    return { total: this.#byId.size, running, paused, stopped: this.#byId.size - running - paused };
  }

  isTty(ref: string): boolean {
    return this.#get(ref).record.config.Tty ?? false;
  }

  // ---------------------------------------------------------------- start-up

  /** Load every container from disk and reconcile with what the runtime says is really running. */
  async init(): Promise<void> {
    await mkdir(this.#root, { recursive: true });
    const ids = await readdir(this.#root);
    // Everything with a directory here keeps its file system, even a record we could not read.
    const kept = new Set(ids);
    const loaded: Container[] = [];
    for (const id of ids) {
      const files = ContainerFiles.at(this.#root, id);
      let doc;
      try {
        doc = await files.load();
      } catch (err) {
        this.#opts.logger.warn('skipping unreadable container', { id, error: errorMessage(err) });
        continue;
      }
      if (!doc) {
        // A create that died before writing its record: nothing references it.
        await rm(files.dir, { recursive: true, force: true });
        kept.delete(id);
        continue;
      }
      const c = this.#newContainer(doc.record, doc.state, files);
      this.#byId.set(id, c);
      this.#byName.set(doc.record.name, id);
      loaded.push(c);
    }
    await this.#opts.rootfs.removeOrphans((id) => kept.has(id));
    await Promise.all(loaded.map((c) => this.#reconcile(c)));
  }

  #newContainer(record: ContainerRecord, state: ContainerRuntimeState, files: ContainerFiles): Container {
    return {
      record,
      state,
      files,
      restartDelayMs: MIN_RESTART_DELAY_MS,
      exitWaiters: [],
      removeWaiters: [],
      startListeners: new Set(),
    };
  }

  async #reconcile(c: Container): Promise<void> {
    const id = c.record.id;
    const rt = this.#runtime(c);
    await this.#mutex.run(id, async () => {
      const status = c.state.status;
      if (status === 'running' || status === 'paused' || status === 'restarting') {
        const st = await rt.state(id).catch(() => undefined);
        if (st && (st.status === 'running' || st.status === 'paused')) {
          c.state.status = st.status;
          c.state.pid = st.pid;
          await c.files.saveState(c.state);
          this.#watch(c, Date.parse(c.state.startedAt));
          return;
        }
        const ex = (await rt.exitStatus(id).catch(() => undefined)) ?? {
          exitCode: 255,
          finishedAt: new Date(),
          oomKilled: false,
        };
        const handle: RunHandle = {
          exited: Promise.resolve(ex),
          abort: new AbortController(),
          handled: false,
          startedAtMs: Date.parse(c.state.startedAt),
        };
        c.run = handle;
        await this.#finishRun(c, handle, ex, { daemonStart: true });
        return;
      }
      if (status === 'removing') {
        await this.#removeLocked(c);
        return;
      }
      // Docker restarts `always` containers when the daemon starts, even after a manual stop;
      // `unless-stopped` only when nobody stopped them.
      const policy = c.record.hostConfig.RestartPolicy?.Name;
      if (status === 'exited' && c.state.hasBeenStarted && (policy === 'always' || (policy === 'unless-stopped' && !c.state.manuallyStopped))) {
        await this.#startLocked(c).catch((err) => this.#opts.logger.warn('restart at start-up failed', { id, error: errorMessage(err) }));
      }
    });
  }

  // ---------------------------------------------------------------- create

  async create(req: ContainerCreateRequest, name?: string): Promise<ContainerCreateResponse> {
    if (!req.Image) throw new InvalidArgumentError('No image was specified');
    // Checked now, as Docker does: a bad signal found only at `stop` would leave a container that cannot be stopped gracefully.
    if (req.StopSignal) signalNumber(req.StopSignal);
    // runc refuses a relative cwd only at start, which would leave a container that can never run.
    if (req.WorkingDir && !req.WorkingDir.startsWith('/')) {
      throw new InvalidArgumentError(`the working directory '${req.WorkingDir}' is invalid, it needs to be an absolute path`);
    }
    const image = this.#opts.images.get(req.Image);
    const hostConfig = { ...(req.HostConfig ?? {}) };
    await validateHostConfig(hostConfig);
    const runtimeName = hostConfig.Runtime || this.#opts.defaultRuntime;
    this.#opts.runtimeFor(runtimeName);
    hostConfig.Runtime = runtimeName;
    hostConfig.NetworkMode = hostConfig.NetworkMode && hostConfig.NetworkMode !== 'default' ? hostConfig.NetworkMode : 'bridge';
    // Docker stores "no limit" as null, whichever of 0 or -1 the client sent, and inspect shows it so.
    if (hostConfig.PidsLimit != null && hostConfig.PidsLimit <= 0) hostConfig.PidsLimit = null;
    if (hostConfig.MemorySwappiness === -1) hostConfig.MemorySwappiness = null;
    // The defaults the runtime applies, recorded as Docker records them so inspect tells the truth.
    hostConfig.IpcMode ||= 'private';
    hostConfig.ShmSize ||= DEFAULT_SHM_SIZE;
    hostConfig.RestartPolicy = { Name: hostConfig.RestartPolicy?.Name || 'no', MaximumRetryCount: hostConfig.RestartPolicy?.MaximumRetryCount ?? 0 };
    // Every driver name Docker scripts use is served by conmon's log file. The default is named
    // json-file as Docker's is: tools such as docker-compose read logs only from drivers they know.
    hostConfig.LogConfig = { Type: hostConfig.LogConfig?.Type || DEFAULT_LOG_DRIVER, Config: hostConfig.LogConfig?.Config ?? {} };
    if (!LOG_DRIVERS.includes(hostConfig.LogConfig.Type!)) {
      throw new InvalidArgumentError(`logger: no log driver named '${hostConfig.LogConfig.Type}' is registered`);
    }

    const cname = name ? validateContainerName(name) : this.#uniqueName();
    const taken = this.#byName.get(cname);
    if (taken) {
      throw new ConflictError(
        `Conflict. The container name "/${cname}" is already in use by container "${taken}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }

    const config = mergeImageConfig(req, image);
    const entrypoint = config.Entrypoint ?? [];
    const cmd = config.Cmd ?? [];
    const argv = [...entrypoint, ...cmd];
    if (argv.length === 0) throw new InvalidArgumentError('No command specified');

    const id = newId();
    // Docker records the default hostname at create, so inspect shows what the process will see.
    if (!config.Hostname) config.Hostname = hostConfig.NetworkMode === 'host' ? osHostname() : id.slice(0, 12);
    const files = ContainerFiles.at(this.#root, id);
    const record: ContainerRecord = {
      id,
      name: cname,
      created: new Date().toISOString(),
      image: req.Image,
      imageId: image.id,
      path: argv[0],
      args: argv.slice(1),
      config,
      hostConfig,
      networkingConfig: req.NetworkingConfig ?? {},
      logPath: files.logPath,
      driver: 'overlay2',
    };
    // Reserve the name before the first await so two concurrent creates cannot both take it.
    this.#byName.set(cname, id);
    try {
      await mkdir(files.dir, { recursive: true, mode: 0o710 });
      await this.#opts.rootfs.create(id, image.id);
      const state = newState();
      // Either order survives a crash: load() treats a record without a state as just created.
      await Promise.all([files.saveState(state), files.saveRecord(record)]);
      this.#byId.set(id, this.#newContainer(record, state, files));
    } catch (err) {
      this.#byName.delete(cname);
      await this.#opts.rootfs.remove(id).catch(() => {});
      await rm(files.dir, { recursive: true, force: true });
      throw err;
    }
    this.#event('create', this.#byId.get(id)!);
    return { Id: id, Warnings: [] };
  }

  #uniqueName(): string {
    for (let i = 0; i < 100; i++) {
      const n = randomName();
      if (!this.#byName.has(n)) return n;
    }
    return `${randomName()}_${newId().slice(0, 6)}`;
  }

  // ---------------------------------------------------------------- start / stop

  async start(ref: string): Promise<void> {
    const c = this.#get(ref);
    await this.#mutex.run(c.record.id, async () => {
      const s = c.state.status;
      if (s === 'running' || s === 'paused') throw new NotModifiedError('container already started');
      if (s === 'removing' || s === 'dead') throw new ConflictError(`Container ${c.record.id} is marked for removal and cannot be started.`);
      if (c.restartTimer) {
        clearTimeout(c.restartTimer);
        c.restartTimer = undefined;
      }
      try {
        await this.#startLocked(c);
      } catch (err) {
        // `run --rm` waits for the removal even when the start failed (as with dockerd).
        if (c.record.hostConfig.AutoRemove) await this.#removeLocked(c).catch(() => {});
        throw err;
      }
    });
  }

  async #startLocked(c: Container): Promise<void> {
    const { record } = c;
    const id = record.id;
    const rt = this.#runtime(c);
    let created = false;
    let pid = 0;
    try {
      const rootfs = await this.#opts.rootfs.mount(id);
      const user = await resolveUser(rootfs, record.config.User ?? '', record.hostConfig.GroupAdd ?? []);
      await this.#prepareBindSources(record);
      const files = { hosts: c.files.hostsPath, hostname: c.files.hostnamePath, resolvConf: c.files.resolvConfPath };
      await writeHostFiles(files, {
        hostname: containerHostname(record),
        domainname: record.config.Domainname,
        networkMode: record.hostConfig.NetworkMode ?? 'bridge',
        extraHosts: record.hostConfig.ExtraHosts ?? [],
        dns: record.hostConfig.Dns ?? [],
        dnsSearch: record.hostConfig.DnsSearch ?? [],
        dnsOptions: record.hostConfig.DnsOptions ?? [],
      });
      const spec = containerSpec({ record, rootfs, user, files, initPath: this.#opts.initPath });
      const logCfg = { ...this.#opts.logOpts, ...(record.hostConfig.LogConfig?.Config ?? {}) };
      ({ pid } = await rt.create(spec, {
        logPath: record.logPath,
        logMaxSize: parseSize(logCfg['max-size']),
        logMaxFiles: logCfg['max-file'] ? Number(logCfg['max-file']) : undefined,
      }));
      created = true;
      await this.#notifyStartListeners(c, true);
      await rt.start(id);
    } catch (err) {
      if (created) await rt.delete(id, { force: true }).catch(() => {});
      await this.#opts.rootfs.unmount(id).catch(() => {});
      await this.#notifyStartListeners(c, false);
      c.state.exitCode = err instanceof CommandInvokeError ? err.exitCode : 128;
      c.state.error = errorMessage(err);
      await c.files.saveState(c.state);
      throw err;
    }
    transition(id, c.state.status, 'running');
    c.state.status = 'running';
    c.state.pid = pid;
    c.state.startedAt = new Date().toISOString();
    c.state.exitCode = 0;
    c.state.error = '';
    c.state.oomKilled = false;
    c.state.hasBeenStarted = true;
    c.state.manuallyStopped = false;
    await c.files.saveState(c.state);
    this.#watch(c, Date.now());
    this.#event('start', c);
  }

  async #prepareBindSources(r: ContainerRecord): Promise<void> {
    // Docker creates a missing source directory for `-v /path:/dst`, never for `--mount`.
    for (const b of r.hostConfig.Binds ?? []) {
      const p = parseBind(b);
      await mkdir(p.source, { recursive: true });
    }
  }

  async #notifyStartListeners(c: Container, ok: boolean): Promise<void> {
    const listeners = [...c.startListeners];
    c.startListeners.clear();
    await Promise.all(listeners.map((fn) => fn(ok).catch(() => {})));
  }

  /** Follow the running process until it exits, then record the exit. */
  #watch(c: Container, startedAtMs: number): void {
    const abort = new AbortController();
    const handle: RunHandle = {
      exited: this.#runtime(c).waitExit(c.record.id, abort.signal),
      abort,
      handled: false,
      startedAtMs,
    };
    c.run = handle;
    handle.exited.then(
      (st) => this.#mutex.run(c.record.id, () => this.#finishRun(c, handle, st, {})),
      (err) => {
        if (!abort.signal.aborted) this.#opts.logger.error('lost track of container', { id: c.record.id, error: errorMessage(err) });
      },
    );
  }

  /**
   * Record an exit exactly once per run (the monitor and stop/kill both may get there); call under
   * the lock. Waiters hear of the exit before the runtime's leftovers are cleaned up, and the state
   * file says "exited" only after, so a daemon that dies in between cleans up on its next start.
   */
  async #finishRun(c: Container, handle: RunHandle, st: ExitStatus, how: { daemonStart?: boolean }): Promise<void> {
    if (handle.handled) return;
    handle.handled = true;
    if (c.run === handle) c.run = undefined;
    const id = c.record.id;
    if (c.state.status !== 'exited') transition(id, c.state.status, 'exited');
    c.state.status = 'exited';
    c.state.pid = 0;
    c.state.exitCode = st.exitCode;
    c.state.finishedAt = st.finishedAt.toISOString();
    c.state.oomKilled = st.oomKilled;
    if (st.oomKilled) this.#event('oom', c);
    this.#event('die', c, { exitCode: String(st.exitCode) });
    for (const w of c.exitWaiters.splice(0)) w(st.exitCode);

    if (c.record.hostConfig.AutoRemove) {
      await this.#removeLocked(c);
      return;
    }
    await this.#releaseRun(c);
    await c.files.saveState(c.state);
    const ranMs = st.finishedAt.getTime() - handle.startedAtMs;
    if (this.#shouldRestart(c, how.daemonStart ?? false)) this.#scheduleRestart(c, ranMs);
  }

  /**
   * Removes what the runtime keeps of a run that ended, then unmounts the file system: in that
   * order, because `delete --force` kills stragglers (with --pid=host) that would keep it busy.
   */
  async #releaseRun(c: Container): Promise<void> {
    const id = c.record.id;
    await this.#deleteFromRuntime(c);
    await this.#opts.rootfs.unmount(id).catch((err) => this.#opts.logger.warn('unmount failed', { id, error: errorMessage(err) }));
  }

  async #deleteFromRuntime(c: Container): Promise<void> {
    const id = c.record.id;
    await this.#runtime(c)
      .delete(id, { force: true })
      .catch((err) => this.#opts.logger.warn('runtime delete failed', { id, error: errorMessage(err) }));
  }

  #shouldRestart(c: Container, daemonStart: boolean): boolean {
    const p = c.record.hostConfig.RestartPolicy;
    switch (p?.Name) {
      case 'always':
        return daemonStart || !c.state.manuallyStopped;
      case 'unless-stopped':
        return !c.state.manuallyStopped;
      case 'on-failure': {
        const max = p.MaximumRetryCount ?? 0;
        return !c.state.manuallyStopped && c.state.exitCode !== 0 && (max === 0 || c.state.restartCount < max);
      }
      default:
        return false;
    }
  }

  /** Docker's back-off: 100ms doubling up to a minute, back to 100ms after a run of 10s or more. */
  #scheduleRestart(c: Container, ranMs: number): void {
    c.restartDelayMs = ranMs >= RESTART_RESET_MS ? MIN_RESTART_DELAY_MS : Math.min(c.restartDelayMs * 2, MAX_RESTART_DELAY_MS);
    const delay = ranMs >= RESTART_RESET_MS ? MIN_RESTART_DELAY_MS : c.restartDelayMs;
    c.state.status = 'restarting';
    void c.files.saveState(c.state);
    c.restartTimer = setTimeout(() => {
      c.restartTimer = undefined;
      void this.#mutex.run(c.record.id, async () => {
        if (c.state.status !== 'restarting') return;
        c.state.restartCount++;
        try {
          await this.#startLocked(c);
        } catch (err) {
          this.#opts.logger.warn('restart failed', { id: c.record.id, error: errorMessage(err) });
          c.state.status = 'exited';
          await c.files.saveState(c.state);
          if (this.#shouldRestart(c, false)) this.#scheduleRestart(c, 0);
        }
      });
    }, delay);
    c.restartTimer.unref();
  }

  async stop(ref: string, opts: { signal?: string; timeout?: number } = {}): Promise<void> {
    const c = this.#get(ref);
    await this.#mutex.run(c.record.id, async () => {
      if (c.state.status === 'restarting') {
        this.#cancelRestart(c);
        c.state.manuallyStopped = true;
        await c.files.saveState(c.state);
        this.#event('stop', c);
        return;
      }
      if (!isActive(c.state)) throw new NotModifiedError('container already stopped');
      c.state.manuallyStopped = true;
      await c.files.saveState(c.state);
      await this.#stopLocked(c, opts.signal, opts.timeout);
      this.#event('stop', c);
    });
  }

  #cancelRestart(c: Container): void {
    if (c.restartTimer) clearTimeout(c.restartTimer);
    c.restartTimer = undefined;
    c.state.status = 'exited';
  }

  /** Send the stop signal, then SIGKILL after the timeout; returns once the exit is recorded. */
  async #stopLocked(c: Container, signal?: string, timeoutSec?: number): Promise<void> {
    const handle = c.run;
    if (!handle) return;
    const rt = this.#runtime(c);
    const id = c.record.id;
    if (c.state.status === 'paused') {
      await rt.resume(id).catch(() => {});
      c.state.status = 'running';
    }
    const sig = signal || c.record.config.StopSignal || 'SIGTERM';
    const timeout = timeoutSec ?? c.record.config.StopTimeout ?? 10;
    await this.#signal(c, sig);
    let st = timeout < 0 ? await handle.exited : await orTimeout(handle.exited, timeout * 1000, () => undefined);
    if (!st) {
      await this.#signal(c, 'SIGKILL');
      st = await handle.exited;
    }
    await this.#finishRun(c, handle, st, {});
  }

  async #signal(c: Container, sig: string): Promise<void> {
    const num = signalNumber(sig);
    try {
      await this.#runtime(c).kill(c.record.id, num);
    } catch (err) {
      // The process may have exited between our check and the signal; the exit is recorded anyway.
      this.#opts.logger.debug('kill failed', { id: c.record.id, error: errorMessage(err) });
    }
    this.#event('kill', c, { signal: String(num) });
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const c = this.#get(ref);
    const num = signalNumber(signal);
    if (!isActive(c.state) || c.state.status === 'restarting') {
      throw new ConflictError(`Cannot kill container: ${ref}: Container ${c.record.id} is not running`);
    }
    // Docker marks any kill as a manual stop so restart policies leave the container down.
    c.state.manuallyStopped = true;
    await c.files.saveState(c.state);
    if (c.state.status === 'paused' && (num === 9 || num === 15)) await this.#runtime(c).resume(c.record.id).catch(() => {});
    await this.#signal(c, String(num));
  }

  async restart(ref: string, opts: { signal?: string; timeout?: number } = {}): Promise<void> {
    const c = this.#get(ref);
    await this.#mutex.run(c.record.id, async () => {
      if (c.state.status === 'restarting') this.#cancelRestart(c);
      if (isActive(c.state)) await this.#stopLocked(c, opts.signal, opts.timeout);
      if (c.state.status === 'removing' || c.state.status === 'dead') throw new ConflictError(`Container ${c.record.id} is marked for removal and cannot be started.`);
      await this.#startLocked(c);
      this.#event('restart', c);
    });
  }

  async pause(ref: string): Promise<void> {
    const c = this.#get(ref);
    await this.#mutex.run(c.record.id, async () => {
      if (c.state.status === 'paused') throw new ConflictError(`Container ${c.record.id} is already paused`);
      if (c.state.status !== 'running') throw new ConflictError(`Container ${c.record.id} is not running`);
      await this.#runtime(c).pause(c.record.id);
      transition(c.record.id, c.state.status, 'paused');
      c.state.status = 'paused';
      await c.files.saveState(c.state);
      this.#event('pause', c);
    });
  }

  async unpause(ref: string): Promise<void> {
    const c = this.#get(ref);
    await this.#mutex.run(c.record.id, async () => {
      if (c.state.status !== 'paused') throw new ConflictError(`Container ${c.record.id} is not paused`);
      await this.#runtime(c).resume(c.record.id);
      c.state.status = 'running';
      await c.files.saveState(c.state);
      this.#event('unpause', c);
    });
  }

  /**
   * Register a wait synchronously (so a `run` that waits before it starts cannot miss the exit)
   * and return the promise of the exit code.
   */
  wait(ref: string, condition: 'not-running' | 'next-exit' | 'removed' = 'not-running'): Promise<number> {
    const c = this.#get(ref);
    if (condition === 'removed') return new Promise((resolve) => c.removeWaiters.push(resolve));
    if (condition === 'not-running' && !isActive(c.state) && c.state.status !== 'restarting') return Promise.resolve(c.state.exitCode);
    return new Promise((resolve) => c.exitWaiters.push(resolve));
  }

  // ---------------------------------------------------------------- remove / rename

  async remove(ref: string, opts: { force?: boolean } = {}): Promise<void> {
    const c = this.#get(ref);
    await this.#mutex.run(c.record.id, async () => {
      if (!this.#byId.has(c.record.id)) return;
      if (c.state.status === 'restarting') this.#cancelRestart(c);
      if (isActive(c.state)) {
        if (!opts.force) {
          const what = c.state.status === 'paused' ? 'container is paused and must be unpaused first' : 'container is running: stop the container before removing or force remove';
          throw new ConflictError(`cannot remove container "/${c.record.name}": ${what}`);
        }
        c.state.manuallyStopped = true;
        const handle = c.run;
        if (handle) {
          if (c.state.status === 'paused') await this.#runtime(c).resume(c.record.id).catch(() => {});
          await this.#signal(c, 'SIGKILL');
          const st = (await orTimeout(handle.exited, 10_000, () => undefined)) ?? { exitCode: 137, finishedAt: new Date(), oomKilled: false };
          c.record.hostConfig.AutoRemove = false;
          await this.#finishRun(c, handle, st, {});
        }
      }
      await this.#removeLocked(c);
    });
  }

  /**
   * Forget the container, then delete its files. `wait --condition removed` (what `run --rm`
   * waits for) is answered once the container is gone from the API; the disk work after that is
   * finished on the next start if the daemon dies meanwhile (the state file says "removing").
   */
  async #removeLocked(c: Container): Promise<void> {
    const id = c.record.id;
    if (!this.#byId.has(id)) return;
    c.state.status = 'removing';
    await c.files.saveState(c.state).catch(() => {});
    if (c.run) c.run.abort.abort();
    this.#byId.delete(id);
    if (this.#byName.get(c.record.name) === id) this.#byName.delete(c.record.name);
    this.#event('destroy', c);
    for (const w of c.removeWaiters.splice(0)) w(c.state.exitCode);
    for (const w of c.exitWaiters.splice(0)) w(c.state.exitCode);
    await this.#notifyStartListeners(c, false);
    await this.#deleteFromRuntime(c);
    await this.#opts.rootfs.remove(id).catch((err) => this.#opts.logger.warn('removing the file system failed', { id, error: errorMessage(err) }));
    await rm(c.files.dir, { recursive: true, force: true });
  }

  async rename(ref: string, newName: string): Promise<void> {
    const c = this.#get(ref);
    const name = validateContainerName(newName);
    await this.#mutex.run(c.record.id, async () => {
      const old = c.record.name;
      if (old === name) throw new InvalidArgumentError(`Renaming a container with the same name as its current name`);
      const taken = this.#byName.get(name);
      if (taken) {
        throw new ConflictError(
          `Conflict. The container name "/${name}" is already in use by container "${taken}". You have to remove (or rename) that container to be able to reuse that name.`,
        );
      }
      this.#byName.set(name, c.record.id);
      c.record.name = name;
      try {
        await c.files.saveRecord(c.record);
      } catch (err) {
        c.record.name = old;
        this.#byName.delete(name);
        throw err;
      }
      this.#byName.delete(old);
      this.#event('rename', c, { oldName: `/${old}` });
    });
  }

  // ---------------------------------------------------------------- queries

  async inspect(ref: string, opts: { size?: boolean } = {}): Promise<ContainerInspect> {
    const c = this.#get(ref);
    const r = c.record;
    const out: ContainerInspect = {
      Id: r.id,
      Created: r.created,
      Path: r.path,
      Args: r.args,
      State: inspectState(c.state),
      Image: r.imageId,
      ResolvConfPath: c.files.resolvConfPath,
      HostnamePath: c.files.hostnamePath,
      HostsPath: c.files.hostsPath,
      LogPath: r.logPath,
      Name: `/${r.name}`,
      RestartCount: c.state.restartCount,
      Driver: r.driver,
      Platform: 'linux',
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: '',
      ExecIDs: null,
      HostConfig: r.hostConfig,
      GraphDriver: { Name: r.driver, Data: this.#opts.rootfs.graphDriverData(r.id) },
      Mounts: mountPoints(r.hostConfig),
      Config: r.config,
      NetworkSettings: networkSettings(r),
    };
    if (opts.size) {
      const sz = await this.#opts.rootfs.size(r.id);
      out.SizeRw = sz.sizeRw;
      out.SizeRootFs = sz.sizeRootFs;
    }
    return out;
  }

  async list(opts: { all?: boolean; limit?: number; size?: boolean; filters?: Record<string, string[]> }): Promise<ContainerSummary[]> {
    const filters = opts.filters ?? {};
    checkFilterKeys(filters, LIST_FILTERS);
    for (const v of filters.status ?? []) {
      if (!STATUSES.includes(v)) throw new InvalidArgumentError(`invalid filter 'status=${v}'`);
    }
    for (const v of filters.exited ?? []) {
      if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`invalid filter 'exited=${v}': the exit code must be an integer`);
    }
    // Docker matches a name exactly or as a regular expression; one that does not compile matches nothing.
    const namePatterns = (filters.name ?? []).map((v) => {
      try {
        return new RegExp(v);
      } catch {
        return undefined;
      }
    });
    let items = [...this.#byId.values()].sort((a, b) => b.record.created.localeCompare(a.record.created));
    const all = opts.all || (opts.limit !== undefined && opts.limit > 0) || filters.status?.length || filters.exited?.length;
    if (!all) items = items.filter((c) => isActive(c.state) || c.state.status === 'restarting');
    const before = filters.before?.[0] ? this.#get(filters.before[0]).record.created : undefined;
    const since = filters.since?.[0] ? this.#get(filters.since[0]).record.created : undefined;
    const ancestors = (filters.ancestor ?? []).map((a) => {
      try {
        return this.#opts.images.get(a).id;
      } catch {
        return undefined;
      }
    });
    items = items.filter((c) => {
      const r = c.record;
      if (before && r.created >= before) return false;
      if (since && r.created <= since) return false;
      return matchesFilters(filters, {
        id: (v) => r.id.startsWith(v),
        name: (v, i) => v === r.name || v === `/${r.name}` || (namePatterns[i] ? namePatterns[i].test(r.name) || namePatterns[i].test(`/${r.name}`) : false),
        status: (v) => c.state.status === v,
        label: (v) => parseLabelFilter(v)(r.config.Labels ?? {}),
        exited: (v) => c.state.status === 'exited' && c.state.exitCode === Number(v),
        ancestor: (_v, i) => ancestors[i] !== undefined && r.imageId === ancestors[i],
        before: () => true,
        since: () => true,
        health: (v) => v === 'none',
        network: (v) => r.hostConfig.NetworkMode === v,
        volume: (v) => mountPoints(r.hostConfig).some((m) => m.Source === v || m.Destination === v),
        'is-task': (v) => v === 'false',
        publish: () => false,
        expose: () => false,
      });
    });
    if (opts.limit !== undefined && opts.limit > 0) items = items.slice(0, opts.limit);
    return Promise.all(items.map((c) => this.#summary(c, opts.size ?? false)));
  }

  async #summary(c: Container, size: boolean): Promise<ContainerSummary> {
    const r = c.record;
    const s: ContainerSummary = {
      Id: r.id,
      Names: [`/${r.name}`],
      Image: r.image,
      ImageID: r.imageId,
      Command: summaryCommand(r.path, r.args),
      Created: Math.floor(Date.parse(r.created) / 1000),
      Ports: ports(r),
      Labels: r.config.Labels ?? {},
      State: c.state.status,
      Status: statusText(c.state),
      HostConfig: { NetworkMode: r.hostConfig.NetworkMode ?? 'bridge' },
      NetworkSettings: { Networks: networkSettings(r).Networks },
      Mounts: mountPoints(r.hostConfig),
    };
    if (size) {
      const sz = await this.#opts.rootfs.size(r.id);
      s.SizeRw = sz.sizeRw;
      s.SizeRootFs = sz.sizeRootFs;
    }
    return s;
  }

  async top(ref: string, psArgs = '-ef'): Promise<ContainerTopResponse> {
    const c = this.#get(ref);
    if (!isActive(c.state)) throw new ConflictError(`Container ${c.record.id} is not running`);
    const pids = new Set(await this.#runtime(c).pids(c.record.id));
    const r = await run('ps', psArgs.split(/\s+/).filter(Boolean));
    // ps follows its first line with a page of usage; the first line says what was wrong.
    if (r.code !== 0) throw new InvalidArgumentError(`ps: ${r.stderr.trim().split('\n')[0]}`);
    const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
    const header = lines[0].trim().split(/\s+/);
    const pidCol = header.indexOf('PID');
    if (pidCol < 0) throw new InvalidArgumentError(`Couldn't find PID field in ps output`);
    const processes: string[][] = [];
    for (const line of lines.slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (!pids.has(Number(fields[pidCol]))) continue;
      // The last column (the command) may contain spaces: keep it whole.
      const row = fields.slice(0, header.length - 1);
      row.push(fields.slice(header.length - 1).join(' '));
      processes.push(row);
    }
    return { Titles: header, Processes: processes };
  }

  logs(ref: string, opts: LogsOptions): { tty: boolean; entries: AsyncIterable<LogEntry[]> } {
    const c = this.#get(ref);
    const follow = opts.follow && isActive(c.state);
    const entries = readLogs(c.record.logPath, {
      follow,
      tail: opts.tail,
      since: opts.since,
      until: opts.until,
      stdout: opts.stdout,
      stderr: opts.stderr,
      signal: opts.signal,
      stopWhen: follow ? this.wait(ref, 'next-exit') : undefined,
    });
    return { tty: c.record.config.Tty ?? false, entries };
  }

  /**
   * Attach a client to the container's streams. Resolves when the attach is over: the
   * container's output ended, the client went away, or the client typed the detach keys.
   */
  async attach(ref: string, opts: AttachOptions, io: AttachIO): Promise<void> {
    const c = this.#get(ref);
    const id = c.record.id;
    if (c.state.status === 'paused' && opts.stream) throw new ConflictError(`You cannot attach to a paused container, unpause it first`);
    const detachKeys = parseDetachKeys(opts.detachKeys || DEFAULT_DETACH_KEYS);
    if (opts.logs) {
      for await (const batch of readLogs(c.record.logPath, { follow: false, tail: -1, stdout: opts.stdout, stderr: opts.stderr })) {
        for (const e of batch) io.write(e.stream, e.line);
      }
    }
    if (!opts.stream) return;
    const wantStdin = opts.stdin && (c.record.config.OpenStdin ?? false);

    const connect = async (): Promise<AttachSession> => this.#runtime(c).attach(id, { stdin: wantStdin });
    let session: AttachSession | undefined;
    if (c.state.status === 'running') {
      session = await connect();
    } else {
      // Wait for the next start; the start connects us before the process runs, so no output is lost.
      session = await new Promise<AttachSession | undefined>((resolve) => {
        const listener = async (ok: boolean) => {
          if (!ok) return resolve(undefined);
          try {
            resolve(await connect());
          } catch {
            resolve(undefined);
          }
        };
        c.startListeners.add(listener);
        void io.clientGone.then(() => {
          c.startListeners.delete(listener);
          resolve(undefined);
        });
      });
    }
    if (!session) return;
    await pump(session, opts, io, wantStdin ? new DetachScanner(detachKeys) : undefined);
  }

  async resize(ref: string, height: number, width: number): Promise<void> {
    const c = this.#get(ref);
    if (!isActive(c.state)) return;
    await this.#runtime(c).resize(c.record.id, { height, width });
  }

  async changes(ref: string): Promise<FilesystemChange[]> {
    return this.#opts.rootfs.changes(this.#get(ref).record.id);
  }

  /**
   * The container's lock is held until the archive is written (or its reader goes): a start would
   * mount the upper dir that a stopped container's export reads as a lower, and a stop or exit would
   * unmount a running container's file system mid-read.
   */
  async export(ref: string): Promise<Readable> {
    const c = this.#get(ref);
    return new Promise<Readable>((resolve, reject) => {
      void this.#mutex.run(c.record.id, async () => {
        let stream: Readable;
        try {
          stream = await this.#opts.rootfs.export(c.record.id);
        } catch (err) {
          reject(err);
          return;
        }
        const done = whenClosed(stream);
        this.#event('export', c);
        resolve(stream);
        await done;
      });
    });
  }

  // ---------------------------------------------------------------- archive (docker cp)

  /** What HEAD /containers/{id}/archive answers: the path's stat, as the container sees it. */
  async statPath(ref: string, path: string): Promise<ContainerPathStat> {
    const c = this.#get(ref);
    return this.#mutex.run(c.record.id, () => this.#withFs(c, { freeze: false }, async ({ view }) => (await statIn(view, path, ref)).stat));
  }

  /**
   * A tar of `path` and its stat. The container's lock is held until the archive is written (or
   * its reader goes), as for export: a stopped container's file system is mounted for the copy
   * and a running one's must not be unmounted by its exit mid-read.
   */
  async archivePath(ref: string, path: string): Promise<{ stat: ContainerPathStat; tar: Readable }> {
    const c = this.#get(ref);
    return new Promise((resolve, reject) => {
      void this.#mutex.run(c.record.id, async () => {
        await this.#withFs(c, { freeze: true }, async ({ view }) => {
          const found = await statIn(view, path, ref);
          const tar = archiveIn(view, found);
          const done = whenClosed(tar);
          this.#event('archive-path', c);
          resolve({ stat: found.stat, tar: tar as unknown as Readable });
          await done;
        }).catch(reject);
      });
    });
  }

  /**
   * Extracts a tar into the directory `path` of the container. With `copyUIDGID` and a
   * container user, everything is owned by that user (Docker's `cp -a`); otherwise by the
   * owners the archive records.
   */
  async extractToDir(ref: string, path: string, tar: Readable, opts: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }): Promise<void> {
    const c = this.#get(ref);
    await this.#mutex.run(c.record.id, () =>
      this.#withFs(c, { freeze: true }, async ({ root, view, readonlyMounts }) => {
        const dir = await extractPoint(view, path, ref, { readonlyRootfs: c.record.hostConfig.ReadonlyRootfs ?? false, readonlyMounts });
        const user = c.record.config.User;
        const owner = opts.copyUIDGID && user ? await resolveUser(root, user) : undefined;
        await extractIn(view, dir, tar, {
          noOverwriteDirNonDir: opts.noOverwriteDirNonDir,
          owner: owner && { uid: owner.uid, gid: owner.gid },
          readonlyRootfs: false,
          readonlyMounts,
        });
        this.#event('extract-to-dir', c);
      }),
    );
  }

  /**
   * Runs `fn` on the container's file system as its processes see it; call under the lock.
   * With `freeze`, a running container is paused meanwhile: paths are resolved inside the
   * container and then opened from the host, and its processes must not swap a directory for a
   * symlink in between (which the host would follow out of the container).
   */
  async #withFs<T>(c: Container, opts: { freeze: boolean }, fn: (fs: { root: string; view: RootView; readonlyMounts: string[] }) => Promise<T>): Promise<T> {
    const freeze = opts.freeze && c.state.status === 'running';
    const fs = await this.#opts.rootfs.open(c.record.id);
    try {
      if (freeze) await this.#runtime(c).pause(c.record.id);
      try {
        return await fn({ root: fs.root, ...(await this.#view(c, fs.root)) });
      } finally {
        if (freeze) await this.#runtime(c).resume(c.record.id).catch((err) => this.#opts.logger.warn('resuming after a copy failed', { id: c.record.id, error: errorMessage(err) }));
      }
    } finally {
      await fs.release();
    }
  }

  /**
   * The files mounted over the container's root as the runtime mounts them: its hosts,
   * hostname and resolv.conf (once a start wrote them) and its bind mounts, each target
   * resolved as runc resolves it (inside the root, through the mounts before it).
   */
  async #view(c: Container, root: string): Promise<{ view: RootView; readonlyMounts: string[] }> {
    const mounts: { target: string; source: string }[] = [];
    const readonlyMounts: string[] = [];
    const binds = bindMounts(c.record.hostConfig).filter((m) => m.type === 'bind');
    const userTargets = new Set(binds.map((m) => m.target));
    const hostFiles: [string, string][] = [
      ['/etc/resolv.conf', c.files.resolvConfPath],
      ['/etc/hostname', c.files.hostnamePath],
      ['/etc/hosts', c.files.hostsPath],
    ];
    const all = [...hostFiles.filter(([t]) => !userTargets.has(t)).map(([target, source]) => ({ target, source, ro: false })), ...binds.map((m) => ({ target: m.target, source: m.source, ro: m.options.includes('ro') }))];
    for (const m of all) {
      // A source that is gone (a never-started container's host files) leaves the root's own file visible.
      if (!(await access(m.source).then(() => true, () => false))) continue;
      const target = await resolveInView({ root, mounts }, m.target);
      mounts.push({ target, source: m.source });
      if (m.ro) readonlyMounts.push(target);
    }
    return { view: { root, mounts }, readonlyMounts };
  }

  async commit(
    ref: string,
    opts: { repo?: string; tag?: string; comment?: string; author?: string; changes?: string[]; pause?: boolean; config?: ContainerConfig },
  ): Promise<string> {
    const c = this.#get(ref);
    const id = c.record.id;
    const pause = (opts.pause ?? true) && c.state.status === 'running';
    if (pause) await this.#runtime(c).pause(id);
    try {
      const imageId = await this.#opts.rootfs.commit(id, {
        imageId: c.record.imageId,
        config: { ...c.record.config, ...(opts.config ?? {}) },
        repo: opts.repo,
        tag: opts.tag,
        comment: opts.comment,
        author: opts.author,
        changes: opts.changes,
        containerConfigCmd: [c.record.path, ...c.record.args],
      });
      this.#event('commit', c, { comment: opts.comment ?? '' });
      return imageId;
    } finally {
      if (pause) await this.#runtime(c).resume(id).catch(() => {});
    }
  }

  async prune(filters: Record<string, string[]>): Promise<ContainerPruneResponse> {
    checkFilterKeys(filters, ['label', 'label!', 'until']);
    const deleted: string[] = [];
    let reclaimed = 0;
    const until = filters.until?.[0] ? parseFilterTime(filters.until[0]) : undefined;
    for (const c of [...this.#byId.values()]) {
      if (isActive(c.state) || c.state.status === 'restarting' || c.state.status === 'removing') continue;
      if (until !== undefined && Date.parse(c.record.created) >= until) continue;
      if (!matchesFilters(filters, { label: (v) => parseLabelFilter(v)(c.record.config.Labels ?? {}), 'label!': (v) => !parseLabelFilter(v)(c.record.config.Labels ?? {}), until: () => true })) {
        continue;
      }
      const size = (await this.#opts.rootfs.size(c.record.id).catch(() => ({ sizeRw: 0 }))).sizeRw;
      try {
        await this.remove(c.record.id);
        deleted.push(c.record.id);
        reclaimed += size;
      } catch (err) {
        this.#opts.logger.warn('prune: could not remove container', { id: c.record.id, error: errorMessage(err) });
      }
    }
    return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  /** For exec: the runtime and ID of a running container, or a Docker-worded conflict. */
  runningRuntime(ref: string): { id: string; runtime: Runtime; record: ContainerRecord } {
    const c = this.#get(ref);
    if (c.state.status === 'paused') throw new ConflictError(`Container ${ref} is paused, unpause the container before exec`);
    if (c.state.status !== 'running') throw new ConflictError(`Container ${c.record.id} is not running`);
    return { id: c.record.id, runtime: this.#runtime(c), record: c.record };
  }

  /** Rootfs path of a running container (for exec user lookup). */
  rootfsOf(id: string): string {
    return this.#opts.rootfs.path(this.#get(id).record.id);
  }

  event(ref: string, action: string, attrs: Record<string, string> = {}): void {
    this.#event(action, this.#get(ref), attrs);
  }

  /** Stop watching processes (daemon shutdown): containers keep running under conmon. */
  detachAll(): void {
    for (const c of this.#byId.values()) {
      c.run?.abort.abort();
      if (c.restartTimer) clearTimeout(c.restartTimer);
    }
  }

  // ---------------------------------------------------------------- helpers

  #runtime(c: Container): Runtime {
    return this.#opts.runtimeFor(c.record.hostConfig.Runtime || this.#opts.defaultRuntime);
  }

  #event(action: string, c: Container, extra: Record<string, string> = {}): void {
    const attrs: Record<string, string> = { ...(c.record.config.Labels ?? {}), image: c.record.image, name: c.record.name, ...extra };
    this.#opts.events.publish('container', action, c.record.id, attrs);
  }
}

const LIST_FILTERS = ['id', 'name', 'status', 'label', 'exited', 'ancestor', 'before', 'since', 'health', 'network', 'volume', 'is-task', 'publish', 'expose'];
const STATUSES: readonly string[] = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'] satisfies ContainerStateStatus[];

/** Resolves when a stream (node or streamx) has closed: read to the end, failed, or destroyed by its reader. */
function whenClosed(stream: { once(event: string, fn: () => void): unknown }): Promise<void> {
  return new Promise<void>((r) => {
    stream.once('close', r);
    stream.once('error', () => r());
  });
}

function isActive(s: ContainerRuntimeState): boolean {
  return s.status === 'running' || s.status === 'paused';
}

/** `SIGTERM`, `TERM`, `term` and `15` all name signal 15; anything else is Docker's "Invalid signal". */
export function signalNumber(sig: string | number): number {
  if (typeof sig === 'number') return sig;
  const s = sig.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > 64) throw new InvalidArgumentError(`Invalid signal: ${sig}`);
    return n;
  }
  const name = s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
  const m = /^SIGRTMIN\+(\d+)$/.exec(name);
  if (m) return 34 + Number(m[1]);
  const num = (osConstants.signals as Record<string, number>)[name];
  if (num === undefined) throw new InvalidArgumentError(`Invalid signal: ${sig}`);
  return num;
}

function parseSize(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(s.trim());
  if (!m) throw new InvalidArgumentError(`invalid log option max-size: ${s}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.floor(Number(m[1]) * mult);
}

/** Docker merges the image's config under the user's: Env by key, entrypoint/cmd by its own rule. */
export function mergeImageConfig(req: ContainerCreateRequest, image: ImageRecord): ContainerConfig {
  const ic: ContainerConfig = (image.config as { config?: ContainerConfig }).config ?? {};
  const userEntrypoint = req.Entrypoint && !(req.Entrypoint.length === 1 && req.Entrypoint[0] === '') ? req.Entrypoint : req.Entrypoint ? [] : null;
  let entrypoint: string[] | null;
  let cmd: string[] | null;
  if (userEntrypoint === null) {
    entrypoint = ic.Entrypoint ?? null;
    cmd = req.Cmd && req.Cmd.length ? req.Cmd : (ic.Cmd ?? null);
  } else {
    entrypoint = userEntrypoint;
    cmd = req.Cmd && req.Cmd.length ? req.Cmd : userEntrypoint.length === 0 ? (ic.Cmd ?? null) : null;
  }
  // Docker's order: the user's variables as given, then the image's that the user did not set.
  const userEnv = (req.Env ?? []).filter((e) => e.indexOf('=') > 0);
  const userKeys = new Set(userEnv.map((e) => e.slice(0, e.indexOf('='))));
  const env = [...userEnv, ...(ic.Env ?? []).filter((e) => !userKeys.has(e.slice(0, e.indexOf('='))))];
  return {
    Hostname: req.Hostname ?? '',
    Domainname: req.Domainname ?? '',
    User: req.User || ic.User || '',
    AttachStdin: req.AttachStdin ?? false,
    AttachStdout: req.AttachStdout ?? false,
    AttachStderr: req.AttachStderr ?? false,
    ExposedPorts: { ...(ic.ExposedPorts ?? {}), ...(req.ExposedPorts ?? {}) },
    Tty: req.Tty ?? false,
    OpenStdin: req.OpenStdin ?? false,
    StdinOnce: req.StdinOnce ?? false,
    Env: env,
    Cmd: cmd,
    Image: req.Image,
    Volumes: req.Volumes ?? ic.Volumes ?? null,
    WorkingDir: req.WorkingDir || ic.WorkingDir || '',
    Entrypoint: entrypoint,
    OnBuild: ic.OnBuild ?? null,
    Labels: { ...(ic.Labels ?? {}), ...(req.Labels ?? {}) },
    StopSignal: req.StopSignal || ic.StopSignal || undefined,
    StopTimeout: req.StopTimeout ?? undefined,
    Healthcheck: req.Healthcheck ?? ic.Healthcheck,
  };
}

/**
 * `ps`'s COMMAND column as Docker builds it: arguments holding a space are wrapped in single
 * quotes (nothing is escaped), so `sh -c 'exit 3'` does not read as four words.
 */
export function summaryCommand(path: string, args: string[]): string {
  return [path, ...args.map((a) => (a.includes(' ') ? `'${a}'` : a))].join(' ');
}

function ports(r: ContainerRecord): Port[] {
  const out: Port[] = [];
  for (const key of Object.keys(r.config.ExposedPorts ?? {})) {
    const [port, proto = 'tcp'] = key.split('/');
    out.push({ PrivatePort: Number(port), Type: proto as Port['Type'] });
  }
  return out;
}

function networkSettings(r: ContainerRecord): ContainerInspect['NetworkSettings'] {
  const mode = r.hostConfig.NetworkMode ?? 'bridge';
  return {
    Bridge: '',
    SandboxID: '',
    SandboxKey: '',
    Ports: {},
    EndpointID: '',
    Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    MacAddress: '',
    Networks: {
      [mode]: { IPAMConfig: null, Links: null, Aliases: null, NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: '', DriverOpts: null, DNSNames: null },
    },
  };
}

