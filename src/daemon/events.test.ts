import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus, matchesEvent } from './events.js';

test('image and container filters follow Docker: ID or name, tag optional, container names by prefix', () => {
  const bus = new EventBus();
  const id = `sha256:${'a'.repeat(64)}`;
  const tag = bus.publish('image', 'tag', id, { name: 'evimp:1' });
  const untag = bus.publish('image', 'untag', id, { name: id });
  const create = bus.publish('container', 'create', 'c'.repeat(64), { image: 'busybox:latest', name: 'web1' });
  const match = (filters: Record<string, string[]>) => [tag, untag, create].filter((e) => matchesEvent(e, filters)).map((e) => e.Action);
  assert.deepEqual(match({ image: ['evimp'] }), ['tag']);
  assert.deepEqual(match({ image: ['evimp:1'] }), ['tag']);
  assert.deepEqual(match({ image: [id] }), ['tag', 'untag']);
  assert.deepEqual(match({ image: ['busybox'] }), ['create']);
  assert.deepEqual(match({ image: ['busybox:latest'] }), ['create']);
  assert.deepEqual(match({ image: ['busybox:1'] }), []);
  assert.deepEqual(match({ container: ['web'] }), ['create']);
  assert.deepEqual(match({ container: ['ccc'] }), ['create']);
  assert.deepEqual(match({ type: ['image'], event: ['untag'] }), ['untag']);
});
