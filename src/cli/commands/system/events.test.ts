import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventJson, formatEvent } from './events.js';

test('events keep timeNano exact and marshal in docker’s field order', () => {
  const e = { Type: 'container' as const, Action: 'start', Actor: { ID: 'abc', Attributes: { name: 'x' } }, scope: 'local' as const, time: 1795435324, timeNano: '1795435324049918700', id: 'abc' };
  assert.equal(formatEvent(e), '2026-11-23T12:02:04.049918700Z container start abc (name=x)');
  assert.equal(
    eventJson(e),
    '{"id":"abc","Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"name":"x"}},"scope":"local","time":1795435324,"timeNano":1795435324049918700}',
  );
});
