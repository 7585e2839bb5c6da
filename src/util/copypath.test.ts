import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertsDirectory, goBase, goClean, goDir, preserveTrailingDotOrSeparator, splitPathDirEntry } from './copypath.js';

test('Go path helpers', () => {
  assert.deepEqual(['', '/', '/a/', 'a/./b/..'].map(goClean), ['.', '/', '/a', 'a']);
  assert.deepEqual(['', '/', '/a/', '/a/b', 'a'].map(goBase), ['.', '/', 'a', 'b', 'a']);
  assert.deepEqual(['/a/b', '/a', 'a'].map(goDir), ['/a', '/', '.']);
});

test('trailing / and /. survive cleaning and assert a directory', () => {
  assert.equal(preserveTrailingDotOrSeparator('/x/d', 'd/.'), '/x/d/.');
  assert.equal(preserveTrailingDotOrSeparator('/x/d', 'd/'), '/x/d/');
  assert.equal(preserveTrailingDotOrSeparator('/', '/'), '/');
  assert.ok(assertsDirectory('/a/') && assertsDirectory('/a/.') && !assertsDirectory('/a'));
  assert.deepEqual(splitPathDirEntry('/a/b/.'), ['/a/b', '.']);
  assert.deepEqual(splitPathDirEntry('/a/b/'), ['/a', 'b']);
  assert.deepEqual(splitPathDirEntry('/'), ['/', '/']);
});
