import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chown, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { applyCopy, planCopy, type CopySourceSpec, type CopyTarget } from './copy.js';

interface Env {
  ctx: string;
  root: string;
}

async function withEnv(fn: (e: Env) => Promise<void>): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'wharf-copy-test-'));
  const ctx = join(base, 'ctx');
  const root = join(base, 'root');
  await mkdir(ctx);
  await mkdir(root);
  try {
    await fn({ ctx, root });
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

async function put(dir: string, files: Record<string, string | { link: string } | null>): Promise<void> {
  for (const [name, v] of Object.entries(files)) {
    const p = join(dir, name);
    if (v === null) {
      await mkdir(p, { recursive: true });
      continue;
    }
    await mkdir(join(p, '..'), { recursive: true });
    if (typeof v === 'string') await writeFile(p, v);
    else await symlink(v.link, p);
  }
}

const spec = (root: string, sources: string[], more: Partial<CopySourceSpec> = {}): CopySourceSpec => ({ root, sources, exclude: [], extract: false, inline: [], ...more });

async function copy(e: Env, sources: string[], dest: string, more: Partial<CopySourceSpec> = {}, tgt: Partial<CopyTarget> = {}) {
  const plan = await planCopy(spec(e.ctx, sources, more));
  try {
    await applyCopy(plan, { root: e.root, dest, workdir: '/', ...tgt });
  } finally {
    await plan.dispose();
  }
  return plan;
}

/** Everything under dir as `path` (dir/), `path=content` or `path->target`. */
async function tree(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const n of (await readdir(join(dir, rel))).sort()) {
    const r = rel ? `${rel}/${n}` : n;
    const st = await lstat(join(dir, r));
    if (st.isDirectory()) out.push(r + '/', ...(await tree(dir, r)));
    else if (st.isSymbolicLink()) out.push(`${r}->${await readlink(join(dir, r))}`);
    else out.push(`${r}=${await readFile(join(dir, r), 'utf8')}`);
  }
  return out;
}

test('sources and destinations: file names, trailing /, several sources, workdir, existing dirs', () =>
  withEnv(async (e) => {
    await put(e.ctx, { 'a.txt': 'A', 'b.txt': 'B', 'd/x': 'X', 'd/sub/y': 'Y' });
    await put(e.root, { existing: null });
    await copy(e, ['a.txt'], '/f');
    await copy(e, ['/a.txt'], '/g/');
    await copy(e, ['a.txt', 'b.txt'], '/multi/');
    await assert.rejects(copy(e, ['a.txt', 'b.txt'], '/existing'), { message: 'When using COPY with more than one source file, the destination must be a directory and end with a /' });
    await assert.rejects(copy(e, ['*.txt'], '/existing'), /more than one source file/);
    await copy(e, ['a.txt'], 'rel', {}, { workdir: '/work' });
    await copy(e, ['b.txt'], '.', {}, { workdir: '/wd' });
    await copy(e, ['a.txt'], '/existing');
    await copy(e, ['d'], '/dd');
    await copy(e, ['d/'], '/existing/');
    await copy(e, ['./d/sub/../x'], '/p/q/r');
    assert.deepEqual(await tree(e.root), [
      'dd/', 'dd/sub/', 'dd/sub/y=Y', 'dd/x=X',
      'existing/', 'existing/a.txt=A', 'existing/sub/', 'existing/sub/y=Y', 'existing/x=X',
      'f=A',
      'g/', 'g/a.txt=A',
      'multi/', 'multi/a.txt=A', 'multi/b.txt=B',
      'p/', 'p/q/', 'p/q/r=X',
      'wd/', 'wd/b.txt=B',
      'work/', 'work/rel=A',
    ]);
  }));

