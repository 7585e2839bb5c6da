import type { Readable, Writable } from 'node:stream';
import type { IdMapping, Mount } from '../util/index.js';

export type NamespaceMode = 'private' | 'host';

/** Another container's namespace to join: `/proc/<its pid>/ns/<kind>`, found while it runs. */
export interface JoinNamespace {
  path: string;
}

/**
 * IPC: `none` is a private namespace without /dev/shm (Docker's rule). With `shm`, /dev/shm is
 * that host directory (a tmpfs the daemon mounted): a shareable container's own (no `path`: a
 * new namespace) or, with `path`, the one of the container whose namespace it joins.
 */
export type IpcNamespace = NamespaceMode | 'none' | { path?: string; shm: string };

export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

export interface Rlimit {
  type: string;
  soft: number;
  hard: number;
}

export interface DeviceRequest {
  pathOnHost: string;
  pathInContainer: string;
  permissions: string;
}

/** A block device limit by the device's path on the host (`--device-read-bps /dev/sda:1mb`). */
export interface BlockDeviceLimit {
  path: string;
  /** Bytes or operations per second for a throttle; the relative weight for a weight. */
  value: number;
}

export interface Resources {
  memory?: number;
  memorySwappiness?: number;
  blkioWeightDevice?: BlockDeviceLimit[];
  blkioReadBps?: BlockDeviceLimit[];
  blkioWriteBps?: BlockDeviceLimit[];
  blkioReadIops?: BlockDeviceLimit[];
  blkioWriteIops?: BlockDeviceLimit[];
  memoryReservation?: number;
  memorySwap?: number;
  cpuShares?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  /** cgroup v1's real-time budget (cpu.rt_period_us, cpu.rt_runtime_us), in microseconds. */
  cpuRealtimePeriod?: number;
  cpuRealtimeRuntime?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: number;
  blkioWeight?: number;
  oomKillDisable?: boolean;
}

/** Everything the runtime needs to run a container, in plain terms (no Docker API shapes). */
export interface ContainerSpec {
  id: string;
  rootfs: string;
  readonlyRootfs: boolean;
  args: string[];
  env: string[];
  cwd: string;
  user: ProcessUser;
  hostname: string;
  domainname?: string;
  tty: boolean;
  openStdin: boolean;
  stdinOnce: boolean;
  /** The binds, volumes and tmpfs mounts the user asked for, in mount order. */
  mounts: Mount[];
  /** Host files bind-mounted over /etc/hosts, /etc/hostname and /etc/resolv.conf. */
  files: { hosts: string; hostname: string; resolvConf: string };
  network: { mode: 'none' | 'host' } | { mode: 'path'; path: string };
  ipc: IpcNamespace;
  pid: NamespaceMode | JoinNamespace;
  uts: NamespaceMode;
  /**
   * A user namespace of its own (userns-remap) with these ranges; `path` when it was made already
   * (with the network namespace it owns) or is another container's, which is joined.
   */
  userns?: { idmap: IdMapping; path?: string };
  privileged: boolean;
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  sysctls: Record<string, string>;
  rlimits: Rlimit[];
  shmSize: number;
  devices: DeviceRequest[];
  /** --device-cgroup-rule: `type major:minor access` lines (`*` a wildcard), allowed in the device cgroup. */
  deviceCgroupRules?: string[];
  /**
   * systemd as PID 1: tmpfs on /run, /run/lock, /tmp and /var/log/journal and a writable cgroup
   * of its own, which systemd needs to boot (env and stop signal are the daemon's part).
   */
  systemd?: boolean;
  resources: Resources;
  cgroupParent?: string;
  /** A cgroup namespace of its own; unset means the host's default (private on v2, the host's on v1). */
  cgroupns?: 'host' | 'private';
  /** Run this init (tini) as PID 1 in front of the command. */
  init?: { path: string };
  stopSignal?: string;
  oomScoreAdj?: number;
  annotations?: Record<string, string>;
  maskedPaths?: string[];
  readonlyPaths?: string[];
}

export interface CreateOptions {
  logPath: string;
  /** Rotate the log when it reaches this many bytes. */
  logMaxSize?: number;
  /** Keep this many log files in all (the current one included). */
  logMaxFiles?: number;
  /**
   * The log goes with the container: not synced when it exits. The sync makes the file
   * system's journal commit, which waits for everything written on that file system since
   * the last one to reach the disk (in ext4's data=ordered mode), a container's own 1 GiB
   * tar into a bind mount included.
   */
  logUnsynced?: boolean;
}

export interface RuntimeState {
  status: 'created' | 'running' | 'paused' | 'stopped';
  pid: number;
}

export interface ExitStatus {
  exitCode: number;
  finishedAt: Date;
  oomKilled: boolean;
}

/** A live connection to a process's standard streams. */
export interface AttachSession {
  stdout: Readable;
  stderr: Readable;
  /** Present when the session was opened with stdin. end() closes the process's stdin. */
  stdin?: Writable;
  /** Disconnect without affecting the process. */
  close(): void;
}

export interface ExecProcess {
  execId: string;
  args: string[];
  env: string[];
  cwd: string;
  user: ProcessUser;
  tty: boolean;
  stdin: boolean;
  privileged: boolean;
  consoleSize?: { height: number; width: number };
  /** Nobody waits on its stream: it must outlive wharfd, so it gets a monitor of its own. */
  detached?: boolean;
}

export interface ExecSession extends AttachSession {
  pid: number;
  /** Resolves with the exit code. */
  exited: Promise<number>;
  resize(size: { height: number; width: number }): Promise<void>;
}

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** When the line was written, as the log file has it; parseLogTime turns it into Docker's form. */
  time: string;
  line: Buffer;
}
