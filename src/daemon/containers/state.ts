/**
 * A container's two documents and its status model, pure: what it was created as (the record),
 * what it is doing (the state), the legal moves between statuses, and how Docker shows them.
 */
import type {
  ContainerConfig,
  ContainerStateStatus,
  HostConfig,
  NetworkingConfig,
  ContainerState,
  Health,
} from '../../types/index.js';
import { ConflictError, humanDuration } from '../../util/index.js';
import type { PlannedMount } from '../../volume/index.js';

/**
 * What a container was created as. Written at create and rewritten only by rename/update; the
 * moving parts live in ContainerRuntimeState so the two never race.
 */
export interface ContainerRecord {
  id: string;
  name: string;
  created: string;
  /** The image reference the user gave. */
  image: string;
  imageId: string;
  path: string;
  args: string[];
  config: ContainerConfig;
  hostConfig: HostConfig;
  networkingConfig: NetworkingConfig;
  logPath: string;
  driver: string;
  /** `--link`s on the default bridge, resolved at create: each target's ID and its alias here. */
  links?: { id: string; alias: string }[];
  /** The binds and volumes decided at create (absent for containers made before plans). */
  mounts?: PlannedMount[];
  /**
   * The network in NetworkMode's place (eth0, the default route) once a disconnect took the
   * container off NetworkMode's own network: the next one it names, or 'none' when none is
   * left. HostConfig.NetworkMode stays as created, as Docker shows it.
   */
  networkModeNow?: string;
  /** Made by the builder for a step: committed or thrown away once it ran. */
  buildStep?: boolean;
}

/**
 * Whether the container goes with its exit and is worth nothing after a crash (`run --rm`, a
 * build step): its file system and its log are written without syncs.
 */
export function thrownAway(r: Pick<ContainerRecord, 'hostConfig' | 'buildStep'>): boolean {
  return Boolean(r.hostConfig.AutoRemove) || r.buildStep === true;
}

/** The network mode a start attaches: NetworkMode's, unless a disconnect took its place. */
export function attachedNetworkMode(r: ContainerRecord): string {
  return r.networkModeNow ?? r.hostConfig.NetworkMode ?? 'bridge';
}

export interface ContainerRuntimeState {
  status: ContainerStateStatus;
  pid: number;
  exitCode: number;
  error: string;
  startedAt: string;
  finishedAt: string;
  oomKilled: boolean;
  restartCount: number;
  /** Set by an explicit stop/kill so restart policies leave the container alone (Docker's HasBeenManuallyStopped). */
  manuallyStopped: boolean;
  /** Set by the first start: Docker's restart policies only restart containers that ran before. */
  hasBeenStarted: boolean;
  /** The healthcheck's results; absent for a container that never ran one (Docker's nil Health). */
  health?: Health;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

export function newState(): ContainerRuntimeState {
  return {
    status: 'created',
    pid: 0,
    exitCode: 0,
    error: '',
    startedAt: ZERO_TIME,
    finishedAt: ZERO_TIME,
    oomKilled: false,
    restartCount: 0,
    manuallyStopped: false,
    hasBeenStarted: false,
  };
}

const ALLOWED: Record<ContainerStateStatus, ContainerStateStatus[]> = {
  created: ['running', 'removing', 'exited', 'dead'],
  running: ['paused', 'exited', 'restarting', 'removing', 'dead'],
  paused: ['running', 'exited', 'removing', 'dead'],
  restarting: ['running', 'exited', 'removing', 'dead'],
  exited: ['running', 'restarting', 'removing', 'dead'],
  removing: ['dead', 'exited', 'created'],
  dead: ['removing'],
};

/**
 * The legal-moves table: whether a container may go from one status to another. Pure; the
 * store's `setStatus` applies a move (with its save and event) only after this allowed it.
 */
export function transition(id: string, from: ContainerStateStatus, to: ContainerStateStatus): void {
  if (from === to) return;
  if (!ALLOWED[from].includes(to)) {
    throw new ConflictError(`Container ${id} cannot go from ${from} to ${to}`);
  }
}

export function inspectState(s: ContainerRuntimeState): ContainerState {
  return {
    Status: s.status,
    Running: s.status === 'running' || s.status === 'paused',
    Paused: s.status === 'paused',
    Restarting: s.status === 'restarting',
    OOMKilled: s.oomKilled,
    Dead: s.status === 'dead',
    Pid: s.pid,
    ExitCode: s.exitCode,
    Error: s.error,
    StartedAt: s.startedAt,
    FinishedAt: s.finishedAt,
    ...(s.health ? { Health: { Status: s.health.Status, FailingStreak: s.health.FailingStreak, Log: s.health.Log } } : {}),
  };
}

/** Docker's human status column: "Up 3 seconds", "Exited (0) 2 minutes ago", "Created". */
export function statusText(s: ContainerRuntimeState, now = Date.now()): string {
  switch (s.status) {
    case 'running':
      return `Up ${humanDuration(now - Date.parse(s.startedAt))}${healthSuffix(s.health)}`;
    case 'paused':
      return `Up ${humanDuration(now - Date.parse(s.startedAt))} (Paused)`;
    case 'restarting':
      return `Restarting (${s.exitCode}) ${humanDuration(now - Date.parse(s.finishedAt))} ago`;
    case 'exited':
      if (s.finishedAt === ZERO_TIME) return 'Created';
      return `Exited (${s.exitCode}) ${humanDuration(now - Date.parse(s.finishedAt))} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    default:
      return 'Created';
  }
}

/** ` (healthy)`, ` (health: starting)`, ` (unhealthy)` after a running container's "Up …", as Docker writes it. */
function healthSuffix(h: Health | undefined): string {
  if (!h) return '';
  return h.Status === 'starting' ? ' (health: starting)' : ` (${h.Status})`;
}

/** Running or paused: a process exists. */
export function isActive(s: ContainerRuntimeState): boolean {
  return s.status === 'running' || s.status === 'paused';
}
