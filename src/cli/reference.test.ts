import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiTag, familiarString, parseNormalizedNamed, refName, refString, withDefaultTag } from './reference.js';

const D = `sha256:${'a'.repeat(64)}`;

test('names normalized as docker does: Docker Hub, library/, registries with ports', () => {
  const cases: [string, string, string][] = [
    ['busybox', 'docker.io/library/busybox', 'busybox'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['me/app', 'docker.io/me/app', 'me/app'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox', 'busybox'],
    ['docker.io/library/a/b', 'docker.io/library/a/b', 'library/a/b'],
    ['localhost/x', 'localhost/x', 'localhost/x'],
    ['127.0.0.1:5000/ides/gateway:1.2', '127.0.0.1:5000/ides/gateway:1.2', '127.0.0.1:5000/ides/gateway:1.2'],
    [`host:5000/app:tag@${D}`, `host:5000/app:tag@${D}`, `host:5000/app:tag@${D}`],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`, `busybox@${D}`],
  ];
  for (const [input, full, familiar] of cases) {
    const r = parseNormalizedNamed(input);
    assert.equal(refString(r), full, input);
    assert.equal(familiarString(r), familiar, input);
  }
  const r = parseNormalizedNamed('127.0.0.1:5000/t/bb');
  assert.deepEqual(r, { domain: '127.0.0.1:5000', path: 't/bb', tag: undefined, digest: undefined });
  assert.equal(refName(r), '127.0.0.1:5000/t/bb');
  assert.equal(apiTag(r), 'latest');
  assert.equal(refString(withDefaultTag(r)), '127.0.0.1:5000/t/bb:latest');
  assert.equal(apiTag(parseNormalizedNamed(`x@${D}`)), D);
});

test('bad references get docker\'s texts', () => {
  const bad: [string, string][] = [
    ['UPPER', 'invalid reference format: repository name (library/UPPER) must be lowercase'],
    ['a:b:c', 'invalid reference format'],
    ['', 'invalid reference format'],
    ['x/', 'invalid reference format'],
    ['-x', 'invalid reference format'],
    ['0123456789012345678901234567890123456789012345678901234567890123', 'invalid repository name (0123456789012345678901234567890123456789012345678901234567890123), cannot specify 64-byte hexadecimal strings'],
    ['x@sha256:abc', 'invalid reference format'],
    [`x@sha256:${'a'.repeat(63)}0a`, 'invalid checksum digest length'],
    [`x@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm'],
    [`x:${'t'.repeat(129)}`, 'invalid reference format'],
    [`${'a'.repeat(256)}`, 'repository name must not be more than 255 characters'],
  ];
  for (const [input, message] of bad) assert.throws(() => parseNormalizedNamed(input), { message }, input);
});
