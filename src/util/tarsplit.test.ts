import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile, link, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import { assembleTar, splitTarSize, tarSplitter } from './tarsplit.js';
import { untar } from './untar.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** `bytes` fed in chunks of `chunk` bytes, as a download brings them. */
const chunked = (bytes: Buffer, chunk: number) => Readable.from((function* () {
  for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
})());

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(r, new Writable({ write(c: Buffer, _e, cb) { parts.push(c); cb(); } }));
  return Buffer.concat(parts);
}

/** Splits `tar` and extracts it into `dir`, side by side as a pull does. */
async function splitAndExtract(tar: Buffer, dir: string, splitPath: string, chunk = 64 * 1024) {
  const s = tarSplitter(splitPath);
  await Promise.all([pipeline(chunked(tar, chunk), s.sink), untar(chunked(tar, chunk), { view: { root: dir }, owner: 'header' })]);
  return s.result;
}

function packed(entries: { name: string; body?: Buffer; type?: 'directory' | 'symlink' | 'link' | 'file'; linkname?: string; pax?: Record<string, string> }[]): Promise<Buffer> {
  const p = pack();
  for (const e of entries) p.entry({ name: e.name, type: e.type ?? 'file', mode: 0o644, uid: 0, gid: 0, ...(e.linkname ? { linkname: e.linkname } : {}), ...(e.pax ? { pax: e.pax } : {}) }, e.body ?? Buffer.alloc(0));
  p.finalize();
  return collect(p as unknown as Readable);
}

