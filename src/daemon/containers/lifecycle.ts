/**
 * The lifecycle: create, start, stop, kill, pause, unpause, restart, rm, rename, wait. Each
 * method that moves a container takes its lock (kill and wait excepted; see index.ts), and every
 * status change goes through the store's `setStatus`.
 */
import { mkdir, rm } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import type {
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerPruneResponse,
  ContainerUpdateRequest,
  ContainerUpdateResponse,
  EndpointSettings,
  HostConfig,
} from '../../types/index.js';
import { parseVolumesFrom, planMounts, type PlannedMount } from '../../volume/index.js';
import {
  CommandInvokeError,
  ConflictError,
  ForbiddenError,
  InvalidArgumentError,
  NotFoundError,
  NotImplementedError,
  NotModifiedError,
  WharfError,
  errorMessage,
  newId,
  orTimeout,
  validateContainerName,
} from '../../util/index.js';
import { checkFilterKeys, matchesFilters, parseFilterTime, parseLabelFilter } from '../filters.js';
import { checkResources, mergeUpdate, runtimeResources } from '../resources.js';
import { editOwnHostsRecords, rewriteResolvConf } from '../hostfiles.js';
import { passableByRemappedRoot } from '../userns.js';
import { SYSTEMD_STOP_SIGNAL, containerHostname, isSystemdContainer, securityWarnings, validateHostConfig, validateNetMode, validateRemapped, validateRestartPolicy } from '../spec.js';
import { mergeImageConfig, recordedHostConfig, signalNumber } from './config.js';
import type { ContainerContext } from './context.js';
import { validateHealthcheck } from './health.js';
import { parseLink, resolveLinks } from './links.js';
import type { Monitor } from './monitor.js';
import type { NetworkAttachment } from './ports.js';
import { releaseRun, startRun } from './run.js';
import { attachedNetworkMode, isActive, newState, thrownAway, transition, type ContainerRecord } from './state.js';
import { notifyStartListeners, type Container } from './store.js';

/** How long a SIGKILL waits for the exit before it answers anyway. */
export const KILL_WAIT_MS = 10_000;

export class Lifecycle {
  /** Removals under way: a daemon that is told to stop finishes them first (see `settle`). */
  readonly #removals = new Set<Promise<void>>();

  constructor(
    private readonly ctx: ContainerContext,
    private readonly monitor: Monitor,
  ) {}

