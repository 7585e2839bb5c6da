import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack, type Header } from 'tar-stream';
import { createGzip } from 'node:zlib';
import { OverlaySnapshotter } from '../storage/index.js';
import { readTarEntries, sha256 } from '../util/index.js';
import { ImageService, makeDefaultImageApart, type ImageUsage } from './images.js';

const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((p) => existsSync(p));
const skip = !BUSYBOX ? 'no busybox here' : false;

const logger = { debug() {}, info() {}, warn() {}, error() {} };
const noUsers: ImageUsage = { containersUsing: () => [] };
/** Which containers use an image, as the container service would answer; set per call below. */
let users = noUsers;

function removeImage(svc: ImageService, ref: string, opts: { force: boolean; noPrune: boolean }, u: ImageUsage) {
  users = u;
  return svc.remove(ref, opts);
}

function pruneImages(svc: ImageService, opts: { all: boolean; filters: Record<string, string[]> }, u: ImageUsage) {
  users = u;
  return svc.prune(opts);
}

/** An image service on a fresh data root (or `root`). */
async function withService(fn: (svc: ImageService, root: string, events: string[]) => Promise<void>, root?: string, Layers = OverlaySnapshotter): Promise<void> {
  const dir = root ?? (await mkdtemp(join(tmpdir(), 'wharf-images-')));
  const events: string[] = [];
  const layers = new Layers(join(dir, 'overlay'));
  const svc = new ImageService({
    root: dir,
    logger,
    busyboxPath: BUSYBOX!,
    onEvent: (a, id) => events.push(`${a} ${id.slice(7, 19)}`),
    layers,
    containers: { containersUsing: (id) => users.containersUsing(id) },
    layerUsers: { layersInUse: () => ({ chainIds: [], diffIds: [] }) },
  });
  try {
    await layers.init();
    await svc.init();
    await fn(svc, dir, events);
  } finally {
    if (!root) await rm(dir, { recursive: true, force: true });
  }
}

