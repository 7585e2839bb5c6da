import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CgroupSupport } from '../runtime/index.js';
import { checkResources, defaultResources, mergeUpdate, parseUintList, runtimeResources } from './resources.js';

const ALL: CgroupSupport = {
  memory: true, swap: true, swappiness: true, memoryReservation: true, oomKillDisable: true, pids: true,
  cpuShares: true, cpuCfs: true, cpuRealtime: true, cpuset: true, blkioWeight: true, blkioWeightDevice: true, blkioThrottle: true,
  cpus: '0-1', mems: '0',
};
const check = (r: Parameters<typeof checkResources>[0], update = false, sys = ALL) => checkResources(r, update, sys, 2);

test('checkResources: Docker\'s texts for values out of range', () => {
  const cases: [Parameters<typeof checkResources>[0], RegExp][] = [
    [{ Memory: -1 }, /Minimum memory limit allowed is 6MB$/],
    [{ Memory: 1 << 20 }, /Minimum memory limit allowed is 6MB$/],
    [{ Memory: 64 << 20, MemorySwap: 32 << 20 }, /Minimum memoryswap limit should be larger than memory limit/],
    [{ MemorySwap: 32 << 20 }, /You should always set the Memory limit when using Memoryswap limit/],
    [{ MemorySwappiness: 101 }, /Invalid value: 101, valid memory swappiness range is 0-100$/],
    [{ MemoryReservation: 1 }, /Minimum memory reservation allowed is 6MB$/],
    [{ NanoCpus: 3e9 }, /range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available$/],
    [{ NanoCpus: -1 }, /range of CPUs/],
    [{ NanoCpus: 1e9, CpuPeriod: 100000 }, /Nano CPUs and CPU Period cannot both be set/],
    [{ CpuShares: -2 }, /invalid CPU shares \(-2\): value must be a positive integer$/],
    [{ CpuPeriod: 999 }, /CPU cfs period can not be less than 1ms/],
    [{ CpuQuota: 10 }, /CPU cfs quota can not be less than 1ms/],
    [{ CpusetCpus: '0-3' }, /Requested CPUs are not available - requested 0-3, available: 0-1$/],
    [{ CpusetCpus: 'x' }, /Invalid value x for cpuset cpus: invalid format: x$/],
    [{ CpusetMems: '1' }, /Requested memory nodes are not available - requested 1, available: 0$/],
    [{ BlkioWeight: 5 }, /Range of blkio weight is from 10 to 1000$/],
    [{ ShmSize: -1 }, /SHM size can not be less than 0$/],
    [{ CpuRealtimePeriod: 5000, CpuRealtimeRuntime: 10000 }, /cpu real-time runtime cannot be higher than cpu real-time period$/],
  ];
  for (const [r, msg] of cases) assert.throws(() => check(r), msg, JSON.stringify(r));
  assert.deepEqual(check({ Memory: 64 << 20, NanoCpus: 1.5e9, CpusetCpus: '0,1', MemorySwappiness: -1 }), []);
  // An update may give swap alone: the container has its memory limit already.
  assert.deepEqual(check({ MemorySwap: 64 << 20 }, true), []);
});

test('checkResources: what the host cannot limit is discarded with dockerd\'s warning', () => {
  const r = { BlkioWeight: 500, PidsLimit: 10, KernelMemory: 1 << 20, Memory: 64 << 20 };
  const w = check(r, false, { ...ALL, blkioWeight: false, pids: false, swap: false });
  assert.deepEqual(w, [
    'Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.',
    'Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.',
    'Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.',
    'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.',
  ]);
  assert.equal(r.BlkioWeight, 0);
  assert.equal(r.PidsLimit, null);
  assert.equal(r.KernelMemory, 0);
});

test('checkResources: real-time CPU limits are refused where the kernel has no real-time groups', () => {
  for (const r of [{ CpuRealtimeRuntime: 5000 }, { CpuRealtimePeriod: 5000 }]) {
    assert.throws(() => check(r, false, { ...ALL, cpuRealtime: false }), /kernel does not support CPU real-time scheduler$/);
  }
  assert.deepEqual(check({ CpuRealtimePeriod: 1000000, CpuRealtimeRuntime: 95000 }), []);
  assert.deepEqual(runtimeResources({ CpuRealtimePeriod: 1000000, CpuRealtimeRuntime: 95000 }).cpuRealtimeRuntime, 95000);
});

test('parseUintList: ranges and lists', () => {
  assert.deepEqual([...parseUintList('0-2,5')], [0, 1, 2, 5]);
  assert.throws(() => parseUintList('2-1'), /invalid format/);
});

test('runtimeResources: --cpus as quota over a 100 ms period; update sends "unlimited" pids', () => {
  const r = runtimeResources({ NanoCpus: 1.5e9, Memory: 1 << 26, PidsLimit: null, BlkioDeviceReadBps: [{ Path: '/dev/vda', Rate: 1024 }] });
  assert.equal(r.cpuQuota, 150000);
  assert.equal(r.cpuPeriod, 100000);
  assert.equal(r.pidsLimit, undefined);
  assert.deepEqual(r.blkioReadBps, [{ path: '/dev/vda', value: 1024 }]);
  assert.equal(runtimeResources({ PidsLimit: 0 }, true).pidsLimit, -1);
  assert.equal(runtimeResources({ PidsLimit: null }, true).pidsLimit, -1);
});

test('defaultResources: swap twice the memory, cgroupns by hierarchy, OomKillDisable false', () => {
  const hc: Parameters<typeof defaultResources>[0] = { Memory: 100 };
  defaultResources(hc, false);
  assert.deepEqual(hc, { Memory: 100, MemorySwap: 200, CgroupnsMode: 'host', OomKillDisable: false });
  const v2: Parameters<typeof defaultResources>[0] = {};
  defaultResources(v2, true);
  assert.equal(v2.CgroupnsMode, 'private');
});

test('mergeUpdate: zero keeps the value; Docker\'s conflicts', () => {
  const cur = { Memory: 64, MemorySwap: 128, NanoCpus: 1e9, CpuShares: 100, RestartPolicy: { Name: 'no' as const } };
  const next = mergeUpdate(cur, 'c1', { CpuShares: 0, Memory: 100, PidsLimit: 5, RestartPolicy: { Name: 'always' } });
  assert.deepEqual(next, { Memory: 100, MemorySwap: 128, NanoCpus: 1e9, CpuShares: 100, PidsLimit: 5, RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } });
  assert.equal(cur.Memory, 64, 'the current config is left as it was');
  assert.throws(() => mergeUpdate(cur, 'c1', { CpuQuota: 5000 }), /Error: Cannot update container c1: Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set$|CPU Quota cannot be updated/);
  assert.throws(() => mergeUpdate(cur, 'c1', { Memory: 256 }), /Memory limit should be smaller than already set memoryswap limit/);
  assert.throws(() => mergeUpdate({ AutoRemove: true }, 'c1', { RestartPolicy: { Name: 'always' } }), /AutoRemove is enabled/);
});
