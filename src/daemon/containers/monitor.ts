/**
 * Watching a container's process, recording its exit, and restart policies: `decideRestart` is
 * the pure rule (Docker's), the Monitor applies it with a timer.
 */
import type { RestartPolicy } from '../../types/index.js';
import type { ExitStatus } from '../../runtime/index.js';
import { errorMessage } from '../../util/index.js';
import type { ContainerContext } from './context.js';
import { releaseRun } from './run.js';
import type { ContainerRuntimeState } from './state.js';
import type { Container, RunHandle } from './store.js';

export const MIN_RESTART_DELAY_MS = 100;
export const MAX_RESTART_DELAY_MS = 60_000;
/** A container that ran this long is considered healthy again and its back-off starts over. */
export const RESTART_RESET_MS = 10_000;

export interface RestartInput {
  policy: RestartPolicy | undefined;
  state: Pick<ContainerRuntimeState, 'manuallyStopped' | 'restartCount'>;
  exitCode: number;
  /** How long the run that ended lasted. */
  ranMs: number;
  /** The delay before the previous restart; 0 when there was none. */
  previousDelayMs: number;
  /** The exit was found while the daemon started (it happened while wharfd was down). */
  daemonStart: boolean;
}

export type RestartDecision = { restart: false } | { restart: true; delayMs: number };

/**
 * Whether a container that just exited is restarted, and after how long. Docker's rules:
 * `always` restarts unless stopped by hand, and even then when the daemon starts;
 * `unless-stopped` unless stopped by hand; `on-failure[:N]` after a non-zero exit, at most N
 * times. The back-off starts at 100 ms and doubles up to a minute; a run of 10 s or more resets it.
 */
export function decideRestart(i: RestartInput): RestartDecision {
  const p = i.policy;
  let restart: boolean;
  switch (p?.Name) {
    case 'always':
      restart = i.daemonStart || !i.state.manuallyStopped;
      break;
    case 'unless-stopped':
      restart = !i.state.manuallyStopped;
      break;
    case 'on-failure': {
      const max = p.MaximumRetryCount ?? 0;
      restart = !i.state.manuallyStopped && i.exitCode !== 0 && (max === 0 || i.state.restartCount < max);
      break;
    }
    default:
      restart = false;
  }
  if (!restart) return { restart: false };
  const fresh = i.ranMs >= RESTART_RESET_MS || i.previousDelayMs <= 0;
  return { restart: true, delayMs: fresh ? MIN_RESTART_DELAY_MS : Math.min(i.previousDelayMs * 2, MAX_RESTART_DELAY_MS) };
}

/**
 * Whether a container found stopped when the daemon starts is started again: Docker restarts
 * `always` containers even after a manual stop, `unless-stopped` ones only when nobody stopped
 * them, and only containers that ran before.
 */
export function restartsAtDaemonStart(policy: RestartPolicy | undefined, state: Pick<ContainerRuntimeState, 'hasBeenStarted' | 'manuallyStopped'>): boolean {
  if (!state.hasBeenStarted) return false;
  return policy?.Name === 'always' || (policy?.Name === 'unless-stopped' && !state.manuallyStopped);
}

/** Runs `fn` after `delayMs`; the real one is an unref'd timer, tests fire restarts by hand. */
export type Schedule = (fn: () => void, delayMs: number) => { cancel(): void };

export const timerSchedule: Schedule = (fn, delayMs) => {
  const t = setTimeout(fn, delayMs);
  t.unref();
  return { cancel: () => clearTimeout(t) };
};

/** What the monitor needs from the lifecycle; both are called under the container's lock. */
export interface MonitorHooks {
  /** Starts the container (a restart). */
  startLocked(c: Container): Promise<void>;
  /** Removes the container (`--rm`). */
  removeLocked(c: Container): Promise<void>;
}

export class Monitor {
  constructor(
    private readonly ctx: ContainerContext,
    private readonly hooks: MonitorHooks,
    private readonly schedule: Schedule = timerSchedule,
  ) {}

