import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DetachScanner, parseDetachKeys } from './detachkeys.js';

test('parseDetachKeys understands ctrl- notation and plain characters', () => {
  assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')], [16, 17]);
  assert.deepEqual([...parseDetachKeys('a,ctrl-@,ctrl-[')], [97, 0, 27]);
  assert.throws(() => parseDetachKeys('ctrl-1x'), /Invalid detach keys/);
});

test('scanner forwards normal input and detects the sequence across chunks', () => {
  const s = new DetachScanner(parseDetachKeys('ctrl-p,ctrl-q'));
  assert.deepEqual(s.feed(Buffer.from('ab')), { forward: Buffer.from('ab'), detach: false });
  const first = s.feed(Buffer.from([0x63, 0x10]));
  assert.deepEqual(first, { forward: Buffer.from('c'), detach: false });
  assert.equal(s.feed(Buffer.from([0x11])).detach, true);
});

test('a partial sequence followed by other bytes is forwarded whole', () => {
  const s = new DetachScanner(parseDetachKeys('ctrl-p,ctrl-q'));
  assert.deepEqual(s.feed(Buffer.from([0x10, 0x61])), { forward: Buffer.from([0x10, 0x61]), detach: false });
  assert.deepEqual(s.feed(Buffer.from([0x10, 0x10, 0x11])), { forward: Buffer.from([0x10]), detach: true });
});
