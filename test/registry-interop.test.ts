/**
 * wharf against wharf: a test wharfd pushes to and pulls from `wharf registry serve` with the
 * Bearer token flow, through the real docker CLI and through the wharf CLI (issue 11). The
 * other pairings are tested beside their parts: wharfd against Debian's docker-registry in
 * pull-push.test.ts, the registry against skopeo, docker-registry and Debian's dockerd in
 * registry-server.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, startDaemon, type RunResult, type TestDaemon } from './harness.js';
import { startRegistry, type Registry } from './registry-helpers.js';

let d: TestDaemon;
let reg: Registry;
let dir: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-registry-interop-'));
  const htpasswd = await exec('htpasswd', ['-Bbn', 'alice', 'wonderland']);
  assert.equal(htpasswd.code, 0, htpasswd.stderr);
  await writeFile(join(dir, 'htpasswd'), htpasswd.stdout);
  await writeFile(join(dir, 'access.json'), JSON.stringify({ alice: [{ repo: 'team/*', actions: ['pull', 'push'] }] }));
  reg = await startRegistry(['--auth', 'token', '--htpasswd', join(dir, 'htpasswd'), '--access', join(dir, 'access.json')]);
  d = await startDaemon();
  // Both CLIs read and write credentials in one docker-compatible config directory.
  env = { DOCKER_CONFIG: join(dir, 'docker-config') };
});

after(async () => {
  await d?.stop();
  await reg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function ok(r: RunResult, what: string): string {
  assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

test('without a login the token server refuses the push, with the registry\'s error', async () => {
  const name = `${reg.host}/team/bb:anon`;
  ok(await d.docker(['tag', 'busybox', name]), 'tag');
  const r = await d.docker(['push', name], { env });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /unauthorized|authentication required|denied/i);
  ok(await d.docker(['rmi', name]), 'rmi');
});

test('docker login, push, pull and run through wharfd; wharf push finds the layers there; wharf pull brings the image back', async () => {
  const login = await d.docker(['login', reg.host, '-u', 'alice', '--password-stdin'], { env, input: 'wonderland\n' });
  assert.match(ok(login, 'docker login'), /Login Succeeded/);
  const config = JSON.parse(await readFile(join(dir, 'docker-config', 'config.json'), 'utf8'));
  assert.ok(config.auths?.[reg.host], `credentials stored under ${reg.host}: ${JSON.stringify(config)}`);

  const name = `${reg.host}/team/bb:1`;
  ok(await d.docker(['tag', 'busybox', name]), 'tag');
  const push = ok(await d.docker(['push', name], { env }), 'docker push');
  assert.match(push, /Pushed/);
  const digest = /1: digest: (sha256:[a-f0-9]{64}) size: \d+/.exec(push)?.[1];
  assert.ok(digest, push);

  // The same layers again, now through the wharf CLI with the credentials docker stored.
  const again = ok(await d.wharf(['push', name], { env }), 'wharf push');
  assert.match(again, /Layer already exists/);
  assert.match(again, new RegExp(`1: digest: ${digest}`));

  ok(await d.docker(['rmi', name]), 'rmi');
  const pull = ok(await d.wharf(['pull', name], { env }), 'wharf pull');
  assert.match(pull, new RegExp(`Digest: ${digest}`));
  assert.match(pull, /Status: (Downloaded newer image|Image is up to date) for /);
  const digests = ok(await d.docker(['images', '--digests', '--format', '{{.Repository}} {{.Digest}}', `${reg.host}/team/bb`]), 'images --digests');
  assert.match(digests, new RegExp(`${reg.host}/team/bb ${digest}`));
  assert.equal(ok(await d.docker(['run', '--rm', `${reg.host}/team/bb@${digest}`, 'echo', 'pulled from wharf registry']), 'run by digest').trim(), 'pulled from wharf registry');

  // The registry lists what was pushed.
  const tags = await exec('curl', ['-sf', '-u', 'alice:wonderland', `${reg.url}/token?service=wharf-registry&scope=repository:team/bb:pull`]);
  const token = JSON.parse(ok(tags, 'token')).token as string;
  const list = await exec('curl', ['-sf', '-H', `Authorization: Bearer ${token}`, `${reg.url}/v2/team/bb/tags/list`]);
  assert.deepEqual(JSON.parse(ok(list, 'tags/list')), { name: 'team/bb', tags: ['1'] });
});

test('a repository outside the user\'s access is refused for push, and logout forgets the credentials', async () => {
  const name = `${reg.host}/elsewhere/bb:1`;
  ok(await d.docker(['tag', 'busybox', name]), 'tag');
  const r = await d.wharf(['push', name], { env });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /denied|unauthorized|insufficient/i);
  ok(await d.docker(['rmi', name]), 'rmi');

  assert.match(ok(await d.wharf(['logout', reg.host], { env }), 'wharf logout'), new RegExp(`Removing login credentials for ${reg.host}`));
  const config = JSON.parse(await readFile(join(dir, 'docker-config', 'config.json'), 'utf8'));
  assert.equal(config.auths?.[reg.host], undefined);
  const pull = await d.docker(['pull', `${reg.host}/team/bb:1`], { env });
  assert.notEqual(pull.code, 0);
});
