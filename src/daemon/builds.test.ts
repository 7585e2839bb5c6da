import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildService } from './builds.js';

test('prune and usage: no build cache yet', async () => {
  const b = new BuildService();
  assert.deepEqual(b.prune({ all: true }), { CachesDeleted: null, SpaceReclaimed: 0 });
  assert.deepEqual(b.prune({ all: false }), { CachesDeleted: null, SpaceReclaimed: 0 });
  assert.deepEqual(await b.usage(), []);
});
