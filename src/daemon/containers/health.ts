/**
 * Healthchecks, as dockerd runs them (moby daemon/health.go). A container whose config has a
 * `CMD` or `CMD-SHELL` test gets a check loop while it runs and is not paused: each check is an
 * exec in the container (through the ProbePort), its result goes into State.Health by Docker's
 * rules (`recordResult`, pure), and a change of status is announced as `health_status: <s>`.
 *
 * Lifecycle of a loop: every start records `starting(c)` (the status back to `starting`, the
 * log kept) and calls `start`; at daemon start `init` does both for a container still running;
 * `stop` at exit, pause and removal ends the loop and, as Docker does, marks the container
 * `unhealthy`; `resume` after an unpause restarts the loop without a reset; `detach` (daemon
 * shutdown) ends the loop and leaves the state as it is, so it is what the next daemon shows
 * until its own checks run.
 *
 * The loop never takes the container's lock: a stop holds it while it waits for the exit, and
 * the exit stops the loop. Results are saved with the state (ContainerFiles serialises saves),
 * so inspect after a daemon restart still shows the log.
 */
import type { HealthConfig, HealthcheckResult, Health, HealthStatus } from '../../types/index.js';
import { InvalidArgumentError, errorMessage, formatGoDuration, orTimeout, type Logger } from '../../util/index.js';
import type { ProbePort, ProbeProcess } from './ports.js';
import type { Container, ContainerStore } from './store.js';

export const DEFAULT_INTERVAL_NS = 30e9;
export const DEFAULT_TIMEOUT_NS = 30e9;
export const DEFAULT_START_INTERVAL_NS = 5e9;
export const DEFAULT_RETRIES = 3;
export const MAX_LOG_ENTRIES = 5;
/** Docker keeps this many bytes of a check's output and marks the cut with "...". */
export const MAX_OUTPUT_BYTES = 4096;
/** Starting an exec is not the check's time; a start that hangs this long is a failed check. */
const PROBE_START_TIMEOUT_MS = 30_000;
/** How long a killed check may take to report its end before the loop goes on without it. */
const PROBE_KILL_WAIT_MS = 10_000;

/** The command a healthcheck runs, or undefined when there is no check (none, `NONE`, an unknown type). */
export function probeCommand(hc: HealthConfig | undefined, shell?: string[] | null): string[] | undefined {
  const test = hc?.Test;
  if (!test?.length) return undefined;
  switch (test[0]) {
    case 'CMD':
      return test.slice(1);
    case 'CMD-SHELL':
      // Docker joins nothing: the shell gets the rest as its arguments.
      return test.length > 1 ? [...(shell?.length ? shell : ['/bin/sh', '-c']), ...test.slice(1)] : [];
    default:
      return undefined;
  }
}

/** The shortest interval, timeout, start period and start interval Docker takes: 1ms. */
const MIN_DURATION_NS = 1e6;

/** Docker's checks of a create's Healthcheck (moby daemon/container.go), with its texts. */
export function validateHealthcheck(hc: HealthConfig | undefined): void {
  if (!hc) return;
  const min = formatGoDuration(MIN_DURATION_NS);
  for (const field of ['Interval', 'Timeout'] as const) {
    const v = hc[field] ?? 0;
    if (v !== 0 && v < MIN_DURATION_NS) throw new InvalidArgumentError(`${field} in Healthcheck cannot be less than ${min}`);
  }
  if ((hc.Retries ?? 0) < 0) throw new InvalidArgumentError('Retries in Healthcheck cannot be negative');
  for (const field of ['StartPeriod', 'StartInterval'] as const) {
    const v = hc[field] ?? 0;
    if (v !== 0 && v < MIN_DURATION_NS) throw new InvalidArgumentError(`${field} in Healthcheck cannot be less than ${min}`);
  }
}

/** What the rules need from the config, with Docker's defaults for zeros (nanoseconds). */
export interface HealthTiming {
  intervalNs: number;
  timeoutNs: number;
  startPeriodNs: number;
  startIntervalNs: number;
  retries: number;
}