test('--parents keeps the path below the context, or below a /./ pivot', () =>
  withEnv(async (e) => {
    await put(e.ctx, { 'b/y/file.txt': 'p', 'b/y/other.txt': 'o', 'b/z/file.txt': 'z', 'top.txt': 't', 'd/sub/f': 'F', 'a/b/c/deep': 'D' });
    const { chmod } = await import('node:fs/promises');
    await chmod(join(e.ctx, 'b/y'), 0o750);
    await utimes(join(e.ctx, 'b/y'), 1_600_000_000, 1_600_000_000);
    await copy(e, ['b/y/file.txt'], '/par/', { parents: true });
    // A destination without a trailing / is still a directory.
    await copy(e, ['b/y/file.txt'], '/nos', { parents: true });
    await copy(e, ['b/*/file.txt', 'top.txt'], '/wild/', { parents: true });
    await copy(e, ['d/sub'], '/dir/', { parents: true });
    await copy(e, ['a/./b/c/deep', 'a/b/./c'], '/piv/', { parents: true });
    await copy(e, ['./b/y/other.txt'], '/dot/', { parents: true });
    assert.deepEqual(await tree(e.root), [
      'dir/', 'dir/d/', 'dir/d/sub/', 'dir/d/sub/f=F',
      'dot/', 'dot/b/', 'dot/b/y/', 'dot/b/y/other.txt=o',
      'nos/', 'nos/b/', 'nos/b/y/', 'nos/b/y/file.txt=p',
      'par/', 'par/b/', 'par/b/y/', 'par/b/y/file.txt=p',
      'piv/', 'piv/b/', 'piv/b/c/', 'piv/b/c/deep=D', 'piv/c/', 'piv/c/deep=D',
      'wild/', 'wild/b/', 'wild/b/y/', 'wild/b/y/file.txt=p', 'wild/b/z/', 'wild/b/z/file.txt=z', 'wild/top.txt=t',
    ]);
    // The parents are the source's directories, as they are there.
    const st = await lstat(join(e.root, 'par/b/y'));
    assert.equal(st.mode & 0o7777, 0o750);
    assert.equal(Math.floor(st.mtimeMs / 1000), 1_600_000_000);
    // Where the files land is part of the cache key.
    const with_ = await planCopy(spec(e.ctx, ['b/y/file.txt'], { parents: true }));
    const without = await planCopy(spec(e.ctx, ['b/y/file.txt']));
    assert.notEqual(with_.digest, without.digest);
    await with_.dispose();
    await without.dispose();
  }));

test('wildcards follow Go filepath.Match', () =>
  withEnv(async (e) => {
    await put(e.ctx, { 'a.txt': 'a', 'b.txt': 'b', 'c.md': 'c', 'dir1/f': '1', 'dir2/f': '2', 'dirx/f': 'x', 'q*': 'star', 'sub/d/e.txt': 'e' });
    await copy(e, ['*.txt'], '/w1/');
    await copy(e, ['dir[0-9]/f'], '/w2/');
    await copy(e, ['[^a].txt', '?.md'], '/w3/');
    await copy(e, ['dir?'], '/w4/');
    await copy(e, ['[q]\\*'], '/w5');
    await copy(e, ['sub/*/*.txt'], '/w6/');
    assert.deepEqual(await tree(join(e.root, 'w1')), ['a.txt=a', 'b.txt=b']);
    // Both matches are named f: the second one wins, as the files land in one directory.
    assert.deepEqual(await tree(join(e.root, 'w2')), ['f=2']);
    assert.deepEqual(await tree(join(e.root, 'w3')), ['b.txt=b', 'c.md=c']);
    assert.deepEqual(await tree(join(e.root, 'w4')), ['f=x']);
    assert.equal(await readFile(join(e.root, 'w5'), 'utf8'), 'star');
    assert.deepEqual(await tree(join(e.root, 'w6')), ['e.txt=e']);
    await assert.rejects(copy(e, ['*.nothing'], '/n/'), { message: 'COPY failed: no source files were specified' });
    await assert.rejects(copy(e, ['[a-'], '/n/'), /syntax error in pattern/);
  }));

