import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdtemp, mkdir, readFile, readlink, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { lgetxattr, readTarEntries, tarOfEntries, type MemoryEntry } from '../util/index.js';
import { applyLayer, cleanEntryPath, type ApplyResult } from './apply.js';
import { applyLayerOffThread } from './apply-worker.js';
import { isWhiteout, packDir } from './pack.js';



const tarOf = tarOfEntries;

async function withDirs(fn: (root: string, outside: string) => Promise<void>): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'wharf-apply-'));
  try {
    const root = join(base, 'root');
    const outside = join(base, 'outside');
    await mkdir(root);
    await mkdir(outside);
    await fn(root, outside);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}


test('cleanEntryPath normalizes and refuses escapes', () => {
  assert.equal(cleanEntryPath('./a/b/'), 'a/b');
  assert.equal(cleanEntryPath('/abs/x'), 'abs/x');
  assert.equal(cleanEntryPath('a/../b'), 'b');
  assert.equal(cleanEntryPath('./'), '');
  for (const bad of ['../x', 'a/../../x', '/../x', '..']) assert.throws(() => cleanEntryPath(bad), /escapes the root/, bad);
});

// Every case twice: as the worker thread the daemon uses runs it, and on the caller's thread.
const appliers: [string, (tar: Readable, root: string) => Promise<ApplyResult>][] = [
  ['here', applyLayer],
  ['on a worker thread', applyLayerOffThread],
];