  /**
   * `step` is the builder's: its step lines name a step's container before it exists, and the
   * container is committed or thrown away, never kept across a crash.
   */
  async create(req: ContainerCreateRequest, name?: string, step?: { id: string }): Promise<ContainerCreateResponse> {
    const { store } = this.ctx;
    if (!req.Image) throw new InvalidArgumentError('No image was specified');
    validateHealthcheck(req.Healthcheck);
    // Checked now, as Docker does: a bad signal found only at `stop` would leave a container that cannot be stopped gracefully.
    if (req.StopSignal) signalNumber(req.StopSignal);
    // runc refuses a relative cwd only at start, which would leave a container that can never run.
    if (req.WorkingDir && !req.WorkingDir.startsWith('/')) {
      throw new InvalidArgumentError(`the working directory '${req.WorkingDir}' is invalid, it needs to be an absolute path`);
    }
    // dockerd's check: the host's UTS namespace has the host's name.
    if (req.HostConfig?.UTSMode === 'host' && req.Hostname) throw new InvalidArgumentError('conflicting options: hostname and the UTS mode');
    const image = this.ctx.images.get(req.Image);
    const given = { ...(req.HostConfig ?? {}) };
    const warnings = await validateHostConfig(given, req.ExposedPorts);
    validateNetMode(req, given);
    if (this.ctx.idmap) validateRemapped(given);
    this.ctx.network.check?.(given, req.NetworkingConfig);
    const links = resolveLinks(this.ctx, given.Links, given.NetworkMode);
    if (given.NetworkMode?.startsWith('container:')) {
      // moby records the target's full ID when it exists; a missing one fails the start, not create.
      const target = (() => {
        try {
          return store.get(given.NetworkMode.slice('container:'.length)).record.id;
        } catch {
          return undefined;
        }
      })();
      if (target) given.NetworkMode = `container:${target}`;
    }
    const runtimeName = given.Runtime || this.ctx.defaultRuntime;
    this.ctx.runtimeFor(runtimeName);
    const hostConfig = recordedHostConfig(given, runtimeName);

    const cname = name ? validateContainerName(name) : store.uniqueName();
    store.assertNameFree(cname);

    const config = mergeImageConfig(req, image);
    const argv = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
    if (argv.length === 0) throw new InvalidArgumentError('No command specified');
    // SIGTERM only makes systemd re-execute itself; recorded, so inspect and `stop` agree.
    if (!config.StopSignal && isSystemdContainer(argv[0], hostConfig)) config.StopSignal = SYSTEMD_STOP_SIGNAL;

    if (step && (!/^[0-9a-f]{64}$/.test(step.id) || this.ctx.store.all().some((c) => c.record.id === step.id))) throw new InvalidArgumentError(`invalid or used container ID: ${step.id}`);
    const id = step?.id ?? newId();
    // Docker records the default hostname at create, so inspect shows what the process will see.
    // One that joins another's namespace takes that container's hostname at each start.
    if (!config.Hostname && !hostConfig.NetworkMode?.startsWith('container:')) config.Hostname = hostConfig.NetworkMode === 'host' || hostConfig.UTSMode === 'host' ? osHostname() : id.slice(0, 12);
    const files = store.files(id);
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
      ...(step ? { buildStep: true } : {}),
      logPath: files.logPath,
      driver: 'overlay2',
      ...(links ? { links } : {}),
    };
    // Reserved before the first await so two concurrent creates cannot both take the name.
    store.reserveName(cname, id);
    let c: Container;
    try {
      if (this.ctx.volumes.prepare) record.mounts = await this.ctx.volumes.prepare(id, hostConfig, config, this.#volumesFrom(hostConfig));
      await mkdir(files.dir, { recursive: true, mode: 0o710 });
      // Its host files are bound into the container by the runtime as the container's root.
      if (this.ctx.idmap) await passableByRemappedRoot(files.dir, this.ctx.idmap);
      await this.ctx.rootfs.create(id, image.id, { volatile: thrownAway(record) });
      const state = newState();
      // Either order survives a crash: load() treats a record without a state as just created.
      await Promise.all([files.saveRecord(record), files.saveState(state)]);
      c = store.add(record, state, files);
      this.ctx.volumes.endPrepare?.(id);
    } catch (err) {
      store.releaseName(cname, id);
      this.ctx.volumes.endPrepare?.(id);
      if (record.mounts) await this.ctx.volumes.removeAnonymous?.(id, record.mounts).catch(() => {});
      await this.ctx.rootfs.remove(id).catch(() => {});
      await rm(files.dir, { recursive: true, force: true });
      throw err;
    }
    store.publish(c, 'create');
    return { Id: id, Warnings: [...warnings, ...securityWarnings(hostConfig)] };
  }

