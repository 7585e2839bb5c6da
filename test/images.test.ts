import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, exec, type TestDaemon } from './harness.js';

let d: TestDaemon;
before(async () => {
  d = await startDaemon();
});
after(async () => {
  await d?.stop();
});

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(p: string) {
    let entries;
    try {
      entries = await readdir(p, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const q = join(p, e.name);
      if (e.isDirectory()) await walk(q);
      else out.push(q);
    }
  }
  await walk(dir);
  return out.sort();
}

test('the embedded busybox image is there and listed like docker does', async () => {
  const r = await d.docker(['images']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n/);
  assert.match(r.stdout, /\nbusybox\s+latest\s+[a-f0-9]{12}\s+/);
  const w = await d.wharf(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.equal(w.stdout, 'busybox:latest\n');
  const inspect = JSON.parse((await d.docker(['image', 'inspect', 'busybox'])).stdout);
  assert.equal(inspect[0].Os, 'linux');
  assert.match(inspect[0].Id, /^sha256:[a-f0-9]{64}$/);
  assert.deepEqual(inspect[0].Config.Cmd, ['sh']);
});

test('tag, rmi untags, and rmi of a used image is refused', async () => {
  assert.equal((await d.docker(['tag', 'busybox', 'mybox:1'])).code, 0);
  assert.match((await d.docker(['images', 'mybox'])).stdout, /mybox\s+1\s/);
  const untag = await d.docker(['rmi', 'mybox:1']);
  assert.equal(untag.code, 0, untag.stderr);
  assert.match(untag.stdout, /Untagged: mybox:1/);
  await d.docker(['create', '--name', 'user1', 'busybox', 'true']);
  const used = await d.docker(['rmi', 'busybox']);
  assert.equal(used.code, 1);
  assert.match(used.stderr, /conflict: unable to (remove repository reference|delete)/);
  await d.docker(['rm', 'user1']);
});

test('save and load round-trip keeps the image ID; corrupt archives are refused', async () => {
  const id = (await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim();
  const tar = join(d.dir, 'bb.tar');
  const save = await d.docker(['save', '-o', tar, 'busybox']);
  assert.equal(save.code, 0, save.stderr);
  await d.docker(['tag', 'busybox', 'copy:1']);
  const load = await d.docker(['load', '-i', tar]);
  assert.equal(load.code, 0, load.stderr);
  assert.match(load.stdout, /Loaded image: busybox:latest/);
  assert.equal((await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim(), id);
  const bytes = await readFile(tar);
  const truncated = join(d.dir, 'truncated.tar');
  await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const bad = await d.docker(['load', '-i', truncated]);
  assert.notEqual(bad.code, 0);
  assert.ok((await d.docker(['version'])).code === 0, 'daemon still serves');
  await d.docker(['rmi', 'copy:1']);
});

test('commit, history, diff and export', async () => {
  await d.docker(['run', '--name', 'changer', 'busybox', 'sh', '-c', 'echo hi > /hello.txt; rm /etc/group']);
  const diff = await d.docker(['diff', 'changer']);
  assert.match(diff.stdout, /A \/hello.txt/);
  assert.match(diff.stdout, /D \/etc\/group/);
  const commit = await d.docker(['commit', '-m', 'add hello', '-c', 'CMD ["cat", "/hello.txt"]', 'changer', 'hello:v1']);
  assert.equal(commit.code, 0, commit.stderr);
  const out = await d.docker(['run', '--rm', 'hello:v1']);
  assert.equal(out.stdout, 'hi\n');
  const gone = await d.docker(['run', '--rm', 'hello:v1', 'ls', '/etc/group']);
  assert.notEqual(gone.code, 0);
  const hist = await d.docker(['history', 'hello:v1']);
  assert.match(hist.stdout, /add hello/);
  // Clients of API 1.44 and older (docker-py 5 asks for 1.41) see the committing container, as from dockerd; 1.45 and later do not.
  const changer = JSON.parse((await d.docker(['inspect', 'changer'])).stdout)[0];
  const old = JSON.parse((await d.api('GET', '/v1.41/images/hello:v1/json')).body);
  assert.deepEqual([old.Container, old.ContainerConfig.Image, old.ContainerConfig.Cmd, old.VirtualSize], [changer.Id, 'busybox', ['sh', '-c', 'echo hi > /hello.txt; rm /etc/group'], old.Size]);
  const base = JSON.parse((await d.api('GET', '/v1.41/images/busybox/json')).body);
  assert.deepEqual([base.Container, base.ContainerConfig.Image, base.ContainerConfig.Cmd], ['', '', null]);
  const now = JSON.parse((await d.api('GET', '/v1.47/images/hello:v1/json')).body);
  assert.deepEqual(['Container', 'ContainerConfig', 'VirtualSize'].filter((k) => k in now), []);
  const tarFile = join(d.dir, 'export.tar');
  assert.equal((await d.docker(['export', '-o', tarFile, 'changer'])).code, 0);
  const list = await exec('tar', ['-tf', tarFile]);
  assert.match(list.stdout, /hello\.txt/);
  assert.match(list.stdout, /bin\/busybox/);
  await d.docker(['rm', 'changer']);
  await d.docker(['rmi', 'hello:v1']);
});

test('commit of a container that changed nothing adds no layer, as Docker', async () => {
  try {
    assert.equal((await d.docker(['run', '--name', 'unchanged', 'busybox', 'true'])).code, 0);
    const diff = await d.docker(['diff', 'unchanged']);
    assert.equal(diff.code, 0, diff.stderr);
    assert.equal(diff.stdout, '');
    const commit = await d.docker(['commit', '-c', 'CMD ["echo", "same files"]', 'unchanged', 'unchanged:v1']);
    assert.equal(commit.code, 0, commit.stderr);
    const layers = async (ref: string) => (await d.docker(['image', 'inspect', '-f', '{{len .RootFS.Layers}}', ref])).stdout.trim();
    assert.match(await layers('busybox'), /^\d+$/);
    assert.equal(await layers('unchanged:v1'), await layers('busybox'));
    const hist = await d.docker(['history', '--format', '{{.CreatedBy}}|{{.Size}}', 'unchanged:v1']);
    assert.match(hist.stdout.split('\n')[0], /^true\|0B$/);
    assert.equal((await d.docker(['run', '--rm', 'unchanged:v1'])).stdout, 'same files\n');
  } finally {
    await d.docker(['rm', '-f', 'unchanged']);
    await d.docker(['rmi', 'unchanged:v1']);
  }
});

test('import a rootfs tarball from stdin with changes', async () => {
  const tarFile = join(d.dir, 'rootfs.tar');
  await d.docker(['create', '--name', 'src', 'busybox']);
  await d.docker(['export', '-o', tarFile, 'src']);
  await d.docker(['rm', 'src']);
  const imp = await d.docker(['import', '-c', 'ENV GREETING=imported', '-c', 'CMD ["sh", "-c", "echo $GREETING"]', tarFile, 'imported:1']);
  assert.equal(imp.code, 0, imp.stderr);
  assert.match(imp.stdout, /^sha256:[a-f0-9]{64}\n$/);
  const r = await d.docker(['run', '--rm', 'imported:1']);
  assert.equal(r.stdout, 'imported\n');
  await d.docker(['rmi', 'imported:1']);
});

test('after rm and rmi nothing is left in the data root but the base image', async () => {
  const before = await listFiles(join(d.dataRoot));
  await d.docker(['tag', 'busybox', 'tmp:1']);
  await d.docker(['run', '--name', 'w1', 'busybox', 'sh', '-c', 'echo x > /x']);
  await d.docker(['commit', 'w1', 'tmp:2']);
  await d.docker(['rm', 'w1']);
  await d.docker(['rmi', 'tmp:1', 'tmp:2']);
  const prune = await d.docker(['image', 'prune', '-f']);
  assert.equal(prune.code, 0);
  const afterFiles = await listFiles(join(d.dataRoot));
  const beforeSet = new Set(before);
  const extra = afterFiles.filter((f) => !beforeSet.has(f));
  assert.deepEqual(extra, [], 'no orphaned files');
});
