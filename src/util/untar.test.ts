import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { rootedView } from './safejoin.js';
import { untar } from './untar.js';

/** A tar of `entries`, streamed in 64 KiB chunks as a socket would bring it. */
function tarStream(entries: { name: string; body?: Buffer; type?: 'directory' | 'symlink'; linkname?: string; mode?: number; mtime?: Date; uid?: number }[]): Readable {
  const p = pack();
  for (const e of entries) p.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.mode ?? 0o644, mtime: e.mtime, uid: e.uid ?? 0, gid: 0 }, e.body ?? Buffer.alloc(0));
  p.finalize();
  return p as unknown as Readable;
}

test('untar: new files, large ones streamed chunk by chunk, keep bytes, mode, owner and time, also with noOverwriteDirNonDir (docker cp)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-untar-test-'));
  try {
    const big = randomBytes(3 * 1024 * 1024 + 17);
    const small = randomBytes(4096);
    const mtime = new Date(1_600_000_000_000);
    for (const noOverwriteDirNonDir of [false, true]) {
      const into = join(dir, String(noOverwriteDirNonDir));
      await mkdir(into);
      await untar(tarStream([{ name: 'd/', type: 'directory' }, { name: 'd/big', body: big, mode: 0o640, mtime, uid: 1234 }, { name: 'd/small', body: small, mode: 0o600, mtime }]), { view: { root: into }, owner: 'header', noOverwriteDirNonDir });
      assert.deepEqual(await readFile(join(into, 'd/big')), big);
      assert.deepEqual(await readFile(join(into, 'd/small')), small);
      const st = await stat(join(into, 'd/big'));
      assert.deepEqual([st.mode & 0o7777, st.uid, st.mtimeMs], [0o640, 1234, mtime.getTime()]);
      assert.equal((await stat(join(into, 'd/small'))).mode & 0o7777, 0o600);
    }
    // A path that exists still meets the rule: a file does not replace a directory.
    await assert.rejects(untar(tarStream([{ name: 'd', body: small }]), { view: { root: join(dir, 'true') }, owner: 'header', noOverwriteDirNonDir: true, label: '/dst' }), /cannot overwrite directory "\/dst\/d" with non-directory "\/dst"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('untar into a rooted view (a running container): names resolved inside the root, new trees made, owners, modes and times kept', async () => {
  const base = await mkdtemp(join(tmpdir(), 'wharf-untar-rooted-'));
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  try {
    await mkdir(join(root, 'dst'), { recursive: true });
    await mkdir(outside);
    // Links that would leave the root if the host followed them: absolute to the outside's host
    // path, and relative past the root.
    await symlink(outside, join(root, 'abs'));
    await symlink('../../..', join(root, 'dst', 'up'));
    const mtime = new Date(1_500_000_000_000);
    const body = randomBytes(300 * 1024);
    // More directories than are held open at once, then names in the first of them again.
    const many = Array.from({ length: 300 }, (_, i) => [{ name: `m/d${i}/`, type: 'directory' as const, mtime }, { name: `m/d${i}/f`, body: Buffer.from(String(i)) }]).flat();
    const fdsBefore = (await readdir('/proc/self/fd')).length;
    await untar(
      tarStream([
        { name: 'a/', type: 'directory', mode: 0o750, mtime, uid: 4321 },
        { name: 'a/b/c/deep', body, mode: 0o604, mtime },
        { name: 'a/link', type: 'symlink', linkname: '../up' },
        { name: 'up/climbed', body: Buffer.from('x') },
        ...many,
        { name: 'm/d0/again', body: Buffer.from('again') },
      ]),
      { view: rootedView(root), dir: '/dst', owner: 'header', noOverwriteDirNonDir: true },
    );
    assert.deepEqual(await readFile(join(root, 'dst/a/b/c/deep')), body);
    const a = await stat(join(root, 'dst/a'));
    assert.deepEqual([a.mode & 0o7777, a.uid, a.mtimeMs], [0o750, 4321, mtime.getTime()]);
    assert.equal((await stat(join(root, 'dst/a/b/c/deep'))).mode & 0o7777, 0o604);
    assert.equal(await readlink(join(root, 'dst/a/link')), '../up');
    // `up` is `..` thrice, which the kernel clamps at the root.
    assert.equal(await readFile(join(root, 'climbed'), 'utf8'), 'x');
    assert.equal(await readFile(join(root, 'dst/m/d299/f'), 'utf8'), '299');
    assert.equal(await readFile(join(root, 'dst/m/d0/again'), 'utf8'), 'again');
    assert.equal((await stat(join(root, 'dst/m/d0'))).mtimeMs, mtime.getTime());
    assert.equal((await stat(join(root, 'dst/m/d299'))).mtimeMs, mtime.getTime());
    assert.equal((await readdir('/proc/self/fd')).length, fdsBefore, 'every directory held open is closed');
    // The absolute link names a path inside the root, where nothing is: refused, and nothing outside.
    await assert.rejects(untar(tarStream([{ name: 'abs/f', body: Buffer.from('pwned') }]), { view: rootedView(root), owner: 'header' }), /"\/abs" is not a directory/);
    assert.deepEqual(await readdir(outside), []);
    assert.equal((await readdir('/proc/self/fd')).length, fdsBefore, 'a refused tar leaves no directory open');
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('untar into a rooted view: what is replaced is removed without following its links, and no mode goes through one', async () => {
  const base = await mkdtemp(join(tmpdir(), 'wharf-untar-replace-'));
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  try {
    await mkdir(join(root, 'tree', 'sub'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, 'keep'), 'host');
    await chmod(join(outside, 'keep'), 0o600);
    await chmod(outside, 0o700);
    // A directory to be replaced by a file holds a link to the outside; a name to become a
    // directory is a link to the outside (host path) now.
    await symlink(outside, join(root, 'tree', 'sub', 'out'));
    await symlink(outside, join(root, 'dirlink'));
    await symlink(join(outside, 'keep'), join(root, 'filelink'));
    await untar(
      tarStream([
        { name: 'tree', body: Buffer.from('now a file') },
        { name: 'dirlink/', type: 'directory', mode: 0o777 },
        { name: 'filelink', body: Buffer.from('new'), mode: 0o666 },
      ]),
      { view: rootedView(root), owner: 'header', noOverwriteDirNonDir: false },
    );
    assert.equal(await readFile(join(root, 'tree'), 'utf8'), 'now a file');
    assert.ok((await lstat(join(root, 'dirlink'))).isDirectory());
    assert.equal((await stat(join(root, 'dirlink'))).mode & 0o7777, 0o777);
    assert.equal(await readFile(join(root, 'filelink'), 'utf8'), 'new');
    assert.deepEqual(await readdir(outside), ['keep']);
    assert.equal(await readFile(join(outside, 'keep'), 'utf8'), 'host');
    assert.equal((await stat(join(outside, 'keep'))).mode & 0o7777, 0o600);
    assert.equal((await stat(outside)).mode & 0o7777, 0o700);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});