export function healthTiming(hc: HealthConfig | undefined): HealthTiming {
  return {
    intervalNs: hc?.Interval || DEFAULT_INTERVAL_NS,
    timeoutNs: hc?.Timeout || DEFAULT_TIMEOUT_NS,
    startPeriodNs: hc?.StartPeriod || 0,
    startIntervalNs: hc?.StartInterval || DEFAULT_START_INTERVAL_NS,
    retries: hc?.Retries && hc.Retries > 0 ? hc.Retries : DEFAULT_RETRIES,
  };
}

/**
 * Folds one result into the health state, Docker's rules: success makes it healthy and clears
 * the streak; a failure (any non-zero code) counts unless the container is still starting within
 * its start period, and `retries` failures in a row make it unhealthy. Keeps the last five
 * results. Returns the status before the result.
 */
export function recordResult(h: Health, r: HealthcheckResult, t: HealthTiming, startedAtMs: number): HealthStatus {
  const before = h.Status;
  h.Log = [...h.Log, r].slice(-MAX_LOG_ENTRIES);
  if (r.ExitCode === 0) {
    h.FailingStreak = 0;
    h.Status = 'healthy';
    return before;
  }
  if (h.Status === 'starting' && (Date.parse(r.Start) - startedAtMs) * 1e6 < t.startPeriodNs) return before;
  h.FailingStreak++;
  if (h.FailingStreak >= t.retries) h.Status = 'unhealthy';
  return before;
}

/** The wait before the next check: the start interval while starting within the start period. */
export function nextDelayNs(t: HealthTiming, status: HealthStatus, sinceStartMs: number): number {
  if (sinceStartMs * 1e6 >= t.startPeriodNs) return t.intervalNs;
  return status === 'starting' ? t.startIntervalNs : t.intervalNs;
}

/** Keeps the first MAX_OUTPUT_BYTES of a check's output. */
export class OutputBuffer {
  #chunks: Buffer[] = [];
  #size = 0;
  #truncated = false;

