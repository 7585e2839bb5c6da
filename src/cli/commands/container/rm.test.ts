import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../../client/index.js';
import { memoryIO } from '../../_testio.js';
import { removeContainers } from './rm.js';

function fakeClient(running: string[]) {
  const calls: [string, unknown][] = [];
  return {
    calls,
    containerRemove: async (id: string, opts?: { force?: boolean; volumes?: boolean }) => {
      calls.push([id, opts]);
      if (id.startsWith('missing')) throw new ApiError(404, `No such container: ${id}`);
      if (running.includes(id) && !opts?.force) throw new ApiError(409, `cannot remove container "${id}": container is running: stop the container before removing or force remove`);
    },
  };
}

test('rm: a running container is a failure, printed after the names removed, exit 1', async () => {
  const m = memoryIO();
  const client = fakeClient(['web']);
  assert.equal(await removeContainers(client, ['web', 'old'], {}, m.io), 1);
  assert.equal(m.stdout(), 'old\n');
  assert.equal(m.stderr(), 'Error response from daemon: cannot remove container "web": container is running: stop the container before removing or force remove\n');
  // Flags not given are not sent.
  assert.deepEqual(client.calls[0][1], { force: undefined, volumes: undefined, link: undefined });
});

test('rm -f: a missing container is reported at once and is no failure, exit 0', async () => {
  const m = memoryIO();
  const client = fakeClient(['web']);
  assert.equal(await removeContainers(client, ['missing1', 'web', 'missing2'], { force: true, volumes: true }, m.io), 0);
  assert.equal(m.stdout(), 'web\n');
  assert.equal(m.stderr(), 'Error response from daemon: No such container: missing1\nError response from daemon: No such container: missing2\n');
  assert.deepEqual(client.calls[1][1], { force: true, volumes: true, link: undefined });
});

test('rm without -f: a missing container is a failure', async () => {
  const m = memoryIO();
  assert.equal(await removeContainers(fakeClient([]), ['missing'], {}, m.io), 1);
  assert.equal(m.stdout(), '');
  assert.equal(m.stderr(), 'Error response from daemon: No such container: missing\n');
});

test('rm -l asks for the link NAME to be removed, not the container', async () => {
  const m = memoryIO();
  const client = fakeClient([]);
  assert.equal(await removeContainers(client, ['app/db'], { link: true }, m.io), 0);
  assert.deepEqual(client.calls[0], ['app/db', { force: undefined, volumes: undefined, link: true }]);
});
