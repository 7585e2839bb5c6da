import { test } from 'node:test';
import assert from 'node:assert/strict';
import { devMajor, devMinor } from './native.js';

// glibc's makedev, in BigInt so the test does not share the code's 32-bit pitfalls.
function makedev(major: number, minor: number): number {
  const M = BigInt(major);
  const m = BigInt(minor);
  return Number((m & 0xffn) | ((M & 0xfffn) << 8n) | ((m & ~0xffn) << 12n) | ((M & ~0xfffn) << 32n));
}

test('devMajor/devMinor decode stat rdev, including numbers past 32 bits', () => {
  for (const [major, minor] of [
    [1, 3],
    [136, 5],
    [259, 0x80000],
    [4096, 0],
    [0xfffff, 0xffffffff],
  ]) {
    const dev = makedev(major, minor);
    assert.equal(devMajor(dev), major, `major of ${major}:${minor}`);
    assert.equal(devMinor(dev), minor, `minor of ${major}:${minor}`);
  }
});
