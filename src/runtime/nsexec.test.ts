import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cgroupProcsFiles, warmCgroupMoves } from './nsexec.js';

test('cgroupProcsFiles names a cgroup.procs file of each hierarchy the process is in', () => {
  const files = cgroupProcsFiles(process.pid);
  assert.ok(files.length > 0);
  for (const f of files) assert.match(readFileSync(f, 'utf8'), new RegExp(`^${process.pid}$`, 'm'), f);
});

test('warmCgroupMoves moves the process into the cgroups it is in already: they stay, and calls at once share one move', async () => {
  const before = readFileSync('/proc/self/cgroup', 'utf8');
  const [a, b] = [warmCgroupMoves(), warmCgroupMoves()];
  assert.equal(a, b);
  await a;
  assert.equal(readFileSync('/proc/self/cgroup', 'utf8'), before);
});
