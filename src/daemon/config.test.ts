import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG, checkInsecureRegistries, checkMirror, checkRealtime, checkRegistryMirrors, hostDefaultRuntime, readDaemonJson } from './config.js';
import { registryConfig } from './system.js';

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

test('registry keys: dockerd\'s defaults, texts and normalization; info\'s RegistryConfig from them', async () => {
  assert.deepEqual([DEFAULT_CONFIG.maxConcurrentDownloads, DEFAULT_CONFIG.maxConcurrentUploads, DEFAULT_CONFIG.certsDir], [3, 5, '/etc/wharf/certs.d']);
  assert.deepEqual(checkRegistryMirrors(['https://m.lan', 'https://m.lan/', 'http://127.0.0.1:5000/']), ['https://m.lan/', 'http://127.0.0.1:5000/']);
  assert.throws(() => checkRegistryMirrors(['m.lan']), { message: `invalid mirror: no scheme specified for "m.lan": must use either 'https://' or 'http://'` });
  assert.throws(() => checkRegistryMirrors(['ftp://m.lan']), /unsupported scheme "ftp"/);
  assert.throws(() => checkRegistryMirrors(['https://m.lan/?x=1']), /query or fragment/);
  assert.deepEqual(checkInsecureRegistries(['10.0.0.0/8', 'http://reg.lan:5000', 'reg.lan:5000', '[::1]:5000']), ['10.0.0.0/8', 'reg.lan:5000', '[::1]:5000']);
  assert.throws(() => checkInsecureRegistries(['ftp://x']), { message: "insecure registry ftp://x should not contain '://'" });
  assert.throws(() => checkInsecureRegistries(['-bad']), /Cannot begin or end with a hyphen/);
  assert.throws(() => checkInsecureRegistries(['reg.lan:99999']), /invalid port "99999"/);
  const dir = await mkdtemp(join(tmpdir(), 'wharf-config-'));
  try {
    const p = join(dir, 'daemon.json');
    await writeFile(p, JSON.stringify({ 'registry-mirrors': ['https://m.lan'], 'insecure-registries': ['reg.lan:5000'], 'max-concurrent-downloads': 1, 'max-concurrent-uploads': 2, 'certs-dir': '/srv/certs.d' }));
    const c = await readDaemonJson(p, true);
    assert.deepEqual(c, { registryMirrors: ['https://m.lan/'], insecureRegistries: ['reg.lan:5000'], maxConcurrentDownloads: 1, maxConcurrentUploads: 2, certsDir: '/srv/certs.d' });
    await writeFile(p, JSON.stringify({ 'max-concurrent-downloads': 0 }));
    await assert.rejects(readDaemonJson(p, true), /invalid max-concurrent-downloads/);
    assert.deepEqual(registryConfig({ registryMirrors: c.registryMirrors!, insecureRegistries: c.insecureRegistries! }), {
      IndexConfigs: {
        'reg.lan:5000': { Name: 'reg.lan:5000', Mirrors: [], Secure: false, Official: false },
        'docker.io': { Name: 'docker.io', Mirrors: ['https://m.lan/'], Secure: true, Official: true },
      },
      InsecureRegistryCIDRs: ['::1/128', '127.0.0.0/8'],
      Mirrors: ['https://m.lan/'],
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('default runtime: crun where it is installed and the cgroups are all v2, runc otherwise', () => {
  const host = (...present: string[]) => (p: string) => present.includes(p);
  const v2 = '/sys/fs/cgroup/cgroup.controllers';
  assert.equal(hostDefaultRuntime(DEFAULT_CONFIG.runtimes, host('/usr/bin/crun', v2)), 'crun');
  assert.equal(hostDefaultRuntime(DEFAULT_CONFIG.runtimes, host('/usr/bin/crun')), 'runc', 'a v1 or hybrid host');
  assert.equal(hostDefaultRuntime(DEFAULT_CONFIG.runtimes, host(v2)), 'runc', 'no crun');
  assert.equal(hostDefaultRuntime({ runc: { path: '/usr/sbin/runc' } }, host('/usr/bin/crun', v2)), 'runc', 'crun not among the runtimes');
});

test('cpu-rt-period and cpu-rt-runtime: whole microseconds from daemon.json or flags; -1 only for a runtime', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-config-'));
  try {
    const path = join(dir, 'daemon.json');
    await writeFile(path, JSON.stringify({ 'cpu-rt-period': 1000000, 'cpu-rt-runtime': 950000 }));
    const cfg = await readDaemonJson(path, true);
    assert.equal(cfg.cpuRtPeriod, 1000000);
    assert.equal(cfg.cpuRtRuntime, 950000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.equal(checkRealtime('cpu-rt-runtime', '-1'), -1);
  assert.equal(checkRealtime('cpu-rt-period', '5000'), 5000);
  for (const [key, v] of [['cpu-rt-period', '-1'], ['cpu-rt-runtime', 'x'], ['cpu-rt-runtime', 1.5]] as const) {
    assert.throws(() => checkRealtime(key, v), new RegExp(`invalid ${key} "${v}": a whole number of microseconds is expected$`));
  }
});
