/**
 * What the container lifecycle needs from the rest of the engine, declared here by the
 * lifecycle itself (the consumer). `daemon/daemon.ts` wires the real implementations in:
 * `runtime.Runtime` for the OCI runtime, `ContainerFilesystems` (daemon/rootfs.ts, over the storage
 * snapshotter) for root file systems, the network and volume services, the image service (for lookups
 * only) and the event bus. Unit tests wire fakes (`_fakes.ts`).
 *
 * Container start is one sequence over these ports, each step with its undo:
 *
 *   rootfs.mount -> volumes.setup -> network.attach -> spec -> runtime.create -> runtime.start
 *
 * A failure undoes every step that succeeded, in reverse, so nothing leaks.
 */
import type { Readable } from 'node:stream';
import type { ContainerConfig, FilesystemChange, HostConfig, NetworkingConfig, EndpointSettings, PortMap } from '../../types/index.js';
import type { AttachSession, CgroupSample, ContainerSpec, CreateOptions, ExecProcess, ExecSession, ExitStatus, RuntimeState } from '../../runtime/index.js';
import type { Mount } from '../../util/index.js';
import type { PlannedMount } from '../../volume/index.js';
import type { NetnsOwner } from '../../network/index.js';

/** The OCI runtime under its monitor, as the lifecycle drives it. */
export interface RuntimePort {
  create(spec: ContainerSpec, opts: CreateOptions): Promise<{ pid: number }>;
  start(id: string): Promise<void>;
  kill(id: string, signal: number | string): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  delete(id: string, opts: { force: boolean }): Promise<void>;
  /** What the runtime says of a container; undefined when it does not know it. */
  state(id: string): Promise<RuntimeState | undefined>;
  /** The exit the monitor recorded, if the process is gone. */
  exitStatus(id: string): Promise<ExitStatus | undefined>;
  /** Resolves when the process exits; rejects when `signal` aborts (the daemon stops watching). */
  waitExit(id: string, signal: AbortSignal): Promise<ExitStatus>;
  attach(id: string, opts: { stdin: boolean }): AttachSession;
  resize(id: string, size: { height: number; width: number }): Promise<void>;
  pids(id: string): Promise<number[]>;
  /** Changes a created or running container's cgroup limits in place. */
  update?(id: string, resources: ContainerSpec['resources']): Promise<void>;
  /** One sample of a running container's cgroup and network counters. */
  stats?(id: string): Promise<CgroupSample>;
  exec(containerId: string, p: ExecProcess): Promise<ExecSession>;
  /** An exec was created in a running container and its start will follow: what makes that start sooner may begin. */
  expectExec?(p: Pick<ExecProcess, 'detached' | 'tty'>): void;
}

/** What a commit records besides the container's changes. */
export interface CommitOptions {
  /** The image the container was created from, the new image's parent. */
  imageId: string;
  config: ContainerConfig;
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  changes?: string[];
  /** The container's command, recorded in the history entry's created_by. */
  containerConfigCmd: string[];
  /** The container and its own config, which the image records as Docker's commit does. */
  container?: { id: string; config: ContainerConfig };
}

export interface RootfsCreateOptions {
  /**
   * The file system is thrown away with the container rather than kept across a crash (`run
   * --rm`, a build step): it is mounted without syncs (SnapshotMountOptions.volatile says why).
   */
  volatile?: boolean;
}

/**
 * A container's root file system: a writable snapshot over its image's layers. Keyed by
 * container ID. Mount state belongs to the implementation; the lifecycle holds the container's
 * lock around every call that mounts, unmounts, removes or packs it, so no two of those overlap
 * for one container. The read-only queries (`path`, `graphDriverData`, `size`, `changes`) are
 * called without it: inspect and `ps -s` must not wait for a stop's timeout.
 */
export interface RootfsPort {
  /** Makes the writable snapshot over `imageId`'s layers. */
  create(containerId: string, imageId: string, opts?: RootfsCreateOptions): Promise<void>;
  /** Mounts it (idempotent) and returns the mounted path. */
  mount(containerId: string): Promise<string>;
  /** Unmounts it if mounted; never throws for "not mounted". */
  unmount(containerId: string): Promise<void>;
  /** The mounted path while the container runs, else a mount that lasts until `release`. */
  open(containerId: string): Promise<{ root: string; release(): Promise<void> }>;
  /** Unmounts and deletes it; idempotent. */
  remove(containerId: string): Promise<void>;
  /** Removes snapshots whose container does not exist (a create that died half-way). */
  removeOrphans(isContainer: (id: string) => boolean): Promise<void>;
  /** Where it is mounted while the container runs; asking mounts nothing. */
  path(containerId: string): string;
  /** Docker's GraphDriver.Data: LowerDir, MergedDir, UpperDir, WorkDir. */
  graphDriverData(containerId: string): Record<string, string> | null;
  size(containerId: string): Promise<{ sizeRw: number; sizeRootFs: number }>;
  changes(containerId: string): Promise<FilesystemChange[]>;
  export(containerId: string): Promise<Readable>;
  /** Packs the container's changes into a new image; returns its ID. */
  commit(containerId: string, opts: CommitOptions): Promise<string>;
}

/** Images as create and the list's `ancestor` filter use them. */
export interface ImagePort {
  /** The image `ref` names (name, ID or ID prefix); throws NotFoundError in Docker's words. */
  get(ref: string): { id: string; config: object };
}

/** Where the lifecycle announces what happened to a container (the daemon's event bus). */
export interface EventPort {
  publish(type: 'container', action: string, id: string, attributes: Record<string, string>): unknown;
}

