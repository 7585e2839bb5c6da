/**
 * A container's cgroup as the kernel shows it: what the host's hierarchy supports (for Docker's
 * "Your kernel does not support ..." warnings) and the figures `stats` reports. cgroup v1 keeps
 * one tree per controller (`/sys/fs/cgroup/memory/<path>`, ...); v2 one tree for all of them
 * (`/sys/fs/cgroup/<path>`). A hybrid host (v1 controllers beside an empty v2 tree) is v1 here.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, posix } from 'node:path';
import type { BlkioStatEntry, ContainerStats, CpuStats, NetworkStats } from '../types/index.js';

const ROOT = '/sys/fs/cgroup';

/** Whether the host runs the unified hierarchy (v2) rather than v1 or hybrid. */
export const cgroupV2 = existsSync(join(ROOT, 'cgroup.controllers'));

/** What the host's cgroups can limit; false means Docker's warning and the limit discarded. */
export interface CgroupSupport {
  memory: boolean;
  swap: boolean;
  swappiness: boolean;
  memoryReservation: boolean;
  oomKillDisable: boolean;
  pids: boolean;
  cpuShares: boolean;
  cpuCfs: boolean;
  /** v1's real-time group scheduling (CONFIG_RT_GROUP_SCHED); v2 has none. */
  cpuRealtime: boolean;
  cpuset: boolean;
  blkioWeight: boolean;
  blkioWeightDevice: boolean;
  blkioThrottle: boolean;
  /** The CPUs and memory nodes cpuset may use, as the kernel lists them ("0-1"). */
  cpus: string;
  mems: string;
}

