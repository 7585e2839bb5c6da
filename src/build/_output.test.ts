import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrderedOutput } from './_output.js';

test('the first unfinished channel is live, later ones wait their turn', () => {
  const seen: string[] = [];
  const o = new OrderedOutput({ stream: (t) => void seen.push(t), aux: (v) => void seen.push(`aux ${String(v.ID)}`) }, 3);
  const [a, b, c] = [o.channel(0), o.channel(1), o.channel(2)];
  a.stream('a1');
  c.stream('c1');
  b.stream('b1');
  a.stream('a2');
  assert.deepEqual(seen, ['a1', 'a2']);
  o.finish(2);
  b.aux({ ID: 'b' });
  o.finish(0);
  assert.deepEqual(seen, ['a1', 'a2', 'b1', 'aux b']);
  b.stream('b2');
  o.finish(1);
  assert.deepEqual(seen, ['a1', 'a2', 'b1', 'aux b', 'b2', 'c1']);
});

test('flushAll after a failure shows what every stage said', () => {
  const seen: string[] = [];
  const o = new OrderedOutput({ stream: (t) => void seen.push(t), aux: () => {} }, 2);
  o.channel(1).stream('late');
  o.channel(0).stream('early');
  o.flushAll();
  o.channel(1).stream('after');
  assert.deepEqual(seen, ['early', 'late', 'after']);
});
