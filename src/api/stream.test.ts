import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logPayload } from './stream.js';

const entries = [
  { stream: 'stdout' as const, time: '2024-05-01T12:00:00.123456789+02:00', line: Buffer.from('out\n') },
  { stream: 'stderr' as const, time: '2024-05-01T12:00:01+02:00', line: Buffer.from('err\n') },
];

test('logPayload: framed lines, behind Docker\'s UTC nanosecond stamps when asked', () => {
  const out = logPayload(entries, { tty: false, timestamps: true });
  const first = '2024-05-01T10:00:00.123456789Z out\n';
  const second = '2024-05-01T10:00:01.000000000Z err\n';
  assert.deepEqual([...out.subarray(0, 8)], [1, 0, 0, 0, 0, 0, 0, first.length]);
  assert.equal(out.subarray(8, 8 + first.length).toString(), first);
  const at = 8 + first.length;
  assert.deepEqual([...out.subarray(at, at + 8)], [2, 0, 0, 0, 0, 0, 0, second.length]);
  assert.equal(out.subarray(at + 8).toString(), second);
});

test('logPayload: with a TTY the lines go unframed, and without timestamps as written', () => {
  assert.equal(logPayload(entries, { tty: true, timestamps: false }).toString(), 'out\nerr\n');
});