  /** `--volumes-from`: each named container's binds and volumes, with the mode asked for. */
  #volumesFrom(hc: HostConfig): { mounts: PlannedMount[]; mode: '' | 'ro' | 'rw' }[] {
    return (hc.VolumesFrom ?? []).map((spec) => {
      const { container, mode } = parseVolumesFrom(spec);
      const src = this.ctx.store.get(container).record;
      return { mounts: src.mounts ?? planMounts({ Binds: src.hostConfig.Binds, Mounts: src.hostConfig.Mounts }, {}), mode };
    });
  }

  async start(ref: string): Promise<void> {
    const c = this.ctx.store.get(ref);
    await this.ctx.mutex.run(c.record.id, async () => {
      const s = c.state.status;
      if (s === 'running' || s === 'paused') throw new NotModifiedError('container already started');
      if (s === 'removing' || s === 'dead') throw new ConflictError(`Container ${c.record.id} is marked for removal and cannot be started.`);
      await this.#cancelRestart(c);
      try {
        await this.startLocked(c);
      } catch (err) {
        // `run --rm` waits for the removal even when the start failed (as with dockerd).
        if (c.record.hostConfig.AutoRemove) await this.removeLocked(c).catch(() => {});
        throw err;
      }
    });
  }

  /**
   * Runs the start sequence and records the result; call under the lock. A failed start keeps
   * the status it had (Docker shows a container whose first start failed as "Created") and
   * records the error and an exit code: the one the command could not be invoked with, else 128.
   */
  async startLocked(c: Container): Promise<void> {
    const id = c.record.id;
    transition(id, c.state.status, 'running');
    let pid: number;
    try {
      ({ pid } = await startRun(this.ctx, c));
    } catch (err) {
      c.state.exitCode = err instanceof CommandInvokeError ? err.exitCode : 128;
      c.state.error = errorMessage(err);
      await this.ctx.store.save(c);
      throw err;
    }
    const health = this.ctx.health.starting(c);
    await this.ctx.store.setStatus(c, 'running', {
      fields: { pid, startedAt: new Date().toISOString(), exitCode: 0, error: '', oomKilled: false, hasBeenStarted: true, manuallyStopped: false, ...(health ? { health } : {}) },
      event: 'start',
    });
    this.monitor.watch(c, Date.now());
    this.ctx.health.start(c);
  }

  /** A start by hand replaces a scheduled restart; the container is exited until it runs. */
  async #cancelRestart(c: Container): Promise<void> {
    if (c.state.status !== 'restarting') return;
    this.monitor.cancelRestart(c);
    await this.ctx.store.setStatus(c, 'exited');
  }

  async stop(ref: string, opts: { signal?: string; timeout?: number } = {}): Promise<void> {
    const c = this.ctx.store.get(ref);
    await this.ctx.mutex.run(c.record.id, async () => {
      if (c.state.status === 'restarting') {
        this.monitor.cancelRestart(c);
        await this.ctx.store.setStatus(c, 'exited', { fields: { manuallyStopped: true }, event: 'stop' });
        return;
      }
      if (!isActive(c.state)) throw new NotModifiedError('container already stopped');
      c.state.manuallyStopped = true;
      await this.ctx.store.save(c);
      await this.#stopLocked(c, opts.signal, opts.timeout);
      this.ctx.store.publish(c, 'stop');
    });
  }

  /** Sends the stop signal, then SIGKILL after the timeout; returns once the exit is recorded. */
  async #stopLocked(c: Container, signal?: string, timeoutSec?: number): Promise<void> {
    const handle = c.run;
    if (!handle) return;
    if (c.state.status === 'paused') {
      // A frozen process cannot act on the signal.
      await this.ctx.runtimeOf(c).resume(c.record.id).catch(() => {});
      await this.ctx.store.setStatus(c, 'running');
    }
    const sig = signal || c.record.config.StopSignal || 'SIGTERM';
    const timeout = timeoutSec ?? c.record.config.StopTimeout ?? 10;
    await this.#signal(c, sig);
    let st = timeout < 0 ? await handle.exited : await orTimeout(handle.exited, timeout * 1000, () => undefined);
    if (!st) {
      await this.#signal(c, 'SIGKILL');
      st = await handle.exited;
    }
    await this.monitor.recordExit(c, handle, st);
  }

  async #signal(c: Container, sig: string): Promise<void> {
    const num = signalNumber(sig);
    try {
      await this.ctx.runtimeOf(c).kill(c.record.id, num);
    } catch (err) {
      // The process may have exited between our check and the signal; the exit is recorded anyway.
      this.ctx.logger.debug('kill failed', { id: c.record.id, error: errorMessage(err) });
    }
    this.ctx.store.publish(c, 'kill', { signal: String(num) });
  }

  /** Without the lock: it must reach a process that a stop, holding the lock, waits on. */
  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const c = this.ctx.store.get(ref);
    const num = signalNumber(signal);
    if (!isActive(c.state) || c.state.status === 'restarting') {
      throw new ConflictError(`Cannot kill container: ${ref}: Container ${c.record.id} is not running`);
    }
    // Docker answers a SIGKILL only once the container is down, so an inspect or rm right after sees it stopped.
    const stopped = num === 9 ? new Promise<number>((r) => c.exitWaiters.push(r)) : undefined;
    // Docker marks any kill as a manual stop so restart policies leave the container down.
    c.state.manuallyStopped = true;
    await this.ctx.store.save(c);
    if (c.state.status === 'paused' && (num === 9 || num === 15)) await this.ctx.runtimeOf(c).resume(c.record.id).catch(() => {});
    await this.#signal(c, String(num));
    // Bounded: a process stuck in the kernel must not hang the request; its exit is recorded whenever it comes.
    if (stopped) await orTimeout(stopped, KILL_WAIT_MS, () => undefined);
  }

  async restart(ref: string, opts: { signal?: string; timeout?: number } = {}): Promise<void> {
    const c = this.ctx.store.get(ref);
    await this.ctx.mutex.run(c.record.id, async () => {
      await this.#cancelRestart(c);
      // Marked before the signal: the monitor may record the exit before the stop does.
      if (c.run) c.run.restarting = true;
      if (isActive(c.state)) await this.#stopLocked(c, opts.signal, opts.timeout);
      if (c.state.status === 'removing' || c.state.status === 'dead') throw new ConflictError(`Container ${c.record.id} is marked for removal and cannot be started.`);
      await this.startLocked(c);
      this.ctx.store.publish(c, 'restart');
    });
  }

  async pause(ref: string): Promise<void> {
    const c = this.ctx.store.get(ref);
    await this.ctx.mutex.run(c.record.id, async () => {
      if (c.state.status === 'paused') throw new ConflictError(`Container ${c.record.id} is already paused`);
      if (c.state.status !== 'running') throw new ConflictError(`Container ${c.record.id} is not running`);
      await this.ctx.runtimeOf(c).pause(c.record.id);
      this.ctx.health.stop(c);
      await this.ctx.store.setStatus(c, 'paused', { event: 'pause' });
    });
  }

  async unpause(ref: string): Promise<void> {
    const c = this.ctx.store.get(ref);
    await this.ctx.mutex.run(c.record.id, async () => {
      if (c.state.status !== 'paused') throw new ConflictError(`Container ${c.record.id} is not paused`);
      await this.ctx.runtimeOf(c).resume(c.record.id);
      await this.ctx.store.setStatus(c, 'running', { event: 'unpause' });
      this.ctx.health.resume(c);
    });
  }

  /**
   * Registers a wait synchronously (so a `run` that waits before it starts cannot miss the
   * exit) and returns the promise of the exit code. Without the lock: it only listens.
   */
  wait(ref: string, condition: 'not-running' | 'next-exit' | 'removed' = 'not-running'): Promise<number> {
    const c = this.ctx.store.get(ref);
    if (condition === 'removed') return new Promise((resolve) => c.removeWaiters.push(resolve));
    if (condition === 'not-running' && !isActive(c.state) && c.state.status !== 'restarting') return Promise.resolve(c.state.exitCode);
    return new Promise((resolve) => c.exitWaiters.push(resolve));
  }

  async remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const c = this.ctx.store.get(ref);
    await this.ctx.mutex.run(c.record.id, async () => {
      if (!this.ctx.store.has(c)) return;
      if (opts.volumes) c.removeVolumes = true;
      // A restarting container counts as running (Docker's IsRunning): only a forced rm takes it.
      if ((isActive(c.state) || c.state.status === 'restarting') && !opts.force) {
        const what = c.state.status === 'paused' ? 'container is paused and must be unpaused first' : `container is ${c.state.status}: stop the container before removing or force remove`;
        throw new ConflictError(`cannot remove container "/${c.record.name}": ${what}`);
      }
      this.monitor.cancelRestart(c);
      if (isActive(c.state)) {
        c.state.manuallyStopped = true;
        const handle = c.run;
        if (handle) {
          if (c.state.status === 'paused') await this.ctx.runtimeOf(c).resume(c.record.id).catch(() => {});
          await this.#signal(c, 'SIGKILL');
          const st = (await orTimeout(handle.exited, 10_000, () => undefined)) ?? { exitCode: 137, finishedAt: new Date(), oomKilled: false };
          await this.monitor.recordExit(c, handle, st, { remove: true });
          return;
        }
      }
      await this.removeLocked(c);
    });
  }

  /**
   * DELETE /containers/{parent}/{alias}?link=1 (moby's rmLink): the legacy link that `parent`
   * reaches under `alias` is dropped; both containers stay. A plain container name is its own
   * default link, which cannot go (moby answers that with a 500, as here).
   */
  async removeLink(name: string): Promise<void> {
    const full = name.startsWith('/') ? name : `/${name}`;
    const cut = full.lastIndexOf('/');
    if (cut === 0) {
      this.ctx.store.get(name);
      throw new Error('Conflict, cannot remove the default link name of the container');
    }
    const alias = full.slice(cut + 1);
    const parent = this.ctx.store.get(full.slice(1, cut));
    await this.ctx.mutex.run(parent.record.id, async () => {
      const r = parent.record;
      const links = r.links ?? [];
      const kept = links.filter((l) => l.alias !== alias);
      if (kept.length === links.length) throw new NotFoundError(`No such container: ${name}`);
      const before = { links: r.links, hostLinks: r.hostConfig.Links };
      r.links = kept;
      r.hostConfig = { ...r.hostConfig, Links: (r.hostConfig.Links ?? []).filter((l) => parseLink(l).alias !== alias) };
      try {
        await parent.files.saveRecord(r);
      } catch (err) {
        r.links = before.links;
        r.hostConfig = { ...r.hostConfig, Links: before.hostLinks };
        throw err;
      }
    });
  }

  /**
   * Forgets the container, then deletes its files; call under the lock. `wait --condition
   * removed` (what `run --rm` waits for) is answered once the container is gone from the API;
   * the disk work after that is finished on the next start if the daemon dies meanwhile (the
   * state file says "removing").
   */
  removeLocked(c: Container): Promise<void> {
    if (!this.ctx.store.has(c)) return Promise.resolve();
    const removal = this.#remove(c);
    this.#removals.add(removal);
    const forget = (): void => void this.#removals.delete(removal);
    removal.then(forget, forget);
    return removal;
  }

  /**
   * Waits, at most `limitMs`, for the removals under way. Their answer goes out before the disk
   * work ends, so without this a daemon stopped right after a `run --rm` returned would leave
   * that container's mount and directory until its next start.
   */
  async settle(limitMs: number): Promise<void> {
    if (this.#removals.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((r) => (timer = setTimeout(r, limitMs)));
    await Promise.race([Promise.allSettled([...this.#removals]), limit]);
    clearTimeout(timer);
  }

  async #remove(c: Container): Promise<void> {
    const { store } = this.ctx;
    const id = c.record.id;
    this.ctx.health.stop(c);
    // A state that cannot be saved must not stop the removal: the directory goes anyway.
    await store.setStatus(c, 'removing').catch((err) => this.ctx.logger.warn('saving the removal failed', { id, error: errorMessage(err) }));
    c.run?.abort.abort();
    // Addresses and host ports go before the removal is announced: a `run --rm` that returned
    // leaves its network removable and its ports free for the next run, as under Docker.
    await this.ctx.network.detach(id).catch((err) => this.ctx.logger.warn('network detach before removal failed', { id, error: errorMessage(err) }));
    store.forget(c);
    // Docker's `rm -v` and `--rm` take the anonymous volumes (named ones stay) before the
    // removal is answered, so a `run --rm` that returned has left none. The process is gone.
    if ((c.removeVolumes || c.record.hostConfig.AutoRemove) && c.record.mounts && this.ctx.volumes.removeAnonymous) {
      const mounts = c.record.mounts;
      await this.ctx.volumes
        .release(id)
        .then(() => this.ctx.volumes.removeAnonymous!(id, mounts))
        .catch((err) => this.ctx.logger.warn('removing anonymous volumes failed', { id, error: errorMessage(err) }));
    }
    this.ctx.onRemoved(id);
    store.publish(c, 'destroy');
    for (const w of c.removeWaiters.splice(0)) w(c.state.exitCode);
    for (const w of c.exitWaiters.splice(0)) w(c.state.exitCode);
    await notifyStartListeners(c, false);
    await releaseRun(this.ctx, c, 'remove');
    await rm(c.files.dir, { recursive: true, force: true });
  }

  /**
   * POST /containers/{id}/update: new limits and restart policy, recorded for every later start
   * and, on a container that runs, applied to its cgroup now. A runtime that refuses them leaves
   * the record as it was.
   */
  async update(ref: string, req: ContainerUpdateRequest): Promise<ContainerUpdateResponse> {
    const c = this.ctx.store.get(ref);
    const given = { ...req };
    const warnings = checkResources(given, true);
    if (given.RestartPolicy?.Name) {
      validateRestartPolicy(given.RestartPolicy);
    }
    await this.ctx.mutex.run(c.record.id, async () => {
      const id = c.record.id;
      if (c.state.status === 'removing' || c.state.status === 'dead') {
        throw new ConflictError(`Cannot update container ${id}: container is marked for removal and cannot be "update"`);
      }
      const before = c.record.hostConfig;
      const next = mergeUpdate(before, id, given);
      if (c.state.status === 'running' || c.state.status === 'paused') {
        const rt = this.ctx.runtimeOf(c);
        if (!rt.update) throw new NotImplementedError(`the ${c.record.hostConfig.Runtime} runtime cannot update a running container`);
        try {
          await rt.update(id, runtimeResources(next, true));
        } catch (err) {
          throw new Error(`Cannot update container ${id}: ${errorMessage(err)}`, { cause: err });
        }
      }
      c.record.hostConfig = next;
      try {
        await c.files.saveRecord(c.record);
      } catch (err) {
        c.record.hostConfig = before;
        throw err;
      }
      this.ctx.store.publish(c, 'update');
    });
    return { Warnings: warnings };
  }

  async rename(ref: string, newName: string): Promise<void> {
    const { store } = this.ctx;
    const c = store.get(ref);
    const name = validateContainerName(newName);
    await this.ctx.mutex.run(c.record.id, async () => {
      const old = c.record.name;
      if (old === name) throw new InvalidArgumentError(`Renaming a container with the same name as its current name`);
      store.reserveName(name, c.record.id);
      c.record.name = name;
      try {
        await c.files.saveRecord(c.record);
      } catch (err) {
        c.record.name = old;
        store.releaseName(name, c.record.id);
        throw err;
      }
      store.releaseName(old, c.record.id);
      store.publish(c, 'rename', { oldName: `/${old}` });
    });
  }

  /**
   * POST /networks/{id}/connect. The record's NetworkingConfig.EndpointsConfig, keyed by the
   * network's name, is what every start attaches (after NetworkMode's network); a running
   * container gets the endpoint now as well.
   */
  async connectNetwork(ref: string, network: string, cfg: EndpointSettings | undefined): Promise<void> {
    const c = this.ctx.store.get(ref);
    const net = this.ctx.network;
    await this.ctx.mutex.run(c.record.id, async () => {
      const target = this.#resolveNetwork(network);
      const r = c.record;
      const mode = attachedNetworkMode(r);
      // A container that a disconnect left without networks joins again, the new one in eth0's place.
      const emptied = r.networkModeNow === 'none';
      if (target.name === 'host' || mode === 'host') throw new ForbiddenError('container cannot be disconnected from host network or connected to host network');
      if (target.name === 'none' || (mode === 'none' && !emptied)) throw new ForbiddenError('container cannot be connected to multiple networks with one of the networks in private (none) mode');
      const eps = (r.networkingConfig.EndpointsConfig ??= {});
      if (this.#networkOf(mode) === target.id || Object.keys(eps).some((k) => this.#networkOf(k) === target.id)) {
        throw new ForbiddenError(`endpoint with name ${r.name} already exists in network ${target.name}`);
      }
      if (isActive(c.state)) {
        const before = net.current?.(r.id);
        await net.connect?.(target.id, r.id, cfg);
        await this.#joinedOrLeft(c, 'add', target.name, before);
      }
      eps[target.name] = { ...(cfg ?? {}) };
      if (emptied) setAttachedMode(r, target.name, this.#networkOf(r.hostConfig.NetworkMode ?? 'bridge') === target.id);
      await c.files.saveRecord(r);
      c.network = undefined;
    });
  }

  /**
   * POST /networks/{id}/disconnect. Leaving NetworkMode's network hands its place (eth0, the
   * default route) to the next network the record names, or `none` when there is no other
   * (record.networkModeNow); HostConfig.NetworkMode stays as created, as Docker shows it.
   */
  async disconnectNetwork(ref: string, network: string, force = false): Promise<void> {
    const net = this.ctx.network;
    let c: Container;
    try {
      c = this.ctx.store.get(ref);
    } catch (err) {
      // -f reaches an endpoint that a container removed behind the daemon's back still holds.
      if (force && err instanceof NotFoundError && net.forceDisconnect) return net.forceDisconnect(network, ref);
      throw err;
    }
    await this.ctx.mutex.run(c.record.id, async () => {
      const r = c.record;
      const mode = attachedNetworkMode(r);
      const eps = r.networkingConfig.EndpointsConfig ?? {};
      let target: { id: string; name: string };
      try {
        target = this.#resolveNetwork(network);
      } catch (err) {
        // -f forgets a network that no longer exists from the record, as moby does.
        if (!force || !(err instanceof NotFoundError)) throw err;
        const stale = Object.keys(eps).filter((k) => k === network);
        if (!stale.length && mode !== network) throw new WharfError(`container ${r.id} is not connected to the network ${network}`);
        for (const k of stale) delete eps[k];
        if (mode === network) setAttachedMode(r, Object.keys(eps)[0] ?? 'none', Object.keys(eps)[0] === r.hostConfig.NetworkMode);
        r.networkingConfig.EndpointsConfig = eps;
        await c.files.saveRecord(r);
        c.network = undefined;
        return;
      }
      const keys = Object.keys(eps).filter((k) => this.#networkOf(k) === target.id);
      const primary = this.#networkOf(mode) === target.id;
      if (!primary && keys.length === 0) throw new ForbiddenError(`container ${r.id} is not connected to network ${target.name}`);
      if (target.name === 'host') throw new ForbiddenError('container cannot be disconnected from host network or connected to host network');
      if (isActive(c.state)) {
        const before = net.current?.(r.id);
        await net.disconnect?.(target.id, r.id);
        await this.#joinedOrLeft(c, 'delete', target.name, before);
      }
      for (const k of keys) delete eps[k];
      if (primary) {
        const next = Object.keys(eps)[0];
        setAttachedMode(r, next ?? 'none', next !== undefined && this.#networkOf(next) === this.#networkOf(r.hostConfig.NetworkMode ?? 'bridge'));
      }
      r.networkingConfig.EndpointsConfig = eps;
      await c.files.saveRecord(r);
      c.network = undefined;
    });
  }

  /**
   * A running container's host files once it joined (`add`) or left (`delete`) `network`, as
   * Docker edits them: the /etc/hosts lines that name it at its addresses there, and
   * /etc/resolv.conf where its name servers changed from what they were `before`.
   */
  async #joinedOrLeft(c: Container, change: 'add' | 'delete', network: string, before: NetworkAttachment | undefined): Promise<void> {
    const now = this.ctx.network.current?.(c.record.id);
    const ep = (change === 'add' ? now : before)?.endpoints[network];
    const addresses = [ep?.IPAddress, ep?.GlobalIPv6Address].filter((a): a is string => Boolean(a));
    await editOwnHostsRecords(c.files.hostsPath, change, { hostname: containerHostname(c.record), domainname: c.record.config.Domainname, addresses });
    if (now && before && now.dns.servers.join() !== before.dns.servers.join()) await rewriteResolvConf(c.files.resolvConfPath, now.dns);
  }

  #resolveNetwork(ref: string): { id: string; name: string } {
    if (!this.ctx.network.resolve) throw new NotImplementedError('this engine has no user-defined networks to connect to');
    return this.ctx.network.resolve(ref);
  }

  /** A network reference's ID, '' for one that no longer exists. */
  #networkOf(ref: string): string {
    try {
      return this.ctx.network.resolve!(ref === 'default' ? 'bridge' : ref).id;
    } catch {
      return '';
    }
  }

  async prune(filters: Record<string, string[]>): Promise<ContainerPruneResponse> {
    checkFilterKeys(filters, ['label', 'label!', 'until']);
    const deleted: string[] = [];
    let reclaimed = 0;
    const until = filters.until?.[0] ? parseFilterTime(filters.until[0]) : undefined;
    for (const c of this.ctx.store.all()) {
      if (isActive(c.state) || c.state.status === 'restarting' || c.state.status === 'removing') continue;
      if (until !== undefined && Date.parse(c.record.created) >= until) continue;
      const labels = c.record.config.Labels ?? {};
      if (!matchesFilters(filters, { label: (v) => parseLabelFilter(v)(labels), 'label!': (v) => !parseLabelFilter(v)(labels), until: () => true })) continue;
      const size = (await this.ctx.rootfs.size(c.record.id).catch(() => ({ sizeRw: 0 }))).sizeRw;
      try {
        await this.remove(c.record.id);
        deleted.push(c.record.id);
        reclaimed += size;
      } catch (err) {
        this.ctx.logger.warn('prune: could not remove container', { id: c.record.id, error: errorMessage(err) });
      }
    }
    return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }
}

/**
 * Records which network takes eth0's place after a connect or disconnect; `isNetworkMode` when
 * it is NetworkMode's own network again, which needs no record.
 */
function setAttachedMode(r: ContainerRecord, mode: string, isNetworkMode: boolean): void {
  if (isNetworkMode) delete r.networkModeNow;
  else r.networkModeNow = mode;
}