function firstLine(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function detect(): CgroupSupport {
  if (cgroupV2) {
    const ctl = new Set(firstLine(join(ROOT, 'cgroup.controllers')).split(/\s+/));
    const io = ctl.has('io');
    return {
      memory: ctl.has('memory'),
      swap: ctl.has('memory') && existsSync(join(ROOT, 'init.scope', 'memory.swap.max')),
      // v2 has no swappiness per cgroup; runc ignores it there.
      swappiness: false,
      memoryReservation: ctl.has('memory'),
      oomKillDisable: false,
      pids: ctl.has('pids'),
      cpuShares: ctl.has('cpu'),
      cpuCfs: ctl.has('cpu'),
      cpuRealtime: false,
      cpuset: ctl.has('cpuset'),
      blkioWeight: io && (existsSync(join(ROOT, 'init.scope', 'io.weight')) || existsSync(join(ROOT, 'init.scope', 'io.bfq.weight'))),
      blkioWeightDevice: io && existsSync(join(ROOT, 'init.scope', 'io.weight')),
      blkioThrottle: io,
      cpus: firstLine(join(ROOT, 'cpuset.cpus.effective')) || `0-${cpus().length - 1}`,
      mems: firstLine(join(ROOT, 'cpuset.mems.effective')) || '0',
    };
  }
  const has = (ctl: string, file: string) => existsSync(join(ROOT, ctl, file));
  return {
    memory: has('memory', 'memory.limit_in_bytes'),
    swap: has('memory', 'memory.memsw.limit_in_bytes'),
    swappiness: has('memory', 'memory.swappiness'),
    memoryReservation: has('memory', 'memory.soft_limit_in_bytes'),
    oomKillDisable: has('memory', 'memory.oom_control'),
    // The root of the pids hierarchy has no pids.max of its own; its children do.
    pids: has('pids', 'cgroup.procs'),
    cpuShares: has('cpu', 'cpu.shares'),
    cpuCfs: has('cpu', 'cpu.cfs_quota_us'),
    cpuRealtime: has('cpu', 'cpu.rt_runtime_us'),
    cpuset: has('cpuset', 'cpuset.cpus'),
    blkioWeight: has('blkio', 'blkio.weight') || has('blkio', 'blkio.bfq.weight'),
    blkioWeightDevice: has('blkio', 'blkio.weight_device') || has('blkio', 'blkio.bfq.weight_device'),
    blkioThrottle: has('blkio', 'blkio.throttle.read_bps_device'),
    cpus: firstLine(join(ROOT, 'cpuset', 'cpuset.effective_cpus')) || firstLine(join(ROOT, 'cpuset', 'cpuset.cpus')) || `0-${cpus().length - 1}`,
    mems: firstLine(join(ROOT, 'cpuset', 'cpuset.effective_mems')) || firstLine(join(ROOT, 'cpuset', 'cpuset.mems')) || '0',
  };
}

let support: CgroupSupport | undefined;
/** Read once: the controllers a host mounts do not change while the daemon runs. */
export function cgroupSupport(): CgroupSupport {
  return (support ??= detect());
}

/** The real-time CPU time the daemon gives its containers' parent cgroup (dockerd's --cpu-rt-period, --cpu-rt-runtime). */
export interface RealtimeBudget {
  period?: number;
  runtime?: number;
}

/**
 * Gives each cgroup from the top down to `parent` the daemon's real-time budget. On v1 a new
 * cgroup's cpu.rt_runtime_us is 0 and no child may have more than its parent, so without this no
 * container could get `--cpu-rt-runtime`. Nothing to do on v2, which has no real-time groups.
 */
export function grantRealtime(parent: string, budget: RealtimeBudget): void {
  if (cgroupV2 || (!budget.period && !budget.runtime)) return;
  let dir = join(ROOT, 'cpu');
  // Normalized from the root: a --cgroup-parent of `../x` stays inside the hierarchy.
  for (const part of posix.normalize(`/${parent}`).split('/').filter(Boolean)) {
    dir = join(dir, part);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const [file, value] of [['cpu.rt_period_us', budget.period], ['cpu.rt_runtime_us', budget.runtime]] as const) {
      if (!value) continue;
      try {
        writeFileSync(join(dir, file), String(value));
      } catch (err) {
        throw new Error(`unable to init CPU RT controller: write ${join(dir, file)}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
}

/** Where one controller's directory of a container's cgroup is (`controller` is ignored on v2). */
export function cgroupDir(cgroupsPath: string, controller: string): string {
  return cgroupV2 ? join(ROOT, cgroupsPath) : join(ROOT, controller, cgroupsPath);
}

/**
 * cgroup and proc files are a page at most and served from memory: read in one synchronous call
 * each, they cost a few microseconds; through the thread pool (open, stat, read, close, each a
 * round trip) a sample of 15 files took milliseconds, and 50 containers queued behind 4 threads.
 */
async function text(path: string): Promise<string | undefined> {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function num(path: string): Promise<number | undefined> {
  const t = await text(path);
  if (t === undefined) return undefined;
  const v = t.trim();
  return v === 'max' ? undefined : Number(v);
}

/** `key value` lines (memory.stat, cpu.stat, cpuacct.stat) as a map. */
export function keyValues(t: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (t ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** v1's blkio files: `8:0 Read 4096` lines. */
export function blkioV1(t: string | undefined): BlkioStatEntry[] {
  const out: BlkioStatEntry[] = [];
  for (const line of (t ?? '').split('\n')) {
    const m = /^(\d+):(\d+)\s+(\S+)\s+(\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3], value: Number(m[4]) });
  }
  return out;
}

/** v2's io.stat: `8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...`, as bytes and ios entries (Docker's lowercase ops). */
export function ioStatV2(t: string | undefined): { bytes: BlkioStatEntry[]; ios: BlkioStatEntry[] } {
  const bytes: BlkioStatEntry[] = [];
  const ios: BlkioStatEntry[] = [];
  for (const line of (t ?? '').split('\n')) {
    const [dev, ...fields] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const kv = Object.fromEntries(fields.map((f) => f.split('=')).map(([k, v]) => [k, Number(v)]));
    const major = Number(m[1]);
    const minor = Number(m[2]);
    bytes.push({ major, minor, op: 'read', value: kv.rbytes ?? 0 }, { major, minor, op: 'write', value: kv.wbytes ?? 0 });
    ios.push({ major, minor, op: 'read', value: kv.rios ?? 0 }, { major, minor, op: 'write', value: kv.wios ?? 0 });
  }
  return { bytes, ios };
}

/** /proc/<pid>/net/dev: the interfaces of the process's network namespace, loopback left out as Docker does. */
export function netDev(t: string | undefined): Record<string, NetworkStats> | undefined {
  const out: Record<string, NetworkStats> = {};
  for (const line of (t ?? '').split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo') continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    out[name] = {
      rx_bytes: f[0], rx_packets: f[1], rx_errors: f[2], rx_dropped: f[3],
      tx_bytes: f[8], tx_packets: f[9], tx_errors: f[10], tx_dropped: f[11],
    };
  }
  return Object.keys(out).length ? out : undefined;
}

const CLOCK_TICKS = 100;

let systemCache: { at: number; value: Promise<number | undefined> } | undefined;

/**
 * The host's CPU time in nanoseconds, as dockerd's system_cpu_usage. Samples taken within a few
 * milliseconds of each other (`stats` of many containers at once) share one read of /proc/stat.
 */
export function systemCpuUsage(): Promise<number | undefined> {
  const now = Date.now();
  if (!systemCache || now - systemCache.at > 5) systemCache = { at: now, value: readSystemCpuUsage() };
  return systemCache.value;
}

async function readSystemCpuUsage(): Promise<number | undefined> {
  const t = await text('/proc/stat');
  const line = t?.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  // user nice system idle iowait irq softirq steal; guest time is already in user.
  const ticks = line.trim().split(/\s+/).slice(1, 9).reduce((a, v) => a + Number(v), 0);
  return (ticks * 1e9) / CLOCK_TICKS;
}

/** The stats sample of a running container minus its names and the previous sample. */
export type CgroupSample = Omit<ContainerStats, 'name' | 'id' | 'preread' | 'precpu_stats'>;

/** CPUs come and go only by hotplug; counting them reads /proc/cpuinfo, so it is done once. */
const ONLINE_CPUS = cpus().length;

export async function readCgroupStats(cgroupsPath: string, pid: number): Promise<CgroupSample> {
  const online = ONLINE_CPUS;
  const [system, net] = await Promise.all([systemCpuUsage(), pid > 0 ? text(`/proc/${pid}/net/dev`) : Promise.resolve(undefined)]);
  const read = new Date().toISOString().replace(/Z$/, '000000Z');
  const sample = cgroupV2 ? await readV2(cgroupsPath) : await readV1(cgroupsPath);
  sample.cpu_stats.system_cpu_usage = system;
  sample.cpu_stats.online_cpus = online;
  return { read, num_procs: 0, storage_stats: {}, networks: netDev(net), ...sample };
}

type Part = Pick<ContainerStats, 'cpu_stats' | 'memory_stats' | 'blkio_stats' | 'pids_stats'>;

/** Docker's blkio_stats: only the two lists a cgroup has, null for what neither version keeps. */
export function blkioStats(bytes: BlkioStatEntry[] | null, ios: BlkioStatEntry[] | null): ContainerStats['blkio_stats'] {
  return {
    io_service_bytes_recursive: bytes,
    io_serviced_recursive: ios,
    io_queue_recursive: null,
    io_service_time_recursive: null,
    io_wait_time_recursive: null,
    io_merged_recursive: null,
    io_time_recursive: null,
    sectors_recursive: null,
  };
}

/** A limit above the host's memory means none; dockerd then reports the host's memory. */
function memLimit(limit: number | undefined): number {
  const host = totalmem();
  return limit === undefined || limit > host ? host : limit;
}

async function readV1(path: string): Promise<Part> {
  const d = (c: string, f: string) => join(ROOT, c, path, f);
  const [usage, percpu, cpuacctStat, cpuStat, memUsage, memMax, memFail, memLim, memStat, blkBytes, blkIos, pids, pidsMax] = await Promise.all([
    num(d('cpuacct', 'cpuacct.usage')),
    text(d('cpuacct', 'cpuacct.usage_percpu')),
    text(d('cpuacct', 'cpuacct.stat')),
    text(d('cpu', 'cpu.stat')),
    num(d('memory', 'memory.usage_in_bytes')),
    num(d('memory', 'memory.max_usage_in_bytes')),
    num(d('memory', 'memory.failcnt')),
    num(d('memory', 'memory.limit_in_bytes')),
    text(d('memory', 'memory.stat')),
    text(d('blkio', 'blkio.throttle.io_service_bytes_recursive')),
    text(d('blkio', 'blkio.throttle.io_serviced_recursive')),
    num(d('pids', 'pids.current')),
    num(d('pids', 'pids.max')),
  ]);
  const ticks = keyValues(cpuacctStat);
  const throttle = keyValues(cpuStat);
  const toNs = (t: number | undefined) => ((t ?? 0) * 1e9) / CLOCK_TICKS;
  return {
    cpu_stats: {
      cpu_usage: {
        total_usage: usage ?? 0,
        percpu_usage: percpu?.trim().split(/\s+/).filter(Boolean).map(Number),
        usage_in_kernelmode: toNs(ticks.system),
        usage_in_usermode: toNs(ticks.user),
      },
      throttling_data: { periods: throttle.nr_periods ?? 0, throttled_periods: throttle.nr_throttled ?? 0, throttled_time: throttle.throttled_time ?? 0 },
    },
    memory_stats: { usage: memUsage, max_usage: memMax, failcnt: memFail, limit: memLimit(memLim), stats: keyValues(memStat) },
    blkio_stats: blkioStats(
      blkioV1(blkBytes).filter((e) => e.op !== 'Total'),
      blkioV1(blkIos).filter((e) => e.op !== 'Total'),
    ),
    pids_stats: { current: pids, limit: pidsMax },
  };
}

async function readV2(path: string): Promise<Part> {
  const d = (f: string) => join(ROOT, path, f);
  const [cpuStat, memCurrent, memMax, memStat, ioStat, pids, pidsMax] = await Promise.all([
    text(d('cpu.stat')),
    num(d('memory.current')),
    num(d('memory.max')),
    text(d('memory.stat')),
    text(d('io.stat')),
    num(d('pids.current')),
    num(d('pids.max')),
  ]);
  const c = keyValues(cpuStat);
  const io = ioStatV2(ioStat);
  return {
    cpu_stats: {
      cpu_usage: { total_usage: (c.usage_usec ?? 0) * 1000, usage_in_kernelmode: (c.system_usec ?? 0) * 1000, usage_in_usermode: (c.user_usec ?? 0) * 1000 },
      throttling_data: { periods: c.nr_periods ?? 0, throttled_periods: c.nr_throttled ?? 0, throttled_time: (c.throttled_usec ?? 0) * 1000 },
    },
    memory_stats: { usage: memCurrent, limit: memLimit(memMax), stats: keyValues(memStat) },
    blkio_stats: blkioStats(io.bytes, io.ios),
    pids_stats: { current: pids, limit: pidsMax },
  };
}

/** The cpu_stats of no sample (Docker's precpu_stats of a first sample). */
export function emptyCpuStats(): CpuStats {
  return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
}
