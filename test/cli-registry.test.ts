/**
 * The wharf CLI's pull, push, login and logout (issue 11, client side).
 *
 * 1. Against a recorded Engine API (a small fake daemon on a unix socket that answers with
 *    dockerd's streams): the real docker CLI and wharf run the same commands, and their output
 *    (plain and, through `script`, on a terminal of two widths), exit codes, requests and
 *    config.json must be the same.
 * 2. Against a real wharfd and Debian's docker-registry with htpasswd auth on loopback: login,
 *    push, pull, run of a pushed image, logout, a wrong password, a missing tag. These need the
 *    daemon's side (POST /auth, /images/{name}/push, pulls from registries): they are skipped
 *    while the test wharfd answers 404 to POST /auth; WHARF_TEST_REGISTRY=1 runs them anyway.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCKER, exec, startDaemon, WHARF, type RunResult, type TestDaemon } from './harness.js';

const REGISTRY = '/usr/bin/docker-registry';
const L1 = 'a1b2c3d4e5f6';
const L2 = '0f1e2d3c4b5a';

const lines = (messages: object[]) => messages.map((m) => `${JSON.stringify(m)}\n`).join('');
/** dockerd's stream for a pull of two layers downloading side by side. */
const PULL_STREAM = lines([
  { status: 'Pulling from library/busybox', id: 'latest' },
  { status: 'Pulling fs layer', progressDetail: {}, id: L1 },
  { status: 'Pulling fs layer', progressDetail: {}, id: L2 },
  { status: 'Downloading', progressDetail: { current: 1000, total: 2000000 }, progress: '[>    ] 1kB/2MB', id: L1 },
  { status: 'Downloading', progressDetail: { current: 500000, total: 700000 }, progress: '[===>  ] 500kB/700kB', id: L2 },
  { status: 'Verifying Checksum', progressDetail: {}, id: L2 },
  { status: 'Download complete', progressDetail: {}, id: L2 },
  { status: 'Downloading', progressDetail: { current: 2000000, total: 2000000 }, progress: '[=====>] 2MB/2MB', id: L1 },
  { status: 'Download complete', progressDetail: {}, id: L1 },
  { status: 'Extracting', progressDetail: { current: 32768, total: 2000000 }, progress: '[>   ] 32.77kB/2MB', id: L1 },
  { status: 'Pull complete', progressDetail: {}, id: L1 },
  { status: 'Extracting', progressDetail: { current: 700000, total: 700000 }, progress: '[====>] 700kB/700kB', id: L2 },
  { status: 'Pull complete', progressDetail: {}, id: L2 },
  { status: `Digest: sha256:${'ab'.repeat(32)}` },
  { status: 'Status: Downloaded newer image for busybox:latest' },
]);
const PUSH_STREAM = lines([
  { status: 'The push refers to repository [127.0.0.1:5000/t/bb]' },
  { status: 'Preparing', progressDetail: {}, id: L1 },
  { status: 'Preparing', progressDetail: {}, id: L2 },
  { status: 'Layer already exists', progressDetail: {}, id: L2 },
  { status: 'Pushing', progressDetail: { current: 512, total: 2000000 }, progress: '[>  ] 512B/2MB', id: L1 },
  { status: 'Pushed', progressDetail: {}, id: L1 },
  { status: `1: digest: sha256:${'cd'.repeat(32)} size: 527` },
  { progressDetail: {}, aux: { Tag: '1', Digest: `sha256:${'cd'.repeat(32)}`, Size: 527 } },
]);
const FAILING_STREAM = lines([
  { status: 'Pulling from t/bb', id: '2' },
  { errorDetail: { message: 'manifest for 127.0.0.1:5000/t/bb:2 not found: manifest unknown: manifest unknown' }, error: 'manifest for 127.0.0.1:5000/t/bb:2 not found: manifest unknown: manifest unknown' },
]);

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  auth?: unknown;
  body?: unknown;
}

