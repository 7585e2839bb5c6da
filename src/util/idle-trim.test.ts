import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { trimWhenIdle } from './idle-trim.js';
import { mallocTrim } from './native.js';

test('the heap is trimmed once the servers have been idle, and every new request or upgrade puts it off', async () => {
  const [a, b] = [new EventEmitter(), new EventEmitter()];
  let trims = 0;
  trimWhenIdle([a, b], 150, () => trims++);
  await sleep(250);
  assert.equal(trims, 1, 'once after start');
  for (let i = 0; i < 4; i++) {
    (i % 2 ? a : b).emit(i < 2 ? 'request' : 'upgrade');
    await sleep(60);
  }
  assert.equal(trims, 1, 'not while requests keep coming');
  await sleep(250);
  assert.equal(trims, 2, 'once more after the last of them');
});

test('malloc_trim runs in this process', () => {
  assert.equal(typeof mallocTrim(), 'boolean');
});
