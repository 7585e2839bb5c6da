import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statusText, newState, transition } from './state.js';

test('statusText shows Docker status column texts', () => {
  const now = Date.parse('2024-01-01T00:01:00Z');
  const s = newState();
  assert.equal(statusText(s, now), 'Created');
  s.status = 'running';
  s.startedAt = '2024-01-01T00:00:57Z';
  assert.equal(statusText(s, now), 'Up 3 seconds');
  s.status = 'paused';
  assert.equal(statusText(s, now), 'Up 3 seconds (Paused)');
  s.status = 'exited';
  s.exitCode = 137;
  s.finishedAt = '2024-01-01T00:00:00Z';
  assert.equal(statusText(s, now), 'Exited (137) About a minute ago');
});

test('transition rejects illegal moves', () => {
  transition('x', 'created', 'running');
  transition('x', 'running', 'paused');
  assert.throws(() => transition('x', 'dead', 'running'), /cannot go from dead to running/);
});