  /** Follows the running process until it exits, then records the exit under the lock. */
  watch(c: Container, startedAtMs: number): void {
    const abort = new AbortController();
    const handle: RunHandle = { exited: this.ctx.runtimeOf(c).waitExit(c.record.id, abort.signal), abort, handled: false, startedAtMs };
    c.run = handle;
    handle.exited.then(
      (st) =>
        this.ctx.mutex
          .run(c.record.id, () => this.recordExit(c, handle, st))
          .catch((err) => this.ctx.logger.error('recording an exit failed', { id: c.record.id, error: errorMessage(err) })),
      (err) => {
        if (!abort.signal.aborted) this.ctx.logger.error('lost track of container', { id: c.record.id, error: errorMessage(err) });
      },
    );
  }

  /** Records an exit found without watching (while wharfd was down); call under the lock. */
  async recordFoundExit(c: Container, st: ExitStatus): Promise<void> {
    const handle: RunHandle = { exited: Promise.resolve(st), abort: new AbortController(), handled: false, startedAtMs: Date.parse(c.state.startedAt) };
    c.run = handle;
    await this.recordExit(c, handle, st, { daemonStart: true });
  }

  /**
   * Records an exit exactly once per run (the monitor and stop/kill both may get there); call
   * under the lock. Waiters hear of the exit before the run's leftovers are released; the state
   * file says "exited" only after (see StatusChange.beforeSave). Then `--rm` removes the
   * container and a restart policy may schedule a restart. `remove` is a removal that waits
   * for this exit: it goes straight to removing, like `--rm`, and restarts nothing.
   */
  async recordExit(c: Container, handle: RunHandle, st: ExitStatus, how: { daemonStart?: boolean; remove?: boolean } = {}): Promise<void> {
    if (handle.handled) return;
    handle.handled = true;
    if (c.run === handle) c.run = undefined;
    const remove = how.remove || (!handle.restarting && (c.record.hostConfig.AutoRemove ?? false));
    // Checks start again with the next start.
    this.ctx.health.stop(c);
    if (st.oomKilled) this.ctx.store.publish(c, 'oom');
    await this.ctx.store.setStatus(c, 'exited', {
      fields: { pid: 0, exitCode: st.exitCode, finishedAt: st.finishedAt.toISOString(), oomKilled: st.oomKilled },
      event: 'die',
      attrs: { exitCode: String(st.exitCode) },
      beforeSave: async () => {
        for (const w of c.exitWaiters.splice(0)) w(st.exitCode);
        if (remove) await this.hooks.removeLocked(c);
        else await releaseRun(this.ctx, c, 'unmount');
      },
    });
    if (remove) return;
    await this.#maybeRestart(c, st.finishedAt.getTime() - handle.startedAtMs, how.daemonStart ?? false);
  }

  async #maybeRestart(c: Container, ranMs: number, daemonStart: boolean): Promise<void> {
    const d = decideRestart({
      policy: c.record.hostConfig.RestartPolicy,
      state: c.state,
      exitCode: c.state.exitCode,
      ranMs,
      previousDelayMs: c.restartDelayMs,
      daemonStart,
    });
    if (!d.restart) return;
    c.restartDelayMs = d.delayMs;
    await this.ctx.store.setStatus(c, 'restarting');
    const id = c.record.id;
    c.restartTimer = this.schedule(() => {
      c.restartTimer = undefined;
      void this.ctx.mutex
        .run(id, async () => {
          if (c.state.status !== 'restarting') return;
          c.state.restartCount++;
          try {
            await this.hooks.startLocked(c);
          } catch (err) {
            this.ctx.logger.warn('restart failed', { id, error: errorMessage(err) });
            await this.ctx.store.setStatus(c, 'exited');
            await this.#maybeRestart(c, 0, false);
          }
        })
        .catch((err) => this.ctx.logger.error('recording a failed restart failed', { id, error: errorMessage(err) }));
    }, d.delayMs);
  }

  /** Drops a scheduled restart; the caller moves the status on. */
  cancelRestart(c: Container): void {
    c.restartTimer?.cancel();
    c.restartTimer = undefined;
  }

  /** Stops watching (daemon shutdown): the processes keep running under their monitors. */
  detach(c: Container): void {
    c.run?.abort.abort();
    this.cancelRestart(c);
  }
}
