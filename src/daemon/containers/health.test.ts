import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Health } from '../../types/index.js';
import { formatGoDuration } from '../../util/index.js';
import { OutputBuffer, healthTiming, nextDelayNs, probeCommand, recordResult, validateHealthcheck, MAX_OUTPUT_BYTES } from './health.js';
import { newState, statusText } from './state.js';

const at = (ms: number) => new Date(ms).toISOString();
const result = (startMs: number, code: number) => ({ Start: at(startMs), End: at(startMs + 1), ExitCode: code, Output: '' });

test('probeCommand: CMD execs, CMD-SHELL goes through /bin/sh -c (or the config Shell), NONE and unknown types run nothing', () => {
  assert.deepEqual(probeCommand({ Test: ['CMD', 'true', 'x'] }), ['true', 'x']);
  assert.deepEqual(probeCommand({ Test: ['CMD-SHELL', 'exit 1'] }), ['/bin/sh', '-c', 'exit 1']);
  assert.deepEqual(probeCommand({ Test: ['CMD-SHELL', 'exit 1'] }, ['/bin/bash', '-ec']), ['/bin/bash', '-ec', 'exit 1']);
  assert.equal(probeCommand({ Test: ['NONE'] }), undefined);
  assert.equal(probeCommand({ Test: ['BOGUS', 'x'] }), undefined);
  assert.equal(probeCommand({}), undefined);
  assert.equal(probeCommand(undefined), undefined);
  assert.deepEqual(probeCommand({ Test: ['CMD'] }), []);
});

test('recordResult: Docker rules for retries, success, exit codes other than 1, and the last five results', () => {
  const t = healthTiming({ Retries: 2 });
  const h: Health = { Status: 'starting', FailingStreak: 0, Log: [] };
  assert.equal(recordResult(h, result(1000, 1), t, 0), 'starting');
  assert.deepEqual([h.Status, h.FailingStreak], ['starting', 1]);
  recordResult(h, result(2000, 2), t, 0);
  assert.deepEqual([h.Status, h.FailingStreak], ['unhealthy', 2]);
  recordResult(h, result(3000, 0), t, 0);
  assert.deepEqual([h.Status, h.FailingStreak], ['healthy', 0]);
  recordResult(h, result(4000, -1), t, 0);
  assert.deepEqual([h.Status, h.FailingStreak], ['healthy', 1]);
  recordResult(h, result(5000, 1), t, 0);
  recordResult(h, result(6000, 1), t, 0);
  assert.deepEqual([h.Status, h.FailingStreak], ['unhealthy', 3]);
  assert.equal(h.Log.length, 5);
  assert.equal(h.Log[0].Start, at(2000));
  assert.equal(h.Log[4].Start, at(6000));
});

test('recordResult: failures within the start period do not count while starting; they count once healthy', () => {
  const t = healthTiming({ StartPeriod: 10e9, Retries: 1 });
  const h: Health = { Status: 'starting', FailingStreak: 0, Log: [] };
  recordResult(h, result(5000, 1), t, 0);
  assert.deepEqual([h.Status, h.FailingStreak], ['starting', 0]);
  recordResult(h, result(11_000, 1), t, 0);
  assert.deepEqual([h.Status, h.FailingStreak], ['unhealthy', 1]);
  const g: Health = { Status: 'healthy', FailingStreak: 0, Log: [] };
  recordResult(g, result(5000, 1), t, 0);
  assert.deepEqual([g.Status, g.FailingStreak], ['unhealthy', 1]);
});

test('healthTiming defaults and nextDelayNs: the start interval only while starting within the start period', () => {
  assert.deepEqual(healthTiming(undefined), { intervalNs: 30e9, timeoutNs: 30e9, startPeriodNs: 0, startIntervalNs: 5e9, retries: 3 });
  const t = healthTiming({ Interval: 1e9, StartPeriod: 10e9, StartInterval: 1e8 });
  assert.equal(nextDelayNs(t, 'starting', 500), 1e8);
  assert.equal(nextDelayNs(t, 'healthy', 500), 1e9);
  assert.equal(nextDelayNs(t, 'starting', 10_000), 1e9);
  assert.equal(nextDelayNs(healthTiming({ Interval: 1e9 }), 'starting', 0), 1e9);
});

test('OutputBuffer keeps 4096 bytes and marks the cut', () => {
  const b = new OutputBuffer();
  b.write(Buffer.from('ok\n'));
  assert.equal(b.text(), 'ok\n');
  b.write(Buffer.alloc(MAX_OUTPUT_BYTES, 'x'));
  const text = b.text();
  assert.equal(text.length, MAX_OUTPUT_BYTES + 3);
  assert.ok(text.endsWith('x...'));
});

test('validateHealthcheck: moby texts', () => {
  validateHealthcheck(undefined);
  validateHealthcheck({ Test: ['CMD', 'true'], Interval: 0, Timeout: 1e6, Retries: 0 });
  assert.throws(() => validateHealthcheck({ Interval: 999_999 }), { message: 'Interval in Healthcheck cannot be less than 1ms' });
  assert.throws(() => validateHealthcheck({ Timeout: 5 }), { message: 'Timeout in Healthcheck cannot be less than 1ms' });
  assert.throws(() => validateHealthcheck({ Retries: -1 }), { message: 'Retries in Healthcheck cannot be negative' });
  assert.throws(() => validateHealthcheck({ StartPeriod: 1 }), { message: 'StartPeriod in Healthcheck cannot be less than 1ms' });
  assert.throws(() => validateHealthcheck({ StartInterval: 1 }), { message: 'StartInterval in Healthcheck cannot be less than 1ms' });
});

test('statusText adds the health as Docker does', () => {
  const now = Date.parse('2024-01-01T00:01:00Z');
  const s = newState();
  s.status = 'running';
  s.startedAt = '2024-01-01T00:00:55Z';
  s.health = { Status: 'starting', FailingStreak: 0, Log: [] };
  assert.equal(statusText(s, now), 'Up 5 seconds (health: starting)');
  s.health.Status = 'healthy';
  assert.equal(statusText(s, now), 'Up 5 seconds (healthy)');
  s.health.Status = 'unhealthy';
  assert.equal(statusText(s, now), 'Up 5 seconds (unhealthy)');
  s.status = 'paused';
  assert.equal(statusText(s, now), 'Up 5 seconds (Paused)');
});

test('formatGoDuration prints as Go does', () => {
  const cases: [number, string][] = [[0, '0s'], [200e6, '200ms'], [1e9, '1s'], [1.5e9, '1.5s'], [30e9, '30s'], [120e9, '2m0s'], [3600e9, '1h0m0s'], [1e6, '1ms'], [1500, '1.5µs'], [5, '5ns'], [90.5e9, '1m30.5s']];
  for (const [ns, s] of cases) assert.equal(formatGoDuration(ns), s);
});
