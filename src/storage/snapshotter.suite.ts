/**
 * The conformance suite every Snapshotter implementation passes: `snapshotterSuite(name,
 * factory)` from a small test file per implementation. Each check gets a fresh directory, and
 * everything mounted under it is unmounted and deleted afterwards, whatever happened.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { link, lstat, mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { mountOverlayNative, readTarEntries, tarOfEntries, umount, type MemoryEntry } from '../util/index.js';
import { chainIdOf } from './chain.js';
import { isMountPoint } from '../util/index.js';
import type { LayerInfo, Snapshotter, SnapshotterFactory } from './snapshotter.js';

const tarStream = async (entries: MemoryEntry[]) => {
  const tar = await tarOfEntries(entries);
  return () => Readable.from([tar]);
};

/** A diff ID for a test layer: any digest names it, the snapshotter does not check it. */
const digestOf = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

const BASE: MemoryEntry[] = [
  { name: 'bin/', type: 'directory' },
  { name: 'bin/sh', body: '#!shell', mode: 0o755 },
  { name: 'etc/', type: 'directory' },
  { name: 'etc/group', body: 'root:x:0:' },
  { name: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh' },
  { name: 'dir/', type: 'directory' },
  { name: 'dir/x', body: 'x' },
  { name: 'dir/y', body: 'y' },
  { name: 'gone', body: 'lower' },
];

async function toBuffer(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Every path under `root`, to prove that something left nothing behind. */
async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      out.push(r);
      const st = await lstat(join(dir, name)).catch(() => undefined);
      if (st?.isDirectory()) await walk(join(dir, name), r);
    }
  };
  await walk(root, '');
  return out;
}

