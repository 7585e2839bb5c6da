import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { ApiError } from '../../../client/index.js';
import type { AuthConfig } from '../../../types/index.js';
import { memoryIO } from '../../_testio.js';
import { main } from '../../program.js';
import type { Client } from '../../../client/index.js';
import { pull } from './pull.js';
import { push } from './push.js';

const dir = await mkdtemp(join(tmpdir(), 'wharf-pull-'));
after(() => rm(dir, { recursive: true, force: true }));
await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { '127.0.0.1:5000': { auth: Buffer.from('user:pass').toString('base64') } } }));

const stream = (...messages: object[]) => Readable.from(messages.map((m) => `${JSON.stringify(m)}\n`)) as unknown as IncomingMessage;
const PULLED = [{ status: 'Pulling from t/bb', id: '1' }, { status: 'Pull complete', progressDetail: {}, id: 'abc' }, { status: 'Status: Downloaded newer image for 127.0.0.1:5000/t/bb:1' }];

function fakePull() {
  const calls: { fromImage: string; tag?: string; platform?: string; auth?: AuthConfig }[] = [];
  return {
    calls,
    client: {
      imagePull: async (fromImage: string, tag?: string, platform?: string, auth?: AuthConfig) => {
        calls.push({ fromImage, tag, platform, auth });
        return stream(...PULLED);
      },
    },
  };
}

test('pull: default tag, the stored credentials of the registry, plain lines, the full name last', async () => {
  const { client, calls } = fakePull();
  const m = memoryIO();
  assert.equal(await pull(client, ['127.0.0.1:5000/t/bb'], { configDir: dir }, m.io), 0);
  assert.equal(m.stdout(), 'Using default tag: latest\n1: Pulling from t/bb\nabc: Pull complete\nStatus: Downloaded newer image for 127.0.0.1:5000/t/bb:1\n127.0.0.1:5000/t/bb:latest\n');
  assert.deepEqual(calls, [{ fromImage: '127.0.0.1:5000/t/bb', tag: 'latest', platform: undefined, auth: { serveraddress: '127.0.0.1:5000', username: 'user', password: 'pass' } }]);

  const q = memoryIO();
  await pull(client, ['busybox'], { configDir: dir, quiet: true, platform: 'linux/arm64' }, q.io);
  assert.equal(q.stdout(), 'docker.io/library/busybox:latest\n');
  assert.deepEqual(calls[1], { fromImage: 'docker.io/library/busybox', tag: 'latest', platform: 'linux/arm64', auth: {} });

  const all = memoryIO();
  await pull(client, ['busybox'], { configDir: dir, allTags: true }, all.io);
  assert.equal(calls[2].tag, undefined);
  assert.match(all.stdout(), /\ndocker\.io\/library\/busybox\n$/);
  await assert.rejects(pull(client, ['busybox:1'], { configDir: dir, allTags: true }, memoryIO().io), { message: "tag can't be used with --all-tags/-a" });
  const d = `sha256:${'e'.repeat(64)}`;
  await pull(client, [`busybox@${d}`], { configDir: dir }, memoryIO().io);
  assert.equal(calls[3].tag, d);
});

test('pull: an in-band error fails with its message; a 401 without a terminal is the daemon\'s answer', async () => {
  const failing = { imagePull: async () => stream({ status: 'Pulling from t/bb', id: '2' }, { errorDetail: { message: 'manifest unknown' }, error: 'manifest unknown' }) };
  const m = memoryIO();
  await assert.rejects(pull(failing, ['127.0.0.1:5000/t/bb:2'], { configDir: dir }, m.io), { message: 'manifest unknown' });
  assert.equal(m.stdout(), '2: Pulling from t/bb\n');
  const denied = { imagePull: async () => Promise.reject(new ApiError(401, 'unauthorized')) };
  await assert.rejects(pull(denied, ['x'], { configDir: dir }, memoryIO().io), (e: unknown) => e instanceof ApiError && e.statusCode === 401);
});

test('pull and push through main: docker\'s texts for bad references and missing arguments, exit 1', async () => {
  const noClient = () => {
    throw new Error('no daemon in this test');
  };
  const run = async (argv: string[]) => {
    const m = memoryIO();
    const code = await main(argv, m.io, noClient as never, { env: { DOCKER_CONFIG: dir } });
    return { code, out: m.stdout(), err: m.stderr() };
  };
  assert.deepEqual(await run(['pull', 'UPPER']), { code: 1, out: '', err: 'invalid reference format: repository name (library/UPPER) must be lowercase\n' });
  assert.deepEqual(await run(['image', 'pull', 'a:b:c']), { code: 1, out: '', err: 'invalid reference format\n' });
  assert.deepEqual(await run(['push', '-a', 'x:1']), { code: 1, out: '', err: "tag can't be used with --all-tags/-a\n" });
  assert.deepEqual(await run(['push', `x@sha256:${'0'.repeat(64)}`]), { code: 1, out: '', err: 'cannot push a digest reference\n' });
  assert.deepEqual(await run(['push', '--platform', 'bad', 'x']), { code: 1, out: '', err: 'Invalid platform bad"bad": unknown operating system or architecture: invalid argument\n' });
  const none = await run(['pull']);
  assert.equal(none.code, 1);
  assert.equal(none.err, "wharf: 'wharf pull' requires 1 argument\n\nUsage:  wharf pull [OPTIONS] NAME[:TAG|@DIGEST]\n\nRun 'wharf pull --help' for more information\n");
  const flag = await run(['pull', '--nosuch', 'x']);
  assert.equal(flag.code, 125);
  assert.match(flag.err, /^unknown flag: --nosuch/);
});

test('push: the tag and credentials sent, aux kept off the screen, -q prints the name', async () => {
  const calls: unknown[][] = [];
  const DIGEST = `sha256:${'c'.repeat(64)}`;
  const client = {
    imagePush: async (...args: unknown[]) => {
      calls.push(args);
      return stream({ status: 'The push refers to repository [127.0.0.1:5000/t/bb]' }, { status: 'Pushed', progressDetail: {}, id: 'abc' }, { status: `1: digest: ${DIGEST} size: 527` }, { progressDetail: {}, aux: { Tag: '1', Digest: DIGEST, Size: 527 } });
    },
  } as unknown as Pick<Client, 'imagePush'>;
  const m = memoryIO();
  await push(client, ['127.0.0.1:5000/t/bb:1'], { configDir: dir }, m.io);
  assert.equal(m.stdout(), `The push refers to repository [127.0.0.1:5000/t/bb]\nabc: Pushed\n1: digest: ${DIGEST} size: 527\n`);
  assert.deepEqual(calls[0], ['127.0.0.1:5000/t/bb', '1', { serveraddress: '127.0.0.1:5000', username: 'user', password: 'pass' }, undefined]);
  const q = memoryIO();
  await push(client, ['127.0.0.1:5000/t/bb'], { configDir: dir, quiet: true, platform: 'linux/amd64' }, q.io);
  assert.match(q.stdout(), / Info -> Using --platform pushes only/);
  assert.match(q.stdout(), /\n127\.0\.0\.1:5000\/t\/bb:latest\n$/);
  assert.deepEqual(calls[1].slice(1), ['latest', { serveraddress: '127.0.0.1:5000', username: 'user', password: 'pass' }, { os: 'linux', architecture: 'amd64' }]);
  await push(client, ['127.0.0.1:5000/t/bb'], { configDir: dir, allTags: true }, memoryIO().io);
  assert.equal(calls[2][1], undefined);
});