/** A daemon that answers pull, push and login with recorded streams, and records what it was asked. */
async function startFakeEngine(dir: string): Promise<{ socket: string; seen: Seen[]; server: Server }> {
  const socket = join(dir, 'fake.sock');
  const seen: Seen[] = [];
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://engine');
    const path = decodeURIComponent(u.pathname.replace(/^\/v[\d.]+/, ''));
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      if (path === '/_ping') {
        res.writeHead(200, { 'API-Version': '1.47' });
        return res.end('OK');
      }
      if (path === '/version') return json(res, 200, { ApiVersion: '1.47', Version: '28.0.0', MinAPIVersion: '1.24', Os: 'linux', Arch: 'amd64' });
      const header = req.headers['x-registry-auth'];
      seen.push({
        method: req.method ?? '',
        path,
        query: Object.fromEntries(u.searchParams),
        auth: typeof header === 'string' ? JSON.parse(Buffer.from(header, 'base64url').toString()) : undefined,
        body: body ? JSON.parse(body) : undefined,
      });
      if (path === '/auth') {
        const a = JSON.parse(body) as { password?: string };
        if (a.password === 'pass') return json(res, 200, { Status: 'Login Succeeded', IdentityToken: '' });
        return json(res, 401, { message: 'login attempt to http://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized' });
      }
      if (path === '/images/create') {
        if (u.searchParams.get('fromImage') === 'docker.io/library/nosuch') return json(res, 404, { message: "pull access denied for nosuch, repository does not exist or may require 'docker login': denied: requested access to the resource is denied" });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return res.end(u.searchParams.get('tag') === '2' ? FAILING_STREAM : PULL_STREAM);
      }
      if (path.endsWith('/push')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return res.end(PUSH_STREAM);
      }
      json(res, 404, { message: 'page not found' });
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return { socket, seen, server };
}