  write(data: Buffer): void {
    const keep = Math.min(MAX_OUTPUT_BYTES - this.#size, data.length);
    if (keep > 0) {
      this.#chunks.push(data.subarray(0, keep));
      this.#size += keep;
    }
    if (keep < data.length) this.#truncated = true;
  }

  text(): string {
    const out = Buffer.concat(this.#chunks).toString('utf8');
    return this.#truncated ? `${out}...` : out;
  }
}

interface Loop {
  stopped: boolean;
  timer?: NodeJS.Timeout;
  probe?: ProbeProcess;
}

export class HealthMonitor {
  readonly #loops = new Map<string, Loop>();

  constructor(
    private readonly store: ContainerStore,
    private readonly probes: ProbePort | undefined,
    private readonly logger: Logger,
  ) {}

  /** Whether the container's config asks for checks. */
  static hasCheck(c: Container): boolean {
    return probeCommand(c.record.config.Healthcheck) !== undefined;
  }

  /**
   * The health a start records (with its other fields, in one save): `starting`, with the log of
   * earlier runs kept; undefined for a container without checks.
   */
  starting(c: Container): Health | undefined {
    if (!HealthMonitor.hasCheck(c)) return undefined;
    return { Status: 'starting', FailingStreak: 0, Log: c.state.health?.Log ?? [] };
  }

  /** After a start recorded `starting(c)`: checks begin (a loop left from the last run ends). */
  start(c: Container): void {
    if (!c.state.health || !HealthMonitor.hasCheck(c)) return;
    this.#end(c);
    this.#open(c);
  }

  /** A container found running at daemon start: Docker resets it to `starting` and checks again. */
  init(c: Container): void {
    const h = this.starting(c);
    if (!h) return;
    c.state.health = h;
    this.start(c);
  }

  /** An unpause: checks go on from the status the pause left. */
  resume(c: Container): void {
    if (!c.state.health || !HealthMonitor.hasCheck(c)) return;
    this.#open(c);
  }

  /**
   * An exit, a pause or a removal: no more checks, and Docker shows the container unhealthy
   * (also one whose exit is found at daemon start, which had no loop in this daemon).
   */
  stop(c: Container): void {
    this.#end(c);
    if (c.state.health) c.state.health.Status = 'unhealthy';
  }

  /** Daemon shutdown: no more checks; the state stays as the checks left it. */
  detach(c: Container): void {
    this.#end(c);
  }

  #end(c: Container): boolean {
    const loop = this.#loops.get(c.record.id);
    if (!loop) return false;
    this.#loops.delete(c.record.id);
    loop.stopped = true;
    if (loop.timer) clearTimeout(loop.timer);
    loop.probe?.kill();
    return true;
  }

  #open(c: Container): void {
    if (this.#loops.has(c.record.id)) return;
    const loop: Loop = { stopped: false };
    this.#loops.set(c.record.id, loop);
    this.#schedule(c, loop);
  }

  #schedule(c: Container, loop: Loop): void {
    if (loop.stopped) return;
    const t = healthTiming(c.record.config.Healthcheck);
    const delayNs = nextDelayNs(t, c.state.health?.Status ?? 'starting', Date.now() - Date.parse(c.state.startedAt));
    loop.timer = setTimeout(() => void this.#check(c, loop), delayNs / 1e6);
    loop.timer.unref();
  }

  async #check(c: Container, loop: Loop): Promise<void> {
    loop.timer = undefined;
    const start = new Date();
    let result: HealthcheckResult;
    try {
      result = { Start: start.toISOString(), ...(await this.#probe(c, loop)) };
    } catch (err) {
      this.logger.warn('health check failed to run', { id: c.record.id, error: errorMessage(err) });
      result = { Start: start.toISOString(), End: new Date().toISOString(), ExitCode: -1, Output: errorMessage(err) };
    }
    loop.probe = undefined;
    // A loop stopped meanwhile drops its result, as Docker's does.
    if (loop.stopped || !c.state.health) return;
    const h = c.state.health;
    const before = recordResult(h, result, healthTiming(c.record.config.Healthcheck), Date.parse(c.state.startedAt));
    if (h.Status !== before) this.store.publish(c, `health_status: ${h.Status}`);
    if (this.store.has(c)) {
      await this.store.save(c).catch((err) => this.logger.warn('saving the health state failed', { id: c.record.id, error: errorMessage(err) }));
    }
    this.#schedule(c, loop);
  }

  /** One check: Docker's texts for a check that cannot start, that has no command, that runs too long. */
  async #probe(c: Container, loop: Loop): Promise<Omit<HealthcheckResult, 'Start'>> {
    const id = c.record.id;
    const cmd = probeCommand(c.record.config.Healthcheck, c.record.config.Shell);
    if (!cmd?.length) throw new Error(`healthcheck for container ${id} has no command`);
    if (!this.probes) throw new Error(`health checks cannot run: this engine has no exec`);
    const out = new OutputBuffer();
    const started = this.probes.startProbe(id, cmd, (b) => out.write(b));
    const probe = await orTimeout(started, PROBE_START_TIMEOUT_MS, () => undefined);
    if (!probe) {
      void started.then((p) => p.kill(), () => {});
      throw new Error(`timed out starting health check for container ${id}`);
    }
    loop.probe = probe;
    if (loop.stopped) probe.kill();
    const timeoutNs = healthTiming(c.record.config.Healthcheck).timeoutNs;
    const code = await orTimeout(probe.done, timeoutNs / 1e6, () => undefined);
    if (code === undefined) {
      probe.kill();
      // Dying checks must not pile up: wait (bounded) for this one to end before the next.
      await orTimeout(probe.done, PROBE_KILL_WAIT_MS, () => undefined).catch(() => undefined);
      const text = out.text();
      const what = `Health check exceeded timeout (${formatGoDuration(timeoutNs)})`;
      return { End: new Date().toISOString(), ExitCode: -1, Output: text ? `${what}: ${text}` : what };
    }
    return { End: new Date().toISOString(), ExitCode: code, Output: out.text() };
  }
}
