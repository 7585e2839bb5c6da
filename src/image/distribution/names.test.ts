import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familiarRemote, parseRemoteRef, registryHost } from './names.js';

const D = 'sha256:' + 'cd'.repeat(32);

test('Docker Hub names gain docker.io and library/', () => {
  assert.deepEqual(parseRemoteRef('busybox'), { domain: 'docker.io', path: 'library/busybox' });
  assert.deepEqual(parseRemoteRef('busybox:1.36'), { domain: 'docker.io', path: 'library/busybox', tag: '1.36' });
  assert.deepEqual(parseRemoteRef('me/app'), { domain: 'docker.io', path: 'me/app' });
  assert.deepEqual(parseRemoteRef('docker.io/busybox'), { domain: 'docker.io', path: 'library/busybox' });
  assert.deepEqual(parseRemoteRef('index.docker.io/library/busybox:x'), { domain: 'docker.io', path: 'library/busybox', tag: 'x' });
  assert.deepEqual(parseRemoteRef('docker.io/library/a/b'), { domain: 'docker.io', path: 'library/a/b' });
});

test('registries with ports, localhost, digests', () => {
  assert.deepEqual(parseRemoteRef('127.0.0.1:5000/ides/gateway:1'), { domain: '127.0.0.1:5000', path: 'ides/gateway', tag: '1' });
  assert.deepEqual(parseRemoteRef('localhost/app'), { domain: 'localhost', path: 'app' });
  assert.deepEqual(parseRemoteRef('localhost:5000/app'), { domain: 'localhost:5000', path: 'app' });
  assert.deepEqual(parseRemoteRef(`reg.example.com/a/b/c:t@${D}`), { domain: 'reg.example.com', path: 'a/b/c', tag: 't', digest: D });
  assert.deepEqual(parseRemoteRef(`busybox@${D}`), { domain: 'docker.io', path: 'library/busybox', digest: D });
});

test("invalid references get parseReference's texts", () => {
  assert.throws(() => parseRemoteRef('Busybox'), { message: 'invalid reference format: repository name (library/Busybox) must be lowercase' });
  assert.throws(() => parseRemoteRef('a b'), { message: 'invalid reference format' });
  assert.throws(() => parseRemoteRef('x@sha256:12'), { message: 'invalid reference format' });
  assert.throws(() => parseRemoteRef('ab'.repeat(32)), /cannot specify 64-byte hexadecimal strings/);
});

test('familiar form, and round trips', () => {
  assert.equal(familiarRemote({ domain: 'docker.io', path: 'library/busybox' }), 'busybox');
  assert.equal(familiarRemote({ domain: 'docker.io', path: 'library/a/b' }), 'library/a/b');
  assert.equal(familiarRemote({ domain: 'docker.io', path: 'me/app' }), 'me/app');
  assert.equal(familiarRemote({ domain: '127.0.0.1:5000', path: 'ides/gateway' }), '127.0.0.1:5000/ides/gateway');
  for (const s of ['busybox', 'me/app', 'localhost/x', 'h.example:5000/a/b']) assert.equal(familiarRemote(parseRemoteRef(s)), s);
});

test('registryHost: the config key dockerd and the CLI agree on', () => {
  assert.equal(registryHost('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(registryHost('index.docker.io'), 'docker.io');
  assert.equal(registryHost('docker.io'), 'docker.io');
  assert.equal(registryHost('registry-1.docker.io'), 'docker.io');
  assert.equal(registryHost(''), 'docker.io');
  assert.equal(registryHost('http://h:5000/'), 'h:5000');
  assert.equal(registryHost('https://h:5000/v2/'), 'h:5000');
  assert.equal(registryHost('127.0.0.1:5000'), '127.0.0.1:5000');
  assert.equal(registryHost('registry.example.com/some/path'), 'registry.example.com');
  // dockerd strips only http and https schemes.
  assert.equal(registryHost('ftp://h'), 'ftp:');
});
