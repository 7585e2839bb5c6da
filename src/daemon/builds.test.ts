import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { BuildRequest } from '../types/index.js';
import type { BuildHost, BuildImage, BuildJob } from '../build/index.js';
import { BuildStepError } from '../build/index.js';
import { silentLogger } from '../util/index.js';
import { BuildService, buildErrorCode } from './builds.js';

const request: BuildRequest = {
  dockerfile: 'Dockerfile',
  tags: [],
  buildArgs: {},
  noCache: false,
  pull: false,
  labels: {},
  extraHosts: [],
  quiet: false,
  rm: true,
  forceRm: false,
  cacheFrom: [],
};

const img = (id: string): BuildImage => ({ id, config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } } });

async function setup(opts: { builder: (job: BuildJob) => Promise<string>; images?: Set<string> }) {
  const root = await mkdtemp(join(tmpdir(), 'wharf-builds-'));
  const images = opts.images ?? new Set<string>();
  const released: string[] = [];
  const hosts: BuildRequest[] = [];
  const svc = new BuildService({
    dataRoot: root,
    logger: silentLogger,
    host: (cache, req) => {
      hosts.push(req);
      return { cache } as unknown as BuildHost;
    },
    imageById: (id) => (images.has(id) ? img(id) : undefined),
    builder: opts.builder,
    openContext: async (body, o) => {
      for await (const _ of body) void _;
      const dir = join(o.workDir, 'ctx');
      await mkdir(dir, { recursive: true });
      return { dir, dockerfile: 'FROM scratch\n', release: async () => void released.push(dir) };
    },
  });
  return { root, svc, released, hosts, images, cleanup: () => rm(root, { recursive: true, force: true }) };
}

const output = () => {
  const lines: string[] = [];
  return { lines, out: { stream: (t: string) => void lines.push(t), aux: (v: Record<string, unknown>) => void lines.push(JSON.stringify(v)) } };
};

test('build: opens the context, runs the builder with a host for the request, releases the context', async () => {
  const t = await setup({
    builder: async (job) => {
      job.output.stream('Step 1/1 : FROM scratch\n');
      assert.equal(job.context.dockerfile, 'FROM scratch\n');
      assert.equal(job.request.dockerfile, 'Dockerfile');
      return 'sha256:' + 'a'.repeat(64);
    },
  });
  try {
    await t.svc.init();
    const o = output();
    const id = await t.svc.build(Readable.from([Buffer.from('x')]), request, o.out, new AbortController().signal);
    assert.equal(id, 'sha256:' + 'a'.repeat(64));
    assert.deepEqual(o.lines, ['Step 1/1 : FROM scratch\n']);
    assert.equal(t.released.length, 1);
    assert.equal(t.hosts.length, 1);
  } finally {
    await t.cleanup();
  }
});

test('build: a failing builder still releases the context; a step error carries its code', async () => {
  const t = await setup({ builder: async () => Promise.reject(new BuildStepError("The command '/bin/sh -c exit 3' returned a non-zero code: 3", 3)) });
  try {
    await t.svc.init();
    await assert.rejects(t.svc.build(Readable.from([]), request, output().out, new AbortController().signal), (err) => buildErrorCode(err) === 3);
    assert.equal(t.released.length, 1);
    assert.equal(buildErrorCode(new Error('x')), undefined);
  } finally {
    await t.cleanup();
  }
});

test('init empties the context directory a crash left', async () => {
  const t = await setup({ builder: async () => '' });
  try {
    await mkdir(join(t.root, 'builder', 'tmp', 'left'), { recursive: true });
    await writeFile(join(t.root, 'builder', 'tmp', 'left', 'f'), 'x');
    await t.svc.init();
    assert.deepEqual(await readdir(join(t.root, 'builder', 'tmp')), []);
  } finally {
    await t.cleanup();
  }
});

