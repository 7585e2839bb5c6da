import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPlatform, normalizePlatform, parsePlatform } from './platform.js';

test("containerd's Parse: aliases resolved, ARM's v7 left implied, arm64's v8 spelled", () => {
  assert.deepEqual(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('Linux/x86_64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('linux/arm'), { os: 'linux', architecture: 'arm' });
  assert.deepEqual(parsePlatform('linux/armhf'), { os: 'linux', architecture: 'arm' });
  assert.deepEqual(parsePlatform('linux/armel'), { os: 'linux', architecture: 'arm', variant: 'v6' });
  assert.deepEqual(parsePlatform('linux/arm/7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.deepEqual(parsePlatform('aarch64'), { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(parsePlatform('linux', 'arm64'), { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(parsePlatform('i386'), { os: 'linux', architecture: '386' });
});

test("containerd's Normalize: ARM defaults to v7, amd64/v1 and arm64/v8 are the plain names", () => {
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'arm' }), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'amd64', variant: 'v1' }), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'arm64', variant: 'v8' }), { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'amd64', variant: 'v3' }), { os: 'linux', architecture: 'amd64', variant: 'v3' });
  assert.equal(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' }), 'linux/arm/v7');
  assert.equal(formatPlatform({ os: 'linux', architecture: 'amd64' }), 'linux/amd64');
});

test('bad platforms get containerd\'s texts', () => {
  const bad: [string, string][] = [
    ['bad', '"bad": unknown operating system or architecture: invalid argument'],
    ['linux/nosuch', '"linux/nosuch": unknown operating system or architecture: invalid argument'],
    ['nosuch/amd64', '"nosuch/amd64": unknown operating system or architecture: invalid argument'],
    ['linux/arm/v7/x', '"linux/arm/v7/x": cannot parse platform specifier: invalid argument'],
    ['linux/a b', '"linux/a b": invalid platform specifier: invalid argument'],
    ['linux//amd64', '"linux//amd64": invalid platform specifier: invalid argument'],
  ];
  for (const [input, message] of bad) assert.throws(() => parsePlatform(input), { name: 'InvalidArgumentError', message }, input);
});
