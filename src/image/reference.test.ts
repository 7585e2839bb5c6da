import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familiarName, fullName, isIdPrefix, matchIdPrefix, parseReference, splitTag, tagged } from './reference.js';

const D = 'sha256:' + 'ab'.repeat(32);

test('familiar names: docker.io/library is implied and not shown', () => {
  assert.deepEqual(parseReference('busybox'), { repo: 'busybox', tag: undefined, digest: undefined });
  assert.equal(tagged(parseReference('busybox')), 'busybox:latest');
  assert.equal(tagged(parseReference('docker.io/library/busybox:1.36')), 'busybox:1.36');
  assert.equal(tagged(parseReference('index.docker.io/library/busybox')), 'busybox:latest');
  assert.equal(tagged(parseReference('docker.io/me/app:v1')), 'me/app:v1');
  assert.equal(tagged(parseReference('library/busybox')), 'busybox:latest');
  assert.equal(fullName('busybox'), 'docker.io/library/busybox');
  assert.equal(fullName('me/app'), 'docker.io/me/app');
  assert.equal(fullName('localhost:5000/app'), 'localhost:5000/app');
  assert.equal(familiarName('docker.io/library/a/b'), 'library/a/b');
});

test('registries, ports, tags and digests', () => {
  assert.deepEqual(parseReference('localhost:5000/x/y:2'), { repo: 'localhost:5000/x/y', tag: '2', digest: undefined });
  assert.deepEqual(parseReference('reg.example.com/app'), { repo: 'reg.example.com/app', tag: undefined, digest: undefined });
  assert.deepEqual(parseReference(`busybox@${D}`), { repo: 'busybox', tag: undefined, digest: D });
  assert.deepEqual(parseReference(`busybox:1@${D}`), { repo: 'busybox', tag: '1', digest: D });
  assert.equal(parseReference('a:Tag_1.x-y').tag, 'Tag_1.x-y');
  assert.deepEqual(splitTag('localhost:5000/x:2'), { repo: 'localhost:5000/x', tag: '2' });
});

test("Docker's error texts", () => {
  assert.throws(() => parseReference('Busybox'), { message: 'invalid reference format: repository name (library/Busybox) must be lowercase' });
  assert.throws(() => parseReference('me/App:1'), { message: 'invalid reference format: repository name (me/App) must be lowercase' });
  assert.throws(() => parseReference('ab'.repeat(32)), { message: `invalid repository name (${'ab'.repeat(32)}), cannot specify 64-byte hexadecimal strings` });
  for (const bad of ['', ':tag', 'a:', 'a::b', 'a/', '/a', 'a//b', '-a', 'a:-x', 'a@sha256:zz', 'a b', 'x'.repeat(256)]) {
    assert.throws(() => parseReference(bad), /invalid reference format|must not be more than 255/, bad);
  }
  assert.throws(() => parseReference(`a:${'t'.repeat(129)}`), /invalid reference format/);
});

test('ID prefixes', () => {
  const ids = ['sha256:' + 'a1'.repeat(32), 'sha256:' + 'a2'.repeat(32), 'sha256:' + 'b'.repeat(64)];
  assert.equal(matchIdPrefix(ids, 'b'), ids[2]);
  assert.equal(matchIdPrefix(ids, 'sha256:bbb'), ids[2]);
  assert.equal(matchIdPrefix(ids, 'a'), undefined, 'ambiguous');
  assert.equal(matchIdPrefix(ids, 'a1a'), ids[0]);
  assert.equal(matchIdPrefix(ids, ids[1]), ids[1]);
  assert.equal(matchIdPrefix(ids, 'busybox'), undefined);
  assert.equal(matchIdPrefix(ids, ''), undefined);
  assert.ok(isIdPrefix(ids[0], 'a1a1'));
  assert.ok(isIdPrefix(ids[0], 'sha256:a1'));
  assert.ok(!isIdPrefix(ids[0], 'busybox'));
});
