import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { releaseIdleMemory, trimWhenIdle } from './idle-trim.js';
import { mallocTrim } from './native.js';

test('memory is released soon after start, and once the servers have been idle; every new request or upgrade puts that off', async () => {
  const [a, b] = [new EventEmitter(), new EventEmitter()];
  let trims = 0;
  trimWhenIdle([a, b], { idleMs: 150, afterStartMs: 30 }, () => trims++);
  a.emit('request');
  await sleep(100);
  assert.equal(trims, 1, 'once soon after start, though a request came');
  for (let i = 0; i < 4; i++) {
    (i % 2 ? a : b).emit(i < 2 ? 'request' : 'upgrade');
    await sleep(60);
  }
  assert.equal(trims, 1, 'not while requests keep coming');
  await sleep(250);
  assert.equal(trims, 2, 'once more after the last of them');
});

test('the release runs in this process and gives back what a burst of garbage held', () => {
  assert.equal(typeof mallocTrim(), 'boolean');
  let garbage: Buffer[] | undefined = Array.from({ length: 2000 }, () => Buffer.alloc(4096, 1));
  const held = process.memoryUsage().arrayBuffers;
  garbage = undefined;
  releaseIdleMemory();
  assert.ok(process.memoryUsage().arrayBuffers < held - 4_000_000, `array buffers ${held} -> ${process.memoryUsage().arrayBuffers}`);
});
