import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readTarEntries, sha256 } from '../util/index.js';
import { busyboxConfig, busyboxLayer } from './busybox.js';

const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((p) => existsSync(p));

test('the busybox image is byte-for-byte the same every time', { skip: !BUSYBOX && 'no busybox on this machine' }, async () => {
  const bytes = async () => {
    const chunks: Buffer[] = [];
    for await (const c of await busyboxLayer(BUSYBOX!)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  const a = await bytes();
  const b = await bytes();
  assert.equal(sha256(a), sha256(b));
  const id = (tar: Buffer) => sha256(JSON.stringify(busyboxConfig(sha256(tar), BUSYBOX!)));
  assert.equal(id(a), id(b));

  const entries = (await readTarEntries(a)).map(({ header: h }) => ({ name: h.name, type: h.type ?? '', uid: h.uid ?? -1, gid: h.gid ?? -1, mtime: h.mtime?.getTime() ?? 0, linkname: h.linkname, mode: h.mode ?? 0 }));
  const names = entries.map((e) => e.name);
  assert.deepEqual(names, [...names].sort(), 'entries sorted');
  assert.ok(entries.every((e) => e.uid === 0 && e.gid === 0 && e.mtime === Date.parse('2024-01-01T00:00:00Z')));
  const by = new Map(entries.map((e) => [e.name, e]));
  assert.equal(by.get('bin/busybox')?.type, 'file');
  assert.equal(by.get('bin/sh')?.linkname, 'busybox');
  assert.equal(by.get('tmp/')?.mode, 0o1777);
  assert.equal(by.get('root/')?.mode, 0o700);
  for (const n of ['etc/passwd', 'etc/group', 'home/', 'var/', 'usr/', 'dev/', 'proc/', 'sys/']) assert.ok(by.has(n), n);
  assert.ok(!by.has('bin/busybox/'));

  const cfg = busyboxConfig(sha256(a), BUSYBOX!);
  assert.deepEqual(cfg.config, { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] });
  assert.equal(cfg.os, 'linux');
  assert.equal(cfg.architecture, process.arch === 'x64' ? 'amd64' : process.arch);
});
