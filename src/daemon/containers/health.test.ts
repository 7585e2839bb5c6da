import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Health, HealthConfig } from '../../types/index.js';
import { formatGoDuration, silentLogger } from '../../util/index.js';
import { HealthMonitor, OutputBuffer, healthTiming, nextDelayNs, probeCommand, recordResult, validateHealthcheck, MAX_OUTPUT_BYTES } from './health.js';
import { newState, statusText } from './state.js';
import type { ProbePort, ProbeProcess } from './ports.js';
import { ContainerStore, type Container } from './store.js';

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


/** A probe whose processes the test scripts: each call takes the next behaviour. */
class FakeProbes implements ProbePort {
  readonly calls: string[][] = [];
  killed = 0;
  constructor(private readonly next: () => 'ok' | 'fail' | 'hang' | 'refuse') {}
  async startProbe(_id: string, cmd: string[], onOutput: (b: Buffer) => void): Promise<ProbeProcess> {
    this.calls.push(cmd);
    const what = this.next();
    if (what === 'refuse') throw new Error('OCI runtime exec failed: exec: "nope": executable file not found in $PATH');
    let end!: (code: number) => void;
    const done = new Promise<number>((resolve) => (end = resolve));
    if (what === 'hang') onOutput(Buffer.from('partial'));
    else setImmediate(() => {
      onOutput(Buffer.from(what));
      end(what === 'ok' ? 0 : 1);
    });
    return { done, kill: () => { this.killed++; end(137); } };
  }
}

async function until<T>(what: string, fn: () => T | undefined): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const v = fn();
    if (v !== undefined) return v;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function setup(hc: HealthConfig, probes: ProbePort) {
  const root = await mkdtemp(join(tmpdir(), 'wharf-health-'));
  const events: string[] = [];
  const store = new ContainerStore(root, { publish: (_t, action) => void events.push(action) } as ConstructorParameters<typeof ContainerStore>[1]);
  const state = newState();
  state.status = 'running';
  state.startedAt = new Date().toISOString();
  const record = { id: 'c'.repeat(64), name: 'h', created: state.startedAt, image: 'busybox', imageId: 'x', path: 'sleep', args: [], config: { Healthcheck: hc }, hostConfig: {}, networkingConfig: {}, logPath: '', driver: 'overlay2' };
  const c: Container = store.add(record, state, store.files(record.id));
  const monitor = new HealthMonitor(store, probes, silentLogger);
  return { root, events, store, c, monitor };
}

test('HealthMonitor: checks run, health_status events announce changes, results are saved', async () => {
  let n = 0;
  const probes = new FakeProbes(() => (n++ < 2 ? 'fail' : 'ok'));
  const { root, events, c, monitor } = await setup({ Test: ['CMD-SHELL', 'check'], Interval: 5e6, Retries: 2 }, probes);
  try {
    c.state.health = monitor.starting(c);
    monitor.start(c);
    await until('healthy', () => (c.state.health?.Status === 'healthy' ? true : undefined));
    assert.deepEqual(probes.calls[0], ['/bin/sh', '-c', 'check']);
    assert.deepEqual(events.filter((e) => e.startsWith('health_status')), ['health_status: unhealthy', 'health_status: healthy']);
    monitor.stop(c);
    assert.equal(c.state.health!.Status, 'unhealthy');
    const calls = probes.calls.length;
    await sleep(50);
    assert.equal(probes.calls.length, calls, 'no check after stop');
    const saved = JSON.parse(await readFile(join(root, c.record.id, 'state.json'), 'utf8'));
    assert.ok(saved.health.Log.length >= 3);
  } finally {
    monitor.detach(c);
    await rm(root, { recursive: true, force: true });
  }
});

test('HealthMonitor: a check over its timeout is killed and fails with Docker text; one that cannot start fails with the error', async () => {
  let n = 0;
  const probes = new FakeProbes(() => (n++ === 0 ? 'hang' : 'refuse'));
  const { root, c, monitor } = await setup({ Test: ['CMD', 'x'], Interval: 5e6, Timeout: 20e6, Retries: 5 }, probes);
  try {
    monitor.init(c);
    const h = await until('two results', () => (c.state.health!.Log.length >= 2 ? c.state.health : undefined));
    assert.equal(probes.killed, 1);
    assert.deepEqual([h.Log[0].ExitCode, h.Log[0].Output], [-1, 'Health check exceeded timeout (20ms): partial']);
    assert.deepEqual([h.Log[1].ExitCode, h.Log[1].Output], [-1, 'OCI runtime exec failed: exec: "nope": executable file not found in $PATH']);
    assert.equal(h.Status, 'starting');
  } finally {
    monitor.detach(c);
    await rm(root, { recursive: true, force: true });
  }
});

test('HealthMonitor: NONE and no healthcheck run nothing; detach leaves the status; resume goes on without a reset', async () => {
  const probes = new FakeProbes(() => 'ok');
  const none = await setup({ Test: ['NONE'] }, probes);
  none.monitor.init(none.c);
  assert.equal(none.c.state.health, undefined);
  await rm(none.root, { recursive: true, force: true });

  const { root, c, monitor } = await setup({ Test: ['CMD', 'true'], Interval: 5e6 }, probes);
  try {
    monitor.init(c);
    await until('healthy', () => (c.state.health?.Status === 'healthy' ? true : undefined));
    monitor.detach(c);
    assert.equal(c.state.health!.Status, 'healthy');
    monitor.stop(c);
    assert.equal(c.state.health!.Status, 'unhealthy');
    const logged = c.state.health!.Log.length;
    monitor.resume(c);
    await until('healthy again', () => (c.state.health?.Status === 'healthy' ? true : undefined));
    assert.ok(c.state.health!.Log.length > logged || logged === 5);
  } finally {
    monitor.detach(c);
    await rm(root, { recursive: true, force: true });
  }
});
