/**
 * `stats`: samples of a container's cgroup and network counters in dockerd's JSON. Each sample
 * carries the one before it (`precpu_stats`, `preread`), from which clients compute CPU %.
 * A query: no lock, so it never waits for a stop.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerStats } from '../../types/index.js';
import { blkioStats, type CgroupSample } from '../../runtime/index.js';
import type { ContainerContext } from './context.js';
import { isActive } from './state.js';
import type { Container } from './store.js';

/** How often a stream samples, as dockerd's collector does. */
export const STATS_INTERVAL_MS = 1000;
/**
 * stream=false answers with a sample whose precpu is filled, as dockerd does; dockerd waits for
 * its collector's next round (a second or two), this waits for a second sample this far apart.
 */
export const NO_STREAM_WINDOW_MS = 500;

export interface StatsOptions {
  stream: boolean;
  /** With stream=false: the first sample at once, its precpu empty. */
  oneShot: boolean;
  signal: AbortSignal;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

function emptyCpu(): ContainerStats['cpu_stats'] {
  return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
}

/** What dockerd sends for a container that does not run: its names and zeros. */
function emptySample(): CgroupSample {
  return {
    read: ZERO_TIME,
    num_procs: 0,
    storage_stats: {},
    pids_stats: {},
    blkio_stats: blkioStats(null, null),
    cpu_stats: emptyCpu(),
    memory_stats: {},
  };
}

export class Stats {
  constructor(private readonly ctx: ContainerContext) {}

  async #sample(c: Container): Promise<CgroupSample> {
    if (!isActive(c.state)) return emptySample();
    const rt = this.ctx.runtimeOf(c);
    if (!rt.stats) return emptySample();
    // A container that exits between the status check and the reads has no cgroup left.
    return rt.stats(c.record.id).catch(() => emptySample());
  }

  #frame(c: Container, cur: CgroupSample, prev: CgroupSample | undefined): ContainerStats {
    return {
      ...cur,
      name: `/${c.record.name}`,
      id: c.record.id,
      preread: prev?.read ?? ZERO_TIME,
      precpu_stats: prev?.cpu_stats ?? emptyCpu(),
    };
  }

  /** The samples of one request: one for stream=false, one a second until `signal` for a stream. */
  async *stats(ref: string, opts: StatsOptions): AsyncGenerator<ContainerStats> {
    const c = this.ctx.store.get(ref);
    let prev: CgroupSample | undefined;
    if (!opts.stream) {
      if (!opts.oneShot && isActive(c.state)) {
        prev = await this.#sample(c);
        await sleep(NO_STREAM_WINDOW_MS, undefined, { signal: opts.signal }).catch(() => {});
      }
      yield this.#frame(c, await this.#sample(c), prev);
      return;
    }
    // Bounded by the client: the route aborts `signal` when it goes away.
    while (!opts.signal.aborted) {
      const cur = await this.#sample(c);
      yield this.#frame(c, cur, prev);
      prev = cur;
      await sleep(STATS_INTERVAL_MS, undefined, { signal: opts.signal }).catch(() => {});
    }
  }
}
