import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { link, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { Client } from '../../../client/index.js';
import { Readable } from 'node:stream';
import { extract, pack, type Header } from 'tar-stream';
import { memoryIO } from '../../_testio.js';
import { Exit } from '../../errors.js';
import { main } from '../../program.js';
import { build, buildArgs } from './build.js';

interface Captured {
  query: URLSearchParams;
  entries: { name: string; uid: number; gid: number; mode: number; type: string; body: string }[];
  raw: Buffer;
}

/** A daemon on a unix socket that keeps what POST /build was sent and answers with `reply` lines. */
async function fakeDaemon(reply: object[] = [{ stream: 'Step 1/1 : FROM scratch\n' }, { aux: { ID: 'sha256:abc' } }, { stream: 'Successfully built abc\n' }]) {
  const dir = await mkdtemp(join(tmpdir(), 'bcli-'));
  const sock = join(dir, 'd.sock');
  const got: Captured[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/_ping') {
        res.writeHead(200, { 'Api-Version': '1.47' }).end('OK');
        return;
      }
      const raw = Buffer.concat(chunks);
      const entries = raw.length && raw[0] !== 0x1f
        ? (await readTarEntries(raw)).map((e) => ({ name: e.header.name, uid: e.header.uid ?? -1, gid: e.header.gid ?? -1, mode: e.header.mode ?? 0, type: e.header.type ?? '', body: e.body.toString() }))
        : [];
      got.push({ query: url.searchParams, entries, raw });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(reply.map((r) => JSON.stringify(r)).join('\r\n') + '\r\n');
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  const client = Client.from({ host: `unix://${sock}` });
  return {
    client,
    got,
    dir,
    close: async () => {
      await new Promise((r) => server.close(r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'bcli-ctx-'));
  for (const [name, body] of Object.entries(files)) {
    await mkdir(join(root, name, '..'), { recursive: true });
    if (name.endsWith('/')) await mkdir(join(root, name), { recursive: true });
    else await writeFile(join(root, name), body);
  }
  return root;
}

async function readTarEntries(raw: Buffer): Promise<{ header: Header; body: Buffer }[]> {
  const out: { header: Header; body: Buffer }[] = [];
  const ex = extract();
  ex.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    stream.on('end', () => {
      out.push({ header, body: Buffer.concat(chunks) });
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
    Readable.from([raw]).pipe(ex);
  });
  return out;
}

async function tarOfEntries(entries: { name: string; body: string }[]): Promise<Buffer> {
  const p = pack();
  for (const e of entries) p.entry({ name: e.name, mode: 0o644 } as Header, e.body);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const names = (c: Captured) => c.entries.map((e) => e.name).sort();

test('build: a directory context is tarred with .dockerignore applied (!, **), Dockerfile and .dockerignore kept, owners 0', async () => {
  const d = await fakeDaemon();
  const ctx = await tree({
    Dockerfile: 'FROM scratch\n',
    '.dockerignore': '# comment\n*.log\n**/*.tmp\nsecret\nDockerfile\n.dockerignore\nlogs\n!logs/keep.log\n/node_modules\n',
    'a.txt': 'a',
    'b.log': 'b',
    'sub/c.tmp': 'c',
    'sub/deep/d.tmp': 'd',
    'sub/e.txt': 'e',
    secret: 's',
    'logs/x.log': 'x',
    'logs/keep.log': 'k',
    'node_modules/m.js': 'm',
  });
  try {
    await symlink('a.txt', join(ctx, 'ln'));
    await link(join(ctx, 'a.txt'), join(ctx, 'hard'));
    const m = memoryIO();
    assert.equal(await build(d.client, ctx, { tag: ['x:1', 'y'] }, m.io, { env: {} }), 0);
    const c = d.got[0];
    assert.deepEqual(names(c), ['.dockerignore', 'Dockerfile', 'a.txt', 'hard', 'ln', 'logs/keep.log', 'sub/', 'sub/deep/', 'sub/e.txt']);
    assert.ok(c.entries.every((e) => e.uid === 0 && e.gid === 0));
    assert.equal(c.entries.find((e) => e.name === 'ln')?.type, 'symlink');
    assert.equal(c.entries.find((e) => e.name === 'hard')?.type, 'link');
    assert.deepEqual(c.query.getAll('t'), ['x:1', 'y']);
    assert.equal(c.query.get('dockerfile'), 'Dockerfile');
    assert.equal(c.query.get('version'), '1');
    assert.equal(c.query.get('rm'), null);
    assert.match(m.stdout(), /^Sending build context to Docker daemon {2}\d[\d.]*k?B\nStep 1\/1 : FROM scratch\nSuccessfully built abc\n$/);
  } finally {
    await d.close();
    await rm(ctx, { recursive: true, force: true });
  }
});

test('build: -f outside the context and -f - add the Dockerfile under .dockerfile.<hex>, named by the query and ignored by .dockerignore', async () => {
  const d = await fakeDaemon();
  const ctx = await tree({ 'a.txt': 'a' });
  const outside = await tree({ 'Other.df': 'FROM scratch\nLABEL x=1\n' });
  try {
    await build(d.client, ctx, { file: join(outside, 'Other.df') }, memoryIO().io, { env: {} });
    let c = d.got[0];
    const df = c.query.get('dockerfile') ?? '';
    assert.match(df, /^\.dockerfile\.[0-9a-f]{20}$/);
    assert.deepEqual(names(c), ['.dockerignore', df, 'a.txt'].sort());
    assert.equal(c.entries.find((e) => e.name === df)?.body, 'FROM scratch\nLABEL x=1\n');
    assert.equal(c.entries.find((e) => e.name === '.dockerignore')?.body, `.dockerignore\n${df}\n`);

    const m = memoryIO({ input: 'FROM scratch\n' });
    await build(d.client, ctx, { file: '-' }, m.io, { env: {} });
    c = d.got[1];
    const df2 = c.query.get('dockerfile') ?? '';
    assert.match(df2, /^\.dockerfile\.[0-9a-f]{20}$/);
    assert.equal(c.entries.find((e) => e.name === df2)?.body, 'FROM scratch\n');

    // -f relative to the working directory, inside the context: sent as its path in the context.
    await writeFile(join(ctx, 'sub.df'), 'FROM scratch\n');
    await build(d.client, '.', { file: 'sub.df' }, memoryIO().io, { env: {}, cwd: ctx });
    assert.equal(d.got[2].query.get('dockerfile'), 'sub.df');
  } finally {
    await d.close();
    await rm(ctx, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  }
});

test('build -: a tar (plain or gzipped) on stdin is sent as it is; anything else is a Dockerfile wrapped as `Dockerfile`', async () => {
  const d = await fakeDaemon();
  try {
    const tar = await tarOfEntries([{ name: 'Dockerfile', body: 'FROM scratch\n' }, { name: 'f', body: 'x' }]);
    await build(d.client, '-', {}, memoryIO({ input: tar.toString('latin1') }).io, { env: {} });
    // memoryIO gives strings; compare the entries instead of bytes.
    assert.deepEqual(names(d.got[0]), ['Dockerfile', 'f']);
    assert.equal(d.got[0].query.get('dockerfile'), null);

    const gz = gzipSync(tar);
    const stdin = new PassThrough();
    stdin.end(gz);
    await build(d.client, '-', { file: 'Dockerfile' }, { ...memoryIO().io, stdin }, { env: {} });
    assert.deepEqual(d.got[1].raw, gz);
    assert.equal(d.got[1].query.get('dockerfile'), 'Dockerfile');

    await build(d.client, '-', {}, memoryIO({ input: 'FROM scratch\nRUN true\n' }).io, { env: {} });
    assert.deepEqual(names(d.got[2]), ['Dockerfile']);
    assert.equal(d.got[2].entries[0].body, 'FROM scratch\nRUN true\n');
    assert.equal(d.got[2].query.get('dockerfile'), 'Dockerfile');

    await assert.rejects(build(d.client, '-', { file: 'x' }, memoryIO({ input: 'FROM scratch\n' }).io), /ambiguous Dockerfile source/);
    await assert.rejects(build(d.client, '-', { file: '-' }, memoryIO().io), /can't use stdin for both build context and dockerfile/);
  } finally {
    await d.close();
  }
});

test('build: the query carries every flag as docker sends it', async () => {
  const d = await fakeDaemon();
  const ctx = await tree({ Dockerfile: 'FROM scratch\n', 's.txt': 'pw' });
  try {
    const m = memoryIO();
    const code = await main(
      ['build', '--build-arg', 'A=1', '--build-arg', 'HOME_X', '--build-arg', 'UNSET', '--label', 'l=v', '--no-cache', '--pull', '--rm=false', '--force-rm', '--network', 'host',
        '--add-host', 'h:1.2.3.4', '-m', '64m', '--memory-swap', '-1', '--cpu-shares', '2', '--cpuset-cpus', '0', '--shm-size', '1g', '--ulimit', 'nofile=10:20',
        '--cache-from', 'a,b', '--target', 'st', '--platform', 'linux/amd64', '--secret', `id=pw,src=${join(ctx, 's.txt')}`, '-q', ctx],
      m.io, () => d.client, { env: { HOME_X: '/h' } });
    assert.equal(code, 0, m.stderr());
    const q = d.got[0].query;
    assert.deepEqual(JSON.parse(q.get('buildargs')!), { A: '1', HOME_X: '/h', UNSET: null });
    assert.deepEqual(JSON.parse(q.get('labels')!), { l: 'v' });
    assert.equal(q.get('nocache'), '1');
    assert.equal(q.get('pull'), '1');
    assert.equal(q.get('rm'), '0');
    assert.equal(q.get('forcerm'), '1');
    assert.equal(q.get('networkmode'), 'host');
    assert.deepEqual(q.getAll('extrahosts'), ['h:1.2.3.4']);
    assert.equal(q.get('memory'), String(64 * 1024 * 1024));
    assert.equal(q.get('memswap'), '-1');
    assert.equal(q.get('cpushares'), '2');
    assert.equal(q.get('cpusetcpus'), '0');
    assert.equal(q.get('shmsize'), String(1024 ** 3));
    assert.deepEqual(JSON.parse(q.get('ulimits')!), [{ Name: 'nofile', Soft: 10, Hard: 20 }]);
    assert.deepEqual(JSON.parse(q.get('cachefrom')!), ['a', 'b']);
    assert.equal(q.get('target'), 'st');
    assert.equal(q.get('platform'), 'linux/amd64');
    assert.equal(q.get('q'), '1');
    assert.deepEqual(JSON.parse(q.get('secrets')!), { pw: join(ctx, 's.txt') });
    // -q prints only what the daemon streamed, no "Sending build context".
    assert.equal(m.stdout(), 'Step 1/1 : FROM scratch\nSuccessfully built abc\n');
  } finally {
    await d.close();
    await rm(ctx, { recursive: true, force: true });
  }
});

test('build: a streamed error goes to stderr with its code (0 becomes 1); --iidfile gets the aux ID', async () => {
  const ctx = await tree({ Dockerfile: 'FROM scratch\n' });
  const bad = await fakeDaemon([{ stream: 'Step 1/1 : RUN false\n' }, { errorDetail: { code: 2, message: "The command '/bin/sh -c false' returned a non-zero code: 2" }, error: 'x' }]);
  const bad0 = await fakeDaemon([{ errorDetail: { message: 'boom' }, error: 'boom' }]);
  const good = await fakeDaemon();
  try {
    const m = memoryIO();
    assert.equal(await main(['build', ctx], m.io, () => bad.client), 2);
    assert.equal(m.stderr(), "The command '/bin/sh -c false' returned a non-zero code: 2\n");
    const m0 = memoryIO();
    assert.equal(await main(['build', ctx], m0.io, () => bad0.client), 1);
    const iid = join(ctx, 'iid');
    await writeFile(iid, 'stale');
    assert.equal(await build(good.client, ctx, { iidfile: iid }, memoryIO().io), 0);
    assert.equal(await readFile(iid, 'utf8'), 'sha256:abc');
  } finally {
    await Promise.all([bad.close(), bad0.close(), good.close()]);
    await rm(ctx, { recursive: true, force: true });
  }
});

test('build: docker’s context errors and flag errors', async () => {
  const d = await fakeDaemon();
  const ctx = await tree({ 'a.txt': 'a' });
  try {
    await assert.rejects(build(d.client, join(ctx, 'nope'), {}, memoryIO().io), (e) => e instanceof Exit && e.message === `unable to prepare context: path ${JSON.stringify(join(ctx, 'nope'))} not found`);
    await assert.rejects(build(d.client, ctx, {}, memoryIO().io), (e) => e instanceof Exit && e.message === `unable to prepare context: cannot locate Dockerfile: ${JSON.stringify(join(ctx, 'Dockerfile'))}`);
    await assert.rejects(build(d.client, join(ctx, 'a.txt'), {}, memoryIO().io), /context must be a directory/);
    const m = memoryIO();
    assert.equal(await main(['build', '-t', 'Bad', ctx], m.io, () => d.client), 125);
    assert.match(m.stderr(), /^invalid argument "Bad" for "-t, --tag" flag: invalid reference format: repository name \(library\/Bad\) must be lowercase\n/);
    const m2 = memoryIO();
    assert.equal(await main(['build', '-m', 'lots', ctx], m2.io, () => d.client), 125);
    assert.equal(d.got.length, 0);
  } finally {
    await d.close();
    await rm(ctx, { recursive: true, force: true });
  }
});

test('buildArgs: KEY alone takes the client’s value, or null for the daemon’s', () => {
  assert.deepEqual(buildArgs(['A=1=2', 'B', 'C'], { B: 'b' }), { A: '1=2', B: 'b', C: null });
});