for (const [where, applyFn] of appliers) {
  const apply = async (entries: MemoryEntry[], root: string) => applyFn(Readable.from([await tarOf(entries)]), root);

  test(`${where}: files, dirs, links with owners, modes and times kept`, async () => {
    await withDirs(async (root) => {
      const mtime = new Date('2020-02-02T00:00:00Z');
      const { size } = await apply(
        [
          { name: 'etc/', type: 'directory', mode: 0o750, uid: 5, gid: 6, mtime },
          { name: 'etc/conf', body: 'hello', mode: 0o4755, uid: 7, gid: 8, mtime },
          { name: 'etc/sym', type: 'symlink', linkname: '/etc/conf', mtime },
          { name: 'etc/hard', type: 'link', linkname: 'etc/conf' },
          { name: 'deep/er/file', body: 'x' },
        ],
        root,
      );
      // 5 + 1 bytes of files, the hard link not again, and the symlink's 9-byte target, as Docker's du does.
      assert.equal(size, 15);
      const d = await lstat(join(root, 'etc'));
      assert.equal(d.mode & 0o7777, 0o750);
      assert.equal(d.mtime.getTime(), mtime.getTime(), 'directory time restored after its children');
      const f = await lstat(join(root, 'etc/conf'));
      assert.deepEqual([f.mode & 0o7777, f.uid, f.gid, f.mtime.getTime()], [0o4755, 7, 8, mtime.getTime()]);
      assert.equal(await readlink(join(root, 'etc/sym')), '/etc/conf');
      assert.equal((await lstat(join(root, 'etc/hard'))).ino, f.ino);
      assert.equal(await readFile(join(root, 'deep/er/file'), 'utf8'), 'x');
    });
  });

  test(`${where}: whiteouts become overlay char devices 0:0, opaque markers the overlay xattr, and pack back to OCI names`, async () => {
    await withDirs(async (root) => {
      await writeFile(join(root, 'gone'), 'lower copy in the same dir is replaced');
      await apply(
        [
          { name: 'gone', body: 'old' },
          { name: '.wh.gone' },
          { name: 'dir/', type: 'directory' },
          { name: 'dir/.wh..wh..opq' },
          { name: 'dir/kept', body: 'k' },
          { name: 'dir/.wh..wh.plnk' },
        ],
        root,
      );
      const st = await lstat(join(root, 'gone'));
      assert.ok(isWhiteout(st), 'a 0:0 character device');
      assert.equal(lgetxattr(join(root, 'dir'), 'trusted.overlay.opaque')?.toString(), 'y');
      assert.deepEqual((await readdir(join(root, 'dir'))).sort(), ['kept']);

      const names = (await readTarEntries(packDir(root, { layer: true }) as unknown as Readable)).map((e) => e.header.name);
      assert.deepEqual(names, ['dir/', 'dir/.wh..wh..opq', 'dir/kept', '.wh.gone']);
    });
  });

  test(`${where}: paths that escape the root are refused with the entry name`, async () => {
    await withDirs(async (root, outside) => {
      for (const name of ['../outside/evil', 'a/../../outside/evil', '/../outside/evil']) {
        await assert.rejects(apply([{ name, body: 'pwned' }], root), (err: Error) => err.name === 'InvalidArgumentError' && err.message.includes(name));
      }
      await assert.rejects(apply([{ name: 'h', type: 'link', linkname: '../outside/target' }], root), /escapes the root/);
      assert.deepEqual(await readdir(outside), []);
    });
  });

  test(`${where}: symlinks already in the tree are never followed out of it`, async () => {
    await withDirs(async (root, outside) => {
      await writeFile(join(outside, 'secret'), 'host');
      await apply(
        [
          { name: 'abs', type: 'symlink', linkname: outside },
          { name: 'abs/new', body: 'inside' },
          { name: 'rel', type: 'symlink', linkname: '../../../..' + outside },
          { name: 'rel/new2', body: 'inside too' },
          { name: 'abs', type: 'symlink', linkname: outside },
          { name: 'abs', body: 'replaces the link, not its target' },
        ],
        root,
      );
      assert.deepEqual(await readdir(outside), ['secret'], 'nothing written outside');
      assert.equal(await readFile(join(outside, 'secret'), 'utf8'), 'host');
      // The links resolved as if the layer were "/": the files landed inside it.
      assert.equal(await readFile(join(root, outside, 'new'), 'utf8'), 'inside');
      assert.equal(await readFile(join(root, outside, 'new2'), 'utf8'), 'inside too');
      assert.ok((await lstat(join(root, 'abs'))).isFile());
      // A hard link through a symlink names the file inside the layer (absent), never the host's.
      await assert.rejects(
        apply([{ name: 'sl', type: 'symlink', linkname: outside }, { name: 'h', type: 'link', linkname: 'sl/secret' }], root),
        /not in the layer/,
      );
    });
  });

  test(`${where}: an entry whose path exists replaces what is there, with its own data and mode`, async () => {
    await withDirs(async (root) => {
      await apply(
        [
          { name: 'f', body: 'first' },
          { name: 'f', body: 'second, longer than the first', mode: 0o600 },
          { name: 'd/', type: 'directory', mode: 0o755 },
          { name: 'd/child', body: 'kept' },
          { name: 'd/', type: 'directory', mode: 0o700 },
          { name: 'was-dir/', type: 'directory' },
          { name: 'was-dir', body: 'a file now' },
          { name: 'was-file', body: 'x' },
          { name: 'was-file/', type: 'directory' },
          { name: 'l', type: 'symlink', linkname: 'f' },
          { name: 'l', type: 'symlink', linkname: 'd' },
        ],
        root,
      );
      assert.equal(await readFile(join(root, 'f'), 'utf8'), 'second, longer than the first');
      assert.equal((await lstat(join(root, 'f'))).mode & 0o777, 0o600);
      assert.equal(await readFile(join(root, 'd', 'child'), 'utf8'), 'kept');
      assert.equal((await lstat(join(root, 'd'))).mode & 0o777, 0o700);
      assert.equal(await readFile(join(root, 'was-dir'), 'utf8'), 'a file now');
      assert.ok((await lstat(join(root, 'was-file'))).isDirectory());
      assert.equal(await readlink(join(root, 'l')), 'd');
    });
  });

  test(`${where}: a truncated or garbage tar is an InvalidArgumentError`, async () => {
    await withDirs(async (root) => {
      const tar = await tarOf([{ name: 'big', body: 'x'.repeat(5000) }]);
      await assert.rejects(applyFn(Readable.from([tar.subarray(0, 1500)]), root), (err: Error) => err.name === 'InvalidArgumentError');
      await assert.rejects(applyFn(Readable.from([Buffer.alloc(1024, 7)]), root), (err: Error) => err.name === 'InvalidArgumentError');
    });
  });
}
