/**
 * POST /build's framing over a real HTTP server with a fake build service: early errors are
 * plain responses, later ones in-band with the step's code, and a client that goes away aborts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Server } from 'node:http';
import { createApiServer } from '../src/api/index.js';
import type { Daemon } from '../src/daemon/index.js';
import { BuildStepError, type BuildOutput } from '../src/build/index.js';
import type { BuildRequest } from '../src/types/index.js';
import { InvalidArgumentError, silentLogger } from '../src/util/index.js';

type Fake = (body: Readable, req: BuildRequest, out: BuildOutput, signal: AbortSignal) => Promise<string>;
let impl: Fake;
let dir: string;
let server: Server;
let socket: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-build-route-'));
  socket = join(dir, 's.sock');
  const fake = { builds: { build: (b: Readable, r: BuildRequest, o: BuildOutput, s: AbortSignal) => impl(b, r, o, s), prune: async () => ({ CachesDeleted: null, SpaceReclaimed: 0 }) } };
  server = createApiServer(fake as unknown as Daemon, silentLogger);
  await new Promise<void>((r) => server.listen(socket, r));
});

after(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

function post(path: string, body = 'tar'): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method: 'POST', headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const messages = (body: string) => body.split('\r\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

test('output streams as JSON messages; the query reaches the service parsed', async () => {
  let seen: BuildRequest | undefined;
  impl = async (body, req, out) => {
    for await (const _ of body) void _;
    seen = req;
    out.stream('Step 1/1 : FROM busybox\n');
    out.aux({ ID: 'sha256:' + 'a'.repeat(64) });
    out.stream('Successfully built aaaaaaaaaaaa\n');
    return 'sha256:' + 'a'.repeat(64);
  };
  const r = await post('/v1.47/build?t=a:1&t=b&buildargs=%7B%22X%22%3Anull%7D&rm=0');
  assert.equal(r.status, 200);
  assert.equal(r.type, 'application/json');
  assert.deepEqual(messages(r.body), [{ stream: 'Step 1/1 : FROM busybox\n' }, { aux: { ID: 'sha256:' + 'a'.repeat(64) } }, { stream: 'Successfully built aaaaaaaaaaaa\n' }]);
  assert.deepEqual(seen?.tags, ['a:1', 'b']);
  assert.deepEqual(seen?.buildArgs, { X: null });
  assert.equal(seen?.rm, false);
});

test('an error before any output is a plain error response', async () => {
  impl = async () => {
    throw new InvalidArgumentError('Cannot locate specified Dockerfile: Dockerfile');
  };
  const r = await post('/build');
  assert.equal(r.status, 400);
  assert.deepEqual(JSON.parse(r.body), { message: 'Cannot locate specified Dockerfile: Dockerfile' });
  const v2 = await post('/build?version=2');
  assert.equal(v2.status, 400);
  assert.match(v2.body, /BuildKit is not supported/);
});

test('an error after output is in-band, with a failed step\'s code', async () => {
  impl = async (_b, _r, out) => {
    out.stream('Step 1/2 : RUN exit 3\n');
    throw new BuildStepError("The command '/bin/sh -c exit 3' returned a non-zero code: 3", 3);
  };
  const r = await post('/build');
  assert.equal(r.status, 200);
  const m = messages(r.body);
  assert.deepEqual(m[1], { errorDetail: { code: 3, message: "The command '/bin/sh -c exit 3' returned a non-zero code: 3" }, error: "The command '/bin/sh -c exit 3' returned a non-zero code: 3" });
  impl = async (_b, _r, out) => {
    out.stream('x');
    throw new Error('boom');
  };
  assert.deepEqual(messages((await post('/build')).body)[1], { errorDetail: { message: 'boom' }, error: 'boom' });
});

test('a client that goes away aborts the build', async () => {
  const reason = new Promise<unknown>((resolve) => {
    impl = async (_b, _r, out, signal) => {
      out.stream('Step 1/1 : RUN sleep 100\n');
      await new Promise((_, reject) =>
        signal.addEventListener('abort', () => {
          resolve(signal.reason);
          reject(signal.reason);
        }, { once: true }),
      );
      return '';
    };
  });
  const req = request({ socketPath: socket, path: '/build', method: 'POST' }, (res) => res.once('data', () => req.destroy()));
  req.on('error', () => {});
  req.end('tar');
  const got = await Promise.race([reason, new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
  assert.match(String(got), /client went away/);
});

test('prune and cancel', async () => {
  const p = await post('/build/prune?all=1&filters=%7B%7D');
  assert.equal(p.status, 200);
  assert.deepEqual(JSON.parse(p.body), { CachesDeleted: null, SpaceReclaimed: 0 });
  assert.equal((await post('/build/cancel?id=x')).status, 200);
});