test("missing sources and escapes get Docker's errors naming the path", () =>
  withEnv(async (e) => {
    await put(e.ctx, { 'ok': 'ok', 'up': { link: '../../../etc' }, 'inner/up2': { link: '../../x' }, 'abs': { link: '/ok' }, 'rel': { link: 'inner/../ok' } });
    await assert.rejects(copy(e, ['nope'], '/x'), { message: 'COPY failed: file not found in build context or excluded by .dockerignore: stat nope: file does not exist' });
    await assert.rejects(copy(e, ['../outside'], '/x'), { message: 'COPY failed: forbidden path outside the build context: ../outside ()' });
    await assert.rejects(copy(e, ['a/../../b'], '/x'), /forbidden path outside the build context: a\/\.\.\/\.\.\/b/);
    await assert.rejects(copy(e, ['up'], '/x'), { message: 'COPY failed: forbidden path outside the build context: up (up -> ../../../etc)' });
    await assert.rejects(copy(e, ['up/passwd'], '/x'), /forbidden path outside the build context: up\/passwd/);
    await assert.rejects(copy(e, ['inner/up2'], '/x'), /forbidden path/);
    await assert.rejects(copy(e, ['http://127.0.0.1:1/x'], '/x'), { message: "COPY failed: source can't be a URL for COPY" });
    // A top-level link is followed inside the root; absolute targets start at the root.
    await copy(e, ['abs', 'rel'], '/links/');
    assert.deepEqual(await tree(join(e.root, 'links')), ['abs=ok', 'rel=ok']);
  }));

test('links inside a copied directory stay links; device nodes and fifos are copied', () =>
  withEnv(async (e) => {
    await put(e.ctx, { 'd/f': 'F', 'd/l': { link: '../../../../etc/shadow' }, 'd/al': { link: '/etc/passwd' } });
    assert.equal(spawnSync('mknod', [join(e.ctx, 'd/null'), 'c', '1', '3']).status, 0);
    assert.equal(spawnSync('mkfifo', [join(e.ctx, 'd/fifo')]).status, 0);
    await copy(e, ['d'], '/out');
    assert.equal(await readlink(join(e.root, 'out/l')), '../../../../etc/shadow');
    assert.equal(await readlink(join(e.root, 'out/al')), '/etc/passwd');
    const st = await lstat(join(e.root, 'out/null'));
    assert.ok(st.isCharacterDevice());
    assert.ok((await lstat(join(e.root, 'out/fifo'))).isFIFO());
    // Named on its own, a fifo is copied as a fifo, never read.
    await copy(e, ['d/fifo'], '/fifo2');
    assert.ok((await lstat(join(e.root, 'fifo2'))).isFIFO());
  }));

test("destinations resolve through the image's own links, never onto the host", () =>
  withEnv(async (e) => {
    const host = await mkdtemp(join(tmpdir(), 'wharf-copy-host-'));
    try {
      await put(e.ctx, { f: 'F', 'd/g': 'G' });
      await put(e.root, { run: null, 'var/run': { link: '../run' }, escape: { link: host }, up: { link: '../../../../../..' + host } });
      await copy(e, ['f'], '/var/run/f');
      await copy(e, ['f'], '/escape/f');
      await copy(e, ['d'], '/up/');
      await copy(e, ['f'], '/escape');
      assert.equal(await readFile(join(e.root, 'run/f'), 'utf8'), 'F');
      assert.equal(await readFile(join(e.root, host, 'f'), 'utf8'), 'F');
      assert.equal(await readFile(join(e.root, host, 'g'), 'utf8'), 'G');
      assert.deepEqual(await readdir(host), []);
    } finally {
      await rm(host, { recursive: true, force: true });
    }
  }));

