import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import { buildProgram } from './program.js';
import { Session } from './session.js';

const program = await buildProgram(
  new Session({ stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() }, () => {
    throw new Error('no client in this test');
  }),
);

test('only the invoked command is built; help and unknown names get the whole tree', async () => {
  const s = new Session({ stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() }, () => {
    throw new Error('no client in this test');
  });
  const names = (c: Command) => c.commands.map((x) => x.name());
  assert.deepEqual(names(await buildProgram(s, ['-H', 'unix:///x.sock', 'ps', '-a'])), ['ps']);
  const container = await buildProgram(s, ['container', 'list', '-q']);
  assert.deepEqual(names(container), ['container']);
  assert.deepEqual(names(container.commands[0]), ['ls']);
  const all = names(program);
  assert.ok(all.length > 30 && all.includes('container') && all.includes('version'));
  assert.deepEqual(names(await buildProgram(s, ['nosuch'])), all);
  assert.deepEqual(names(await buildProgram(s, ['--help', 'ps'])), all);
  assert.deepEqual(names(await buildProgram(s, ['--version'])), []);
  assert.equal((await buildProgram(s, ['image', 'nosuch'])).commands[0].commands.length, 12);
});
