import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilters, parseRamBytes, splitRepoTag, timestampArg } from './opts.js';

test('RAM sizes like go-units RAMInBytes', () => {
  assert.equal(parseRamBytes('512m'), 512 * 1024 * 1024);
  assert.equal(parseRamBytes('1g'), 1024 ** 3);
  assert.equal(parseRamBytes('100'), 100);
  assert.equal(parseRamBytes('1.5kb'), 1536);
  assert.throws(() => parseRamBytes('abc'), /invalid size: 'abc'/);
  assert.equal(parseRamBytes('2 MiB'), 2 * 1024 ** 2);
  assert.equal(parseRamBytes('3B'), 3);
  assert.throws(() => parseRamBytes('1z'), /invalid suffix: 'z'/);
  assert.throws(() => parseRamBytes('1kbb'), /invalid suffix: 'kbb'/);
  assert.throws(() => parseRamBytes('1.2.3m'), /parsing "1.2.3": invalid syntax/);
});

test('references, filters and timestamps', () => {
  assert.deepEqual(splitRepoTag('localhost:5000/x:1'), { repo: 'localhost:5000/x', tag: '1' });
  assert.deepEqual(splitRepoTag('localhost:5000/x'), { repo: 'localhost:5000/x' });
  assert.deepEqual(parseFilters(['name=a', 'name=b', 'status=exited']), { name: ['a', 'b'], status: ['exited'] });
  assert.equal(timestampArg('10m', 1_000_000), String(1000 - 600));
  assert.equal(timestampArg('2024-01-01T00:00:00Z'), '2024-01-01T00:00:00Z');
});
