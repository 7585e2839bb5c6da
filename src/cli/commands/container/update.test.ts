import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bpsDeviceArg, buildCreateRequest, iopsDeviceArg, weightDeviceArg } from './createopts.js';
import { updateRequest } from './update.js';

test('device limit flags: docker\'s formats and texts', () => {
  assert.deepEqual(bpsDeviceArg('/dev/sda:1mb', bpsDeviceArg('/dev/sdb:10')), [{ Path: '/dev/sdb', Rate: 10 }, { Path: '/dev/sda', Rate: 1 << 20 }]);
  assert.deepEqual(iopsDeviceArg('/dev/sda:100'), [{ Path: '/dev/sda', Rate: 100 }]);
  assert.deepEqual(weightDeviceArg('/dev/sda:200'), [{ Path: '/dev/sda', Weight: 200 }]);
  assert.throws(() => bpsDeviceArg('sda:1mb'), /bad format for device path: sda:1mb/);
  assert.throws(() => bpsDeviceArg('/dev/sda'), /bad format: \/dev\/sda/);
  assert.throws(() => bpsDeviceArg('/dev/sda:fast'), /invalid rate for device: \/dev\/sda:fast/);
  assert.throws(() => iopsDeviceArg('/dev/sda:1mb'), /invalid rate for device/);
  assert.throws(() => weightDeviceArg('/dev/sda:5'), /invalid weight for device: \/dev\/sda:5/);
});

test('create request: the limit flags as HostConfig resources', () => {
  const hc = buildCreateRequest('busybox', [], {
    memory: 64 << 20, memoryReservation: 32 << 20, cpuPeriod: 50000, cpuQuota: 25000, cpusetCpus: '0', pidsLimit: 10,
    oomKillDisable: true, memorySwappiness: 0, cgroupParent: 'mine', cgroupns: 'private', deviceReadBps: [{ Path: '/dev/sda', Rate: 1 }],
  }).HostConfig!;
  assert.equal(hc.Memory, 64 << 20);
  assert.equal(hc.MemoryReservation, 32 << 20);
  assert.equal(hc.CpuQuota, 25000);
  assert.equal(hc.CpusetCpus, '0');
  assert.equal(hc.OomKillDisable, true);
  assert.equal(hc.MemorySwappiness, 0);
  assert.equal(hc.CgroupParent, 'mine');
  assert.equal(hc.CgroupnsMode, 'private');
  assert.deepEqual(hc.BlkioDeviceReadBps, [{ Path: '/dev/sda', Rate: 1 }]);
  assert.throws(() => buildCreateRequest('busybox', [], { cgroupns: 'bogus' }), /--cgroupns: invalid CGROUP mode/);
  assert.throws(() => buildCreateRequest('busybox', [], { memorySwappiness: 200 }), /Valid memory swappiness range is 0-100/);
});

test('update request: only the flags given, --restart parsed; none given is none', () => {
  assert.equal(updateRequest({}), undefined);
  const r = updateRequest({ memory: 1 << 27, cpus: 1.5, restart: 'on-failure:2' });
  assert.equal(r?.Memory, 1 << 27);
  assert.equal(r?.NanoCpus, 1.5e9);
  assert.deepEqual(r?.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
  assert.equal(r?.PidsLimit, undefined);
  assert.ok(!('CgroupParent' in (r ?? {})));
});
