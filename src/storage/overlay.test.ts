import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { tarOfEntries, umount } from '../util/index.js';
import { OverlaySnapshotter } from './overlay.js';
import { snapshotterSuite } from './snapshotter.suite.js';

const notRoot = process.getuid?.() !== 0 && 'needs root for overlay mounts and whiteouts';

snapshotterSuite('overlay', (root) => new OverlaySnapshotter(root), { skip: notRoot });

async function bytesOf(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Every path under `dir` with its type, mode, owner and content or target. */
async function listing(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const n of (await readdir(join(dir, rel))).sort()) {
    const r = rel ? `${rel}/${n}` : n;
    const st = await lstat(join(dir, r));
    const what = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `-> ${await readlink(join(dir, r))}` : st.isFile() ? `= ${await readFile(join(dir, r), 'utf8')}` : `node ${st.rdev}`;
    out.push(`${r} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${what}`);
    if (st.isDirectory()) out.push(...(await listing(dir, r)));
  }
  return out;
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A snapshot over a small base with files added, linked and deleted, unmounted; its tar too. */
async function withChangedSnapshot(fn: (s: OverlaySnapshotter, base: string, tar: Buffer) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'wharf-overlay-test-'));
  try {
    const s = new OverlaySnapshotter(root);
    await s.init();
    const baseTar = await tarOfEntries([{ name: 'dir/', type: 'directory' }, { name: 'dir/x', body: 'x' }, { name: 'dir/y', body: 'y' }]);
    const base = await s.apply(undefined, sha(baseTar), () => Readable.from([baseTar]));
    await s.prepare('b1', base.chainId);
    const m = await s.mount('b1', base.chainId);
    await mkdir(join(m, 'src/sub'), { recursive: true });
    await writeFile(join(m, 'src/sub/a'), 'aaa');
    await writeFile(join(m, 'dir/new'), 'new');
    await symlink('sub/a', join(m, 'src/link'));
    await unlink(join(m, 'dir/x'));
    await s.unmount('b1');
    await fn(s, base.chainId, await bytesOf(await s.diff('b1', base.chainId).tar()));
  } finally {
    for (const name of await readdir(join(root, 'containers')).catch(() => [] as string[])) {
      try {
        umount(join(root, 'containers', name, 'merged'), true);
      } catch {
        // Not mounted.
      }
    }
    await rm(root, { recursive: true, force: true });
  }
}

test('overlay: a handed-over snapshot becomes the layer of its tar without the tar being read again', { skip: notRoot }, () =>
  withChangedSnapshot(async (s, base, ref) => {
    // The same tar extracted under another diff ID: what the handed-over layer must equal.
    const extracted = await s.apply(base, sha(Buffer.concat([ref, Buffer.from('other')])), () => Readable.from([ref]));
    const tar = await bytesOf(await s.diff('b1', base, { handOver: true }).tar());
    assert.ok(tar.equals(ref), 'handing over does not change the tar');
    const layer = await s.apply(base, sha(tar), () => assert.fail('the handed-over tree is not extracted'));
    assert.equal(layer.size, extracted.size);
    assert.equal(layer.parent, base);
    assert.deepEqual(await listing(s.layerPath(layer.chainId)), await listing(s.layerPath(extracted.chainId)));
    // A container on it sees the changes: the whiteout hides dir/x.
    await s.prepare('c1', layer.chainId);
    const m = await s.mount('c1', layer.chainId);
    assert.deepEqual((await readdir(join(m, 'dir'))).sort(), ['new', 'y']);
    assert.equal(await readFile(join(m, 'src/link'), 'utf8'), 'aaa');
    await s.remove('c1');
    // The snapshot is left empty, and removing it leaves the layer whole.
    assert.deepEqual(await s.diff('b1', base).changes(), []);
    await s.remove('b1');
    assert.equal(await readFile(join(s.layerPath(layer.chainId), 'src/sub/a'), 'utf8'), 'aaa');
  }));

test('overlay: a handed-over snapshot that is mounted again, or whose tar is left unread, is extracted as usual', { skip: notRoot }, () =>
  withChangedSnapshot(async (s, base, ref) => {
    const unread = await s.diff('b1', base, { handOver: true }).tar();
    unread.destroy();
    let opened = 0;
    const open = () => {
      opened++;
      return Readable.from([ref]);
    };
    const first = await s.apply(base, sha(ref), open);
    assert.equal(opened, 1);
    await s.removeLayer(first.chainId);
    // Read whole, then mounted again before the apply: the mount's view wins, nothing is moved.
    await bytesOf(await s.diff('b1', base, { handOver: true }).tar());
    await s.mount('b1', base);
    const layer = await s.apply(base, sha(ref), open);
    assert.equal(opened, 2);
    assert.equal(await readFile(join(s.path('b1'), 'src/sub/a'), 'utf8'), 'aaa');
    assert.equal(await readFile(join(s.layerPath(layer.chainId), 'src/sub/a'), 'utf8'), 'aaa');
  }));

/** Whether the overlay at `target` skips syncs, from this process's mount table: `volatile`, or `fsync=volatile` since Linux 6.x. */
async function mountedVolatile(target: string): Promise<boolean> {
  const line = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').find((l) => l.split(' ')[4] === target);
  assert.ok(line, `${target} is mounted`);
  return line.split(' - ')[1].split(' ')[2].split(',').some((o) => o === 'volatile' || o === 'fsync=volatile');
}

test('overlay: a volatile snapshot mounts without syncs, and mounts again after an unmount; others keep theirs', { skip: notRoot }, () =>
  withChangedSnapshot(async (s, base) => {
    await s.prepare('v1', base);
    const m = await s.mount('v1', base, { volatile: true });
    assert.ok(await mountedVolatile(m));
    await writeFile(join(m, 'kept'), 'while unmounted');
    await s.unmount('v1');
    // The kernel refuses a volatile upper that was mounted before, until its marker is gone.
    assert.equal(await s.mount('v1', base, { volatile: true }), m);
    assert.equal(await readFile(join(m, 'kept'), 'utf8'), 'while unmounted');
    assert.equal(await s.mount('v1', base, { volatile: true }), m, 'idempotent');
    await s.remove('v1');
    const plain = await s.mount('b1', base);
    assert.equal(await mountedVolatile(plain), false);
  }));