test('owners are 0:0 unless --chown, which resolves names in the root', () =>
  withEnv(async (e) => {
    await put(e.ctx, { f: 'F', 'd/g': 'G' });
    await chown(join(e.ctx, 'f'), 1234, 1234);
    await put(e.root, { 'etc/passwd': 'root:x:0:0::/root:/bin/sh\napp:x:1001:1002::/home/app:/bin/sh\n', 'etc/group': 'root:x:0:\nstaff:x:50:\n' });
    const owner = async (p: string) => {
      const st = await lstat(join(e.root, p));
      return [st.uid, st.gid];
    };
    await copy(e, ['f'], '/plain');
    assert.deepEqual(await owner('plain'), [0, 0]);
    await copy(e, ['f'], '/byname', {}, { chown: 'app' });
    assert.deepEqual(await owner('byname'), [1001, 1002]);
    await copy(e, ['f'], '/both', {}, { chown: 'app:staff' });
    assert.deepEqual(await owner('both'), [1001, 50]);
    // Measured on dockerd 20.10: a directory's new destination is chowned, its new parents are not;
    // a file's new parents are.
    await copy(e, ['d'], '/new/dir', {}, { chown: '2000:3000' });
    assert.deepEqual(await owner('new/dir/g'), [2000, 3000]);
    assert.deepEqual(await owner('new/dir'), [2000, 3000]);
    assert.deepEqual(await owner('new'), [0, 0]);
    await copy(e, ['f'], '/fp/q/f', {}, { chown: '2000:3000' });
    assert.deepEqual(await owner('fp'), [2000, 3000]);
    assert.deepEqual(await owner('fp/q'), [2000, 3000]);
    await copy(e, ['f'], '/num', {}, { chown: '7' });
    assert.deepEqual(await owner('num'), [7, 7]);
    await assert.rejects(copy(e, ['f'], '/x', {}, { chown: 'foo' }), { message: 'unable to find user foo: no matching entries in passwd file' });
    await assert.rejects(copy(e, ['f'], '/x', {}, { chown: 'app:nogroup' }), { message: 'unable to find group nogroup: no matching entries in group file' });
  }));

test('--chmod octal and symbolic applies to files and directories copied', () =>
  withEnv(async (e) => {
    await put(e.ctx, { 'd/f': 'F', 'd/s/x': 'X' });
    const { chmod } = await import('node:fs/promises');
    await chmod(join(e.ctx, 'd/f'), 0o600);
    await chmod(join(e.ctx, 'd/s'), 0o700);
    const mode = async (p: string) => (await lstat(join(e.root, p))).mode & 0o7777;
    await copy(e, ['d'], '/o', {}, { chmod: '751' });
    assert.deepEqual([await mode('o/f'), await mode('o/s'), await mode('o/s/x')], [0o751, 0o751, 0o751]);
    await copy(e, ['d'], '/s', {}, { chmod: 'go+rX' });
    assert.deepEqual([await mode('s/f'), await mode('s/s')], [0o644, 0o755]);
    await copy(e, ['d'], '/k');
    assert.deepEqual([await mode('k/f'), await mode('k/s')], [0o600, 0o700]);
    // The destination directory itself is new: 0755, not the source directory's mode.
    await chmod(join(e.ctx, 'd'), 0o700);
    await copy(e, ['d'], '/m');
    assert.equal(await mode('m'), 0o755);
    await assert.rejects(copy(e, ['d'], '/z', {}, { chmod: 'bogus' }), /invalid chmod parameter: bogus/);
  }));

test('--exclude skips matching sources and entries', () =>
  withEnv(async (e) => {
    await put(e.ctx, { 'a.txt': 'a', 'b.md': 'b', 'dir/c.txt': 'c', 'dir/d.md': 'd', 'dir/skip/e': 'e' });
    await copy(e, ['.'], '/all/', { exclude: ['*.txt', 'dir/skip'] });
    assert.deepEqual(await tree(join(e.root, 'all')), ['b.md=b', 'dir/', 'dir/c.txt=c', 'dir/d.md=d']);
    await copy(e, ['*'], '/w/', { exclude: ['*.md'] });
    assert.deepEqual(await tree(join(e.root, 'w')), ['a.txt=a', 'c.txt=c', 'skip/', 'skip/e=e']);
    await assert.rejects(copy(e, ['d*'], '/x/', { exclude: ['dir'] }), { message: 'COPY failed: no source files were specified' });
    await copy(e, ['*'], '/y/', { exclude: ['dir'] });
    assert.deepEqual(await tree(join(e.root, 'y')), ['a.txt=a', 'b.md=b']);
  }));

