import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { rig, until } from './_fakes.js';

test('--rm: the container is removed after it exits, and wait(removed) hears of it', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox', HostConfig: { AutoRemove: true } });
    const removed = r.svc.wait(Id, 'removed');
    await r.svc.start(Id);
    r.runtime.exit(Id, 7);
    assert.equal(await removed, 7);
    // The removal finishes its disk work after the waiters heard of it.
    const dir = join(r.dir, 'data', 'containers', Id);
    await until(() => r.leftovers().length === 0 && r.rootfs.created.size === 0 && !existsSync(dir), 'everything released');
    assert.equal(r.svc.exists(Id), false);
    assert.deepEqual(r.removed, [Id]);
    assert.deepEqual(
      r.events.filter((e) => ['start', 'die', 'destroy'].includes(e)),
      ['start', 'die', 'destroy'],
    );
    // The daemon's next start finds nothing of it.
    const again = await r.reopen();
    assert.equal(again.exists(Id), false);
  } finally {
    await r.cleanup();
  }
});

test('--rm: a start that fails removes the container too', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox', HostConfig: { AutoRemove: true } });
    const removed = r.svc.wait(Id, 'removed');
    r.journal.fail.set('runtime.start', new Error('runc start failed'));
    await assert.rejects(r.svc.start(Id), /runc start failed/);
    assert.equal(await removed, 128);
    assert.equal(r.svc.exists(Id), false);
    assert.deepEqual(r.leftovers(), []);
    assert.equal(r.rootfs.created.size, 0);
  } finally {
    await r.cleanup();
  }
});

test('--rm: restart keeps the container, as dockerd does; its next exit removes it', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox', HostConfig: { AutoRemove: true } });
    await r.svc.start(Id);
    await r.svc.restart(Id, { timeout: 1 });
    assert.equal((await r.svc.inspect(Id)).State.Status, 'running');
    assert.deepEqual(r.removed, []);
    const removed = r.svc.wait(Id, 'removed');
    r.runtime.exit(Id, 0);
    assert.equal(await removed, 0);
    assert.equal(r.svc.exists(Id), false);
  } finally {
    await r.cleanup();
  }
});

test('unless-stopped: not restarted after a stop, nor when the daemon starts again', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'unless-stopped' } } });
    await r.svc.start(Id);
    await r.svc.stop(Id);
    assert.equal(r.schedule.pending.length, 0);
    assert.equal((await r.svc.inspect(Id)).State.Status, 'exited');
    const mark = r.journal.calls.length;
    const again = await r.reopen();
    assert.equal((await again.inspect(Id)).State.Status, 'exited');
    assert.deepEqual(r.journal.since(mark), []);
  } finally {
    await r.cleanup();
  }
});

test('unless-stopped and always come back when the daemon starts, always even after a stop', async () => {
  const r = await rig();
  try {
    const always = (await r.svc.create({ Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'always' } } })).Id;
    const unless = (await r.svc.create({ Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'unless-stopped' } } })).Id;
    const never = (await r.svc.create({ Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'always' } } })).Id;
    await r.svc.start(always);
    await r.svc.stop(always);
    await r.svc.start(unless);
    // An exit that was not a stop, seen by a daemon going down: recorded as exited, not restarted yet.
    r.svc.detachAll();
    r.runtime.exit(unless, 0);
    const again = await r.reopen();
    assert.equal((await again.inspect(always)).State.Status, 'running');
    assert.equal((await again.inspect(unless)).State.Status, 'restarting', 'the exit found at start-up is restarted by the policy');
    assert.equal((await again.inspect(never)).State.Status, 'created', 'a container that never ran is left alone');
  } finally {
    await r.cleanup();
  }
});

test('kill reaches a process while a stop holds the lock and waits for the exit', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox' });
    await r.svc.start(Id);
    r.runtime.exitOnTerm = false;
    const stopping = r.svc.stop(Id, { timeout: 30 });
    await until(() => r.runtime.signals.some((s) => s.signal === 15), 'SIGTERM sent');
    await r.svc.kill(Id, 'SIGKILL');
    await stopping;
    const st = (await r.svc.inspect(Id)).State;
    assert.equal(st.Status, 'exited');
    assert.equal(st.ExitCode, 137);
  } finally {
    await r.cleanup();
  }
});

