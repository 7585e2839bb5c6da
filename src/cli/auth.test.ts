import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeRegistryAuth } from '../client/index.js';
import { authKeyForDomain, ConfigFile, configDir, convertToHostname, INDEX_SERVER } from './auth.js';

const root = await mkdtemp(join(tmpdir(), 'wharf-auth-'));
after(() => rm(root, { recursive: true, force: true }));
let n = 0;
const freshDir = async () => {
  const d = join(root, String(n++));
  await mkdir(d);
  return d;
};

test('which directory: --config, then WHARF_CONFIG, DOCKER_CONFIG, ~/.docker', () => {
  assert.equal(configDir({ HOME: '/h' }), '/h/.docker');
  assert.equal(configDir({ HOME: '/h', DOCKER_CONFIG: '/d' }), '/d');
  assert.equal(configDir({ HOME: '/h', DOCKER_CONFIG: '/d', WHARF_CONFIG: '/w' }), '/w');
  assert.equal(configDir({ WHARF_CONFIG: '/w' }, '/flag'), '/flag');
});

test('registry keys: Docker Hub by its index address, others by host[:port]', () => {
  assert.equal(authKeyForDomain('docker.io'), INDEX_SERVER);
  assert.equal(authKeyForDomain('index.docker.io'), INDEX_SERVER);
  assert.equal(authKeyForDomain('127.0.0.1:5000'), '127.0.0.1:5000');
  assert.equal(convertToHostname('http://127.0.0.1:5000/v2/'), '127.0.0.1:5000');
  assert.equal(convertToHostname('https://reg.example'), 'reg.example');
  assert.equal(convertToHostname('reg.example:443/path'), 'reg.example:443');
});

test('X-Registry-Auth is padded base64url of the JSON, in Go\'s field order', () => {
  assert.equal(encodeRegistryAuth(), 'e30=');
  assert.equal(encodeRegistryAuth({}), 'e30=');
  const h = encodeRegistryAuth({ serveraddress: 'h:5000', password: 'p?>>', username: 'u' });
  assert.equal(Buffer.from(h, 'base64url').toString(), '{"username":"u","password":"p?>>","serveraddress":"h:5000"}');
  assert.ok(!/[+/]/.test(h) && h.endsWith('='), h);
});

test('store keeps the file\'s other keys, writes 0600 atomically, and reads back', async () => {
  const dir = await freshDir();
  const other = { auths: { 'other:1': { auth: Buffer.from('a:b').toString('base64'), custom: 1 } }, psFormat: 'table {{.ID}}', proxies: { default: { httpProxy: 'http://p:3128' } } };
  await writeFile(join(dir, 'config.json'), JSON.stringify(other), { mode: 0o644 });
  const c = await ConfigFile.load(dir);
  assert.equal(await c.storeAuth({ username: 'user', password: 'pa:ss', serveraddress: '127.0.0.1:5000' }), true);
  // Same credentials again: nothing to write.
  assert.equal(await c.storeAuth({ username: 'user', password: 'pa:ss', serveraddress: '127.0.0.1:5000' }), false);
  const saved = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
  assert.deepEqual(saved, { ...other, auths: { ...other.auths, '127.0.0.1:5000': { auth: Buffer.from('user:pa:ss').toString('base64') } } });
  assert.equal((await stat(join(dir, 'config.json'))).mode & 0o777, 0o600);
  assert.deepEqual(await readdir(dir), ['config.json']);
  const again = await ConfigFile.load(dir);
  assert.deepEqual(again.getAuth('127.0.0.1:5000'), { serveraddress: '127.0.0.1:5000', username: 'user', password: 'pa:ss' });
  assert.deepEqual(again.getAuth('other:1'), { serveraddress: 'other:1', username: 'a', password: 'b' });
  assert.deepEqual(again.getAuth('nothere'), {});
  // An identity token replaces the password; the entry's unknown keys stay.
  await again.storeAuth({ username: 'a', identitytoken: 'tok', serveraddress: 'other:1' });
  const s2 = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
  assert.deepEqual(s2.auths['other:1'], { custom: 1, auth: Buffer.from('a:').toString('base64'), identitytoken: 'tok' });
  assert.equal(await again.eraseAuth(['other:1', 'http://other:1']), true);
  assert.equal(await again.eraseAuth(['other:1']), false);
  assert.deepEqual(Object.keys(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')).auths), ['127.0.0.1:5000']);
});

test('old files keyed by a URL are found by hostname; Docker Hub by its full address', async () => {
  const dir = await freshDir();
  const auth = Buffer.from('u:p').toString('base64');
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { 'https://reg.example:5000/v1/': { auth }, [INDEX_SERVER]: { auth } } }));
  const c = await ConfigFile.load(dir);
  assert.equal(c.getAuth('reg.example:5000').username, 'u');
  assert.equal(c.getAuth(authKeyForDomain('docker.io')).serveraddress, INDEX_SERVER);
});

test('a missing file is empty and is made (0600, its dir 0700) on store; a symlinked one is written through', async () => {
  const dir = join(await freshDir(), 'new');
  const c = await ConfigFile.load(dir);
  assert.deepEqual(c.getAuth(INDEX_SERVER), {});
  await c.storeAuth({ username: 'u', password: 'p', serveraddress: INDEX_SERVER });
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  assert.equal((await stat(join(dir, 'config.json'))).mode & 0o777, 0o600);

  const linked = await freshDir();
  const real = join(linked, 'real.json');
  await writeFile(real, '{"detachKeys":"ctrl-x"}');
  await symlink(real, join(linked, 'config.json'));
  await (await ConfigFile.load(linked)).storeAuth({ username: 'u', password: 'p', serveraddress: 'h' });
  assert.deepEqual(Object.keys(JSON.parse(await readFile(real, 'utf8'))), ['detachKeys', 'auths']);
  assert.ok((await import('node:fs')).lstatSync(join(linked, 'config.json')).isSymbolicLink());
});

test('credential helpers are named once as unsupported; broken files are reported with their path', async () => {
  const dir = await freshDir();
  await writeFile(join(dir, 'config.json'), JSON.stringify({ credsStore: 'desktop', auths: {} }));
  const warnings: string[] = [];
  const c = await ConfigFile.load(dir, (m) => warnings.push(m));
  c.getAuth(INDEX_SERVER);
  c.getAuth('h:1');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /credsStore.*"desktop".*wharf does not support credential helpers/);

  const bad = await freshDir();
  await writeFile(join(bad, 'config.json'), '{"auths": ');
  await assert.rejects(ConfigFile.load(bad), (err: Error) => err.message.startsWith(`Error loading config file: ${join(bad, 'config.json')}: `));
  await writeFile(join(bad, 'config.json'), JSON.stringify({ auths: { h: { auth: Buffer.from('nocolon').toString('base64') } } }));
  await assert.rejects(
    ConfigFile.load(bad).then((x) => x.getAuth('h')),
    /Invalid auth configuration file/,
  );
});
