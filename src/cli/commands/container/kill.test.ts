import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../../client/index.js';
import { memoryIO } from '../../_testio.js';
import { kill } from './kill.js';

test('kill sends the signal asked for (the daemon’s default when none), echoes names, collects failures', async () => {
  const sent: [string, string | undefined][] = [];
  const client = {
    containerKill: async (id: string, signal?: string) => {
      sent.push([id, signal]);
      if (id === 'stopped') throw new ApiError(409, `cannot kill container: ${id}: container ${id} is not running`);
    },
  };
  const m = memoryIO();
  assert.equal(await kill(client, ['a', 'stopped', 'b'], { signal: 'HUP' }, m.io), 1);
  assert.equal(m.stdout(), 'a\nb\n');
  assert.equal(m.stderr(), 'Error response from daemon: cannot kill container: stopped: container stopped is not running\n');
  assert.deepEqual(sent, [['a', 'HUP'], ['stopped', 'HUP'], ['b', 'HUP']]);
  const m2 = memoryIO();
  assert.equal(await kill(client, ['a'], {}, m2.io), 0);
  assert.deepEqual(sent.at(-1), ['a', undefined]);
});