test('rm -f kills, records the exit and removes, without restarting an always container', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'always' } } });
    await r.svc.start(Id);
    await assert.rejects(r.svc.remove(Id), /container is running: stop the container before removing or force remove/);
    await r.svc.remove(Id, { force: true });
    assert.equal(r.svc.exists(Id), false);
    assert.equal(r.schedule.pending.length, 0);
    assert.deepEqual(r.leftovers(), []);
    assert.equal(r.rootfs.created.size, 0);
    assert.deepEqual(
      r.events.filter((e) => ['die', 'destroy'].includes(e)),
      ['die', 'destroy'],
    );
  } finally {
    await r.cleanup();
  }
});

test('pause and unpause change the status through the legal moves, with their events', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox' });
    await assert.rejects(r.svc.unpause(Id), /is not paused/);
    await r.svc.start(Id);
    await r.svc.pause(Id);
    assert.equal((await r.svc.inspect(Id)).State.Status, 'paused');
    await assert.rejects(r.svc.pause(Id), /is already paused/);
    await r.svc.unpause(Id);
    assert.equal((await r.svc.inspect(Id)).State.Status, 'running');
    assert.deepEqual(
      r.events.filter((e) => e === 'pause' || e === 'unpause'),
      ['pause', 'unpause'],
    );
    // The saved state follows: a daemon started now reads "running" and watches it.
    const again = await r.reopen();
    assert.equal((await again.inspect(Id)).State.Status, 'running');
  } finally {
    await r.cleanup();
  }
});

test('kill with SIGKILL answers once the exit is recorded: inspect and rm right after see it stopped', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox' });
    await r.svc.start(Id);
    await r.svc.kill(Id, 'SIGKILL');
    const st = (await r.svc.inspect(Id)).State;
    assert.deepEqual([st.Status, st.Running, st.ExitCode], ['exited', false, 137]);
    await r.svc.remove(Id);
    assert.equal(r.svc.exists(Id), false);
  } finally {
    await r.cleanup();
  }
});

test('kill with another signal answers without waiting for an exit', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox' });
    await r.svc.start(Id);
    await r.svc.kill(Id, 'SIGUSR1');
    assert.equal((await r.svc.inspect(Id)).State.Status, 'running');
  } finally {
    await r.cleanup();
  }
});

test('rm of a container its restart policy is restarting needs force, as for a running one', async () => {
  const r = await rig();
  try {
    const { Id, } = await r.svc.create({ Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'always' } } }, 'looping');
    await r.svc.start(Id);
    r.runtime.exit(Id, 1);
    await until(async () => (await r.svc.inspect(Id)).State.Status === 'restarting', 'restarting');
    await assert.rejects(r.svc.remove(Id), (err: Error) => {
      assert.equal(err.message, 'cannot remove container "/looping": container is restarting: stop the container before removing or force remove');
      assert.equal((err as { code?: string }).code, 'WHARF_CONFLICT');
      return true;
    });
    assert.equal((await r.svc.inspect(Id)).State.Status, 'restarting', 'the refused rm changed nothing');
    await r.svc.remove(Id, { force: true });
    assert.equal(r.svc.exists(Id), false);
    assert.equal(r.schedule.fire(), false, 'the scheduled restart was dropped');
    assert.deepEqual(r.leftovers(), []);
  } finally {
    await r.cleanup();
  }
});

test('commit of a container that was created but never started works, with pause asked for', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox' });
    assert.match(await r.svc.commit(Id, { pause: true }), /^sha256:/);
  } finally {
    await r.cleanup();
  }
});

test('commit goes on when the process it meant to pause has just exited', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox' });
    await r.svc.start(Id);
    // The process is gone but its exit is not recorded yet: the runtime refuses the pause.
    r.svc.detachAll();
    r.runtime.exit(Id, 0);
    r.runtime.pause = async () => {
      throw new Error(`Cannot pause container ${Id}: container not running`);
    };
    assert.match(await r.svc.commit(Id, { pause: true }), /^sha256:/);
  } finally {
    await r.cleanup();
  }
});

test('log driver none: the container is created and runs; its logs are refused in Docker\'s words', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox', HostConfig: { LogConfig: { Type: 'none', Config: {} } } });
    await r.svc.start(Id);
    assert.equal((await r.svc.inspect(Id)).HostConfig.LogConfig?.Type, 'none');
    assert.throws(() => r.svc.logs(Id, { follow: false, stdout: true, stderr: true, tail: -1 }), (err: Error) => {
      assert.equal(err.message, 'configured logging driver does not support reading');
      assert.equal((err as { code?: string }).code, 'WHARF_NOT_IMPLEMENTED');
      return true;
    });
  } finally {
    await r.cleanup();
  }
});
