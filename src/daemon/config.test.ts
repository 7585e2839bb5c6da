import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG, checkMirror, readDaemonJson } from './config.js';

test('debian-mirror: deb.debian.org by default, daemon.json sets it and the security archive', async () => {
  assert.equal(DEFAULT_CONFIG.debianMirror, 'http://deb.debian.org/debian');
  assert.equal(DEFAULT_CONFIG.debianSecurityMirror, undefined);
  const dir = await mkdtemp(join(tmpdir(), 'wharf-config-'));
  try {
    const p = join(dir, 'daemon.json');
    await writeFile(p, JSON.stringify({ 'debian-mirror': 'http://mirror.lan/debian/', 'debian-security-mirror': '' }));
    assert.deepEqual(await readDaemonJson(p, true), { debianMirror: 'http://mirror.lan/debian', debianSecurityMirror: '' });
    await writeFile(p, JSON.stringify({ 'debian-mirror': 'mirror.lan/debian' }));
    await assert.rejects(readDaemonJson(p, true), { message: 'invalid debian-mirror "mirror.lan/debian": not a URL' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a mirror must be an http, https or file URL; only the security one may be empty', () => {
  assert.equal(checkMirror('debian-mirror', 'file:///srv/debian', false), 'file:///srv/debian');
  assert.throws(() => checkMirror('debian-mirror', 'ftp://x/debian', false), /use an http, https or file URL/);
  assert.throws(() => checkMirror('debian-mirror', '', false), /not a URL/);
  assert.throws(() => checkMirror('debian-mirror', 3, false), /a URL string is expected/);
  assert.equal(checkMirror('debian-security-mirror', '', true), '');
});
