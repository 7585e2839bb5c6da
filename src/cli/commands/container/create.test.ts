import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fullName, normalizeImageRef } from './create.js';

test('image references as docker\'s CLI normalizes them', () => {
  assert.equal(normalizeImageRef('busybox'), 'busybox:latest');
  assert.equal(normalizeImageRef('localhost:5000/x'), 'localhost:5000/x:latest');
  assert.equal(normalizeImageRef('x:1'), 'x:1');
  assert.equal(fullName('busybox'), 'docker.io/library/busybox');
  assert.equal(fullName('me/app'), 'docker.io/me/app');
  assert.equal(fullName('localhost:5000/app'), 'localhost:5000/app');
});
