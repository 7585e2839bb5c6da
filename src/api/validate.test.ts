import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldKeys, validateShape, CREATE_CONTAINER, EXEC_CREATE } from './validate.js';
import { Router } from './router.js';

test('validateShape accepts a normal create body and unknown fields', () => {
  validateShape({ Image: 'busybox', Cmd: ['sh'], HostConfig: { Memory: 1, RestartPolicy: { Name: 'no' } }, Whatever: 1 }, CREATE_CONTAINER);
});

test('validateShape names the field with the wrong type', () => {
  assert.throws(() => validateShape({ Image: 3 }, CREATE_CONTAINER), /number into Go struct field Image of type string/);
  assert.throws(() => validateShape({ Image: 'x', Cmd: 'ls' }, CREATE_CONTAINER), /field Cmd of type \[\]string/);
  assert.throws(() => validateShape({ Image: 'x', HostConfig: { Binds: [1] } }, CREATE_CONTAINER), /HostConfig.Binds\[0\]/);
});

test('router matches greedy image names and reports wrong methods', () => {
  const r = new Router();
  r.add('GET', '/images/json', () => {});
  r.add('GET', '/images/{name*}/json', () => {});
  r.add('DELETE', '/containers/{id}', () => {});
  const m = r.match('GET', '/images/localhost:5000/a/b:1/json');
  assert.ok(m && m !== 'method');
  assert.equal(m.params.name, 'localhost:5000/a/b:1');
  assert.equal(r.match('GET', '/containers/abc'), 'method');
  assert.equal(r.match('GET', '/nothing'), undefined);
});

test('foldKeys: keys that differ from the shape only in case take its spelling, as Go decodes JSON', () => {
  const body: Record<string, unknown> = { detachKeys: 'ctrl-p', cmd: ['cat'], Tty: true, Unknown: 1 };
  foldKeys(body, EXEC_CREATE);
  assert.deepEqual(body, { DetachKeys: 'ctrl-p', Cmd: ['cat'], Tty: true, Unknown: 1 });
  // A key already spelled the shape's way wins over a differently cased twin.
  const both: Record<string, unknown> = { DetachKeys: 'a', detachkeys: 'b' };
  foldKeys(both, EXEC_CREATE);
  assert.deepEqual(both, { DetachKeys: 'a' });
});