const shellQuote = (a: string) => `'${a.replaceAll("'", `'\\''`)}'`;

describe('docker and wharf draw the same streams the same way', () => {
  let dir: string;
  let engine: Awaited<ReturnType<typeof startFakeEngine>>;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-clireg-'));
    engine = await startFakeEngine(dir);
  });
  after(async () => {
    await new Promise((r) => engine?.server.close(r));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const envFor = (cli: string, config = 'cfg') => ({ ...process.env, DOCKER_HOST: `unix://${engine.socket}`, DOCKER_CONFIG: join(dir, `${config}-${cli}`), DOCKER_CLI_HINTS: 'false' });
  const both = async (args: string[], opts: { input?: string; config?: string } = {}): Promise<[RunResult, RunResult]> => [
    await exec(DOCKER, args, { env: envFor('docker', opts.config), input: opts.input }),
    await exec(process.execPath, [WHARF, ...args], { env: envFor('wharf', opts.config), input: opts.input }),
  ];
  /** Runs on a terminal of `cols` columns (util-linux `script`); what the terminal received. */
  const onTerminal = async (cli: 'docker' | 'wharf', args: string[], cols: number): Promise<string> => {
    const argv = cli === 'docker' ? [DOCKER, ...args] : [process.execPath, WHARF, ...args];
    const r = await exec('/usr/bin/script', ['-q', '-e', '-c', `stty cols ${cols} rows 40; ${argv.map(shellQuote).join(' ')}`, '/dev/null'], { env: envFor(cli) });
    return r.stdout;
  };

  for (const args of [['pull', 'busybox'], ['pull', '-q', 'busybox'], ['pull', '-a', 'busybox'], ['image', 'pull', '127.0.0.1:5000/t/bb:2'], ['pull', 'nosuch'], ['pull', 'Bad'], ['push', '127.0.0.1:5000/t/bb:1'], ['push', '-q', '127.0.0.1:5000/t/bb'], ['push', `x@sha256:${'0'.repeat(64)}`]]) {
    test(`${args.join(' ')}: same output, exit code and request`, async () => {
      const from = engine.seen.length;
      const [docker, wharf] = await both(args);
      assert.deepEqual({ code: wharf.code, stdout: wharf.stdout, stderr: wharf.stderr }, { code: docker.code, stdout: docker.stdout, stderr: docker.stderr });
      const asked = engine.seen.slice(from);
      assert.equal(asked.length % 2, 0, JSON.stringify(asked));
      const half = asked.length / 2;
      assert.deepEqual(asked.slice(half), asked.slice(0, half));
    });
  }

  test('on a terminal: the same cursor moves, bars and line rewrites, wide and narrow', { skip: !existsSync('/usr/bin/script') && 'no script(1)' }, async () => {
    for (const cols of [150, 80]) {
      for (const args of [['pull', 'busybox'], ['push', '127.0.0.1:5000/t/bb:1'], ['pull', '127.0.0.1:5000/t/bb:2']]) {
        const docker = await onTerminal('docker', args, cols);
        const wharf = await onTerminal('wharf', args, cols);
        if (args[1] !== '127.0.0.1:5000/t/bb:2') assert.ok(docker.includes('\x1b[2K'), `docker drew no progress for ${args.join(' ')}: ${JSON.stringify(docker)}`);
        assert.equal(wharf, docker, `${args.join(' ')} at ${cols} columns`);
      }
    }
  });

  test('login, stored credentials sent on pull and push, logout: same texts and the same config.json', async () => {
    const config = 'login';
    const steps: { args: string[]; input?: string }[] = [
      { args: ['login', '-u', 'user', '--password-stdin', '127.0.0.1:5000'], input: 'wrong\n' },
      { args: ['login', '-u', 'user', '--password-stdin', 'http://127.0.0.1:5000/'], input: 'pass\n' },
      { args: ['login', '-u', 'user', '-p', 'pass', '127.0.0.1:5000'] },
      { args: ['login', '127.0.0.1:6000'] },
      { args: ['login', '--password-stdin'] },
    ];
    for (const s of steps) {
      const [docker, wharf] = await both(s.args, { input: s.input ?? '', config });
      assert.deepEqual({ code: wharf.code, stdout: wharf.stdout, stderr: wharf.stderr.replaceAll(`${config}-wharf`, `${config}-docker`).replaceAll("'wharf ", "'docker ").replaceAll('wharf: ', 'docker: ') }, { code: docker.code, stdout: docker.stdout, stderr: docker.stderr }, s.args.join(' '));
    }
    const dockerFile = join(dir, `${config}-docker`, 'config.json');
    const wharfFile = join(dir, `${config}-wharf`, 'config.json');
    assert.equal(await readFile(wharfFile, 'utf8'), await readFile(dockerFile, 'utf8'));
    assert.equal((await stat(wharfFile)).mode & 0o777, 0o600);

    const from = engine.seen.length;
    await both(['pull', '-q', '127.0.0.1:5000/t/bb:1'], { config });
    await both(['push', '-q', '127.0.0.1:5000/t/bb:1'], { config });
    const [dPull, wPull, dPush, wPush] = engine.seen.slice(from);
    assert.deepEqual(wPull, dPull);
    assert.deepEqual(wPush, dPush);
    assert.deepEqual(wPull.auth, { username: 'user', password: 'pass', serveraddress: '127.0.0.1:5000' });

    const [docker, wharf] = await both(['logout', 'http://127.0.0.1:5000'], { config });
    assert.deepEqual([wharf.code, wharf.stdout], [docker.code, docker.stdout]);
    assert.equal(await readFile(wharfFile, 'utf8'), await readFile(dockerFile, 'utf8'));
  });
});

// ---------------------------------------------------------------------------------------------
// With the real daemon and a real registry.

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => {
      req.destroy();
      resolve(0);
    });
    req.end();
  });
}

/** Debian's docker-registry on 127.0.0.1, its storage in `dir`, Basic auth for user/pass. */
async function startRegistry(dir: string): Promise<{ host: string; proc: ChildProcess; stop(): Promise<void>; log(): string }> {
  const port = await freePort();
  const htpasswd = spawnSync('htpasswd', ['-Bbn', 'user', 'pass'], { encoding: 'utf8' });
  if (htpasswd.status !== 0) throw new Error(`htpasswd failed: ${htpasswd.stderr}`);
  await writeFile(join(dir, 'htpasswd'), htpasswd.stdout);
  await writeFile(
    join(dir, 'registry.yml'),
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'storage')}\nhttp:\n  addr: 127.0.0.1:${port}\nauth:\n  htpasswd:\n    realm: r\n    path: ${join(dir, 'htpasswd')}\n`,
  );
  let text = '';
  const proc = spawn(REGISTRY, ['serve', join(dir, 'registry.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (b) => (text += b));
  proc.stderr!.on('data', (b) => (text += b));
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    await Promise.race([new Promise((r) => proc.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  };
  const deadline = Date.now() + 15_000;
  while ((await httpStatus(`http://127.0.0.1:${port}/v2/`)) !== 401) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not start:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host: `127.0.0.1:${port}`, proc, stop, log: () => text };
}

