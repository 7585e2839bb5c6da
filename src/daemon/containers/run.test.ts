import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandInvokeError } from '../../util/index.js';
import { rig, type Step } from './_fakes.js';

const SEQUENCE = ['rootfs.mount', 'volumes.setup', 'network.attach', 'runtime.create', 'runtime.start'];
const UNDO: Record<string, string> = {
  'rootfs.mount': 'rootfs.unmount',
  'volumes.setup': 'volumes.release',
  'network.attach': 'network.detach',
  'runtime.create': 'runtime.delete',
};

test('a start runs the steps in order and the end of the run releases them in reverse', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox' });
    const mark = r.journal.calls.length;
    await r.svc.start(Id);
    assert.deepEqual(r.journal.since(mark), SEQUENCE);
    const exit = r.svc.wait(Id, 'next-exit');
    const stopped = r.journal.calls.length;
    r.runtime.exit(Id, 0);
    assert.equal(await exit, 0);
    await r.svc.stop(Id).catch(() => {}); // waits for the lock, so the release is done
    assert.deepEqual(r.journal.since(stopped), ['runtime.delete', 'network.detach', 'volumes.release', 'rootfs.unmount']);
    assert.deepEqual(r.leftovers(), []);
  } finally {
    await r.cleanup();
  }
});

for (const [i, step] of SEQUENCE.entries()) {
  test(`a start that fails at ${step} undoes every earlier step in reverse and leaves nothing behind`, async () => {
    const r = await rig();
    try {
      const { Id } = await r.svc.create({ Image: 'busybox' });
      r.journal.fail.set(step as Step, new Error(`${step} broke`));
      const mark = r.journal.calls.length;
      await assert.rejects(r.svc.start(Id), new RegExp(`${step} broke`));
      const done = SEQUENCE.slice(0, i);
      const undone = done.map((s) => UNDO[s]).reverse();
      assert.deepEqual(r.journal.since(mark), [...done, `${step}!`, ...undone]);
      assert.deepEqual(r.leftovers(), []);
      const st = (await r.svc.inspect(Id)).State;
      // A container whose first start failed shows as Docker shows it: "created", with the error.
      assert.equal(st.Status, 'created');
      assert.equal(st.Running, false);
      assert.equal(st.Pid, 0);
      assert.equal(st.ExitCode, 128);
      assert.equal(st.Error, `${step} broke`);
      // The saved state says the same, and the next daemon does not try to clean up a run.
      const again = await r.reopen();
      assert.equal((await again.inspect(Id)).State.Error, `${step} broke`);
      assert.deepEqual(r.leftovers(), []);
      // And the container can be started once the step works again.
      r.journal.fail.clear();
      await again.start(Id);
      assert.equal((await again.inspect(Id)).State.Status, 'running');
    } finally {
      await r.cleanup();
    }
  });
}

test('a command that cannot be invoked records its exit code (127) and a later start keeps the status it had', async () => {
  const r = await rig();
  try {
    const { Id } = await r.svc.create({ Image: 'busybox' });
    await r.svc.start(Id);
    r.runtime.exit(Id, 0);
    await r.svc.stop(Id).catch(() => {});
    r.journal.fail.set('runtime.create', new CommandInvokeError('exec: "nope": executable file not found in $PATH', 127));
    await assert.rejects(r.svc.start(Id), /executable file not found/);
    const st = (await r.svc.inspect(Id)).State;
    assert.equal(st.Status, 'exited');
    assert.equal(st.ExitCode, 127);
    assert.deepEqual(r.leftovers(), []);
  } finally {
    await r.cleanup();
  }
});
