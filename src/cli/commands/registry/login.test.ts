import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError } from '../../../client/index.js';
import type { AuthConfig, AuthResponse } from '../../../types/index.js';
import { memoryIO } from '../../_testio.js';
import type { IO } from '../../session.js';
import { login } from './login.js';
import { logout } from './logout.js';

const root = await mkdtemp(join(tmpdir(), 'wharf-login-'));
after(() => rm(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, String(n++));
const readConfig = async (dir: string) => JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));

/** A daemon whose registry takes user/pass, and gives `token` as identity token when set. */
function fakeDaemon(token = '') {
  const seen: AuthConfig[] = [];
  return {
    seen,
    client: {
      login: async (a: AuthConfig): Promise<AuthResponse> => {
        seen.push(a);
        if (a.username === 'user' && a.password === 'pass') return { Status: 'Login Succeeded', IdentityToken: token };
        throw new ApiError(401, 'login attempt to http://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized');
      },
    },
  };
}

const WARNING = (path: string) => `\nWARNING! Your credentials are stored unencrypted in '${path}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n`;

test('login with --password-stdin: checked by the daemon, stored under host:port, docker\'s warning', async () => {
  const dir = freshDir();
  const d = fakeDaemon();
  const m = memoryIO({ input: 'pass\n' });
  assert.equal(await login(d.client, ['http://127.0.0.1:5000/'], { username: 'user', passwordStdin: true, configDir: dir }, m.io), 0);
  assert.equal(m.stdout(), 'Login Succeeded\n');
  assert.equal(m.stderr(), WARNING(join(dir, 'config.json')));
  assert.deepEqual(d.seen, [{ username: 'user', password: 'pass', serveraddress: '127.0.0.1:5000' }]);
  assert.deepEqual(await readConfig(dir), { auths: { '127.0.0.1:5000': { auth: Buffer.from('user:pass').toString('base64') } } });
  assert.equal((await stat(join(dir, 'config.json'))).mode & 0o777, 0o600);

  // The same again with -p: docker's warning about -p, none about storing (nothing changed).
  const again = memoryIO();
  await login(d.client, ['127.0.0.1:5000'], { username: 'user', password: 'pass', configDir: dir }, again.io);
  assert.equal(again.stderr(), 'WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');

  // No flags: the stored credentials are tried first.
  const stored = memoryIO();
  await login(d.client, ['127.0.0.1:5000'], { configDir: dir, prog: 'wharf' }, stored.io);
  assert.equal(stored.stdout(), 'Login Succeeded\n');
  assert.equal(stored.stderr(), "Authenticating with existing credentials... [Username: user]\n\n Info -> To login with a different account, run 'wharf logout' followed by 'wharf login'\n\n\n");
});

test('login: wrong password is the daemon\'s 401; nothing is stored', async () => {
  const dir = freshDir();
  const d = fakeDaemon();
  await assert.rejects(login(d.client, ['127.0.0.1:5000'], { username: 'user', passwordStdin: true, configDir: dir }, memoryIO({ input: 'wrong\r\n' }).io), (e: unknown) => e instanceof ApiError && e.statusCode === 401);
  assert.equal(d.seen[0].password, 'wrong');
  await assert.rejects(readFile(join(dir, 'config.json')), { code: 'ENOENT' });
});

test('login: an identity token is stored instead of the password, and Docker Hub is the default server', async () => {
  const dir = freshDir();
  const d = fakeDaemon('refresh-token');
  const m = memoryIO();
  await login(d.client, [], { username: 'user', password: 'pass', configDir: dir }, m.io);
  assert.equal(d.seen[0].serveraddress, 'https://index.docker.io/v1/');
  assert.deepEqual(await readConfig(dir), { auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('user:').toString('base64'), identitytoken: 'refresh-token' } } });
  // A token is not a password in the clear: no warning.
  assert.equal(m.stderr(), 'WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  await login(d.client, ['docker.io'], { username: 'user', password: 'pass', configDir: dir }, memoryIO().io);
  assert.equal(d.seen[1].serveraddress, 'https://index.docker.io/v1/');
});

test('login: docker\'s flag checks, and no questions without a terminal', async () => {
  const d = fakeDaemon();
  const dir = freshDir();
  const fails = async (opts: object, message: string) => assert.rejects(login(d.client, ['h:1'], { configDir: dir, ...opts }, memoryIO().io), { message });
  await fails({ passwordStdin: true }, 'the --password-stdin option requires --username to be set');
  await fails({ passwordStdin: true, username: 'u', password: 'p' }, 'conflicting options: cannot specify both --password and --password-stdin');
  await fails({ username: '' }, 'username is empty');
  await fails({ username: 'u', password: '' }, 'password is empty');
  await fails({}, 'Error: Cannot perform an interactive login from a non TTY device');
  await fails({ username: 'u' }, 'Error: Cannot perform an interactive login from a non TTY device');
  assert.equal(d.seen.length, 0);
});

/** A terminal for the prompts: stdin typed by the test, raw mode recorded. */
function terminal(): { io: IO; type(s: string): void; out(): string; raw: boolean[] } {
  const m = memoryIO();
  const raw: boolean[] = [];
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (r: boolean) => raw.push(r) });
  return { io: { ...m.io, stdin }, type: (s) => stdin.write(s), out: m.stdout, raw };
}

test('login on a terminal: asks the username (offering none), then the password without echo', async () => {
  const dir = freshDir();
  const d = fakeDaemon();
  const t = terminal();
  const done = login(d.client, ['127.0.0.1:5000'], { configDir: dir }, t.io);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(t.out(), 'Username: ');
  t.type('user\n');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(t.out(), 'Username: Password: ');
  t.type('paX\x7fss\r');
  assert.equal(await done, 0);
  assert.equal(t.out(), 'Username: Password: \nLogin Succeeded\n');
  assert.deepEqual(t.raw, [true, false]);
  assert.deepEqual(d.seen, [{ username: 'user', password: 'pass', serveraddress: '127.0.0.1:5000' }]);
});

test('logout: every key docker used for the server, the file\'s other entries kept; not logged in is fine', async () => {
  const dir = freshDir();
  const d = fakeDaemon();
  await login(d.client, ['127.0.0.1:5000'], { username: 'user', password: 'pass', configDir: dir }, memoryIO().io);
  await login(d.client, ['other:1'], { username: 'user', password: 'pass', configDir: dir }, memoryIO().io);
  const m = memoryIO();
  assert.equal(await logout(['http://127.0.0.1:5000'], { configDir: dir }, m.io), 0);
  assert.equal(m.stdout(), 'Removing login credentials for 127.0.0.1:5000\n');
  assert.deepEqual(Object.keys((await readConfig(dir)).auths), ['other:1']);
  const again = memoryIO();
  assert.equal(await logout(['127.0.0.1:5000'], { configDir: dir }, again.io), 0);
  assert.equal(again.stdout(), 'Removing login credentials for 127.0.0.1:5000\n');
  const hub = memoryIO();
  await logout([], { configDir: freshDir() }, hub.io);
  assert.equal(hub.stdout(), 'Removing login credentials for https://index.docker.io/v1/\n');
});
