import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration, statusText, newState, transition } from './container.js';

test('humanDuration matches go-units', () => {
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(45_000), '45 seconds');
  assert.equal(humanDuration(90_000), 'About a minute');
  assert.equal(humanDuration(10 * 60_000), '10 minutes');
  assert.equal(humanDuration(3_600_000), 'About an hour');
  assert.equal(humanDuration(5 * 3_600_000), '5 hours');
  assert.equal(humanDuration(3 * 24 * 3_600_000), '3 days');
  assert.equal(humanDuration(20 * 24 * 3_600_000), '2 weeks');
  assert.equal(humanDuration(100 * 24 * 3_600_000), '3 months');
  assert.equal(humanDuration(800 * 24 * 3_600_000), '2 years');
});

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