/** Unmounts everything below `root`, deepest first, then deletes it. */
async function scrub(root: string): Promise<void> {
  const table = await readFile('/proc/self/mountinfo', 'utf8');
  const targets = table
    .split('\n')
    .map((l) => l.split(' ')[4]?.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((t): t is string => !!t && t.startsWith(root + '/'))
    .sort((a, b) => b.length - a.length);
  for (const t of targets) {
    try {
      umount(t, true);
    } catch {
      // Already gone with its parent.
    }
  }
  await rm(root, { recursive: true, force: true });
}

export function snapshotterSuite(name: string, factory: SnapshotterFactory, opts: { skip?: string | false } = {}): void {
  /** A fresh snapshotter on a fresh directory, with the base layer applied. */
  const withSnapshotter = async (fn: (s: Snapshotter, base: LayerInfo, root: string) => Promise<void>) => {
    const root = await mkdtemp(join(tmpdir(), `wharf-snap-${name}-`));
    try {
      const s = factory(root);
      await s.init();
      const base = await s.apply(undefined, digestOf(1), await tarStream(BASE));
      await fn(s, base, root);
    } finally {
      await scrub(root);
    }
  };

  describe(`snapshotter ${name}`, { skip: opts.skip }, () => {
    test('a layer is extracted once by its chain ID; whiteouts and opaque markers in it hide what is below', async () => {
      await withSnapshotter(async (s, base) => {
        assert.deepEqual(base, { chainId: digestOf(1), diffId: digestOf(1), size: 7 + 9 + 25 + 1 + 1 + 5 });
        const again = await s.apply(undefined, digestOf(1), () => assert.fail('an extracted layer is not read again'));
        assert.deepEqual(again, base);
        const top = await s.apply(base.chainId, digestOf(2), await tarStream([{ name: '.wh.gone' }, { name: 'dir/', type: 'directory' }, { name: 'dir/.wh..wh..opq' }, { name: 'dir/new', body: 'n' }]));
        assert.equal(top.chainId, chainIdOf(base.chainId, digestOf(2)));
        assert.equal(top.parent, base.chainId);
        assert.deepEqual(s.layer(top.chainId), top);
        assert.deepEqual(s.layers().map((l) => l.chainId).sort(), [base.chainId, top.chainId].sort());
        await s.prepare('c1', top.chainId);
        const root = await s.mount('c1', top.chainId);
        assert.ok(!existsSync(join(root, 'gone')), 'a whiteout hides the lower file');
        assert.deepEqual((await readdir(join(root, 'dir'))).sort(), ['new'], 'an opaque directory hides the lower one');
        assert.equal(await readFile(join(root, 'etc/passwd'), 'utf8'), 'root:x:0:0::/root:/bin/sh');
        await assert.rejects(s.apply('sha256:' + 'f'.repeat(64), digestOf(3), await tarStream([])), /parent layer/);
      });
    });

    test('a failed extraction leaves nothing behind', async () => {
      await withSnapshotter(async (s, base, root) => {
        const before = await tree(root);
        const good = await tarOfEntries([{ name: 'big', body: 'x'.repeat(5000) }]);
        await assert.rejects(s.apply(base.chainId, digestOf(4), () => Readable.from([good.subarray(0, 1500)])));
        const escaping = await tarOfEntries([{ name: 'ok', body: 'fine' }, { name: '../escape', body: 'x' }]);
        await assert.rejects(s.apply(base.chainId, digestOf(4), () => Readable.from([escaping])), /escapes the root/);
        assert.equal(s.layer(chainIdOf(base.chainId, digestOf(4))), undefined);
        assert.deepEqual(await tree(root), before);
      });
    });

    test('prepare, mount and unmount are idempotent; what is written stays across mounts', async () => {
      await withSnapshotter(async (s, base) => {
        const mounts = await s.prepare('c1', base.chainId);
        assert.deepEqual(await s.prepare('c1', base.chainId), mounts);
        assert.deepEqual(mounts, s.mounts('c1', base.chainId));
        assert.equal(mounts[0].target, s.path('c1'));
        assert.equal(await s.isMounted('c1'), false, 'preparing mounts nothing');
        const root = await s.mount('c1', base.chainId);
        assert.equal(await s.mount('c1', base.chainId), root);
        assert.equal(root, s.path('c1'));
        assert.equal(await s.isMounted('c1'), true);
        await writeFile(join(root, 'new.txt'), 'hello');
        await s.unmount('c1');
        await s.unmount('c1');
        assert.equal(await s.isMounted('c1'), false);
        // The mounts are a true description: performed as they are, they show the snapshot.
        const [m] = s.mounts('c1', base.chainId);
        if (m.type === 'overlay') {
          mountOverlayNative('/', m.options.join(','), m.target);
          assert.equal(await s.isMounted('c1'), true);
          assert.equal(await readFile(join(m.target, 'new.txt'), 'utf8'), 'hello');
          await s.unmount('c1');
        }
        await s.mount('c1', base.chainId);
        assert.equal(await readFile(join(root, 'new.txt'), 'utf8'), 'hello');
        assert.deepEqual(await s.keys(), ['c1']);
        // A snapshot over nothing is an empty, writable tree.
        await s.prepare('scratch', undefined);
        const empty = await s.mount('scratch', undefined);
        assert.deepEqual(await readdir(empty), []);
        await writeFile(join(empty, 'f'), 'x');
        assert.deepEqual(s.describe('scratch', undefined).LowerDir, undefined);
        assert.ok(s.describe('c1', base.chainId).LowerDir?.includes(s.layerPath(base.chainId)));
      });
    });

    test('prepare on a missing layer fails and leaves nothing; bad keys are refused', async () => {
      await withSnapshotter(async (s, _base, root) => {
        const before = await tree(root);
        await assert.rejects(s.prepare('c1', 'sha256:' + 'e'.repeat(64)), /missing/);
        for (const key of ['../x', 'a/b', '.hidden', '']) await assert.rejects(s.prepare(key, undefined), /invalid snapshot key/);
        assert.deepEqual(await tree(root), before);
        assert.deepEqual(await s.keys(), []);
      });
    });

    test('a view is read-only, shows the snapshot as it is, and goes on release', async () => {
      await withSnapshotter(async (s, base) => {
        await s.prepare('c1', base.chainId);
        const root = await s.mount('c1', base.chainId);
        await writeFile(join(root, 'new.txt'), 'hello');
        await unlink(join(root, 'etc/group'));
        await s.unmount('c1');
        const view = await s.view('c1', base.chainId);
        try {
          assert.equal(await readFile(join(view.path, 'new.txt'), 'utf8'), 'hello');
          assert.ok(!existsSync(join(view.path, 'etc/group')));
          assert.equal(await readFile(join(view.path, 'bin/sh'), 'utf8'), '#!shell');
          await assert.rejects(writeFile(join(view.path, 'x'), 'no'), { code: 'EROFS' });
          assert.equal(await s.isMounted('c1'), false, 'a view does not mount the snapshot itself');
        } finally {
          await view.release();
        }
        await view.release();
        assert.ok(!existsSync(view.path));
      });
    });

    test('diff: added, modified, deleted and opaque paths; deletions are whiteouts in the tar, and its layer shows the same tree', async () => {
      await withSnapshotter(async (s, base) => {
        await s.prepare('c1', base.chainId);
        const root = await s.mount('c1', base.chainId);
        await writeFile(join(root, 'new.txt'), 'hello');
        await writeFile(join(root, 'etc/passwd'), 'changed');
        await unlink(join(root, 'etc/group'));
        await rm(join(root, 'dir'), { recursive: true });
        await mkdir(join(root, 'dir'));
        await writeFile(join(root, 'dir/z'), 'z');
        await mkdir(join(root, 'etc/hosts.d'));
        await writeFile(join(root, 'etc/hosts'), '');
        const mountPoints = new Set(['etc/hosts', 'dev/shm']);
        const diff = s.diff('c1', base.chainId, { mountPoints });
        assert.deepEqual(await diff.changes(), [
          { path: '/dir', kind: 'modified' },
          { path: '/dir/z', kind: 'added' },
          { path: '/etc', kind: 'modified' },
          { path: '/etc/group', kind: 'deleted' },
          { path: '/etc/hosts.d', kind: 'added' },
          { path: '/etc/passwd', kind: 'modified' },
          { path: '/new.txt', kind: 'added' },
        ]);
        const tar = await toBuffer(await diff.tar());
        const files = new Map((await readTarEntries(tar)).map((e) => [e.header.name, e.body.toString()]));
        assert.deepEqual([...files.keys()].sort(), ['dir/', 'dir/.wh..wh..opq', 'dir/z', 'etc/', 'etc/.wh.group', 'etc/hosts.d/', 'etc/passwd', 'new.txt']);
        assert.equal(files.get('etc/passwd'), 'changed');
        // Without the mount points, etc/hosts is the user's file.
        assert.ok((await s.diff('c1', base.chainId).changes()).some((c) => c.path === '/etc/hosts'));

        // The tar applied as a layer on the same parent shows the same tree.
        const layer = await s.apply(base.chainId, digestOf(9), () => Readable.from([tar]));
        await s.prepare('c2', layer.chainId);
        const r2 = await s.mount('c2', layer.chainId);
        assert.deepEqual(await tree(r2), (await tree(root)).filter((p) => p !== 'etc/hosts'));
        assert.equal(await readFile(join(r2, 'etc/passwd'), 'utf8'), 'changed');
        assert.deepEqual(await s.diff('c2', layer.chainId).changes(), []);
      });
    });

    test('commit makes a layer that other snapshots stand on; the snapshot stays; nothing changed commits nothing', async () => {
      await withSnapshotter(async (s, base) => {
        await s.prepare('c1', base.chainId);
        const root = await s.mount('c1', base.chainId);
        const mountPoints = new Set(['etc/hosts', 'dev/shm']);
        await writeFile(join(root, 'etc/hosts'), '');
        await mkdir(join(root, 'dev/shm'), { recursive: true });
        assert.deepEqual(await s.diff('c1', base.chainId, { mountPoints }).changes(), [{ path: '/dev', kind: 'added' }]);
        await rm(join(root, 'dev'), { recursive: true });
        assert.equal(await s.commit('c1', base.chainId, { mountPoints }), undefined, 'only mount points: no layer');
        assert.deepEqual(s.layers(), [base]);

        await writeFile(join(root, 'new.txt'), 'hello');
        await unlink(join(root, 'etc/group'));
        const layer = await s.commit('c1', base.chainId, { mountPoints });
        assert.ok(layer);
        assert.equal(layer.parent, base.chainId);
        assert.equal(layer.chainId, chainIdOf(base.chainId, layer.diffId));
        assert.equal(layer.size, 5);
        assert.equal(await readFile(join(root, 'new.txt'), 'utf8'), 'hello', 'the committed snapshot is still active');
        assert.deepEqual((await s.commit('c1', base.chainId, { mountPoints }))?.chainId, layer.chainId, 'the same changes are the same layer');

        await s.prepare('c2', layer.chainId);
        const r2 = await s.mount('c2', layer.chainId);
        assert.equal(await readFile(join(r2, 'new.txt'), 'utf8'), 'hello');
        assert.ok(!existsSync(join(r2, 'etc/group')), 'the deletion is a whiteout in the layer');
        assert.ok(!existsSync(join(r2, 'etc/hosts')), 'the mount point stayed out of the layer');
        assert.deepEqual(await s.diff('c2', layer.chainId, { mountPoints }).changes(), []);

        await s.remove('c2');
        await s.remove('c2');
        assert.deepEqual(await s.keys(), ['c1']);
        assert.ok(!existsSync(r2));
        await s.removeLayer(layer.chainId);
        await s.removeLayer(layer.chainId);
        assert.equal(s.layer(layer.chainId), undefined);
        assert.ok(!existsSync(s.layerPath(layer.chainId)));
        await s.remove('c1');
        assert.equal(await s.isMounted('c1'), false);
        assert.deepEqual(await s.keys(), []);
      });
    });

    test('usage counts the bytes of the snapshot’s own files, each inode once', async () => {
      await withSnapshotter(async (s, base) => {
        await s.prepare('c1', base.chainId);
        const root = await s.mount('c1', base.chainId);
        assert.equal((await s.usage('c1')).size, 0);
        await writeFile(join(root, 'five'), '12345');
        await writeFile(join(root, 'three'), 'abc');
        await link(join(root, 'three'), join(root, 'again'));
        await mkdir(join(root, 'sub'));
        const u = await s.usage('c1');
        assert.equal(u.size, 8);
        assert.equal(u.inodes, 3);
      });
    });

    test('init removes what a crash left half-made and keeps what is whole', async () => {
      await withSnapshotter(async (s, base, root) => {
        await s.prepare('c1', base.chainId);
        const whole = await tree(root);
        // An extraction cut off mid-way, and a view whose reader died with the daemon.
        const tar = await tarOfEntries([{ name: 'big', body: 'x'.repeat(100_000) }]);
        let stall!: () => void;
        const stalled = new Promise<void>((resolve) => (stall = resolve));
        const cut = s
          .apply(base.chainId, digestOf(5), () =>
            Readable.from(
              (async function* () {
                yield tar.subarray(0, 20_000);
                await stalled;
                throw new Error('cut off');
              })(),
            ),
          )
          .catch(() => undefined);
        for (let i = 0; i < 200 && (await tree(root)).length === whole.length; i++) await new Promise((r) => setTimeout(r, 10));
        assert.notDeepEqual(await tree(root), whole, 'the extraction has begun');
        const view = await s.view('c1', base.chainId);

        const after = factory(root);
        await after.init();
        assert.equal(await isMountPoint(view.path), false);
        assert.deepEqual(await tree(root), whole);
        assert.deepEqual(after.layers(), [base]);
        assert.deepEqual(await after.keys(), ['c1']);
        stall();
        await cut;
        await view.release();
      });
    });
  });
}