async function tarBuffer(entries: { name: string; body: string; uid?: number }[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const en of entries) p.entry({ name: en.name, mode: 0o640, uid: en.uid ?? 0 }, en.body);
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

test('ADD extracts local tars (plain, gzip, bzip2, xz) and copies other files as they are', () =>
  withEnv(async (e) => {
    const tar = await tarBuffer([{ name: 'in/one', body: '1', uid: 33 }, { name: 'two', body: '2' }]);
    await writeFile(join(e.ctx, 'a.tar'), tar);
    await writeFile(join(e.ctx, 'a.tgz'), gzipSync(tar));
    await writeFile(join(e.ctx, 'a.tbz'), spawnSync('bzip2', ['-c'], { input: tar }).stdout);
    await writeFile(join(e.ctx, 'a.txz'), spawnSync('xz', ['-c'], { input: tar }).stdout);
    await writeFile(join(e.ctx, 'not.gz'), gzipSync('just text'));
    for (const n of ['a.tar', 'a.tgz', 'a.tbz', 'a.txz']) {
      await copy(e, [n], `/x/${n}`, { extract: true });
      assert.deepEqual(await tree(join(e.root, 'x', n)), ['in/', 'in/one=1', 'two=2'], n);
      assert.equal((await lstat(join(e.root, 'x', n, 'in/one'))).uid, 33);
    }
    await copy(e, ['not.gz'], '/y/', { extract: true });
    assert.deepEqual(await readFile(join(e.root, 'y/not.gz')), gzipSync('just text'));
    // COPY never extracts.
    await copy(e, ['a.tar'], '/z');
    assert.deepEqual(await readFile(join(e.root, 'z')), tar);
  }));

test('ADD downloads URLs: name, 0600, Last-Modified, --checksum', () =>
  withEnv(async (e) => {
    const body = 'downloaded\n';
    const lastModified = new Date('2020-01-02T03:04:05Z');
    const server = createServer((req, res) => {
      if (req.url === '/redirect') {
        res.writeHead(302, { location: '/files/tool.sh' }).end();
        return;
      }
      if (req.url !== '/files/tool.sh') {
        res.writeHead(404).end('no');
        return;
      }
      res.writeHead(200, { 'last-modified': lastModified.toUTCString() }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const good = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      await copy(e, [`${base}/files/tool.sh`], '/opt/', { extract: true, checksum: good });
      const st = await lstat(join(e.root, 'opt/tool.sh'));
      assert.equal(st.mode & 0o7777, 0o600);
      assert.equal(st.mtime.getTime(), lastModified.getTime());
      assert.equal(await readFile(join(e.root, 'opt/tool.sh'), 'utf8'), body);
      await copy(e, [`${base}/redirect`], '/named', { extract: true });
      assert.equal(await readFile(join(e.root, 'named'), 'utf8'), body);
      const bad = `sha256:${'0'.repeat(64)}`;
      await assert.rejects(copy(e, [`${base}/files/tool.sh`], '/opt/', { extract: true, checksum: bad }), { message: `ADD failed: checksum mismatch for ${base}/files/tool.sh: expected ${bad}, got ${good}` });
      await assert.rejects(copy(e, [`${base}/missing`], '/opt/', { extract: true }), /failed to GET .*\/missing with status 404/);
      await assert.rejects(copy(e, ['x'], '/opt/', { extract: true, checksum: good }), /checksum can't be specified for non-HTTP\(S\) sources/);
    } finally {
      server.close();
    }
  }));

test('here-documents are written 0644', () =>
  withEnv(async (e) => {
    await copy(e, [], '/etc/app/', { inline: [{ name: 'conf', content: 'a=1\n' }] });
    await copy(e, [], '/single', { inline: [{ name: 'EOF', content: 'x\n' }] });
    assert.equal((await lstat(join(e.root, 'etc/app/conf'))).mode & 0o7777, 0o644);
    assert.equal(await readFile(join(e.root, 'single'), 'utf8'), 'x\n');
  }));

test('the digest ignores mtimes and owners, changes with one byte; history words', () =>
  withEnv(async (e) => {
    const files: Record<string, string> = { 'one.txt': 'one' };
    for (let i = 0; i < 50; i++) files[`d/sub${i % 5}/f${i}`] = `content ${i}`;
    await put(e.ctx, files);
    const digest = async (s: string[]) => {
      const p = await planCopy(spec(e.ctx, s));
      await p.dispose();
      return p;
    };
    const first = await digest(['d']);
    await utimes(join(e.ctx, 'd/sub1/f1'), new Date(1000), new Date(1000));
    await chown(join(e.ctx, 'd/sub1/f1'), 99, 99);
    assert.equal((await digest(['d'])).digest, first.digest);
    await writeFile(join(e.ctx, 'd/sub1/f1'), 'content 2');
    assert.notEqual((await digest(['d'])).digest, first.digest);
    await writeFile(join(e.ctx, 'd/sub1/f1'), 'content 1');
    assert.equal((await digest(['d'])).digest, first.digest);
    const { chmod } = await import('node:fs/promises');
    await chmod(join(e.ctx, 'd/sub1/f1'), 0o755);
    assert.notEqual((await digest(['d'])).digest, first.digest);
    assert.match(first.historyWord, /^dir:[a-f0-9]{64}$/);
    assert.match((await digest(['one.txt'])).historyWord, /^file:[a-f0-9]{64}$/);
    assert.match((await digest(['one.txt', 'd'])).historyWord, /^multi:[a-f0-9]{64}$/);
    assert.equal(first.historyWord, `dir:${first.digest.slice(7)}`);
  }));

test('a directory the copy made and then replaced by a link is never written through', () =>
  withEnv(async (e) => {
    // `outside` stands for the host: a link the copy itself puts where it made a directory
    // must not lead a later file of the same copy there (the writer's known parents are forgotten).
    const outside = join(e.root, '..', 'outside');
    await mkdir(outside);
    await put(e.ctx, { 'a/x/f': 'f', 'c/x': { link: outside }, 'b/x/g': 'g' });
    await copy(e, ['a', 'c', 'b'], '/dest/');
    assert.deepEqual(await readdir(outside), []);
    const all = await tree(e.root);
    assert.ok(all.some((l) => l.endsWith('/g=g')), all.join(' '));
  }));

test('planning and applying 1000 files / 50 MB is fast', { timeout: 60_000 }, () =>
  withEnv(async (e) => {
    const chunk = Buffer.alloc(50 * 1024, 7);
    for (let i = 0; i < 1000; i++) {
      if (i % 100 === 0) await mkdir(join(e.ctx, `d${i / 100}`));
      chunk.writeUInt32LE(i, 0);
      await writeFile(join(e.ctx, `d${Math.floor(i / 100)}`, `f${i}`), chunk);
    }
    const t0 = Date.now();
    const p = await planCopy(spec(e.ctx, ['.']));
    const ms = Date.now() - t0;
    assert.ok(ms < 5000, `planning took ${ms} ms`);
    const t1 = Date.now();
    await applyCopy(p, { root: e.root, dest: '/app/', workdir: '/' });
    const applyMs = Date.now() - t1;
    await p.dispose();
    assert.equal((await readdir(join(e.root, 'app/d9'))).length, 100);
    assert.ok(applyMs < 10000, `applying took ${applyMs} ms`);
  }));
