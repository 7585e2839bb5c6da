import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../../client/index.js';
import { memoryIO } from '../../_testio.js';
import { rename } from './rename.js';

const client = (fail?: ApiError) => {
  const calls: string[][] = [];
  return {
    calls,
    containerRename: async (from: string, to: string) => {
      calls.push([from, to]);
      if (fail) throw fail;
    },
  };
};

test('rename prints nothing on success; names are trimmed', async () => {
  const m = memoryIO();
  const c = client();
  assert.equal(await rename(c, [' web ', 'web-old'], {}, m.io), 0);
  assert.deepEqual(c.calls, [['web', 'web-old']]);
  assert.equal(m.stdout() + m.stderr(), '');
});

test('rename: the daemon’s error, then docker’s line naming the container, exit 1', async () => {
  const m = memoryIO();
  assert.equal(await rename(client(new ApiError(409, 'Conflict. The container name "/b" is already in use')), ['a', 'b'], {}, m.io), 1);
  assert.equal(m.stderr(), 'Error response from daemon: Conflict. The container name "/b" is already in use\nError: failed to rename container named a\n');
});

test('rename refuses an empty name before asking the daemon', async () => {
  const m = memoryIO();
  const c = client();
  assert.equal(await rename(c, ['a', '  '], {}, m.io), 1);
  assert.equal(m.stderr(), 'Error: Neither old nor new names may be empty\n');
  assert.equal(c.calls.length, 0);
});
