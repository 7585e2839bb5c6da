import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstat, mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { openContext } from './context.js';

type E = { name: string; body?: string; type?: 'file' | 'directory' | 'symlink' | 'link'; linkname?: string; mode?: number; uid?: number; gid?: number };

async function tarOf(entries: E[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const e of entries) {
    await new Promise<void>((res, rej) =>
      p.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0 }, e.body ?? '', (err) => (err ? rej(err) : res())),
    );
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

const compressWith = (tool: string, data: Buffer) => {
  const r = spawnSync(tool, ['-c'], { input: data, maxBuffer: 1 << 26 });
  assert.equal(r.status, 0);
  return r.stdout;
};

async function withWork<T>(fn: (work: string) => Promise<T>): Promise<T> {
  const work = await mkdtemp(join(tmpdir(), 'wharf-ctx-test-'));
  try {
    return await fn(work);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const basic: E[] = [
  { name: 'Dockerfile', body: 'FROM scratch\nCOPY . /\n' },
  { name: 'app/', type: 'directory', mode: 0o750 },
  { name: 'app/run.sh', body: '#!/bin/sh\n', mode: 0o755, uid: 1234, gid: 5678 },
  { name: 'app/link', type: 'symlink', linkname: '/etc/passwd' },
  { name: 'app/hard', type: 'link', linkname: 'app/run.sh' },
];

for (const [kind, wrap] of [
  ['plain', (b: Buffer) => b],
  ['gzip', (b: Buffer) => gzipSync(b)],
  ['bzip2', (b: Buffer) => compressWith('bzip2', b)],
  ['xz', (b: Buffer) => compressWith('xz', b)],
] as const) {
  test(`a ${kind} context is extracted with modes, owners and links kept`, () =>
    withWork(async (work) => {
      const ctx = await openContext(Readable.from([wrap(await tarOf(basic))]), { dockerfile: 'Dockerfile', workDir: work });
      assert.equal(ctx.dockerfile, 'FROM scratch\nCOPY . /\n');
      const st = await lstat(join(ctx.dir, 'app/run.sh'));
      assert.equal(st.mode & 0o7777, 0o755);
      assert.deepEqual([st.uid, st.gid], [1234, 5678]);
      assert.equal((await lstat(join(ctx.dir, 'app'))).mode & 0o7777, 0o750);
      assert.equal(await readlink(join(ctx.dir, 'app/link')), '/etc/passwd');
      assert.equal((await lstat(join(ctx.dir, 'app/hard'))).ino, st.ino);
      await ctx.release();
      await ctx.release();
      assert.deepEqual(await readdir(work), []);
    }));
}

test('entries that leave the root, or absolute ones, are refused and nothing stays', () =>
  withWork(async (work) => {
    for (const bad of [[{ name: '../evil', body: 'x' }], [{ name: '/etc/evil', body: 'x' }], [{ name: 'a/../../evil', body: 'x' }], [{ name: 'h', type: 'link' as const, linkname: '../outside' }]]) {
      await assert.rejects(openContext(Readable.from([await tarOf([{ name: 'Dockerfile', body: 'FROM scratch' }, ...bad])]), { dockerfile: 'Dockerfile', workDir: work }), (e: Error) => e.name === 'InvalidArgumentError');
      assert.deepEqual(await readdir(work), []);
    }
  }));

test('a body that is not a tar is an invalid argument', () =>
  withWork(async (work) => {
    await assert.rejects(openContext(Readable.from([Buffer.from('FROM busybox\n'.repeat(100))]), { dockerfile: 'Dockerfile', workDir: work }), (e: Error) => e.name === 'InvalidArgumentError' && /not a valid tar/.test(e.message));
    await assert.rejects(openContext(Readable.from([gzipSync(Buffer.from('garbage'))]), { dockerfile: 'Dockerfile', workDir: work }), (e: Error) => e.name === 'InvalidArgumentError');
    assert.deepEqual(await readdir(work), []);
  }));

test("a missing Dockerfile gets Docker's message; `dockerfile` is the default name's fallback", () =>
  withWork(async (work) => {
    const body = async () => Readable.from([await tarOf([{ name: 'x', body: '' }])]);
    await assert.rejects(openContext(await body(), { dockerfile: 'Dockerfile', workDir: work }), { message: 'Cannot locate specified Dockerfile: Dockerfile' });
    await assert.rejects(openContext(await body(), { dockerfile: 'sub/Other', workDir: work }), { message: 'Cannot locate specified Dockerfile: sub/Other' });
    await assert.rejects(openContext(Readable.from([]), { dockerfile: 'Dockerfile', workDir: work }), { message: 'Cannot locate specified Dockerfile: Dockerfile' });
    const lower = await openContext(Readable.from([await tarOf([{ name: 'dockerfile', body: 'FROM a' }])]), { dockerfile: 'Dockerfile', workDir: work });
    assert.equal(lower.dockerfile, 'FROM a');
    await lower.release();
    const other = await openContext(Readable.from([await tarOf([{ name: 'sub/', type: 'directory' }, { name: 'sub/Other', body: 'FROM b' }])]), { dockerfile: 'sub/Other', workDir: work });
    assert.equal(other.dockerfile, 'FROM b');
    await other.release();
    assert.deepEqual(await readdir(work), []);
  }));

async function list(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const d of (await readdir(join(dir, rel), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const r = rel ? `${rel}/${d.name}` : d.name;
    out.push(d.isDirectory() ? r + '/' : r);
    if (d.isDirectory()) out.push(...(await list(dir, r)));
  }
  return out;
}

test('.dockerignore removes what it excludes, exceptions and ** included; the Dockerfile is still read', () =>
  withWork(async (work) => {
    const entries: E[] = [
      { name: 'Dockerfile', body: 'FROM scratch' },
      { name: '.dockerignore', body: '# comment\n\n*.log\n!keep.log\nnode_modules\n**/*.tmp\nDockerfile\n.dockerignore\nbuild/\n!build/out/keep\nCASE\n' },
      { name: 'a.log', body: '' },
      { name: 'keep.log', body: '' },
      { name: 'sub/b.log', body: '' },
      { name: 'node_modules/x/y.js', body: '' },
      { name: 'src/deep/c.tmp', body: '' },
      { name: 'src/main.ts', body: '' },
      { name: 'build/out/keep', body: '' },
      { name: 'build/out/drop', body: '' },
      { name: 'build/other/drop', body: '' },
      { name: 'case', body: '' },
    ];
    const ctx = await openContext(Readable.from([await tarOf(entries)]), { dockerfile: 'Dockerfile', workDir: work });
    assert.equal(ctx.dockerfile, 'FROM scratch');
    assert.deepEqual(await list(ctx.dir), ['build/', 'build/out/', 'build/out/keep', 'case', 'keep.log', 'src/', 'src/deep/', 'src/main.ts', 'sub/', 'sub/b.log']);
    await ctx.release();
  }));

test('<Dockerfile>.dockerignore beside the Dockerfile wins over .dockerignore', () =>
  withWork(async (work) => {
    const entries: E[] = [
      { name: 'docker/app.Dockerfile', body: 'FROM scratch' },
      { name: 'docker/app.Dockerfile.dockerignore', body: 'b\n' },
      { name: '.dockerignore', body: 'a\n' },
      { name: 'a', body: '' },
      { name: 'b', body: '' },
    ];
    const ctx = await openContext(Readable.from([await tarOf(entries)]), { dockerfile: 'docker/app.Dockerfile', workDir: work });
    assert.deepEqual(await list(ctx.dir), ['.dockerignore', 'a', 'docker/', 'docker/app.Dockerfile', 'docker/app.Dockerfile.dockerignore']);
    await ctx.release();
  }));

test('an abort stops the extraction and leaves nothing', () =>
  withWork(async (work) => {
    const ac = new AbortController();
    let n = 0;
    const head = await tarOf([{ name: 'Dockerfile', body: 'FROM scratch' }]);
    // A body that never ends: the abort is the only way out.
    const body = new Readable({
      read() {
        if (n++ === 0) this.push(head.subarray(0, 1024));
        else setTimeout(() => this.push(Buffer.alloc(0)), 10);
      },
    });
    setTimeout(() => ac.abort(new Error('client went away')), 100);
    await assert.rejects(openContext(body, { dockerfile: 'Dockerfile', workDir: work, signal: ac.signal }), { message: 'client went away' });
    assert.deepEqual(await readdir(work), []);
  }));

/** A ustar header for one regular file, made by hand so a huge body can be streamed. */
function ustarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\u000000', 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

test('a context over 200 MB streams to disk with bounded memory', { timeout: 120_000 }, () =>
  withWork(async (work) => {
    const size = 210 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const df = Buffer.from('FROM scratch\n');
    function* gen(): Generator<Buffer> {
      yield ustarHeader('Dockerfile', df.length);
      yield Buffer.concat([df, Buffer.alloc(512 - df.length)]);
      yield ustarHeader('big.bin', size);
      for (let i = 0; i < size / chunk.length; i++) yield chunk;
      yield Buffer.alloc(1024);
    }
    globalThis.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      const ctx = await openContext(Readable.from(gen(), { objectMode: false }), { dockerfile: 'Dockerfile', workDir: work });
      assert.equal((await lstat(join(ctx.dir, 'big.bin'))).size, size);
      await ctx.release();
    } finally {
      clearInterval(timer);
    }
    assert.ok(peak - base < 100 * 1024 * 1024, `RSS grew by ${Math.round((peak - base) / 1048576)} MB`);
  }));

test('the context dir keeps a Dockerfile that .dockerignore does not name', () =>
  withWork(async (work) => {
    const ctx = await openContext(Readable.from([await tarOf([{ name: 'Dockerfile', body: 'FROM x' }, { name: '.dockerignore', body: '*.md' }, { name: 'r.md', body: '' }])]), { dockerfile: 'Dockerfile', workDir: work });
    assert.deepEqual(await list(ctx.dir), ['.dockerignore', 'Dockerfile']);
    assert.equal(await readFile(join(ctx.dir, 'Dockerfile'), 'utf8'), 'FROM x');
    await ctx.release();
  }));
