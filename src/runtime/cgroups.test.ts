import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blkioV1, ioStatV2, keyValues, netDev } from './cgroups.js';

test('keyValues: memory.stat and cpu.stat lines', () => {
  assert.deepEqual(keyValues('cache 4096\ntotal_inactive_file 100\nbogus x\n'), { cache: 4096, total_inactive_file: 100 });
});

test('blkioV1 and ioStatV2: per device and operation', () => {
  assert.deepEqual(blkioV1('254:0 Read 4096\n254:0 Write 8192\nTotal 12288\n'), [
    { major: 254, minor: 0, op: 'Read', value: 4096 },
    { major: 254, minor: 0, op: 'Write', value: 8192 },
  ]);
  const v2 = ioStatV2('8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n');
  assert.deepEqual(v2.bytes, [
    { major: 8, minor: 0, op: 'read', value: 10 },
    { major: 8, minor: 0, op: 'write', value: 20 },
  ]);
  assert.deepEqual(v2.ios.map((e) => e.value), [1, 2]);
});

test('netDev: the namespace\'s interfaces without loopback', () => {
  const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
  eth0:    1500      10    1    2    0     0          0         0      700       5    0    3    0     0       0          0
`;
  assert.deepEqual(netDev(text), { eth0: { rx_bytes: 1500, rx_packets: 10, rx_errors: 1, rx_dropped: 2, tx_bytes: 700, tx_packets: 5, tx_errors: 0, tx_dropped: 3 } });
  assert.equal(netDev(''), undefined);
});
