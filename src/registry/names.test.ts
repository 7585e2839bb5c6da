import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRegistryDigest, isRepoName, isTag } from './names.js';

test('repository names follow the distribution grammar and never escape a directory', () => {
  for (const ok of ['a', 'library/busybox', 'a.b_c__d-e---f/g0', 'ides/gateway', 'x/y/z']) assert.ok(isRepoName(ok), ok);
  for (const bad of ['', 'A', 'a/', '/a', 'a//b', '..', 'a/../b', 'a/.', '.a', 'a.', 'a___b', '_a', 'a-', 'a:b', 'a%2fb', 'a'.repeat(256)]) assert.ok(!isRepoName(bad), bad);
});

test('tags and digests', () => {
  assert.ok(isTag('v1.0-rc_1') && isTag('latest') && isTag('_x'));
  assert.ok(!isTag('-x') && !isTag('.x') && !isTag('a/b') && !isTag('a'.repeat(129)) && !isTag(''));
  assert.ok(isRegistryDigest(`sha256:${'a'.repeat(64)}`));
  assert.ok(!isRegistryDigest(`sha256:${'A'.repeat(64)}`) && !isRegistryDigest(`sha512:${'a'.repeat(128)}`) && !isRegistryDigest('sha256:abc'));
});
