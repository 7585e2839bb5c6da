import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerStats } from '../../../types/index.js';
import { cpuPercent, memoryUsage, statsRow } from './stats.js';

function sample(over: Partial<ContainerStats> = {}): ContainerStats {
  const cpu = (total: number, system: number) => ({
    cpu_usage: { total_usage: total, usage_in_kernelmode: 0, usage_in_usermode: 0, percpu_usage: [0, 0] },
    system_cpu_usage: system,
    online_cpus: 2,
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  });
  return {
    name: '/web',
    id: 'a'.repeat(64),
    read: '',
    preread: '',
    pids_stats: { current: 3 },
    blkio_stats: {
      io_service_bytes_recursive: [
        { major: 8, minor: 0, op: 'Read', value: 1_500_000 },
        { major: 8, minor: 0, op: 'Write', value: 2000 },
        { major: 8, minor: 0, op: 'Total', value: 1_502_000 },
      ],
      io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null,
      io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpu(2_000_000_000, 10_000_000_000),
    precpu_stats: cpu(1_000_000_000, 6_000_000_000),
    memory_stats: { usage: 10 * 2 ** 20, limit: 64 * 2 ** 20, stats: { total_inactive_file: 2 * 2 ** 20 } },
    networks: { eth0: { rx_bytes: 1234, tx_bytes: 567, rx_packets: 0, rx_errors: 0, rx_dropped: 0, tx_packets: 0, tx_errors: 0, tx_dropped: 0 } },
    ...over,
  };
}

test('cpuPercent: the container\'s share of the host\'s CPU time since the last sample, times the CPUs', () => {
  // 1 s of CPU over 4 s of host time on 2 CPUs: 50%.
  assert.equal(cpuPercent(sample()), 50);
  assert.equal(cpuPercent(sample({ precpu_stats: sample().cpu_stats })), 0);
});

test('memoryUsage: without inactive files (v1 total_inactive_file, v2 inactive_file)', () => {
  assert.equal(memoryUsage(sample()), 8 * 2 ** 20);
  assert.equal(memoryUsage(sample({ memory_stats: { usage: 100, stats: { inactive_file: 30 } } })), 70);
});

test('statsRow: docker\'s columns', () => {
  const r = statsRow('web', sample(), { trunc: true });
  assert.equal(r.CPUPerc, '50.00%');
  assert.equal(r.MemUsage, '8MiB / 64MiB');
  assert.equal(r.MemPerc, '12.50%');
  assert.equal(r.NetIO, '1.23kB / 567B');
  assert.equal(r.BlockIO, '1.5MB / 2kB');
  assert.equal(r.PIDs, '3');
  assert.equal(r.Name, 'web');
  assert.equal(r.ID, 'aaaaaaaaaaaa');
});
