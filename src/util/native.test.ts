import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devMajor, devMinor, mountOverlayNative, umountAsync } from './native.js';
import { isMountPoint } from './mount.js';

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

test('umountAsync: an overlay with unwritten data unmounts off the main thread; a path that is no mount is EINVAL', { skip: process.getuid?.() !== 0 && 'needs root' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'wt-umount-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const d of ['l', 'u', 'w', 'm']) await mkdir(join(dir, d));
  mountOverlayNative(dir, 'lowerdir=l,upperdir=u,workdir=w', join(dir, 'm'));
  t.after(() => umountAsync(join(dir, 'm'), true).catch(() => {}));
  // The last unmount writes this back to the upper file system before it returns.
  await writeFile(join(dir, 'm', 'f'), Buffer.alloc(64 << 20, 1));
  let turns = 0;
  let spinning = true;
  const spin = () => {
    turns++;
    if (spinning) setImmediate(spin);
  };
  setImmediate(spin);
  await umountAsync(join(dir, 'm'));
  spinning = false;
  assert.ok(turns > 0, 'the event loop turned while the unmount ran');
  assert.equal(await isMountPoint(join(dir, 'm')), false);
  assert.equal((await stat(join(dir, 'u', 'f'))).size, 64 << 20);
  await assert.rejects(umountAsync(join(dir, 'm')), { code: 'EINVAL', message: /^umount .*\/m: Invalid argument$/ });
});
