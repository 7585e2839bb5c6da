import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile, readlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { tarOfEntries } from '../util/index.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostConfig } from '../types/index.js';
import { VolumeService } from './volumes.js';

async function withService(fn: (v: VolumeService, dir: string, users: Map<string, string[]>) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-volumes-'));
  const users = new Map<string, string[]>();
  try {
    const v = new VolumeService({ root: join(dir, 'volumes'), users: (n) => users.get(n) ?? [] });
    await v.init();
    await fn(v, dir, users);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('setup without a plan: the container\'s mounts, a missing -v source created, a --mount source never', async () => {
  await withService(async (v, dir) => {
    const hc: HostConfig = {
      Binds: [`${dir}/new/sub:/data:ro`],
      Mounts: [{ Type: 'bind', Source: `${dir}/other`, Target: '/o' }],
      Tmpfs: { '/run': 'size=1m' },
    };
    const mounts = await v.setup('c1', hc, {});
    assert.ok((await stat(`${dir}/new/sub`)).isDirectory());
    assert.equal(existsSync(`${dir}/other`), false);
    assert.deepEqual(mounts, [
      { type: 'tmpfs', source: 'tmpfs', target: '/run', options: ['nosuid', 'nodev', 'noexec', 'size=1m'] },
      { type: 'bind', source: `${dir}/new/sub`, target: '/data', options: ['rbind', 'ro', 'rprivate'] },
      { type: 'bind', source: `${dir}/other`, target: '/o', options: ['rbind', 'rw', 'rprivate'] },
    ]);
  });
});

test('release is idempotent, also for a container never set up', async () => {
  await withService(async (v) => {
    await v.release('never');
    await v.release('never');
  });
});

test('create, inspect, list with filters, and a new service loads what is on disk', async () => {
  await withService(async (v, dir) => {
    const a = await v.create({ Name: 'data', Labels: { app: 'db' } });
    assert.equal(a.Name, 'data');
    assert.equal(a.Driver, 'local');
    assert.equal(a.Scope, 'local');
    assert.equal(a.Mountpoint, join(dir, 'volumes', 'data', '_data'));
    assert.deepEqual(a.Labels, { app: 'db' });
    assert.match(a.CreatedAt!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(await v.create({ Name: 'data' }), a, 'create of an existing name answers it');
    const anon = await v.create({});
    assert.match(anon.Name, /^[0-9a-f]{64}$/);
    assert.deepEqual(v.list({ name: ['dat'] }).Volumes.map((x) => x.Name), ['data']);
    assert.deepEqual(v.list({ label: ['app=db'] }).Volumes.map((x) => x.Name), ['data']);
    assert.equal(v.list({ driver: ['local'] }).Volumes.length, 2);
    assert.throws(() => v.list({ bogus: ['1'] }), { message: "invalid filter 'bogus'" });
    const again = new VolumeService({ root: join(dir, 'volumes') });
    await again.init();
    assert.deepEqual(again.inspect('data'), a);
  });
});

test('Docker\'s words for bad names, unknown options, missing volumes and volumes in use', async () => {
  await withService(async (v, _dir, users) => {
    await assert.rejects(v.create({ Name: 'a@b' }), {
      code: 'WHARF_INVALID_ARGUMENT',
      message: 'create a@b: "a@b" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path',
    });
    await assert.rejects(v.create({ Name: 'x' }), { message: 'create x: volume name is too short, names should be at least two alphanumeric characters' });
    await assert.rejects(v.create({ Name: 'ok', DriverOpts: { bogus: '1' } }), { message: 'create ok: invalid option: "bogus"' });
    await assert.rejects(v.create({ Name: 'ok', DriverOpts: { type: 'tmpfs' } }), { message: 'create ok: missing required option: "device"' });
    assert.throws(() => v.inspect('nope'), { code: 'WHARF_NOT_FOUND', message: 'get nope: no such volume' });
    await assert.rejects(v.remove('nope'), { code: 'WHARF_NOT_FOUND', message: 'get nope: no such volume' });
    await v.remove('nope', { force: true });
    await v.create({ Name: 'busy' });
    users.set('busy', ['c1', 'c2']);
    await assert.rejects(v.remove('busy'), { code: 'WHARF_CONFLICT', message: 'remove busy: volume is in use - [c1, c2]' });
    assert.deepEqual(v.list({ dangling: ['true'] }).Volumes.map((x) => x.Name), []);
    users.delete('busy');
    assert.deepEqual(v.list({ dangling: ['true'] }).Volumes.map((x) => x.Name), ['busy']);
    await v.remove('busy');
    assert.deepEqual(v.list().Volumes, []);
  });
});

test('prune: unused anonymous volumes by default, every unused one with all=true, label filters', async () => {
  await withService(async (v, _dir, users) => {
    await v.create({ Name: 'named', Labels: { keep: '1' } });
    await v.create({ Name: 'other' });
    const anon = await v.create({ Labels: { 'com.docker.volume.anonymous': '' } });
    const used = await v.create({ Labels: { 'com.docker.volume.anonymous': '' } });
    users.set(used.Name, ['c1']);
    await writeFile(join(anon.Mountpoint, 'f'), 'hello');
    assert.deepEqual(await v.prune({}), { VolumesDeleted: [anon.Name], SpaceReclaimed: 5 });
    assert.deepEqual(await v.prune({ all: ['true'], 'label!': ['keep'] }), { VolumesDeleted: ['other'], SpaceReclaimed: 0 });
    assert.deepEqual(v.list().Volumes.map((x) => x.Name).sort(), ['named', used.Name].sort());
    await assert.rejects(v.prune({ bogus: ['1'] }), { message: "invalid filter 'bogus'" });
  });
});

test('prepare, setup and removeAnonymous: volumes made at create, filled from the image, anonymous ones removed', async () => {
  await withService(async (v, dir) => {
    const rootfs = join(dir, 'rootfs');
    await mkdir(join(rootfs, 'var/lib/db/sub'), { recursive: true, mode: 0o700 });
    await writeFile(join(rootfs, 'var/lib/db/sub/f'), 'image content');
    await symlink('/etc/passwd', join(rootfs, 'var/lib/db/link'));
    // An image directory that is a symlink out of the root resolves inside it.
    await symlink('/../../../../etc', join(rootfs, 'escape'));
    const hc: HostConfig = { Binds: ['named:/var/lib/db', `${dir}/host:/h:ro`], Mounts: [{ Type: 'volume', Target: '/escape' }] };
    const plan = await v.prepare('c1', hc, { Volumes: { '/anon': {} } }, []);
    const named = plan.find((m) => m.destination === '/var/lib/db')!;
    assert.equal(named.name, 'named');
    assert.equal(named.mode, 'z');
    const anon = plan.filter((m) => m.anonymous);
    assert.equal(anon.length, 2);
    assert.deepEqual(v.inspect(anon[0].name!).Labels, { 'com.docker.volume.anonymous': '' });
    const mounts = await v.setup('c1', hc, {}, { rootfs, plan });
    assert.deepEqual(
      mounts.map((m) => [m.target, m.options.join(',')]),
      [
        ['/anon', 'rbind,rw,rprivate'],
        ['/h', 'rbind,ro,rprivate'],
        ['/escape', 'rbind,rw,rprivate'],
        ['/var/lib/db', 'rbind,rw,rprivate'],
      ],
    );
    const data = v.inspect('named').Mountpoint;
    assert.equal(await readFile(join(data, 'sub/f'), 'utf8'), 'image content');
    assert.equal(await readlink(join(data, 'link')), '/etc/passwd');
    assert.equal((await stat(data)).mode & 0o777, 0o700);
    const escaped = v.inspect(plan.find((m) => m.destination === '/escape')!.name!).Mountpoint;
    assert.equal(existsSync(join(escaped, 'passwd')), false, 'nothing copied from outside the root');
    await v.release('c1');
    await v.removeAnonymous('c1', plan);
    assert.deepEqual(v.list().Volumes.map((x) => x.Name), ['named']);
  });
});

test('prepare: a bad volume name in -v and a duplicate mount point, in Docker\'s words', async () => {
  await withService(async (v) => {
    await assert.rejects(v.prepare('c1', { Binds: ['b@d:/x'] }, {}, []), { message: /^create b@d: "b@d" includes invalid characters/ });
    await assert.rejects(v.prepare('c1', { Binds: ['a1:/x', 'a2:/x'] }, {}, []), { message: 'Duplicate mount point: /x' });
    assert.deepEqual(v.list().Volumes, []);
  });
});

test('import: into an empty volume and over content, owners kept, never outside the volume', async () => {
  await withService(async (v, dir) => {
    const tar = await tarOfEntries([
      { name: 'db', type: 'directory', mode: 0o750, uid: 33, gid: 33 },
      { name: 'db/t', body: 'row1\n', uid: 33, gid: 33 },
      { name: 'up', type: 'symlink', linkname: '../../../..' },
    ]);
    await v.import('fresh', Readable.from([tar]));
    const data = v.inspect('fresh').Mountpoint;
    assert.equal(await readFile(join(data, 'db/t'), 'utf8'), 'row1\n');
    assert.equal((await stat(join(data, 'db/t'))).uid, 33);
    assert.equal((await stat(join(data, 'db'))).mode & 0o777, 0o750);
    // A second import goes over the content, with the safe extractor: `up` resolves as in a
    // chroot of the volume, so what goes through it lands in the volume's root.
    const evil = await tarOfEntries([{ name: 'up/wharf-vol-test-evil', body: 'x' }]);
    await v.import('fresh', Readable.from([evil]));
    assert.equal(await readFile(join(data, 'wharf-vol-test-evil'), 'utf8'), 'x');
    assert.equal(existsSync('/wharf-vol-test-evil'), false);
    assert.equal(existsSync(join(dir, 'wharf-vol-test-evil')), false);
    const dots = await tarOfEntries([{ name: '../../outside', body: 'x' }]);
    await assert.rejects(v.import('other', Readable.from([dots])));
    assert.equal(existsSync(join(dir, 'outside')), false);
  });
});

test('init after a crash: a volume directory without its record (a create that died) is removed, recorded ones load', async () => {
  await withService(async (v, dir) => {
    await v.create({ Name: 'kept' });
    await mkdir(join(dir, 'volumes', 'halfmade', '_data'), { recursive: true });
    const again = new VolumeService({ root: join(dir, 'volumes') });
    await again.init();
    assert.deepEqual(again.list().Volumes.map((x) => x.Name), ['kept']);
    assert.equal(existsSync(join(dir, 'volumes', 'halfmade')), false);
  });
});

test('a prune or rm while a container is being created leaves the volumes it takes, until its record holds them', async () => {
  await withService(async (v, _dir, users) => {
    await v.create({ Name: 'keep' });
    const preparing = v.prepare('c1', { Binds: ['keep:/data'] }, { Volumes: { '/anon': {} } }, []);
    const [pruned, prunedAll] = [await v.prune(), await v.prune({ all: ['true'] })];
    const plan = await preparing;
    const anon = plan.find((m) => m.anonymous)!.name!;
    assert.deepEqual([pruned.VolumesDeleted, prunedAll.VolumesDeleted], [null, null]);
    await assert.rejects(v.remove('keep'), { message: 'remove keep: volume is in use - [c1]' });
    assert.deepEqual(v.list().Volumes.map((x) => x.Name).sort(), [anon, 'keep'].sort());
    // The container's record now names them; once it is gone, prune takes them.
    users.set('keep', ['c1']);
    users.set(anon, ['c1']);
    v.endPrepare('c1');
    assert.equal((await v.prune({ all: ['true'] })).VolumesDeleted, null);
    users.clear();
    assert.deepEqual((await v.prune({ all: ['true'] })).VolumesDeleted?.sort(), [anon, 'keep'].sort());
  });
});