/** What the network attach step knows of a container. */
export interface NetworkRequest {
  containerId: string;
  name: string;
  hostname: string;
  hostConfig: HostConfig;
  networkingConfig: NetworkingConfig;
  /** The container config's ExposedPorts: what `-P` publishes and inspect lists as unpublished. */
  exposedPorts?: Record<string, object> | null;
  /** The user namespace that is to own a new network namespace (userns-remap): a new one with these ranges, or one to join. */
  userns?: NetnsOwner;
}

/** Where the container's network is, and what inspect shows of it. */
export interface NetworkAttachment {
  /**
   * The namespace the process joins: `host` shares the host's, `new` lets the runtime make an
   * empty one (loopback only), `path` joins one the network service made.
   */
  namespace: { mode: 'host' } | { mode: 'new' } | { mode: 'path'; path: string; userns?: string };
  /** Per network, as inspect's NetworkSettings.Networks shows it. */
  endpoints: Record<string, EndpointSettings>;
  /** `name:address` entries for the container's /etc/hosts beyond localhost and its own name (--add-host, links). */
  extraHosts: string[];
  /** Name servers, search domains and options for /etc/resolv.conf; empty means the host's. */
  dns: { servers: string[]; search: string[]; options: string[] };
  /** The namespace's path as inspect's NetworkSettings.SandboxKey shows it; '' when none. */
  sandboxKey?: string;
  /** NetworkSettings.SandboxID: 64 hex digits naming the namespace's attachment; '' when none. */
  sandboxId?: string;
  /** Published ports as inspect's NetworkSettings.Ports shows them (`"80/tcp": [{HostIp, HostPort}]`). */
  ports?: PortMap;
  /**
   * Resolves once the endpoints are wired (interfaces, addresses, firewall rules, name server),
   * which goes on while the runtime creates the container: the process may start only then.
   * Rejects with the wiring's failure, which the caller undoes with detach (once the runtime is
   * done with the namespace). Absent: nothing to wait for.
   */
  ready?: Promise<void>;
}

/** Networks as container start and stop use them. */
export interface NetworkPort {
  attach(req: NetworkRequest): Promise<NetworkAttachment>;
  /** Undoes `attach`; idempotent, also for a container that was never attached. */
  detach(containerId: string): Promise<void>;
  /** The attachment of a container that runs, also one attached before the daemon restarted. */
  current?(containerId: string): NetworkAttachment | undefined;
  /** Create's check of the networks a container names: unknown ones, `--ip` and aliases, in Docker's words. */
  check?(hostConfig: HostConfig, networkingConfig: NetworkingConfig | undefined): void;
  /** A network's ID and name by name, ID or ID prefix; NotFoundError in Docker's words. */
  resolve?(ref: string): { id: string; name: string };
  /**
   * A new endpoint in a running container's namespace; nothing for a container not attached.
   * It and disconnect keep the attachment's `dns` to the networks the container is on now.
   */
  connect?(networkRef: string, containerId: string, cfg: EndpointSettings | undefined): Promise<void>;
  /** Removes a running container's endpoint; false when it had none on that network. */
  disconnect?(networkRef: string, containerId: string): Promise<boolean>;
  /**
   * `network disconnect -f` of a container that no longer exists: the endpoint its name still
   * holds on the network goes; NotFoundError in Docker's words when there is none.
   */
  forceDisconnect?(networkRef: string, containerName: string): Promise<void>;
}

/** Volumes and mounts as container start and stop use them. */
export interface VolumePort {
  /**
   * The container's binds, `--mount`s, volumes and tmpfs as runtime mounts, each source ready
   * (a missing `-v` host directory created, as Docker does).
   */
  setup(containerId: string, hostConfig: HostConfig, config: ContainerConfig, ctx?: { rootfs?: string; plan?: PlannedMount[] }): Promise<Mount[]>;
  /** Undoes `setup`; idempotent. */
  release(containerId: string): Promise<void>;
  /** At daemon start: a container found running holds the volumes of its plan again, as after `setup`. */
  adopt?(containerId: string, plan: PlannedMount[]): Promise<void>;
  /**
   * At create: the container's mount plan, the volumes it names made (anonymous ones too).
   * `from` is each `--volumes-from` container's plan with the mode asked for.
   */
  prepare?(containerId: string, hostConfig: HostConfig, config: ContainerConfig, from: { mounts: PlannedMount[]; mode: '' | 'ro' | 'rw' }[]): Promise<PlannedMount[]>;
  /** After prepare: the container's record holds its volumes now, or its create failed. */
  endPrepare?(containerId: string): void;
  /** `rm -v` and `--rm`: the anonymous volumes of a removed container's plan. */
  removeAnonymous?(containerId: string, plan: PlannedMount[]): Promise<void>;
}

/** A health check's process, once it runs. */
export interface ProbeProcess {
  /** Resolves with the exit code once the process ended and its output was read. */
  done: Promise<number>;
  /** Kills the process (a check over its timeout, or a container that stops meanwhile). */
  kill(): void;
}

/**
 * Runs health checks. Docker runs each check as an exec of the container (its user, environment
 * and working directory), announced with the exec's events; the exec service implements this.
 */
export interface ProbePort {
  /** Resolves once `cmd` runs in the container; its stdout and stderr go to `onOutput`. */
  startProbe(containerId: string, cmd: string[], onOutput: (data: Buffer) => void): Promise<ProbeProcess>;
}
