import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../util/index.js';
import { rig } from './containers/_fakes.js';
import { ExecService } from './exec.js';

test('removing a container frees the records of its execs, finished or not', async () => {
  let execs: ExecService | undefined;
  // Wired as daemon.ts wires it.
  const r = await rig({ onRemoved: (id) => execs!.forgetContainer(id) });
  try {
    execs = new ExecService(r.svc, silentLogger);
    const { Id } = await r.svc.create({ Image: 'busybox' });
    const other = (await r.svc.create({ Image: 'busybox' })).Id;
    await r.svc.start(Id);
    await r.svc.start(other);
    const done = execs.create(Id, { Cmd: ['true'] });
    const first = await execs.start(done, { Detach: true });
    r.runtime.execs[0].exit(0);
    await first.done;
    assert.equal(execs.inspect(done).ExitCode, 0);
    const running = execs.create(Id, { Cmd: ['sleep', '100'] });
    await execs.start(running, { Detach: true });
    const kept = execs.create(other, { Cmd: ['true'] });
    assert.equal(execs.size, 3);

    await r.svc.remove(Id, { force: true });
    assert.equal(execs.size, 1);
    assert.throws(() => execs!.inspect(done), /No such exec instance/);
    assert.throws(() => execs!.inspect(running), /No such exec instance/);
    assert.equal(execs.inspect(kept).ContainerID, other);
    // The exec that outlived its container finishes without a container to tell.
    r.runtime.execs[1].exit(137);
  } finally {
    await r.cleanup();
  }
});
