/**
 * The daemon's BuildHost over the real engine (runc, overlay, the image store), driven by hand
 * the way the builder drives it: an in-process Daemon, no HTTP, no Dockerfile.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG, Daemon } from '../src/daemon/index.js';
import type { BuildHost, BuildImage, RunProcess } from '../src/build/index.js';
import type { BuildRequest } from '../src/types/index.js';
import { silentLogger } from '../src/util/index.js';
import { cleanupRoots, testBridge } from './harness.js';

const request: BuildRequest = {
  dockerfile: 'Dockerfile',
  tags: [],
  buildArgs: {},
  noCache: false,
  pull: false,
  labels: {},
  extraHosts: [],
  quiet: false,
  rm: true,
  forceRm: false,
  cacheFrom: [],
};

let dir: string;
let d: Daemon;
let host: BuildHost;
let base: BuildImage;

const proc = (script: string, more: Partial<RunProcess> = {}): RunProcess => ({
  args: ['/bin/sh', '-c', script],
  env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
  user: '',
  workdir: '/',
  network: 'none',
  extraHosts: [],
  mounts: [],
  ...more,
});

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-test-'));
  d = new Daemon({ ...DEFAULT_CONFIG, dataRoot: join(dir, 'data'), execRoot: join(dir, 'run'), pidfile: join(dir, 'wharfd.pid'), bridge: testBridge(dir) }, silentLogger);
  await d.init();
  host = d.builds.hostFor(request);
  const lines: string[] = [];
  base = await host.image('busybox', { pull: false, progress: (l) => lines.push(l) });
});

after(async () => {
  d?.shutdown();
  if (dir) await cleanupRoots(dir);
});

async function fileIn(img: BuildImage, path: string): Promise<string | undefined> {
  const v = await host.view(img);
  try {
    return existsSync(join(v.path, path)) ? await readFile(join(v.path, path), 'utf8') : undefined;
  } finally {
    await v.release();
  }
}

test('RUN: a container with the process, its output streamed, its changes committed on the base', async () => {
  const ws = await host.workspace(base);
  const out: Buffer[] = [];
  const code = await ws.run(proc('echo hi > /f; echo out; echo err >&2'), (c) => out.push(c), new AbortController().signal);
  assert.equal(code, 0);
  assert.match(Buffer.concat(out).toString(), /out/);
  // stderr as the classic builder shows it, in bright red (docker-py's test_build_stderr_data).
  assert.match(Buffer.concat(out).toString(), /\x1b\[91merr\n\x1b\[0m/);
  assert.doesNotMatch(Buffer.concat(out).toString(), /\x1b\[91mout/);
  assert.match(ws.id, /^[0-9a-f]{64}$/);
  const byLabel = () => d.containers.list({ all: true, filters: { label: [`com.wharf.build=${ws.id}`] } });
  assert.equal((await byLabel()).length, 1, 'the step is a real container, labelled with the workspace ID');
  const img = await ws.commit({ config: { ...base.config.config, Cmd: ['sh'] }, createdBy: '/bin/sh -c echo hi > /f', created: '2020-01-02T03:04:05Z' });
  await ws.release();
  await ws.release();
  assert.equal((await byLabel()).length, 0, 'release removes the container');
  assert.equal(await fileIn(img, 'f'), 'hi\n');
  const inspect = d.images.inspect(img.id);
  assert.equal(inspect.Parent, base.id);
  assert.equal(inspect.Created, '2020-01-02T03:04:05Z');
  assert.deepEqual(inspect.Config.Cmd, ['sh']);
  assert.equal(inspect.RootFS.Layers.length, base.config.rootfs.diff_ids.length + 1);
  const hist = d.images.history(img.id);
  assert.equal(hist[0].CreatedBy, '/bin/sh -c echo hi > /f');
  assert.equal(inspect.Comment, '');
  const containers = await d.containers.list({ all: true });
  assert.equal(containers.length, 0);
});

test('RUN: exit status, an unchanged file system adds no layer', async () => {
  const ws = await host.workspace(base);
  assert.equal(await ws.run(proc('exit 3'), () => {}, new AbortController().signal), 3);
  const img = await ws.commit({ config: base.config.config ?? {}, createdBy: '/bin/sh -c exit 3' });
  await ws.release();
  assert.deepEqual(img.config.rootfs.diff_ids, base.config.rootfs.diff_ids);
  assert.equal(img.config.history?.at(-1)?.empty_layer, true);
});

test('RUN: abort kills and removes the container', async () => {
  const ws = await host.workspace(base);
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(new Error('canceled')), 1500);
  await assert.rejects(ws.run(proc('sleep 60'), () => {}, ac.signal), /canceled/);
  clearTimeout(t);
  assert.equal((await d.containers.list({ all: true })).length, 0);
  await ws.release();
});

test('RUN: bind and tmpfs mounts, the request network none', async () => {
  const src = join(dir, 'bindsrc');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(src);
  await writeFile(join(src, 'x'), 'bound');
  const ws = await host.workspace(base);
  const out: Buffer[] = [];
  const code = await ws.run(
    proc('cat /b/x; echo; mount | grep -c " /t type tmpfs"; touch /t/y', { mounts: [{ type: 'bind', source: src, target: '/b', readonly: true }, { type: 'tmpfs', target: '/t' }] }),
    (c) => out.push(c),
    new AbortController().signal,
  );
  assert.equal(code, 0, Buffer.concat(out).toString());
  assert.match(Buffer.concat(out).toString(), /bound\n1/);
  const img = await ws.commit({ config: {}, createdBy: 'x' });
  await ws.release();
  assert.equal(await fileIn(img, 't/y'), undefined, 'tmpfs content is not committed');
});

test('COPY-style workspace: root() is a writable tree over the base; scratch has none', async () => {
  const ws = await host.workspace(base);
  const root = await ws.root();
  assert.ok(existsSync(join(root, 'bin/sh')));
  await writeFile(join(root, 'g'), 'copied');
  const img = await ws.commit({ config: base.config.config ?? {}, createdBy: '/bin/sh -c #(nop) COPY file:abc in /g ' });
  await ws.release();
  assert.equal(await fileIn(img, 'g'), 'copied');
  assert.equal(d.images.inspect(img.id).Parent, base.id);

  const s = await host.workspace(undefined);
  const sroot = await s.root();
  await writeFile(join(sroot, 'only'), '1');
  const simg = await s.commit({ config: { Cmd: ['/only'] }, createdBy: 'copy' });
  await s.release();
  assert.equal(simg.config.rootfs.diff_ids.length, 1);
  assert.equal(d.images.inspect(simg.id).Parent, '');
  assert.equal(await fileIn(simg, 'only'), '1');
  const empty = await host.workspace(undefined);
  await assert.rejects(empty.run(proc('true'), () => {}, new AbortController().signal), /no such file or directory/);
  await empty.release();
});

test('commitConfig, cacheDir, tag, cache', async () => {
  const img = await host.commitConfig(base, { config: { ...base.config.config, Env: ['A=1'] }, createdBy: '/bin/sh -c #(nop)  ENV A=1' });
  assert.deepEqual(img.config.rootfs.diff_ids, base.config.rootfs.diff_ids);
  assert.equal(img.config.history?.at(-1)?.empty_layer, true);
  assert.deepEqual(img.config.config?.Env, ['A=1']);
  assert.equal(d.images.inspect(img.id).Parent, base.id);
  const withAuthor = await host.commitConfig(img, { config: {}, createdBy: 'm', author: 'me' } as Parameters<BuildHost['commitConfig']>[1]);
  assert.equal(d.images.inspect(withAuthor.id).Author, 'me');
  const scratchOnly = await host.commitConfig(undefined, { config: { Cmd: ['x'] }, createdBy: 'cmd' });
  assert.deepEqual(scratchOnly.config.rootfs.diff_ids, []);

  const c1 = await host.cacheDir('go');
  assert.equal(await host.cacheDir('go'), c1);
  assert.ok(c1.startsWith(join(dir, 'data', 'builder', 'cache-mounts')));

  await host.tag(img.id, 'built:1');
  assert.equal(d.images.get('built:1').id, img.id);

  await host.cache.put('key', img.id);
  assert.equal((await host.cache.get('key'))?.id, img.id);
  assert.equal(host.imageById(img.id)?.id, img.id);
  await assert.rejects(host.image('nosuch:1', { pull: false, progress: () => {} }), /nosuch/);
});

test('classic image semantics: intermediate images hidden, history IDs, rmi deletes unused untagged parents', async () => {
  const ws = await host.workspace(base);
  assert.equal(await ws.run(proc('echo hi > /chain'), () => {}, new AbortController().signal), 0);
  const a = await ws.commit({ config: base.config.config ?? {}, createdBy: '/bin/sh -c echo hi > /chain' });
  await ws.release();
  const b = await host.commitConfig(a, { config: { ...a.config.config, Env: ['B=1'] }, createdBy: '/bin/sh -c #(nop)  ENV B=1' });
  const c = await host.commitConfig(b, { config: { ...b.config.config, Cmd: ['sh'] }, createdBy: '/bin/sh -c #(nop)  CMD ["sh"]' });
  await host.tag(c.id, 'chain:1');

  const ids = (all: boolean, filters?: Record<string, string[]>) => new Set(d.images.list({ all, filters }).map((i) => i.Id));
  assert.ok(ids(false).has(c.id));
  assert.ok(!ids(false).has(a.id) && !ids(false).has(b.id), 'intermediate images are hidden without -a');
  assert.ok(ids(true).has(a.id) && ids(true).has(b.id));
  assert.ok(!ids(true, { dangling: ['true'] }).has(b.id), 'an image with children is not dangling');
  assert.ok(!ids(true, { dangling: ['false'] }).has(b.id), 'nor is an untagged one "not dangling"');
  assert.ok(ids(true, { dangling: ['false'] }).has(c.id));

  const hist = d.images.history('chain:1');
  assert.deepEqual(hist.slice(0, 4).map((h) => h.Id), [c.id, b.id, a.id, base.id]);
  assert.deepEqual(hist[0].Tags, ['chain:1']);
  assert.deepEqual(hist[3].Tags, ['busybox:latest']);

  await assert.rejects(d.images.remove(b.id, { force: true, noPrune: false }), /unable to delete .* \(cannot be forced\) - image has dependent child images/);
  // A tagged intermediate image: rmi by name only untags it, by ID it is a conflict.
  await host.tag(b.id, 'mid:1');
  await assert.rejects(d.images.remove(b.id, { force: false, noPrune: false }), /image has dependent child images/);
  assert.deepEqual(await d.images.remove('mid:1', { force: false, noPrune: false }), [{ Untagged: 'mid:1' }]);
  const out = await d.images.remove('chain:1', { force: false, noPrune: false });
  assert.deepEqual(out[0], { Untagged: 'chain:1' });
  const deleted = out.filter((o) => o.Deleted).map((o) => o.Deleted);
  assert.equal(deleted[0], c.id);
  assert.equal(deleted[1], b.id);
  assert.equal(deleted[2], a.id);
  assert.equal(deleted.length, 4, "A's layer goes too");
  assert.ok(d.images.has(base.id), 'a tagged parent stays');
});

test('image prune: a dangling head goes with the parents nothing else needs', async () => {
  const ws = await host.workspace(base);
  assert.equal(await ws.run(proc('echo p > /p'), () => {}, new AbortController().signal), 0);
  const a = await ws.commit({ config: base.config.config ?? {}, createdBy: 'p' });
  await ws.release();
  const kept = await host.commitConfig(a, { config: { Cmd: ['kept'] }, createdBy: 'kept' });
  await host.tag(kept.id, 'p:1');
  const old = await host.commitConfig(a, { config: { Cmd: ['old'] }, createdBy: 'old' });
  const dangling = d.images.list({ all: false, filters: { dangling: ['true'] } }).map((i) => i.Id);
  assert.ok(dangling.includes(old.id) && !dangling.includes(a.id));
  const r = await d.images.prune({ all: false, filters: {} });
  const gone = (r.ImagesDeleted ?? []).map((x) => x.Deleted);
  assert.ok(gone.includes(old.id));
  assert.ok(!gone.includes(a.id), 'a parent with another child stays');
  assert.ok(d.images.has(a.id));
  const r2 = await d.images.remove('p:1', { force: false, noPrune: false });
  assert.ok(r2.some((x) => x.Deleted === a.id), 'then it goes with its last child');
});

test('a restart after a crash mid-build removes the build containers and file systems left behind', async () => {
  const run = await host.workspace(base);
  assert.equal(await run.run(proc('true'), () => {}, new AbortController().signal), 0);
  const bare = await host.workspace(base);
  await bare.root();
  const meta = join(dir, 'data', 'image', 'containers', `${bare.id}.json`);
  assert.ok(existsSync(meta));
  assert.equal((await d.containers.list({ all: true })).length, 1);
  // No release: as if wharfd died here.
  d.shutdown();
  d = new Daemon({ ...DEFAULT_CONFIG, dataRoot: join(dir, 'data'), execRoot: join(dir, 'run'), pidfile: join(dir, 'wharfd.pid'), bridge: testBridge(dir) }, silentLogger);
  await d.init();
  host = d.builds.hostFor(request);
  assert.equal((await d.containers.list({ all: true })).length, 0, 'the build container is gone');
  assert.ok(!existsSync(meta), 'the bare file system is gone');
});
