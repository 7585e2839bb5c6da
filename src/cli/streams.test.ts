import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFailureCode } from './streams.js';

test('a start failure exits 127 (not found), 126 (not executable), else 125', () => {
  assert.equal(startFailureCode('exec: "nope": executable file not found in $PATH'), 127);
  assert.equal(startFailureCode('exec /etc/passwd: permission denied'), 126);
  assert.equal(startFailureCode('something else'), 125);
});
