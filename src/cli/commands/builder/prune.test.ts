import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryIO } from '../../_testio.js';
import { builderPrune } from './prune.js';

const client = (calls: unknown[]) => ({
  buildPrune: async (o: unknown) => (calls.push(o), { CachesDeleted: ['abc123', 'def456'], SpaceReclaimed: 1_234_567 }),
});

test('builder prune: docker’s one-line question, then the ids and the total', async () => {
  const calls: unknown[] = [];
  const m = memoryIO({ input: 'y\n' });
  assert.equal(await builderPrune(client(calls), { all: true, filter: ['until=24h'], keepStorage: 1000 }, m.io), 0);
  assert.equal(m.stdout(), 'WARNING! This will remove all build cache. Are you sure you want to continue? [y/N] Deleted build cache objects:\nabc123\ndef456\n\nTotal reclaimed space: 1.235MB\n');
  assert.deepEqual(calls, [{ all: true, filters: { until: ['24h'] }, keepStorage: 1000 }]);
});

test('builder prune: no means nothing is asked of the daemon; -f asks no question', async () => {
  const calls: unknown[] = [];
  const no = memoryIO({ input: 'n\n' });
  await builderPrune(client(calls), {}, no.io);
  assert.equal(no.stdout(), 'WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] ');
  assert.equal(calls.length, 0);
  const f = memoryIO();
  await builderPrune({ buildPrune: async () => ({ CachesDeleted: null, SpaceReclaimed: 0 }) }, { force: true }, f.io);
  assert.equal(f.stdout(), 'Total reclaimed space: 0B\n');
});
