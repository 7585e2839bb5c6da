import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRestart, restartsAtDaemonStart, type RestartInput } from './monitor.js';
import { rig, until } from './_fakes.js';

const base: RestartInput = {
  policy: { Name: 'always', MaximumRetryCount: 0 },
  state: { manuallyStopped: false, restartCount: 0 },
  exitCode: 1,
  ranMs: 50,
  previousDelayMs: 0,
  daemonStart: false,
};
const decide = (o: Partial<RestartInput>) => decideRestart({ ...base, ...o });

test('decideRestart: the policies, as Docker applies them', () => {
  assert.deepEqual(decide({ policy: undefined }), { restart: false });
  assert.deepEqual(decide({ policy: { Name: 'no' } }), { restart: false });
  assert.equal(decide({}).restart, true);
  assert.equal(decide({ exitCode: 0 }).restart, true, 'always restarts after a clean exit too');
  assert.equal(decide({ state: { manuallyStopped: true, restartCount: 0 } }).restart, false);
  assert.equal(decide({ state: { manuallyStopped: true, restartCount: 0 }, daemonStart: true }).restart, true, 'always comes back with the daemon');
  const unlessStopped = { Name: 'unless-stopped' as const };
  assert.equal(decide({ policy: unlessStopped }).restart, true);
  assert.equal(decide({ policy: unlessStopped, state: { manuallyStopped: true, restartCount: 0 }, daemonStart: true }).restart, false);
});

test('decideRestart: on-failure:N restarts after a failure, at most N times; on-failure alone without limit', () => {
  const onFailure = (max: number) => ({ Name: 'on-failure' as const, MaximumRetryCount: max });
  assert.equal(decide({ policy: onFailure(2), exitCode: 0 }).restart, false);
  assert.equal(decide({ policy: onFailure(2), state: { manuallyStopped: false, restartCount: 0 } }).restart, true);
  assert.equal(decide({ policy: onFailure(2), state: { manuallyStopped: false, restartCount: 1 } }).restart, true);
  assert.equal(decide({ policy: onFailure(2), state: { manuallyStopped: false, restartCount: 2 } }).restart, false);
  assert.equal(decide({ policy: onFailure(0), state: { manuallyStopped: false, restartCount: 1000 } }).restart, true);
  assert.equal(decide({ policy: onFailure(0), state: { manuallyStopped: true, restartCount: 0 } }).restart, false);
});

test('decideRestart: the back-off starts at 100 ms, doubles to a minute, and a run of 10 s resets it', () => {
  const delays: number[] = [];
  let prev = 0;
  for (let i = 0; i < 12; i++) {
    const d = decide({ previousDelayMs: prev });
    assert.ok(d.restart);
    delays.push(d.delayMs);
    prev = d.delayMs;
  }
  assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]);
  assert.deepEqual(decide({ previousDelayMs: 60000, ranMs: 10_000 }), { restart: true, delayMs: 100 });
  assert.deepEqual(decide({ previousDelayMs: 800, ranMs: 9_999 }), { restart: true, delayMs: 1600 });
});

test('restartsAtDaemonStart: always even after a stop, unless-stopped only when not stopped, never a container that never ran', () => {
  const ran = { hasBeenStarted: true, manuallyStopped: false };
  const stopped = { hasBeenStarted: true, manuallyStopped: true };
  assert.equal(restartsAtDaemonStart({ Name: 'always' }, stopped), true);
  assert.equal(restartsAtDaemonStart({ Name: 'unless-stopped' }, ran), true);
  assert.equal(restartsAtDaemonStart({ Name: 'unless-stopped' }, stopped), false);
  assert.equal(restartsAtDaemonStart({ Name: 'on-failure' }, ran), false);
  assert.equal(restartsAtDaemonStart({ Name: 'always' }, { hasBeenStarted: false, manuallyStopped: false }), false);
});

test('the scheduler restarts with the back-off, and a long run resets it', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'always' } } });
    await r.svc.start(Id);
    const starts = () => r.journal.calls.filter((c) => c.startsWith('runtime.start')).length;
    for (const [i, ranMs] of [0, 0, 0, 11_000, 0].entries()) {
      r.runtime.exit(Id, 1, { ranMs });
      await until(() => r.schedule.pending.length === 1, `restart ${i + 1} scheduled`);
      assert.equal((await r.svc.inspect(Id)).State.Status, 'restarting');
      assert.ok(r.schedule.fire());
      await until(() => starts() === i + 2, `restart ${i + 1} started`);
      await until(async () => (await r.svc.inspect(Id)).State.Status === 'running', 'running again');
    }
    assert.deepEqual(r.schedule.delays, [100, 200, 400, 100, 200]);
    assert.equal((await r.svc.inspect(Id)).RestartCount, 5);
    // A stop by hand ends it: no restart is scheduled.
    await r.svc.stop(Id);
    assert.equal(r.schedule.pending.length, 0);
    assert.equal((await r.svc.inspect(Id)).State.Status, 'exited');
  } finally {
    await r.cleanup();
  }
});

test('on-failure:2 restarts twice after failures, then leaves the container exited; a clean exit is not restarted', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } } });
    await r.svc.start(Id);
    for (let i = 0; i < 2; i++) {
      r.runtime.exit(Id, 3);
      await until(() => r.schedule.pending.length === 1, 'a restart scheduled');
      r.schedule.fire();
      await until(async () => (await r.svc.inspect(Id)).State.Status === 'running', 'running again');
    }
    r.runtime.exit(Id, 3);
    await until(async () => (await r.svc.inspect(Id)).State.Status === 'exited', 'exited');
    const st = await r.svc.inspect(Id);
    assert.equal(st.RestartCount, 2);
    assert.equal(st.State.ExitCode, 3);
    assert.equal(r.schedule.pending.length, 0);
    assert.deepEqual(r.leftovers(), []);

    const clean = await r.svc.create({ Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'on-failure' } } });
    await r.svc.start(clean.Id);
    r.runtime.exit(clean.Id, 0);
    await until(async () => (await r.svc.inspect(clean.Id)).State.Status === 'exited', 'exited');
    assert.equal(r.schedule.pending.length, 0);
  } finally {
    await r.cleanup();
  }
});

test('a restart whose start fails counts, and the policy tries again with a longer back-off', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } } });
    await r.svc.start(Id);
    r.journal.fail.set('runtime.create', new Error('no more pids'));
    r.runtime.exit(Id, 1);
    await until(() => r.schedule.pending.length === 1, 'a restart scheduled');
    r.schedule.fire();
    await until(() => r.schedule.pending.length === 1, 'another restart scheduled after the failed one');
    const st = await r.svc.inspect(Id);
    assert.equal(st.State.Status, 'restarting');
    assert.equal(st.RestartCount, 1);
    assert.match(st.State.Error, /no more pids/);
    r.schedule.fire();
    await until(async () => (await r.svc.inspect(Id)).State.Status === 'exited', 'given up after two');
    assert.deepEqual(r.schedule.delays, [100, 200]);
    assert.equal((await r.svc.inspect(Id)).RestartCount, 2);
    assert.deepEqual(r.leftovers(), []);
  } finally {
    await r.cleanup();
  }
});