describe('against wharfd and docker-registry', { skip: !existsSync(REGISTRY) && 'docker-registry is not installed' }, () => {
  let dir: string;
  let d: TestDaemon | undefined;
  let reg: Awaited<ReturnType<typeof startRegistry>> | undefined;
  let ready = false;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-clireg-real-'));
    d = await startDaemon();
    reg = await startRegistry(dir);
    // The daemon's side lands separately: until it serves POST /auth, these tests are skipped.
    const probe = await d.api('POST', '/auth', { username: 'x', password: 'y', serveraddress: reg.host });
    ready = process.env.WHARF_TEST_REGISTRY === '1' || probe.status !== 404;
  });
  after(async () => {
    await reg?.stop();
    await d?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const wharf = (args: string[], input?: string) => d!.wharf(args, { input, timeoutMs: 120_000, env: { DOCKER_CONFIG: join(dir, 'config') } });
  const ok = async (args: string[], input?: string): Promise<RunResult> => {
    const r = await wharf(args, input);
    assert.equal(r.code, 0, `wharf ${args.join(' ')}:\n${r.stdout}\n${r.stderr}\n${d!.log().slice(-2000)}`);
    return r;
  };

  test('login, push, pull, run a pushed image, missing tag, logout', async (t) => {
    if (!ready) return t.skip('the daemon does not serve POST /auth yet (set WHARF_TEST_REGISTRY=1 to run)');
    const host = reg!.host;
    const image = `${host}/t/bb`;

    const wrong = await wharf(['login', '-u', 'user', '--password-stdin', host], 'nope\n');
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^Error response from daemon: .*(401|nauthorized)/m);
    assert.ok(!existsSync(join(dir, 'config', 'config.json')), 'a failed login stored nothing');

    // Without credentials the registry refuses the push.
    await ok(['tag', 'busybox', `${image}:1`]);
    const anonymous = await wharf(['push', `${image}:1`]);
    assert.equal(anonymous.code, 1, anonymous.stdout);

    const login = await ok(['login', '-u', 'user', '--password-stdin', host], 'pass\n');
    assert.equal(login.stdout, 'Login Succeeded\n');
    const stored = JSON.parse(await readFile(join(dir, 'config', 'config.json'), 'utf8'));
    assert.deepEqual(stored.auths[host], { auth: Buffer.from('user:pass').toString('base64') });

    const pushed = await ok(['push', `${image}:1`]);
    const digest = /^1: digest: (sha256:[a-f0-9]{64}) size: \d+$/m.exec(pushed.stdout)?.[1];
    assert.ok(digest, pushed.stdout);
    assert.match(pushed.stdout, new RegExp(`^The push refers to repository \\[${image.replaceAll('.', '\\.')}\\]$`, 'm'));
    const again = await ok(['push', `${image}:1`]);
    assert.match(again.stdout, /: Layer already exists$/m);

    await ok(['rmi', `${image}:1`]);
    const pulled = await ok(['pull', `${image}:1`]);
    assert.match(pulled.stdout, /^1: Pulling from t\/bb$/m);
    assert.match(pulled.stdout, new RegExp(`^Digest: ${digest}$`, 'm'));
    assert.ok(pulled.stdout.endsWith(`\n${image}:1\n`), pulled.stdout);
    const images = await ok(['images', '--digests', image]);
    assert.match(images.stdout, new RegExp(`^${image.replaceAll('.', '\\.')}\\s+1\\s+${digest}\\s`, 'm'));

    await ok(['rmi', `${image}:1`]);
    const ran = await ok(['run', '--rm', `${image}:1`, 'echo', 'from the registry']);
    assert.equal(ran.stdout, 'from the registry\n');
    assert.match(ran.stderr, new RegExp(`^Unable to find image '${image.replaceAll('.', '\\.')}:1' locally$`, 'm'));

    const missing = await wharf(['pull', `${image}:nosuch`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /manifest unknown|not found/);

    const out = await ok(['logout', host]);
    assert.equal(out.stdout, `Removing login credentials for ${host}\n`);
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'config', 'config.json'), 'utf8')).auths, {});
    const denied = await wharf(['pull', `${image}:1`]);
    assert.equal(denied.code, 1, denied.stdout);
  });
});
