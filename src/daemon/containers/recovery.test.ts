import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rig, until } from './_fakes.js';

test('a container that exited while wharfd was down: its exit is recorded and its run released at start-up', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox' });
    await r.svc.start(Id);
    // wharfd goes down; the monitor records the exit in its exit file meanwhile.
    r.svc.detachAll();
    r.runtime.exit(Id, 3, { ranMs: 5_000 });
    const finishedAt = r.runtime.containers.get(Id)!.exit!.finishedAt.toISOString();
    const mark = r.journal.calls.length;
    const events = r.events.length;
    const again = await r.reopen();
    const st = (await again.inspect(Id)).State;
    assert.equal(st.Status, 'exited');
    assert.equal(st.ExitCode, 3);
    assert.equal(st.FinishedAt, finishedAt);
    assert.equal(st.Pid, 0);
    assert.deepEqual(r.journal.since(mark), ['runtime.delete', 'network.detach', 'volumes.release', 'rootfs.unmount']);
    assert.deepEqual(r.leftovers(), []);
    assert.deepEqual(r.events.slice(events), ['die']);
    // And it is saved: the daemon after that one has nothing left to do.
    const later = r.journal.calls.length;
    await r.reopen();
    assert.deepEqual(r.journal.since(later), []);
  } finally {
    await r.cleanup();
  }
});

test('a container whose monitor vanished without an exit file is recorded with 255', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox' });
    await r.svc.start(Id);
    r.svc.detachAll();
    r.runtime.containers.delete(Id);
    const again = await r.reopen();
    assert.equal((await again.inspect(Id)).State.ExitCode, 255);
    assert.deepEqual(r.leftovers(), []);
  } finally {
    await r.cleanup();
  }
});

test('a container still running at start-up is watched again, and its later exit recorded', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox' });
    await r.svc.start(Id);
    const pid = r.runtime.containers.get(Id)!.pid;
    const mark = r.journal.calls.length;
    const again = await r.reopen();
    const st = (await again.inspect(Id)).State;
    assert.equal(st.Status, 'running');
    assert.equal(st.Pid, pid);
    assert.deepEqual(r.journal.since(mark), [], 'nothing was started or released');
    r.runtime.exit(Id, 0);
    await until(async () => (await again.inspect(Id)).State.Status === 'exited', 'the exit recorded');
    await until(() => r.leftovers().length === 0, 'the run released');
  } finally {
    await r.cleanup();
  }
});

test('a removal cut short by the daemon going down is finished at start-up', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox' });
    // The state file says "removing", as a removal writes it first.
    const statePath = join(r.dir, 'data', 'containers', Id, 'state.json');
    const state = JSON.parse(await readFile(statePath, 'utf8'));
    await writeFile(statePath, JSON.stringify({ ...state, status: 'removing' }));
    const again = await r.reopen();
    assert.equal(again.exists(Id), false);
    assert.equal(r.rootfs.created.size, 0);
  } finally {
    await r.cleanup();
  }
});

test('at start-up a container that joins another\'s network namespace is started after it', async () => {
  const r = await rig();
  try {
    const always = { RestartPolicy: { Name: 'always' as const } };
    const { Id: target } = await r.svc.create({ Image: 'busybox', HostConfig: always }, 'target');
    const { Id: joiner } = await r.svc.create({ Image: 'busybox', HostConfig: { ...always, NetworkMode: 'container:target' } }, 'joiner');
    await r.svc.start(target);
    await r.svc.start(joiner);
    // Stopped, then the daemon restarts: `always` starts both again, the joiner only once its target runs.
    await r.svc.stop(joiner);
    await r.svc.stop(target);
    r.svc.detachAll();
    const again = await r.reopen();
    assert.equal((await again.inspect(target)).State.Status, 'running');
    const j = await again.inspect(joiner);
    assert.equal(j.State.Status, 'running', j.State.Error);
    assert.equal(j.HostConfig.NetworkMode, `container:${target}`);
  } finally {
    await r.cleanup();
  }
});

test('a crash that tore the unsynced state of a run --rm container removes it at start-up; a kept one with a torn state stays on disk, skipped', async () => {
  const r = await rig();
  try {
    const thrown = await r.svc.create({ Image: 'busybox', HostConfig: { AutoRemove: true } });
    const kept = await r.svc.create({ Image: 'busybox' });
    // A file renamed into place but never synced comes back empty after a power cut.
    for (const { Id } of [thrown, kept]) await writeFile(join(r.dir, 'data', 'containers', Id, 'state.json'), '');
    const again = await r.reopen();
    assert.equal(again.exists(thrown.Id), false);
    assert.equal(existsSync(join(r.dir, 'data', 'containers', thrown.Id)), false);
    assert.equal(again.exists(kept.Id), false, 'unreadable, so not loaded');
    assert.equal(existsSync(join(r.dir, 'data', 'containers', kept.Id)), true, 'but its files are kept for the user');
    assert.deepEqual([...r.rootfs.created.keys()], [kept.Id]);
  } finally {
    await r.cleanup();
  }
});

test('a start cut short by the daemon going down: its created runtime container goes at start-up, and the next start works', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox' });
    // The daemon went down between the runtime's create and its start: the record still says created.
    await r.runtime.create({ id: Id });
    const mark = r.journal.calls.length;
    const again = await r.reopen();
    assert.equal((await again.inspect(Id)).State.Status, 'created');
    assert.ok(r.journal.since(mark).includes('runtime.delete'), r.journal.since(mark).join(', '));
    assert.equal(r.runtime.containers.has(Id), false);
    await again.start(Id);
    assert.equal((await again.inspect(Id)).State.Status, 'running');
  } finally {
    await r.cleanup();
  }
});
