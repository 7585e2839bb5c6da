/**
 * cgroup limits as Docker takes them: the checks of create and update with dockerd's texts
 * (moby daemon/daemon_unix.go verifyPlatformContainerResources), the limits a host cannot apply
 * discarded with dockerd's warning, update's merge rules (moby container.UpdateContainer), and
 * the translation to the runtime's plain Resources.
 */
import { cpus } from 'node:os';
import { cgroupSupport, type CgroupSupport, type Resources as RuntimeResources } from '../runtime/index.js';
import type { ContainerUpdateRequest, HostConfig, Resources, ThrottleDevice, WeightDevice } from '../types/index.js';
import { ConflictError, InvalidArgumentError } from '../util/index.js';

const MIN_MEMORY = 6 * 1024 * 1024;

/** `0-2,5` as the set of numbers it lists; throws Docker's "invalid format" for anything else. */
export function parseUintList(list: string): Set<number> {
  const out = new Set<number>();
  if (list === '') return out;
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`invalid format: ${list}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`invalid format: ${list}`);
    // Bounded: a cpuset beyond a few thousand CPUs is no host's.
    if (hi - lo > 65536) throw new Error(`invalid format: ${list}`);
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return out;
}

function subsetOf(requested: string, available: string, what: 'cpus' | 'mems'): void {
  let want: Set<number>;
  try {
    want = parseUintList(requested);
  } catch (err) {
    throw new InvalidArgumentError(`Invalid value ${requested} for cpuset ${what}: ${(err as Error).message}`);
  }
  const have = parseUintList(available);
  for (const n of want) {
    if (!have.has(n)) {
      const noun = what === 'cpus' ? 'CPUs' : 'memory nodes';
      throw new InvalidArgumentError(`Requested ${noun} are not available - requested ${requested}, available: ${available}`);
    }
  }
}

/**
 * Checks a create's or an update's resources; mutates `r` to drop what the host cannot limit
 * and returns dockerd's warnings for it. `update` relaxes the rule that swap needs memory
 * (the container may have it already).
 */
export function checkResources(r: Resources & Pick<HostConfig, 'ShmSize' | 'OomScoreAdj'>, update: boolean, sys: CgroupSupport = cgroupSupport(), ncpu = cpus().length): string[] {
  const warnings: string[] = [];
  const fail = (msg: string): never => {
    throw new InvalidArgumentError(msg);
  };
  if (r.MemorySwappiness === -1) r.MemorySwappiness = null;
  const memory = r.Memory ?? 0;
  if (memory !== 0 && memory < MIN_MEMORY) fail('Minimum memory limit allowed is 6MB');
  if (memory > 0 && !sys.memory) {
    warnings.push('Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.');
    r.Memory = 0;
    r.MemorySwap = -1;
  }
  if ((r.Memory ?? 0) > 0 && r.MemorySwap !== -1 && !sys.swap) {
    warnings.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
    r.MemorySwap = -1;
  }
  const swap = r.MemorySwap ?? 0;
  if (swap < -1) fail('Minimum memoryswap limit should be larger than memory limit, see usage');
  if ((r.Memory ?? 0) > 0 && swap > 0 && swap < (r.Memory ?? 0)) fail('Minimum memoryswap limit should be larger than memory limit, see usage');
  if ((r.Memory ?? 0) === 0 && swap > 0 && !update) fail('You should always set the Memory limit when using Memoryswap limit, see usage');
  if (r.MemorySwappiness != null && !sys.swappiness) {
    warnings.push('Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.');
    r.MemorySwappiness = null;
  }
  if (r.MemorySwappiness != null && (r.MemorySwappiness < 0 || r.MemorySwappiness > 100)) {
    fail(`Invalid value: ${r.MemorySwappiness}, valid memory swappiness range is 0-100`);
  }
  const reservation = r.MemoryReservation ?? 0;
  if (reservation > 0 && !sys.memoryReservation) {
    warnings.push('Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.');
    r.MemoryReservation = 0;
  }
  if (reservation !== 0 && reservation < MIN_MEMORY) fail('Minimum memory reservation allowed is 6MB');
  if ((r.Memory ?? 0) > 0 && reservation > 0 && (r.Memory ?? 0) < reservation) {
    fail('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
  if (r.KernelMemory) {
    // Kernels since 5.4 deprecate kmem limits and cgroup v2 has none; dockerd discards them.
    warnings.push('Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.');
    r.KernelMemory = 0;
  }
  if (r.OomKillDisable != null && !sys.oomKillDisable) {
    if (r.OomKillDisable) warnings.push('Your kernel does not support OomKillDisable. OomKillDisable discarded.');
    r.OomKillDisable = null;
  }
  if (r.OomKillDisable && (r.Memory ?? 0) === 0) {
    warnings.push('OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.');
  }
  if (r.PidsLimit != null && !sys.pids) {
    if (r.PidsLimit > 0) warnings.push('Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.');
    r.PidsLimit = null;
  }

  const nano = r.NanoCpus ?? 0;
  if (nano > 0 && (r.CpuPeriod ?? 0) > 0) fail('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nano > 0 && (r.CpuQuota ?? 0) > 0) fail('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (nano > 0 && !sys.cpuCfs) fail('NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted');
  // dockerd leaves below 0.01 CPU to the kernel to refuse at start; refusing it here says why.
  if (nano !== 0 && (nano < 1e7 || nano > ncpu * 1e9)) {
    fail(`range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`);
  }
  if ((r.CpuShares ?? 0) < 0) fail(`invalid CPU shares (${r.CpuShares}): value must be a positive integer`);
  if ((r.CpuShares ?? 0) > 0 && !sys.cpuShares) {
    warnings.push('Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.');
    r.CpuShares = 0;
  }
  if (((r.CpuPeriod ?? 0) !== 0 || (r.CpuQuota ?? 0) !== 0) && !sys.cpuCfs) {
    warnings.push('Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.');
    r.CpuPeriod = 0;
    r.CpuQuota = 0;
  }
  const period = r.CpuPeriod ?? 0;
  if (period !== 0 && (period < 1000 || period > 1000000)) fail('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  const quota = r.CpuQuota ?? 0;
  if (quota > 0 && quota < 1000) fail('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  // -1 is the kernel's "no quota"; anything below it is no value at all.
  if (quota < -1) fail('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  // Current dockerd refuses these outright where the kernel has no real-time groups (v2, or v1
  // without CONFIG_RT_GROUP_SCHED); 20.10 only warned.
  const rtPeriod = r.CpuRealtimePeriod ?? 0;
  const rtRuntime = r.CpuRealtimeRuntime ?? 0;
  if ((rtPeriod !== 0 || rtRuntime !== 0) && !sys.cpuRealtime) fail('kernel does not support CPU real-time scheduler');
  if (rtPeriod !== 0 && rtRuntime !== 0 && rtRuntime > rtPeriod) fail('cpu real-time runtime cannot be higher than cpu real-time period');
  if ((r.CpuPercent ?? 0) > 0) {
    warnings.push('linux does not support CPU percent. Percent discarded.');
    r.CpuPercent = 0;
  }

  if ((r.CpusetCpus || r.CpusetMems) && !sys.cpuset) {
    warnings.push('Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.');
    r.CpusetCpus = '';
    r.CpusetMems = '';
  }
  if (r.CpusetCpus) subsetOf(r.CpusetCpus, sys.cpus, 'cpus');
  if (r.CpusetMems) subsetOf(r.CpusetMems, sys.mems, 'mems');

  const weight = r.BlkioWeight ?? 0;
  if (weight > 0 && !sys.blkioWeight) {
    warnings.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
    r.BlkioWeight = 0;
  }
  if ((r.BlkioWeight ?? 0) !== 0 && ((r.BlkioWeight ?? 0) < 10 || (r.BlkioWeight ?? 0) > 1000)) fail('Range of blkio weight is from 10 to 1000');
  if (weight < 0) fail('Range of blkio weight is from 10 to 1000');
  if (r.IOMaximumBandwidth || r.IOMaximumIOps) fail('Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps');
  if (r.BlkioWeightDevice?.length && !sys.blkioWeightDevice) {
    warnings.push('Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.');
    r.BlkioWeightDevice = [];
  }
  for (const d of r.BlkioWeightDevice ?? []) {
    if (d.Weight < 10 || d.Weight > 1000) fail(`invalid weight for device: ${d.Weight}`);
  }
  const throttles: [keyof Resources, string][] = [
    ['BlkioDeviceReadBps', 'Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. Block I/O BPS read limit discarded.'],
    ['BlkioDeviceWriteBps', 'Your kernel does not support BPS Block I/O write limit or the cgroup is not mounted. Block I/O BPS write limit discarded.'],
    ['BlkioDeviceReadIOps', 'Your kernel does not support IOPS Block read limit or the cgroup is not mounted. Block I/O IOPS read limit discarded.'],
    ['BlkioDeviceWriteIOps', 'Your kernel does not support IOPS Block write limit or the cgroup is not mounted. Block I/O IOPS write limit discarded.'],
  ];
  for (const [key, warning] of throttles) {
    const list = r[key] as ThrottleDevice[] | null | undefined;
    if (list?.length && !sys.blkioThrottle) {
      warnings.push(warning);
      (r as Record<string, unknown>)[key] = [];
    }
    for (const d of list ?? []) if (!(d.Rate >= 0)) fail(`invalid rate for device: ${d.Path}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb`);
  }
  if ((r.ShmSize ?? 0) < 0) fail('SHM size can not be less than 0');
  if (r.OomScoreAdj !== undefined && (r.OomScoreAdj < -1000 || r.OomScoreAdj > 1000)) fail(`Invalid value ${r.OomScoreAdj}, range for oom score adj is [-1000, 1000]`);
  return warnings;
}

const weights = (l: WeightDevice[] | null | undefined) => (l?.length ? l.map((d) => ({ path: d.Path, value: d.Weight })) : undefined);
const rates = (l: ThrottleDevice[] | null | undefined) => (l?.length ? l.map((d) => ({ path: d.Path, value: d.Rate })) : undefined);

/**
 * A container's HostConfig limits as the runtime's Resources. `forUpdate` sends "unlimited"
 * explicitly for pids, where `update --pids-limit -1` must undo an earlier limit.
 */
export function runtimeResources(hc: Resources, forUpdate = false): RuntimeResources {
  const pids = hc.PidsLimit;
  return {
    memory: hc.Memory || undefined,
    memoryReservation: hc.MemoryReservation || undefined,
    memorySwap: hc.MemorySwap || undefined,
    memorySwappiness: hc.MemorySwappiness ?? undefined,
    cpuShares: hc.CpuShares || undefined,
    cpuQuota: hc.NanoCpus ? Math.round((hc.NanoCpus / 1e9) * 100_000) : hc.CpuQuota || undefined,
    cpuPeriod: hc.NanoCpus ? 100_000 : hc.CpuPeriod || undefined,
    cpuRealtimePeriod: hc.CpuRealtimePeriod || undefined,
    cpuRealtimeRuntime: hc.CpuRealtimeRuntime || undefined,
    cpusetCpus: hc.CpusetCpus || undefined,
    cpusetMems: hc.CpusetMems || undefined,
    // The record keeps "no limit" as null; an update must say so, or an earlier limit would stay.
    pidsLimit: pids && pids > 0 ? pids : forUpdate ? -1 : undefined,
    blkioWeight: hc.BlkioWeight || undefined,
    blkioWeightDevice: weights(hc.BlkioWeightDevice),
    blkioReadBps: rates(hc.BlkioDeviceReadBps),
    blkioWriteBps: rates(hc.BlkioDeviceWriteBps),
    blkioReadIops: rates(hc.BlkioDeviceReadIOps),
    blkioWriteIops: rates(hc.BlkioDeviceWriteIOps),
    oomKillDisable: hc.OomKillDisable ?? undefined,
  };
}

/** What create records besides the request: Docker's defaults for the limits (moby adaptContainerSettings). */
export function defaultResources(hc: HostConfig, cgroupV2: boolean): void {
  if ((hc.Memory ?? 0) > 0 && !hc.MemorySwap) hc.MemorySwap = (hc.Memory ?? 0) * 2;
  if (!hc.CgroupnsMode) hc.CgroupnsMode = hc.Privileged && !cgroupV2 ? 'host' : cgroupV2 ? 'private' : 'host';
  hc.OomKillDisable ??= false;
}

/**
 * An update's limits and restart policy merged over a container's (moby container.UpdateContainer):
 * a zero or absent field keeps the current value. Returns the new HostConfig; the old is untouched.
 */
export function mergeUpdate(current: HostConfig, id: string, u: ContainerUpdateRequest): HostConfig {
  const conflict = (msg: string): never => {
    throw new ConflictError(`Cannot update container ${id}: ${msg}`);
  };
  const next: HostConfig = { ...current };
  if ((u.NanoCpus ?? 0) > 0 && (current.CpuPeriod ?? 0) > 0) conflict('Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set');
  if ((u.NanoCpus ?? 0) > 0 && (current.CpuQuota ?? 0) > 0) conflict('Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set');
  if ((u.CpuPeriod ?? 0) > 0 && (current.NanoCpus ?? 0) > 0) conflict('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
  if ((u.CpuQuota ?? 0) > 0 && (current.NanoCpus ?? 0) > 0) conflict('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');
  const numeric = ['BlkioWeight', 'CpuShares', 'NanoCpus', 'CpuPeriod', 'CpuQuota', 'MemoryReservation', 'CpuRealtimePeriod', 'CpuRealtimeRuntime'] as const;
  for (const k of numeric) if (u[k]) next[k] = u[k];
  for (const k of ['BlkioWeightDevice', 'BlkioDeviceReadBps', 'BlkioDeviceWriteBps', 'BlkioDeviceReadIOps', 'BlkioDeviceWriteIOps'] as const) {
    if (u[k] != null) (next as Record<string, unknown>)[k] = u[k];
  }
  if (u.CpusetCpus) next.CpusetCpus = u.CpusetCpus;
  if (u.CpusetMems) next.CpusetMems = u.CpusetMems;
  if (u.Memory) {
    if (u.Memory > (current.MemorySwap ?? 0) && !u.MemorySwap && current.MemorySwap !== -1) {
      conflict('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    next.Memory = u.Memory;
  }
  if (u.MemorySwap) next.MemorySwap = u.MemorySwap;
  if (u.PidsLimit != null) next.PidsLimit = u.PidsLimit > 0 ? u.PidsLimit : null;
  if (u.RestartPolicy?.Name) {
    if (current.AutoRemove && u.RestartPolicy.Name !== 'no') conflict('Restart policy cannot be updated because AutoRemove is enabled for the container');
    next.RestartPolicy = { Name: u.RestartPolicy.Name, MaximumRetryCount: u.RestartPolicy.MaximumRetryCount ?? 0 };
  }
  return next;
}
