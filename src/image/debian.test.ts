import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DEBIAN_MIRROR, debianConfig, debianRecipe, debianSourceLines, mmdebstrapArgs } from './debian.js';
import { parseReference } from './reference.js';

const recipeOf = (ref: string) => {
  const r = parseReference(ref);
  return debianRecipe(r.repo, r.tag);
};

test('official Debian tags map to a suite, and their other names are aliases', () => {
  assert.deepEqual(recipeOf('debian:bookworm'), { suite: 'bookworm', slim: false, aliases: ['bookworm', '12'] });
  assert.deepEqual(recipeOf('docker.io/library/debian:12'), recipeOf('debian:bookworm'));
  assert.deepEqual(recipeOf('debian:12-slim'), { suite: 'bookworm', slim: true, aliases: ['bookworm-slim', '12-slim'] });
  assert.deepEqual(recipeOf('debian'), { suite: 'stable', slim: false, aliases: ['stable', 'latest'] });
  assert.deepEqual(recipeOf('debian:latest'), recipeOf('debian:stable'));
  assert.deepEqual(recipeOf('debian:stable-slim'), { suite: 'stable', slim: true, aliases: ['stable-slim'] });
  assert.equal(recipeOf('debian:11')?.suite, 'bullseye');
  assert.equal(recipeOf('debian:13')?.suite, 'trixie');
  assert.equal(recipeOf('debian:trixie-slim')?.slim, true);
  assert.deepEqual(recipeOf('debian:unstable'), { suite: 'sid', slim: false, aliases: ['sid', 'unstable'] });
  assert.equal(recipeOf('debian:testing')?.suite, 'testing');
});

test('anything else is not a Debian recipe', () => {
  for (const ref of ['debian:12.5', 'debian:latest-slim', 'debian:buster', 'debian:potato', 'ubuntu:22.04', 'me/debian:12', 'localhost:5000/debian:12', 'debian:slim', 'debian:bookworm-backports']) {
    assert.equal(recipeOf(ref), undefined, ref);
  }
});

test('sources: the suite, -updates and -security like the official image; sid has only itself', () => {
  const bw = recipeOf('debian:bookworm')!;
  assert.deepEqual(debianSourceLines(bw, { mirror: DEFAULT_DEBIAN_MIRROR }), [
    'deb http://deb.debian.org/debian bookworm main',
    'deb http://deb.debian.org/debian bookworm-updates main',
    'deb http://deb.debian.org/debian-security bookworm-security main',
  ]);
  assert.deepEqual(debianSourceLines(recipeOf('debian:sid')!, { mirror: DEFAULT_DEBIAN_MIRROR }), ['deb http://deb.debian.org/debian sid main']);
  // A private mirror gets no public security source unless one is configured.
  assert.deepEqual(debianSourceLines(bw, { mirror: 'http://mirror.lan/debian/' }), ['deb http://mirror.lan/debian bookworm main', 'deb http://mirror.lan/debian bookworm-updates main']);
  assert.deepEqual(debianSourceLines(bw, { mirror: 'http://mirror.lan/debian', securityMirror: 'http://mirror.lan/security' }).at(-1), 'deb http://mirror.lan/security bookworm-security main');
  assert.equal(debianSourceLines(bw, { mirror: DEFAULT_DEBIAN_MIRROR, securityMirror: '' }).length, 2);
});

test('mmdebstrap: minbase to a tar on stdout; slim leaves docs out through dpkg', () => {
  const args = mmdebstrapArgs(recipeOf('debian:bookworm')!, { mirror: DEFAULT_DEBIAN_MIRROR });
  assert.ok(args.includes('--variant=minbase'));
  assert.ok(args.includes('--format=tar'));
  const i = args.indexOf('bookworm');
  assert.equal(args[i + 1], '-');
  assert.equal(args[i + 2], 'deb http://deb.debian.org/debian bookworm main');
  assert.ok(!args.some((a) => a.startsWith('--dpkgopt=path-exclude')));
  const hook = args.find((a) => a.startsWith('--customize-hook='))!;
  assert.match(hook, /docker-clean/);
  assert.match(hook, /Acquire::Languages "none";/);
  const slim = mmdebstrapArgs(recipeOf('debian:bookworm-slim')!, { mirror: DEFAULT_DEBIAN_MIRROR });
  assert.ok(slim.includes('--dpkgopt=path-exclude=/usr/share/man/*'));
  assert.ok(slim.includes('--dpkgopt=path-include=/usr/share/doc/*/copyright'));
});

test('the config is like the official image: bash, the standard PATH, one layer', () => {
  const c = debianConfig(`sha256:${'a'.repeat(64)}`, recipeOf('debian:12')!, { mirror: DEFAULT_DEBIAN_MIRROR }, '2026-01-01T00:00:00.000Z');
  assert.deepEqual(c.config, { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['bash'] });
  assert.equal(c.os, 'linux');
  assert.equal(c.architecture, process.arch === 'x64' ? 'amd64' : process.arch);
  assert.deepEqual(c.rootfs, { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] });
  assert.match(c.history?.[0].created_by ?? '', /mmdebstrap --variant=minbase bookworm/);
});
