import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, type Client } from '../../../client/index.js';
import { memoryIO } from '../../_testio.js';
import { CommandFailure } from '../../errors.js';
import { main } from '../../program.js';
import { run } from './run.js';

/** A client whose every create fails with `err`. */
const refusing = (err: Error) => {
  const created: unknown[] = [];
  const fail = async () => {
    throw err;
  };
  return { created, containerCreate: async (req: unknown) => (created.push(req), fail()), imagePull: fail, containerStart: fail, containerAttach: fail, containerWait: fail, containerResize: fail, containerKill: fail, containerInspect: fail };
};

test('run: an engine failure is a CommandFailure with code 125; a refused flag value too, before any request', async () => {
  const client = refusing(new ApiError(500, 'no space left on device'));
  const m = memoryIO();
  await assert.rejects(run(client, ['busybox', 'true'], {}, m.io), (e) => e instanceof CommandFailure && e.code === 125 && e.message === 'Error response from daemon: no space left on device');
  await assert.rejects(run(client, ['busybox'], { rm: true, restart: 'always' }, m.io), (e) => e instanceof CommandFailure && e.code === 125 && e.message === 'conflicting options: cannot specify both --restart and --rm');
  assert.equal(client.created.length, 1);
});

test('run through main(): docker’s "wharf: …" wording with the invoked command’s help hint, and a default never given is not sent', async () => {
  const client = refusing(new ApiError(404, 'No such image: nosuch:latest'));
  const m = memoryIO();
  const code = await main(['container', 'run', '--pull', 'never', 'nosuch'], m.io, () => client as unknown as Client);
  assert.equal(code, 125);
  assert.equal(m.stderr(), "wharf: Error response from daemon: No such image: nosuch:latest\n\nRun 'wharf container run --help' for more information\n");
  assert.equal(m.stdout(), '');
  // --restart's default ("no") is not a flag the user gave; the request still says no restart, as docker's does.
  assert.deepEqual((client.created[0] as { HostConfig: { RestartPolicy: unknown } }).HostConfig.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
});