test('tarsplit: the split and the extracted files give back the very tar, for GNU, PAX and ustar tars in any chunking', async () => {
  const base = await mkdtemp(join(tmpdir(), 'wharf-tarsplit-test-'));
  try {
    const src = join(base, 'src');
    const long = `${'d'.repeat(120)}/${'f'.repeat(110)}`;
    await mkdir(join(src, 'a/b'), { recursive: true });
    await mkdir(join(src, long.split('/')[0]), { recursive: true });
    await writeFile(join(src, long), randomBytes(1000));
    await writeFile(join(src, 'a/b/big'), randomBytes(3 * 1024 * 1024 + 7));
    await writeFile(join(src, 'a/b/block'), randomBytes(512));
    await writeFile(join(src, 'a/empty'), '');
    await writeFile(join(src, 'a/ünïcode'), randomBytes(33));
    await link(join(src, 'a/b/block'), join(src, 'a/hard'));
    await symlink('/etc/passwd', join(src, 'a/abs-link'));
    const tars: [string, Buffer][] = [];
    for (const format of ['gnu', 'pax', 'ustar']) {
      // ustar cannot hold the 231-byte name: it has its own tree without it.
      const args = format === 'ustar' ? ['-C', src, 'a'] : ['-C', src, '.'];
      tars.push([format, execFileSync('tar', [`--format=${format}`, '-cf', '-', ...args], { maxBuffer: 64 << 20 })]);
    }
    tars.push(['tar-stream', await packed([{ name: 'x/', type: 'directory' }, { name: long, body: randomBytes(5000) }, { name: 'x/f', body: randomBytes(700), pax: { 'SCHILY.xattr.user.k': 'v' } }])]);
    let n = 0;
    for (const [format, tar] of tars) {
      for (const chunk of [1, 511, 4096, 1 << 20]) {
        if (chunk === 1 && tar.length > 200_000) continue;
        const dir = join(base, `x${n}`);
        const split = join(base, `s${n++}`);
        await mkdir(dir);
        const r = await splitAndExtract(tar, dir, split, chunk);
        assert.deepEqual(r, { size: tar.length }, `${format}, chunks of ${chunk}`);
        assert.equal(await splitTarSize(split), tar.length);
        const again = await collect(assembleTar(split, dir, sha(tar)));
        assert.ok(again.equals(tar), `${format}, chunks of ${chunk}: the rebuilt tar differs`);
      }
    }
    // The headers are most of what a split keeps, and they compress: a fraction of the tar.
    const gnuSplit = join(base, 's0');
    assert.ok((await readFile(gnuSplit)).length < tars[0][1].length / 50);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('tarsplit: a rebuilt tar that is not the one split fails before its end, whatever changed', async () => {
  const base = await mkdtemp(join(tmpdir(), 'wharf-tarsplit-test-'));
  try {
    const tar = await packed([{ name: 'f', body: randomBytes(100_000) }, { name: 'g', body: randomBytes(10) }]);
    const dir = join(base, 'x');
    await mkdir(dir);
    await splitAndExtract(tar, dir, join(base, 's'));
    await assert.rejects(collect(assembleTar(join(base, 's'), dir, sha(Buffer.from('other')))), /cannot rebuild the layer tar from .*: what its files give is sha256:[0-9a-f]{64}, not sha256:/);
    await appendFile(join(dir, 'g'), 'x');
    await assert.rejects(collect(assembleTar(join(base, 's'), dir, sha(tar))), /file "g" is longer than its 10 bytes in the tar/);
    await rm(join(dir, 'f'));
    await symlink('/etc/passwd', join(dir, 'f'));
    await assert.rejects(collect(assembleTar(join(base, 's'), dir, sha(tar))), /ELOOP/);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('tarsplit: a tar whose later entries change what earlier ones left on disk is lossy', async () => {
  const base = await mkdtemp(join(tmpdir(), 'wharf-tarsplit-test-'));
  try {
    const body = randomBytes(600);
    const cases: [string, Parameters<typeof packed>[0], RegExp | undefined][] = [
      ['a file twice', [{ name: 'f', body }, { name: 'f', body }], /entry "f" replaces an earlier one/],
      ['a whiteout of an earlier file', [{ name: 'd/f', body }, { name: 'd/.wh.f' }], /whiteout "d\/.wh.f" removes an entry/],
      ['a file over a directory', [{ name: 'd/f', body }, { name: 'd', body }], /entry "d" replaces a directory/],
      ['a file below a symlink', [{ name: 'l', type: 'symlink', linkname: '/etc' }, { name: 'l/f', body }], /lies below a non-directory/],
      ['a directory twice, an opaque marker, whiteouts of lower layers', [{ name: 'd/', type: 'directory' }, { name: 'd/', type: 'directory' }, { name: 'd/.wh..wh..opq' }, { name: '.wh.gone' }, { name: 'd/f', body }], undefined],
    ];
    for (const [what, entries, lossy] of cases) {
      const tar = await packed(entries);
      const s = tarSplitter(join(base, what));
      await pipeline(chunked(tar, 100), s.sink);
      const r = await s.result;
      if (lossy) assert.match(r.lossy ?? '', lossy, what);
      else assert.equal(r.lossy, undefined, what);
    }
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('tarsplit: a path too long for a file record keeps its bytes in the split; a split that cannot be written fails the sink instead of stalling it', { timeout: 20_000 }, async () => {
  const base = await mkdtemp(join(tmpdir(), 'wharf-tarsplit-test-'));
  try {
    const long = `${'x/'.repeat(35_000)}f`;
    const tar = await packed([{ name: 'short', body: randomBytes(2000) }, { name: 'p', body: randomBytes(3000), pax: { path: long } }]);
    const dir = join(base, 'x');
    await mkdir(dir);
    await writeFile(join(dir, 'short'), tar.subarray(512, 2512));
    const s = tarSplitter(join(base, 's'));
    await pipeline(chunked(tar, 4096), s.sink);
    assert.equal((await s.result).lossy, undefined);
    // Only `short` is read from the directory: the long path's 3000 bytes came from the split.
    assert.ok((await collect(assembleTar(join(base, 's'), dir, sha(tar)))).equals(tar));

    // Enough headers to fill the gzip's buffers once nothing drains them.
    const many = await packed(Array.from({ length: 4000 }, (_, i) => ({ name: `d/f${i}`, body: randomBytes(1) })));
    const broken = tarSplitter(join(base, 'no-such-dir', 's'));
    await assert.rejects(pipeline(chunked(many, 64 * 1024), broken.sink), /ENOENT|could not be written/);
    await assert.rejects(broken.result, /ENOENT/);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});
