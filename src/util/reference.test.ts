import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familiarName, fullName, parseNormalizedNamed, splitDockerDomain } from './reference.js';

test("splitDockerDomain: Docker Hub's aliases and library/, registries by dot, port, localhost or capitals", () => {
  assert.deepEqual(splitDockerDomain('busybox'), { domain: 'docker.io', path: 'library/busybox' });
  assert.deepEqual(splitDockerDomain('index.docker.io/me/app'), { domain: 'docker.io', path: 'me/app' });
  assert.deepEqual(splitDockerDomain('docker.io/busybox'), { domain: 'docker.io', path: 'library/busybox' });
  assert.deepEqual(splitDockerDomain('Registry/app'), { domain: 'Registry', path: 'app' });
  assert.deepEqual(splitDockerDomain('localhost/app'), { domain: 'localhost', path: 'app' });
  assert.equal(fullName('index.docker.io/busybox'), 'docker.io/library/busybox');
  assert.equal(fullName('h:5000/a/b'), 'h:5000/a/b');
  assert.equal(familiarName({ domain: 'docker.io', path: 'library/a/b' }), 'library/a/b');
  assert.equal(familiarName({ domain: 'h:5000', path: 'library/b' }), 'h:5000/library/b');
});

test('IPv6 registries and longer digests parse; errors are InvalidArgumentError', () => {
  const d512 = `sha512:${'c'.repeat(128)}`;
  assert.deepEqual(parseNormalizedNamed(`[::1]:5000/app:1@${d512}`), { domain: '[::1]:5000', path: 'app', tag: '1', digest: d512 });
  assert.throws(() => parseNormalizedNamed(`x@sha256:${'A'.repeat(64)}`), { name: 'InvalidArgumentError', message: 'invalid checksum digest format' });
  assert.throws(() => parseNormalizedNamed('Registry/App'), { name: 'InvalidArgumentError', message: 'invalid reference format: repository name (App) must be lowercase' });
});
