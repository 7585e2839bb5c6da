import type { Command } from 'commander';
import { jsonLines, type Client } from '../../../client/index.js';
import type { ContainerStats } from '../../../types/index.js';
import { shortId } from '../../../util/index.js';
import { exitWith, givenFlags, newCommand } from '../../command.js';
import { errorText } from '../../errors.js';
import { bytesSize, humanSize, render, sortedKeys } from '../../format/index.js';
import { FORMAT_TABLE_HELP } from '../../opts.js';
import type { IO, Session } from '../../session.js';

export interface StatsOptions {
  all?: boolean;
  format?: string;
  noStream?: boolean;
  /** false: --no-trunc. */
  trunc?: boolean;
  /** How often a stream redraws; docker's CLI redraws twice a second. */
  redrawMs?: number;
  /** Ends a stream (tests); a terminal user ends it with Ctrl-C. */
  signal?: AbortSignal;
}

export const STATS_HEADERS: Record<string, string> = {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};

const DEFAULT_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

/** docker's CPU %: the container's share of the host's CPU time since the previous sample, times the CPUs. */
export function cpuPercent(s: ContainerStats): number {
  const cpuDelta = s.cpu_stats.cpu_usage.total_usage - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const online = s.cpu_stats.online_cpus || s.cpu_stats.cpu_usage.percpu_usage?.length || 0;
  return systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * online * 100 : 0;
}

/** docker's memory usage: without the page cache that the kernel can drop (inactive files). */
export function memoryUsage(s: ContainerStats): number {
  const usage = s.memory_stats.usage ?? 0;
  const st = s.memory_stats.stats ?? {};
  const v1 = st.total_inactive_file;
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = st.inactive_file;
  if (v2 !== undefined && v2 < usage) return usage - v2;
  return usage;
}

/** One row of `stats` with docker's placeholder names. */
export function statsRow(container: string, s: ContainerStats, opts: { trunc: boolean }) {
  const mem = memoryUsage(s);
  const limit = s.memory_stats.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  let read = 0;
  let write = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = e.op.toLowerCase();
    if (op === 'read') read += e.value;
    else if (op === 'write') write += e.value;
  }
  return sortedKeys({
    BlockIO: `${humanSize(read)} / ${humanSize(write)}`,
    CPUPerc: `${cpuPercent(s).toFixed(2)}%`,
    Container: container,
    ID: opts.trunc ? shortId(s.id) : s.id,
    MemPerc: `${(limit ? (mem / limit) * 100 : 0).toFixed(2)}%`,
    MemUsage: `${bytesSize(mem)} / ${bytesSize(limit)}`,
    Name: s.name.replace(/^\//, ''),
    NetIO: `${humanSize(rx)} / ${humanSize(tx)}`,
    PIDs: String(s.pids_stats?.current ?? 0),
  }, '*formatter.StatsEntry');
}

/**
 * `stats [CONTAINER...]`: with --no-stream one table of one sample per container (all running
 * ones when none is named), otherwise the table redrawn as samples come until interrupted.
 */
export async function stats(client: Pick<Client, 'containerStats' | 'containerList'>, names: string[], opts: StatsOptions, io: IO): Promise<number> {
  const targets = names.length ? names : (await client.containerList({ all: opts.all })).map((c) => shortId(c.Id));
  const trunc = opts.trunc !== false;
  const format = !opts.format || opts.format === 'table' ? DEFAULT_FORMAT : opts.format;
  const latest = new Map<string, ContainerStats>();
  const errors: string[] = [];
  if (opts.noStream) {
    await Promise.all(
      targets.map(async (n) => {
        try {
          const res = await client.containerStats(n, { stream: false });
          for await (const s of jsonLines<ContainerStats>(res)) latest.set(n, s);
        } catch (err) {
          errors.push(errorText(err));
        }
      }),
    );
    const rows = targets.filter((n) => latest.has(n)).map((n) => statsRow(n, latest.get(n)!, { trunc }));
    if (errors.length && !rows.length) {
      io.stderr.write(errors.join('\n') + '\n');
      return 1;
    }
    io.stdout.write(render(format, rows, STATS_HEADERS));
    return errors.length ? 1 : 0;
  }
  const streams = targets.map(async (n) => {
    try {
      const res = await client.containerStats(n, { stream: true });
      opts.signal?.addEventListener('abort', () => res.destroy(), { once: true });
      for await (const s of jsonLines<ContainerStats>(res)) latest.set(n, s);
    } catch (err) {
      if (!opts.signal?.aborted) errors.push(errorText(err));
    }
  });
  const tty = Boolean(io.stdout.isTTY);
  const draw = () => {
    const rows = targets.filter((n) => latest.has(n)).map((n) => statsRow(n, latest.get(n)!, { trunc }));
    // In a terminal the table is redrawn in place; into a pipe each round follows the last.
    io.stdout.write((tty ? '\x1b[2J\x1b[H' : '') + render(format, rows, STATS_HEADERS));
  };
  const timer = setInterval(draw, opts.redrawMs ?? 500);
  try {
    await Promise.all(streams);
  } finally {
    clearInterval(timer);
  }
  if (errors.length) {
    io.stderr.write(errors.join('\n') + '\n');
    return 1;
  }
  return 0;
}

export function statsCommand(s: Session): Command {
  const cmd = newCommand('stats', 'Display a live stream of container(s) resource usage statistics', '[OPTIONS] [CONTAINER...]');
  return cmd
    .argument('[names...]')
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('--format <string>', FORMAT_TABLE_HELP)
    .option('--no-stream', 'Disable streaming stats and only pull the first result')
    .option('--no-trunc', 'Do not truncate output')
    .action(async (names: string[]) => {
      const f = givenFlags<{ all?: boolean; format?: string; stream?: boolean; trunc?: boolean }>(cmd);
      exitWith(await stats(s.client, names, { all: f.all, format: f.format, noStream: f.stream === false, trunc: f.trunc }, s.io));
    });
}
