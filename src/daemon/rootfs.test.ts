import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { OverlaySnapshotter } from '../storage/index.js';
import { readTarEntries, umount } from '../util/index.js';
import { ImageService, type ImageUsage } from './images.js';
import { ContainerFilesystems } from './rootfs.js';

const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((p) => existsSync(p));
const skip = !BUSYBOX ? 'no busybox here' : process.getuid?.() !== 0 ? 'needs root for overlay mounts' : false;
const logger = { debug() {}, info() {}, warn() {}, error() {} };

let users: ImageUsage = { containersUsing: () => [] };

/** The image service and container file systems wired as daemon.ts wires them, on `root`. */
async function open(root: string) {
  const snapshots = new OverlaySnapshotter(join(root, 'overlay'));
  let rootfs: ContainerFilesystems | undefined;
  const images = new ImageService({
    root,
    logger,
    busyboxPath: BUSYBOX!,
    onEvent() {},
    layers: snapshots,
    containers: { containersUsing: (id) => users.containersUsing(id) },
    layerUsers: { layersInUse: () => rootfs!.layersInUse() },
  });
  rootfs = new ContainerFilesystems({ root, logger, snapshots, images });
  await snapshots.init();
  await rootfs.init();
  await images.init();
  return { images, rootfs };
}

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'wharf-rootfs-'));
  try {
    await fn(root);
  } finally {
    // Whatever a failure left mounted goes first, or rm would walk into it.
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4]).filter((t) => t?.startsWith(root + '/'));
    for (const t of mounts.sort((a, b) => b.length - a.length)) {
      try {
        umount(t, true);
      } catch {
        // Gone with its parent.
      }
    }
    await rm(root, { recursive: true, force: true });
  }
}