test('cache: records survive a restart, a record whose image is gone is dropped; usage and prune', async () => {
  const a = 'sha256:' + 'a'.repeat(64);
  const b = 'sha256:' + 'b'.repeat(64);
  const t = await setup({ builder: async () => '', images: new Set([a, b]) });
  try {
    await t.svc.init();
    await t.svc.cache.put('k1', a);
    await t.svc.cache.put('k2', b);
    assert.equal((await t.svc.cache.get('k1'))?.id, a);
    assert.equal(await t.svc.cache.get('nope'), undefined);
    const dir = await t.svc.cache.mountDir('go-build');
    await writeFile(join(dir, 'blob'), 'x'.repeat(100));
    assert.equal(await t.svc.cache.mountDir('go-build'), dir);

    // Restart: a new service on the same data root.
    const t2 = await setup({ builder: async () => '', images: t.images });
    const svc2 = new BuildService({ dataRoot: t.root, logger: silentLogger, host: () => ({}) as BuildHost, imageById: (id) => (t.images.has(id) ? img(id) : undefined) });
    await svc2.init();
    await t2.cleanup();
    const usage = await svc2.usage();
    assert.equal(usage.length, 3);
    const k1 = usage.find((e) => e.Type === 'regular' && e.UsageCount === 2);
    assert.ok(k1, 'k1 was used twice');
    const mount = usage.find((e) => e.Type === 'exec.cachemount')!;
    assert.equal(mount.Size, 100);

    t.images.delete(b);
    assert.equal(await svc2.cache.get('k2'), undefined, "a record whose image is gone is not served");
    assert.equal((await svc2.usage()).length, 2);

    // Without all: cache mounts (and stale records) only.
    const p1 = await svc2.prune({ all: false });
    assert.deepEqual(p1.CachesDeleted, [mount.ID]);
    assert.equal(p1.SpaceReclaimed, 100);
    assert.ok(!existsSync(dir));
    assert.equal((await svc2.usage()).length, 1);
    await assert.rejects(svc2.prune({ all: true, filters: { bogus: ['1'] } }), /invalid filter 'bogus'/);
    const p2 = await svc2.prune({ all: true });
    assert.equal(p2.CachesDeleted?.length, 1);
    assert.deepEqual(await svc2.prune({ all: true }), { CachesDeleted: null, SpaceReclaimed: 0 });
  } finally {
    await t.cleanup();
  }
});

test('remote contexts: a Dockerfile URL becomes a one-file context, a tar URL streams as it is, errors name the URL', async () => {
  const { createServer } = await import('node:http');
  const { singleFileTar } = await import('./builds.js');
  const tar = singleFileTar('Dockerfile', Buffer.from('FROM busybox\nRUN echo tar\n'));
  const srv = createServer((req, res) => {
    if (req.url === '/Dockerfile') {
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end('FROM busybox\n');
    } else if (req.url === '/ctx.tar') {
      res.setHeader('Content-Type', 'application/x-tar');
      res.end(tar);
    } else {
      res.statusCode = 404;
      res.end('nope');
    }
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  const bodies: Buffer[] = [];
  const root = await mkdtemp(join(tmpdir(), 'wharf-builds-'));
  const svc = new BuildService({
    dataRoot: root,
    logger: silentLogger,
    host: () => ({}) as BuildHost,
    imageById: () => undefined,
    builder: async () => 'id',
    openContext: async (body) => {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(Buffer.from(c as Buffer));
      bodies.push(Buffer.concat(chunks));
      return { dir: root, dockerfile: '', release: async () => {} };
    },
  });
  try {
    await svc.init();
    const sig = new AbortController().signal;
    await svc.build(Readable.from([]), { ...request, remote: `http://127.0.0.1:${port}/Dockerfile` }, output().out, sig);
    assert.equal(bodies[0].subarray(0, 10).toString(), 'Dockerfile');
    assert.equal(bodies[0].subarray(512, 525).toString(), 'FROM busybox\n');
    assert.equal(bodies[0].length % 512, 0);
    await svc.build(Readable.from([]), { ...request, remote: `http://127.0.0.1:${port}/ctx.tar` }, output().out, sig);
    assert.deepEqual(bodies[1], tar);
    await assert.rejects(svc.build(Readable.from([]), { ...request, remote: `http://127.0.0.1:${port}/missing` }, output().out, sig), /failed to GET http:\/\/127\.0\.0\.1:\d+\/missing with status 404 Not Found: nope/);
    await assert.rejects(svc.build(Readable.from([]), { ...request, remote: 'https://github.com/a/b.git' }, output().out, sig), /git build contexts are not supported/);
  } finally {
    srv.close();
    await rm(root, { recursive: true, force: true });
  }
});
