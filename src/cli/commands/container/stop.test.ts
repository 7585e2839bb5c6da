import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, type Client } from '../../../client/index.js';
import { memoryIO } from '../../_testio.js';
import { main } from '../../program.js';
import { stop } from './stop.js';

/** A client whose containerStop knows `a` and `b` only, recording what it was asked. */
function fakeClient() {
  const calls: [string, unknown][] = [];
  return {
    calls,
    containerStop: async (id: string, opts?: { timeout?: number; signal?: string }) => {
      calls.push([id, opts]);
      if (id !== 'a' && id !== 'b') throw new ApiError(404, `No such container: ${id}`);
    },
  };
}

test('stop echoes each name stopped and prints the failures after them, exit 1', async () => {
  const client = fakeClient();
  const m = memoryIO();
  const code = await stop(client, ['a', 'nope', 'b', 'gone'], { timeout: 3 }, m.io);
  assert.equal(code, 1);
  assert.equal(m.stdout(), 'a\nb\n');
  assert.equal(m.stderr(), 'Error response from daemon: No such container: nope\nError response from daemon: No such container: gone\n');
  assert.deepEqual(client.calls.map(([id]) => id), ['a', 'nope', 'b', 'gone']);
  assert.deepEqual(client.calls[0][1], { timeout: 3 });
});

test('stop through main(): only the flags given are sent; --time is the old name of --timeout', async () => {
  const client = fakeClient();
  const run = async (...argv: string[]) => {
    const m = memoryIO();
    client.calls.length = 0;
    const code = await main(argv, m.io, () => client as unknown as Client);
    return { code, out: m.stdout(), err: m.stderr(), sent: client.calls[0]?.[1] };
  };
  assert.deepEqual(await run('stop', 'a'), { code: 0, out: 'a\n', err: '', sent: { timeout: undefined, signal: undefined } });
  assert.deepEqual(await run('stop', '-s', 'TERM', '-t', '0', 'b'), { code: 0, out: 'b\n', err: '', sent: { timeout: 0, signal: 'TERM' } });
  assert.deepEqual(await run('stop', '--time', '5', 'a'), { code: 0, out: 'Flag --time has been deprecated, use --timeout instead\na\n', err: '', sent: { timeout: 5, signal: undefined } });
  const none = await run('stop');
  assert.equal(none.code, 1);
  assert.match(none.err, /^wharf: 'wharf stop' requires at least 1 argument\n\nUsage: {2}wharf stop \[OPTIONS\] CONTAINER \[CONTAINER\.\.\.\]\n/);
  const bad = await run('container', 'stop', '-t', 'x', 'a');
  assert.equal(bad.code, 125);
  assert.match(bad.err, /^invalid argument "x" for "-t, --timeout" flag: strconv\.ParseInt: parsing "x": invalid syntax\n/);
  assert.equal(client.calls.length, 0);
});