async function toBuffer(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const onDisk = async (root: string) => {
  const ls = (p: string) => readdir(join(root, p)).catch(() => [] as string[]);
  return { blobs: await ls('image/blobs/sha256'), layers: await ls('overlay/layers'), links: await ls('overlay/l'), images: await ls('image/images'), tmp: await ls('image/tmp') };
};

test('container rootfs: overlay mount, diff, commit, export, sizes; no orphans afterwards', { skip }, async () => {
  await withRoot(async (root) => {
    const { images: svc, rootfs } = await open(root);
    const img = svc.get('busybox').id;
    const c1 = 'a'.repeat(64);
    const c2 = 'b'.repeat(64);
    try {
      await rootfs.create(c1, img);
      const merged = await rootfs.mount(c1);
      assert.equal(await rootfs.mount(c1), merged, 'idempotent');
      assert.ok((await lstat(join(merged, 'bin/busybox'))).isFile());
      await writeFile(join(merged, 'new.txt'), 'hello');
      await unlink(join(merged, 'etc/group'));
      await writeFile(join(merged, 'etc/hosts'), ''); // a runtime mount point, not a change
      assert.deepEqual(await rootfs.changes(c1), [
        { Path: '/etc', Kind: 0 },
        { Path: '/etc/group', Kind: 2 },
        { Path: '/new.txt', Kind: 1 },
      ]);
      const size = await rootfs.size(c1);
      assert.equal(size.sizeRw, 5);
      assert.equal(size.sizeRootFs, 5 + svc.get(img).size);

      const committed = await rootfs.commit(c1, { imageId: img, config: { Cmd: ['sh'] }, repo: 'snap', changes: ['ENV X=1'], containerConfigCmd: ['sh', '-c', 'x'], comment: 'c' });
      const rec = svc.get('snap:latest');
      assert.equal(rec.id, committed);
      assert.equal(rec.config.rootfs.diff_ids.length, 2);
      assert.deepEqual(rec.config.config?.Env, ['X=1']);
      assert.equal(svc.history('snap')[0].CreatedBy, 'sh -c x');
      assert.equal(svc.inspect('snap').Parent, img);

      await rootfs.unmount(c1);
      await rootfs.unmount(c1);
      const exported = await tarFiles(await toBuffer(await rootfs.export(c1)));
      assert.equal(exported.get('new.txt')?.toString(), 'hello');
      assert.ok(!exported.has('etc/group') && exported.has('etc/passwd'));

      await rootfs.create(c2, committed);
      const m2 = await rootfs.mount(c2);
      assert.equal(await readFile(join(m2, 'new.txt'), 'utf8'), 'hello');
      assert.ok(!existsSync(join(m2, 'etc/group')), 'the whiteout survived commit');
      assert.ok(!existsSync(join(m2, 'etc/hosts')), 'the mount point was left out of the commit');
      assert.deepEqual(await rootfs.changes(c2), []);

      // Deleting an image that a stopped container uses (forced) keeps its layers until the container goes.
      users = { containersUsing: (id) => (id === committed ? [{ id: c2, running: false }] : []) };
      await rootfs.unmount(c2);
      const out = await svc.remove('snap', { force: true, noPrune: false });
      assert.deepEqual(out, [{ Untagged: 'snap:latest' }, { Deleted: committed }]);
      assert.equal((await onDisk(root)).layers.length, 2);
      const m3 = await rootfs.mount(c2);
      assert.equal(await readFile(join(m3, 'new.txt'), 'utf8'), 'hello');
    } finally {
      await rootfs.remove(c1);
      await rootfs.remove(c2);
    }
    const mounts = await readFile('/proc/self/mountinfo', 'utf8');
    assert.ok(!mounts.includes(root), 'nothing left mounted');
    assert.equal((await onDisk(root)).layers.length, 1, 'the removed image freed its layer with its last container');
    users = { containersUsing: () => [] };
    await svc.remove('busybox', { force: false, noPrune: false });
    assert.deepEqual(await onDisk(root), { blobs: [], layers: [], links: [], images: [], tmp: [] });
    assert.deepEqual(await readdir(join(root, 'overlay/containers')), []);
  });
});

test('a new daemon on the same data root finds the file systems as they were: live restore, no migration', { skip }, async () => {
  await withRoot(async (root) => {
    const c1 = 'c'.repeat(64);
    const first = await open(root);
    const img = first.images.get('busybox');
    await first.rootfs.create(c1, img.id);
    const merged = await first.rootfs.mount(c1);
    await writeFile(join(merged, 'etc/hosts'), '');
    // The layout earlier wharfds wrote, which a restart must read as it is.
    const meta = JSON.parse(await readFile(join(root, 'image/containers', `${c1}.json`), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(meta).sort(), ['chain', 'config', 'diffIds', 'imageId', 'size']);
    assert.deepEqual((await readdir(join(root, 'overlay/containers', c1))).sort(), ['merged', 'upper', 'work']);
    const chain = meta.chain as string[];
    assert.ok((await lstat(join(root, 'overlay/layers', chain[0].slice(7), 'diff/bin/busybox'))).isFile());
    assert.ok((await lstat(join(root, 'overlay/l', chain[0].slice(7, 23)))).isSymbolicLink());

    // Only a runtime mount point changed: the commit has no layer of its own.
    const same = await first.rootfs.commit(c1, { imageId: img.id, config: {}, containerConfigCmd: ['sh'] });
    const committed = first.images.get(same);
    assert.deepEqual(committed.config.rootfs.diff_ids, img.config.rootfs.diff_ids);
    assert.equal(committed.config.history?.at(-1)?.empty_layer, true);

    // The image goes while its container stays: its layers stay, also across a restart.
    await first.images.remove('busybox', { force: true, noPrune: false });
    await first.images.remove(same, { force: true, noPrune: false });
    const graph = first.rootfs.graphDriverData(c1);

    const second = await open(root);
    assert.equal(second.rootfs.path(c1), merged);
    const opened = await second.rootfs.open(c1);
    assert.equal(opened.root, merged, 'still mounted: a running container is not disturbed');
    await opened.release();
    assert.ok((await lstat(join(merged, 'bin/busybox'))).isFile());
    assert.deepEqual(second.rootfs.graphDriverData(c1), graph);
    assert.deepEqual(await second.rootfs.changes(c1), []);
    await second.rootfs.unmount(c1);
    assert.ok((await lstat(join(await second.rootfs.mount(c1), 'bin/busybox'))).isFile());

    await second.rootfs.removeOrphans(() => false);
    assert.equal(second.rootfs.graphDriverData(c1), null);
    assert.ok(!(await readFile('/proc/self/mountinfo', 'utf8')).includes(root), 'nothing left mounted');
    assert.deepEqual(await readdir(join(root, 'overlay/containers')), []);
    assert.deepEqual(await readdir(join(root, 'image/containers')), []);
    // The restart made busybox again, on the very layer the container kept.
    assert.deepEqual((await onDisk(root)).layers, [chain[0].slice(7)]);
  });
});

async function tarFiles(tar: Buffer): Promise<Map<string, Buffer>> {
  return new Map((await readTarEntries(tar)).map((e) => [e.header.name, e.body]));
}