async function toBuffer(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function tarOf(entries: (Partial<Header> & { name: string } & { body?: string | Buffer })[]): Promise<Buffer> {
  const p = pack();
  const out = toBuffer(p as unknown as Readable);
  for (const { body, ...h } of entries) {
    await new Promise<void>((resolve, reject) => p.entry({ mode: 0o644, ...h, size: body?.length ?? 0 }, body ?? '', (e) => (e ? reject(e) : resolve())));
  }
  p.finalize();
  return out;
}

/** Everything the store holds on disk, to prove that nothing unreferenced stays. */
async function onDisk(root: string) {
  const ls = (p: string) => readdir(join(root, p)).catch(() => [] as string[]);
  return { blobs: await ls('image/blobs/sha256'), layers: await ls('overlay/layers'), links: await ls('overlay/l'), images: await ls('image/images'), tmp: await ls('image/tmp') };
}

test('busybox:latest is made at first start, with the same ID on every machine', { skip }, async () => {
  let first = '';
  await withService(async (svc) => {
    first = svc.get('busybox').id;
    assert.match(first, /^sha256:[a-f0-9]{64}$/);
    assert.deepEqual(svc.get('busybox:latest').repoTags, ['busybox:latest']);
    assert.equal(svc.get(first.slice(7, 12)).id, first);
    assert.equal(svc.get('sha256:' + first.slice(7, 15)).id, first);
    assert.equal(svc.get('docker.io/library/busybox:latest').id, first);
    assert.equal(svc.get(`busybox@${first}`).id, first);
    const inspect = svc.inspect('busybox');
    assert.equal(inspect.RootFS.Layers.length, 1);
    assert.equal(inspect.GraphDriver.Name, 'overlay2');
    assert.deepEqual(inspect.Config.Cmd, ['sh']);
    assert.equal(svc.history('busybox')[0].Id, first);
    assert.ok((await svc.layersSize()) > 100_000);
    // Docker names what it looked for: the default tag filled in, an ID as given.
    assert.throws(() => svc.get('nope'), { message: 'No such image: nope:latest' });
    assert.throws(() => svc.get('sha256:abcd'), { message: 'No such image: sha256:abcd' });
    assert.throws(() => svc.get('a'.repeat(64)), { message: `No such image: ${'a'.repeat(64)}` });
  });
  await withService(async (svc) => assert.equal(svc.get('busybox').id, first));
  // The daemon's way on a new data root: the worker process makes it, the service only finds it.
  const made = async (root: string) => {
    const lines: string[] = [];
    const record = { ...logger, info: (m: string) => void lines.push(m), warn: (m: string) => void lines.push(m), error: (m: string) => void lines.push(m) };
    const layers = new OverlaySnapshotter(join(root, 'overlay'));
    const svc = new ImageService({ root, logger: record, busyboxPath: BUSYBOX!, onEvent: () => {}, layers, containers: noUsers, layerUsers: { layersInUse: () => ({ chainIds: [], diffIds: [] }) } });
    await layers.init();
    await svc.init();
    return { id: svc.get('busybox').id, lines };
  };
  const root = await mkdtemp(join(tmpdir(), 'wharf-images-'));
  const inProcess = await mkdtemp(join(tmpdir(), 'wharf-images-'));
  try {
    const apart: string[] = [];
    await makeDefaultImageApart({ root, busyboxPath: BUSYBOX!, logLevel: 'error' }, { ...logger, warn: (m: string) => void apart.push(m) });
    assert.equal(apart.join('\n'), '', 'the worker did not fail');
    assert.deepEqual(await made(root), { id: first, lines: [] });
    // Without the worker, the service makes it and says so.
    assert.deepEqual(await made(inProcess), { id: first, lines: ['created the default image busybox:latest'] });
    // Once there, nothing is made again: a worker would fail on this busybox path, and say so.
    await makeDefaultImageApart({ root, busyboxPath: join(root, 'no-busybox'), logLevel: 'error' }, { ...logger, warn: (m: string) => void apart.push(m) });
    assert.equal(apart.join('\n'), '');
  } finally {
    await rm(inProcess, { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
  }
});

test('tags and rmi follow Docker, and rmi leaves nothing unreferenced on disk', { skip }, async () => {
  await withService(async (svc, root, events) => {
    const id = svc.get('busybox').id;
    await svc.tag('busybox', 'me/app', 'v1');
    await svc.tag(id, 'localhost:5000/x:2');
    await assert.rejects(svc.tag('busybox', 'me/App'), /repository name \(me\/App\) must be lowercase/);
    assert.deepEqual(svc.get(id).repoTags, ['busybox:latest', 'localhost:5000/x:2', 'me/app:v1']);
    assert.deepEqual(await removeImage(svc, 'me/app:v1', { force: false, noPrune: false }, noUsers), [{ Untagged: 'me/app:v1' }]);
    await assert.rejects(removeImage(svc, id.slice(7, 19), { force: false, noPrune: false }, noUsers), {
      message: `conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`,
    });
    const stopped: ImageUsage = { containersUsing: () => [{ id: 'c'.repeat(64), running: false }] };
    const running: ImageUsage = { containersUsing: () => [{ id: 'c'.repeat(64), running: true }] };
    await removeImage(svc, 'localhost:5000/x:2', { force: false, noPrune: false }, stopped);
    await assert.rejects(removeImage(svc, 'busybox', { force: false, noPrune: false }, stopped), {
      message: `conflict: unable to remove repository reference "busybox" (must force) - container cccccccccccc is using its referenced image ${id.slice(7, 19)}`,
    });
    await assert.rejects(removeImage(svc, id, { force: false, noPrune: false }, stopped), /\(must be forced\) - image is being used by stopped container cccccccccccc/);
    await assert.rejects(removeImage(svc, id, { force: true, noPrune: false }, running), /\(cannot be forced\) - image is being used by running container cccccccccccc/);
    // Forced by name while running: untagged, and the image stays for its container.
    assert.deepEqual(await removeImage(svc, 'busybox', { force: true, noPrune: false }, running), [{ Untagged: 'busybox:latest' }]);
    assert.deepEqual(svc.list({ filters: { dangling: ['true'] } }).map((i) => i.Id), [id]);
    // The layers that went with it are listed too, top first, as Docker does.
    const layers = svc.inspect(id).RootFS.Layers;
    assert.equal(layers.length, 1, 'busybox has one layer, so its chain ID is its diff ID');
    assert.deepEqual(await removeImage(svc, id, { force: false, noPrune: false }, noUsers), [{ Deleted: id }, { Deleted: layers[0] }]);
    assert.ok(events.includes(`delete ${id.slice(7, 19)}`));
    assert.deepEqual(await onDisk(root), { blobs: [], layers: [], links: [], images: [], tmp: [] });
    assert.equal(await svc.layersSize(), 0);
    assert.deepEqual(svc.list({}), []);
  });
});

test('import with changes, list filters, prune of dangling images', { skip }, async () => {
  await withService(async (svc, root) => {
    const tar = await tarOf([{ name: 'hello.txt', body: 'hi' }, { name: 'bin/', type: 'directory', mode: 0o755 }]);
    const gz = await toBuffer(Readable.from([tar]).pipe(createGzip()));
    const id = await svc.import(Readable.from([gz]), { repo: 'imported', tag: 't1', changes: ['CMD ["/hello"]', 'ENV A=1', 'LABEL team=x'], message: 'msg' });
    const img = svc.get('imported:t1');
    assert.equal(img.id, id);
    assert.deepEqual(img.config.config?.Cmd, ['/hello']);
    assert.deepEqual(img.config.rootfs.diff_ids, [sha256(tar)], 'diff ID is the digest of the uncompressed tar');
    assert.equal(svc.history(id)[0].Comment, 'msg');
    assert.deepEqual(svc.list({ filters: { label: ['team=x'] } }).map((i) => i.RepoTags), [['imported:t1']]);
    assert.deepEqual(svc.list({ filters: { reference: ['imp*'] } }).map((i) => i.Id), [id]);
    assert.equal(svc.list({ filters: { reference: ['busy*'] } }).length, 1);
    await assert.rejects(svc.import(Readable.from([Buffer.from('not a tar at all, just text'.repeat(40))]), { changes: [] }), (e: Error) => e.name === 'InvalidArgumentError');
    await assert.rejects(svc.import(Readable.from([tar]), { changes: ['RUN x'] }), /run is not a valid change command/);
    const before = await onDisk(root);
    await removeImage(svc, 'imported:t1', { force: false, noPrune: false }, noUsers);
    assert.deepEqual((await pruneImages(svc, { all: false, filters: {} }, noUsers)).ImagesDeleted, null, 'untagging the last name deleted it already');
    const id2 = await svc.import(Readable.from([tar]), { changes: [] });
    const pruned = await pruneImages(svc, { all: false, filters: {} }, noUsers);
    assert.deepEqual(pruned.ImagesDeleted, [{ Deleted: id2 }, { Deleted: sha256(tar) }]);
    assert.equal(pruned.SpaceReclaimed, 2);
    const after = await onDisk(root);
    assert.equal(after.blobs.length, before.blobs.length - 2);
    assert.equal(after.layers.length, 1, 'only busybox remains');
    assert.deepEqual(after.tmp, []);
  });
});

test('save and load round-trip in both archive formats; corrupt archives leave nothing behind', { skip }, async () => {
  let archive: Buffer = Buffer.alloc(0);
  let id = '';
  await withService(async (svc) => {
    id = svc.get('busybox').id;
    await svc.tag('busybox', 'copy:1');
    archive = await toBuffer(svc.save(['busybox', 'copy:1']));
  });
  const files = await tarFiles(archive);
  for (const n of ['index.json', 'manifest.json', 'oci-layout', 'repositories', `blobs/sha256/${id.slice(7)}`]) assert.ok(files.has(n), n);
  const manifest = JSON.parse(files.get('manifest.json')!.toString()) as { Config: string; RepoTags: string[]; Layers: string[] }[];
  assert.deepEqual(manifest[0].RepoTags, ['busybox:latest', 'copy:1']);
  const index = JSON.parse(files.get('index.json')!.toString()) as { manifests: { annotations: Record<string, string> }[] };
  assert.equal(index.manifests[0].annotations['io.containerd.image.name'], 'docker.io/library/busybox:latest');

  const root = await mkdtemp(join(tmpdir(), 'wharf-load-'));
  try {
    await withService(async (svc) => {
      await removeImage(svc, 'busybox', { force: true, noPrune: false }, noUsers);
      const lines: string[] = [];
      await svc.load(Readable.from([archive]), (m) => lines.push(m.stream ?? ''));
      assert.deepEqual(lines, ['Loaded image: busybox:latest\n', 'Loaded image: copy:1\n']);
      assert.equal(svc.get('copy:1').id, id);

      // The legacy layout (docker < 25): <id>.json, <dir>/layer.tar (gzipped here), a symlinked duplicate.
      const layer = files.get(manifest[0].Layers[0])!;
      const legacy = await tarOf([
        { name: 'abc/', type: 'directory', mode: 0o755 },
        { name: 'abc/layer.tar', body: await toBuffer(Readable.from([layer]).pipe(createGzip())) },
        { name: 'def/', type: 'directory', mode: 0o755 },
        { name: 'def/layer.tar', type: 'symlink', linkname: '../abc/layer.tar' },
        { name: `${id.slice(7)}.json`, body: files.get(`blobs/sha256/${id.slice(7)}`)! },
        { name: 'manifest.json', body: JSON.stringify([{ Config: `${id.slice(7)}.json`, RepoTags: ['legacy:old'], Layers: ['def/layer.tar'] }]) },
      ]);
      lines.length = 0;
      await svc.load(Readable.from([legacy]), (m) => lines.push(m.stream ?? ''));
      assert.deepEqual(lines, ['Loaded image: legacy:old\n']);
      assert.equal(svc.get('legacy:old').id, id);

      // Now a store without this image, and three broken archives.
      for (const t of ['busybox:latest', 'copy:1', 'legacy:old']) await removeImage(svc, t, { force: true, noPrune: false }, noUsers);
      const clean = await onDisk(root);
      assert.deepEqual(clean, { blobs: [], layers: [], links: [], images: [], tmp: [] });
      const badLayer = Buffer.from(layer) as Buffer;
      badLayer[600] ^= 0xff;
      const mismatch = await tarOf([
        { name: 'abc/layer.tar', body: badLayer },
        { name: `${id.slice(7)}.json`, body: files.get(`blobs/sha256/${id.slice(7)}`)! },
        { name: 'manifest.json', body: JSON.stringify([{ Config: `${id.slice(7)}.json`, RepoTags: ['bad:1'], Layers: ['abc/layer.tar'] }]) },
      ]);
      await assert.rejects(svc.load(Readable.from([mismatch]), () => {}), (e: Error) => e.name === 'InvalidArgumentError' && /digest mismatch/.test(e.message));
      await assert.rejects(svc.load(Readable.from([archive.subarray(0, archive.length / 2)]), () => {}), (e: Error) => e.name === 'InvalidArgumentError');
      await assert.rejects(svc.load(Readable.from([Buffer.alloc(2048)]), () => {}), /invalid image archive/);
      assert.deepEqual(await onDisk(root), clean);
      assert.throws(() => svc.get('bad:1'));
    }, root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a loaded layer is committed only once its tar is in the store, so no crash leaves a layer that push and save cannot give', { skip }, async () => {
  let archive: Buffer = Buffer.alloc(0);
  await withService(async (svc) => {
    archive = await toBuffer(svc.save(['busybox']));
  });
  const root = await mkdtemp(join(tmpdir(), 'wharf-adopt-'));
  const tarInStore = (diffId: string) => ['image/tarsplit', 'image/blobs/sha256'].some((d) => existsSync(join(root, d, diffId.slice(7))));
  const atCommit: boolean[] = [];
  class Checking extends OverlaySnapshotter {
    override async apply(...args: Parameters<OverlaySnapshotter['apply']>) {
      // A staged layer (a load's, a pull's) is the one whose tar the store keeps beside it.
      if (typeof args[2] !== 'function') atCommit.push(tarInStore(args[1]));
      return super.apply(...args);
    }
  }
  try {
    await withService(
      async (svc) => {
        await removeImage(svc, 'busybox', { force: true, noPrune: false }, noUsers);
        await svc.load(Readable.from([archive]), () => {});
        assert.deepEqual(atCommit, [true]);
        assert.deepEqual(await tarFiles(await toBuffer(svc.save(['busybox']))), await tarFiles(archive));
      },
      root,
      Checking,
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('pull: without a registry client, names other than debian recipes are refused before any progress', { skip }, async () => {
  await withService(async (svc) => {
    const refused: unknown[] = [];
    await assert.rejects(svc.pull('nginx', undefined, (m) => refused.push(m)), { name: 'UnavailableError', message: /^pull access denied for nginx: / });
    await assert.rejects(svc.pull('me/app', 'v1', (m) => refused.push(m)), { message: /^pull access denied for me\/app: / });
    await assert.rejects(svc.push('busybox', 'latest', (m) => refused.push(m)), { name: 'UnavailableError' });
    assert.deepEqual(refused, []);
  });
});

async function tarFiles(tar: Buffer): Promise<Map<string, Buffer>> {
  return new Map((await readTarEntries(tar)).map((e) => [e.header.name, e.body]));
}

test('restoreLayer (--cache-from): the source layer and history line on a base; setParent links the source', { skip }, async () => {
  await withService(async (svc) => {
    const busybox = svc.get('busybox:latest');
    const env = { config: { Env: ['A=1'] }, createdBy: '/bin/sh -c #(nop)  ENV A=1' };
    const e1 = await svc.commitConfig(busybox.id, env);
    const tar = await tarOf([{ name: 'step.txt', body: 'made by a step' }]);
    const run = { config: { Env: ['A=1'] }, createdBy: '/bin/sh -c echo step > /step.txt' };
    const source = await svc.commit({ imageId: e1, base: svc.imageLayers(e1), layer: async () => Readable.from([tar]), ...run, created: '2020-01-02T03:04:05Z' });
    const src = svc.get(source).config;
    // Another machine's base: the same lines, but its own times (a new ID).
    await new Promise((r) => setTimeout(r, 5));
    const base = await svc.commitConfig(busybox.id, env);
    assert.notEqual(base, e1);
    const at = busybox.config.rootfs.diff_ids.length;
    const restored = await svc.restoreLayer(base, source, at, run);
    const r = svc.get(restored).config;
    assert.deepEqual(r.rootfs.diff_ids, src.rootfs.diff_ids);
    assert.deepEqual(r.history, [...(svc.get(base).config.history ?? []), src.history!.at(-1)], 'the source\'s history line, its time included');
    assert.equal(r.created, '2020-01-02T03:04:05Z');
    assert.deepEqual(r.config, run.config);
    assert.equal(svc.inspect(restored).Parent, base);
    assert.equal(await svc.restoreLayer(base, source, at, run), restored, 'the same restore is the same image');
    await assert.rejects(svc.restoreLayer(base, source, at, { ...run, createdBy: '/bin/sh -c other' }), /has no layer/);
    await assert.rejects(svc.restoreLayer(base, source, at - 1, run), /has no layer/);
    await assert.rejects(svc.restoreLayer(base, 'sha256:' + '0'.repeat(64), at, run), (e: Error) => e.name === 'NotFoundError');
    // The source taken whole for the last step: its parent is that step's base, so rmi of it
    // takes the restored images along (they have no names).
    await svc.setParent(source, restored);
    assert.equal(svc.inspect(source).Parent, restored);
    const deleted = (await removeImage(svc, source, { force: false, noPrune: false }, noUsers)).map((d) => d.Deleted);
    assert.ok(deleted.includes(restored) && deleted.includes(base), JSON.stringify(deleted));
    assert.ok(svc.has(e1), 'the source\'s old parent is another image\'s business');
  });
});
