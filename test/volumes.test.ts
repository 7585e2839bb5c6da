// Volumes and mounts with the real docker CLI and wharf against a private wharfd: the volume
// commands, data that survives stop/start, rm and a kill -9 of the daemon, copy-up, anonymous
// volumes and rm -v, --volumes-from and the seeds' backup and restore, options volumes, and
// Docker's errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout } from 'node:timers/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type TestDaemon } from './harness.js';

let d: TestDaemon;
let host: string;
before(async () => {
  d = await startDaemon();
  host = await mkdtemp(join(tmpdir(), 'wharf-vol-'));
  // An image with content at /data (owned 1234:5678, mode 0750, a symlink) and VOLUME /data.
  await ok(['run', '--name', 'seed', 'busybox', 'sh', '-c', 'mkdir -p /data/sub && echo image > /data/sub/f && ln -s /etc/passwd /data/link && chown -R 1234:5678 /data && chmod 750 /data']);
  await ok(['commit', '--change', 'VOLUME /data', 'seed', 'voltest:1']);
  await ok(['rm', 'seed']);
});
after(async () => {
  await d?.stop();
  if (host) await rm(host, { recursive: true, force: true });
});

async function ok(args: string[], cli: 'docker' | 'wharf' = 'docker', input?: string | Buffer): Promise<string> {
  const r = await d[cli](args, { input, timeoutMs: 120_000 });
  assert.equal(r.code, 0, `${cli} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function mounted(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === path);
}

for (const cli of ['docker', 'wharf'] as const) {
  test(`${cli}: volume create, ls, inspect, rm and prune, with Docker's output`, async () => {
    const v = `${cli}-v1`;
    assert.equal(await ok(['volume', 'create', '--label', 'team=db', v], cli), `${v}\n`);
    assert.equal(await ok(['volume', 'create', '--name', `${cli}-v2`], cli), `${cli}-v2\n`);
    const anon = (await ok(['volume', 'create'], cli)).trim();
    assert.match(anon, /^[0-9a-f]{64}$/);
    const ls = await ok(['volume', 'ls', '--filter', `name=${cli}-`], cli);
    assert.equal(ls, `DRIVER    VOLUME NAME\nlocal     ${cli}-v1\nlocal     ${cli}-v2\n`);
    assert.equal(await ok(['volume', 'ls', '-q', '--filter', 'label=team=db'], cli), `${v}\n`);
    assert.equal(await ok(['volume', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Label "team"}}', '--filter', 'label=team'], cli), `${v} local db\n`);
    const [info] = JSON.parse(await ok(['volume', 'inspect', v], cli));
    assert.equal(info.Name, v);
    assert.equal(info.Driver, 'local');
    assert.equal(info.Scope, 'local');
    assert.deepEqual(info.Labels, { team: 'db' });
    assert.equal(info.Mountpoint, join(d.dataRoot, 'volumes', v, '_data'));
    assert.ok((await stat(info.Mountpoint)).isDirectory());
    assert.equal(await ok(['volume', 'inspect', '--format', '{{.Mountpoint}}', v], cli), `${info.Mountpoint}\n`);

    const bad = await d[cli](['volume', 'create', 'bad@name']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'Error response from daemon: create bad@name: "bad@name" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path\n');
    const missing = await d[cli](['volume', 'inspect', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /get nope: no such volume/);
    const rmMissing = await d[cli](['volume', 'rm', 'nope']);
    assert.equal(rmMissing.code, 1);
    assert.match(rmMissing.stderr, /get nope: no such volume/);
    assert.equal((await d[cli](['volume', 'rm', '-f', 'nope'])).code, 0);

    // In use by a container, even a stopped one: Docker's 409 with the container's ID.
    const id = (await ok(['create', '-v', `${v}:/data`, 'busybox', 'true'], cli)).trim();
    const busy = await d[cli](['volume', 'rm', v]);
    assert.equal(busy.code, 1);
    assert.equal(busy.stderr, `Error response from daemon: remove ${v}: volume is in use - [${id}]\n`);
    const api = await d.api('DELETE', `/volumes/${v}`);
    assert.equal(api.status, 409);
    assert.equal(JSON.parse(api.body).message, `remove ${v}: volume is in use - [${id}]`);
    assert.equal(await ok(['volume', 'ls', '-q', '--filter', 'dangling=false', '--filter', `name=${cli}-`], cli), `${v}\n`);
    await ok(['rm', id], cli);

    // prune: anonymous ones only (none here: `volume create` makes named ones), then -a.
    assert.equal(await ok(['volume', 'prune', '-f'], cli), 'Total reclaimed space: 0B\n');
    const pruned = await ok(['volume', 'prune', '-f', '-a', '--filter', 'label!=team'], cli);
    assert.match(pruned, new RegExp(`^Deleted Volumes:\\n(?=[^]*${cli}-v2\\n)(?=[^]*${anon}\\n)`));
    assert.doesNotMatch(pruned, new RegExp(`${v}\\n`));
    // A client of API 1.41 (docker-py 5, Compose v1) gets the prune of its day: named volumes too.
    assert.equal(await ok(['volume', 'create', `${cli}-v3`], cli), `${cli}-v3\n`);
    const old = await d.api('POST', `/v1.41/volumes/prune?filters=${encodeURIComponent(JSON.stringify({ label: ['team'] }))}`);
    assert.equal(old.status, 200, old.body);
    assert.deepEqual(JSON.parse(old.body).VolumesDeleted, [v]);
    assert.equal(await ok(['volume', 'ls', '-q', '--filter', `name=${cli}-`], cli), `${cli}-v3\n`);
    assert.equal(await ok(['volume', 'rm', `${cli}-v3`], cli), `${cli}-v3\n`);
  });

  test(`${cli}: a named volume's data survives stop/start, rm and a kill -9 of wharfd`, async () => {
    const v = `${cli}-keep`;
    await ok(['run', '-d', '--name', `${cli}-w`, '-v', `${v}:/data`, 'busybox', 'sh', '-c', 'echo kept > /data/f; sleep 1000'], cli);
    await ok(['stop', '-t', '0', `${cli}-w`], cli);
    await ok(['start', `${cli}-w`], cli);
    assert.equal(await ok(['exec', `${cli}-w`, 'cat', '/data/f'], cli), 'kept\n');
    const [c] = JSON.parse(await ok(['inspect', `${cli}-w`], cli));
    const mountpoint = join(d.dataRoot, 'volumes', v, '_data');
    assert.deepEqual(c.Mounts, [{ Type: 'volume', Name: v, Source: mountpoint, Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' }]);
    await ok(['rm', '-f', `${cli}-w`], cli);
    assert.equal(await ok(['run', '--rm', '-v', `${v}:/data:ro`, 'busybox', 'cat', '/data/f'], cli), 'kept\n');
    await d.restart('SIGKILL');
    assert.equal(await ok(['volume', 'ls', '-q', '--filter', `name=${v}`], cli), `${v}\n`);
    assert.equal(await ok(['run', '--rm', '-v', `${v}:/data`, 'busybox', 'cat', '/data/f'], cli), 'kept\n');
    const ro = await d[cli](['run', '--rm', '-v', `${v}:/data:ro`, 'busybox', 'sh', '-c', 'echo x > /data/g']);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /Read-only file system/);
    await ok(['volume', 'rm', v], cli);
  });
}

test('copy-up: a new volume over image content gets it, owners, modes and links kept; nocopy and a used volume do not', async () => {
  await ok(['run', '--rm', '-v', 'cu1:/data', 'voltest:1', 'sh', '-c', 'true']);
  const data = join(d.dataRoot, 'volumes', 'cu1', '_data');
  assert.equal(await readFile(join(data, 'sub/f'), 'utf8'), 'image\n');
  const st = await stat(data);
  assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [1234, 5678, 0o750]);
  assert.equal((await stat(join(data, 'sub/f'))).uid, 1234);
  assert.equal(await ok(['run', '--rm', '-v', 'cu1:/data', 'voltest:1', 'readlink', '/data/link']), '/etc/passwd\n');
  // nocopy: stays empty.
  assert.equal(await ok(['run', '--rm', '-v', 'cu2:/data:nocopy', 'voltest:1', 'ls', '-A', '/data']), '');
  assert.equal(await ok(['run', '--rm', '--mount', 'type=volume,src=cu3,dst=/data,volume-nocopy', 'voltest:1', 'ls', '-A', '/data']), '');
  // A volume with content keeps it: the image's files do not come back.
  await ok(['run', '--rm', '-v', 'cu1:/data', 'voltest:1', 'rm', '-rf', '/data/sub']);
  await ok(['run', '--rm', '-v', 'cu1:/data', 'voltest:1', 'touch', '/data/mine']);
  assert.equal(await ok(['run', '--rm', '-v', 'cu1:/data', 'voltest:1', 'ls', '/data']), 'link\nmine\n');
  await ok(['volume', 'rm', 'cu1', 'cu2', 'cu3']);
});

test('anonymous volumes: from VOLUME and -v /path, shown in inspect, removed by rm -v and --rm; named ones stay', async () => {
  const id = (await ok(['create', '-v', '/scratch', '-v', 'anonkeep:/keep', 'voltest:1', 'ls', '/data'])).trim();
  const [c] = JSON.parse(await ok(['inspect', id]));
  const byDest = Object.fromEntries(c.Mounts.map((m: { Destination: string }) => [m.Destination, m]));
  assert.deepEqual(Object.keys(byDest).sort(), ['/data', '/keep', '/scratch']);
  for (const dest of ['/data', '/scratch']) {
    const m = byDest[dest];
    assert.match(m.Name, /^[0-9a-f]{64}$/);
    assert.deepEqual({ ...m, Name: '' }, { Type: 'volume', Name: '', Source: join(d.dataRoot, 'volumes', m.Name, '_data'), Destination: dest, Driver: 'local', Mode: '', RW: true, Propagation: '' });
    const [v] = JSON.parse(await ok(['volume', 'inspect', m.Name]));
    assert.deepEqual(v.Labels, { 'com.docker.volume.anonymous': '' });
  }
  assert.deepEqual(c.Config.Volumes, { '/data': {}, '/scratch': {} });
  assert.equal(await ok(['start', '-a', id]), 'link\nsub\n');
  // The anonymous volume from the image is in use: prune leaves it.
  assert.doesNotMatch(await ok(['volume', 'prune', '-f']), new RegExp(byDest['/data'].Name));
  await ok(['rm', '-v', id]);
  for (const dest of ['/data', '/scratch']) assert.equal((await d.docker(['volume', 'inspect', byDest[dest].Name])).code, 1);
  assert.equal(await ok(['volume', 'ls', '-q', '--filter', 'name=anonkeep']), 'anonkeep\n');

  // --rm takes its anonymous volumes; plain rm leaves them for prune.
  await ok(['run', '--rm', '--name', 'rmv', 'voltest:1', 'true']);
  const before = (await ok(['volume', 'ls', '-q'])).split('\n').filter(Boolean);
  assert.deepEqual(before, ['anonkeep']);
  await ok(['run', '--name', 'left', '-v', '/x', 'busybox', 'true']);
  await ok(['rm', 'left']);
  const left = (await ok(['volume', 'ls', '-q'])).split('\n').filter((n) => n && n !== 'anonkeep');
  assert.equal(left.length, 1);
  assert.equal(await ok(['volume', 'prune', '-f']), `Deleted Volumes:\n${left[0]}\n\nTotal reclaimed space: 0B\n`);
  await ok(['volume', 'rm', 'anonkeep']);
});

test("the seeds' backup and restore through --volumes-from, and wharf volume export/import", async () => {
  await ok(['run', '--name', 'dbstore', '-v', '/dbdata', 'busybox', 'sh', '-c', 'mkdir -p /dbdata/db && echo row1 > /dbdata/db/t && chown 33:33 /dbdata/db/t']);
  await ok(['run', '--rm', '--volumes-from', 'dbstore', '-v', `${host}:/backup`, 'busybox', 'tar', 'cvf', '/backup/backup.tar', '/dbdata']);
  assert.ok((await stat(join(host, 'backup.tar'))).size > 0);
  await ok(['run', '--name', 'dbstore2', '-v', '/dbdata', 'busybox', 'true']);
  await ok(['run', '--rm', '--volumes-from', 'dbstore2', '-v', `${host}:/backup`, 'busybox', 'sh', '-c', 'cd /dbdata && tar xvf /backup/backup.tar --strip 1']);
  assert.equal(await ok(['run', '--rm', '--volumes-from', 'dbstore2:ro', 'busybox', 'stat', '-c', '%u %n', '/dbdata/db/t']), '33 /dbdata/db/t\n');
  assert.equal(await ok(['run', '--rm', '--volumes-from', 'dbstore2', 'busybox', 'cat', '/dbdata/db/t']), 'row1\n');
  const ro = await d.docker(['run', '--rm', '--volumes-from', 'dbstore2:ro', 'busybox', 'touch', '/dbdata/x']);
  assert.notEqual(ro.code, 0);
  // The volume is dbstore2's; removing it while dbstore2 exists is refused.
  const [c2] = JSON.parse(await ok(['inspect', 'dbstore2']));
  const name = c2.Mounts[0].Name;
  assert.equal((await d.docker(['volume', 'rm', name])).code, 1);

  // wharf's own backup and restore: one command each way, no helper container.
  const tar = join(host, 'v.tar');
  await ok(['volume', 'export', '-o', tar, name], 'wharf');
  await ok(['volume', 'import', '-i', tar, 'restored'], 'wharf');
  assert.equal(await ok(['run', '--rm', '-v', 'restored:/r', 'busybox', 'stat', '-c', '%u %s', '/r/db/t']), '33 5\n');
  const piped = await d.wharf(['volume', 'export', 'restored'], { timeoutMs: 60_000 });
  assert.equal(piped.code, 0);
  assert.match(piped.stdout, /db\/t/);
  await ok(['rm', '-v', 'dbstore', 'dbstore2']);
  await ok(['volume', 'rm', 'restored']);
  const nope = await d.docker(['run', '--rm', '--volumes-from', 'nope', 'busybox', 'true']);
  assert.equal(nope.code, 125);
  assert.match(nope.stderr, /No such container: nope/);
});

test('options volumes: -o type=tmpfs is mounted at use and unmounted when the last user stops; --read-only with a volume', async () => {
  await ok(['volume', 'create', '-d', 'local', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=8m', 'tmpv']);
  const [v] = JSON.parse(await ok(['volume', 'inspect', 'tmpv']));
  assert.deepEqual(v.Options, { type: 'tmpfs', device: 'tmpfs', o: 'size=8m' });
  await ok(['run', '-d', '--name', 'tu', '-v', 'tmpv:/t', 'busybox', 'sleep', '1000']);
  assert.ok(mounted(v.Mountpoint), 'mounted while in use');
  assert.match(await ok(['exec', 'tu', 'df', '-k', '/t']), /8192/);
  await ok(['rm', '-f', 'tu']);
  assert.equal(mounted(v.Mountpoint), false, 'unmounted after the last user');
  const bad = await d.docker(['volume', 'create', '-o', 'type=tmpfs', 'tmpv2']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'Error response from daemon: create tmpv2: missing required option: "device"\n');
  // A bind volume (type=none,o=bind) shows the host directory.
  await ok(['volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', `device=${host}`, 'bindv']);
  await ok(['run', '--rm', '-v', 'bindv:/b', 'busybox', 'sh', '-c', 'echo via-volume > /b/from-volume']);
  assert.equal(await readFile(join(host, 'from-volume'), 'utf8'), 'via-volume\n');
  // --read-only: the root refuses writes, the volume takes them.
  const r = await d.docker(['run', '--rm', '--read-only', '-v', 'rov:/data', 'busybox', 'sh', '-c', 'echo ok > /data/f && cat /data/f && touch /nope']);
  assert.equal(r.stdout, 'ok\n');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Read-only file system/);
  await ok(['volume', 'rm', 'tmpv', 'bindv', 'rov']);
  assert.equal(existsSync(v.Mountpoint), false);
});

test('options volumes across a kill -9 of wharfd: a running user keeps its tmpfs, shared with the next user; one whose user ended meanwhile is unmounted', async (t) => {
  t.after(async () => {
    await d.docker(['rm', '-f', 'ka', 'kb']);
    await d.docker(['volume', 'rm', '-f', 'keepv', 'gonev']);
  });
  for (const v of ['keepv', 'gonev']) await ok(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=8m', v]);
  const mountpointOf = async (v: string) => (JSON.parse(await ok(['volume', 'inspect', v])) as { Mountpoint: string }[])[0].Mountpoint;
  const keep = await mountpointOf('keepv');
  const gone = await mountpointOf('gonev');
  await ok(['run', '-d', '--name', 'ka', '-v', 'keepv:/t', 'busybox', 'sh', '-c', 'echo one > /t/a; sleep 1000']);
  await ok(['run', '-d', '--name', 'kb', '-v', 'gonev:/t', 'busybox', 'sh', '-c', 'while [ ! -e /t/stop ]; do sleep 0.1; done']);
  const pidB = Number((await ok(['inspect', '-f', '{{.State.Pid}}', 'kb'])).trim());
  assert.equal(await ok(['exec', 'ka', 'cat', '/t/a']), 'one\n');
  await d.restart('SIGKILL', async () => {
    // kb ends while no daemon watches it.
    await writeFile(join(gone, 'stop'), '');
    const until = Date.now() + 10_000;
    while (processAlive(pidB) && Date.now() < until) await setTimeout(50);
    assert.equal(processAlive(pidB), false, 'kb ended while the daemon was down');
  });
  assert.equal(mounted(gone), false, 'the volume of a container that ended meanwhile is unmounted');
  assert.equal(mounted(keep), true);
  // Another user comes and goes: the running container still holds the volume.
  assert.equal(await ok(['run', '--rm', '-v', 'keepv:/t', 'busybox', 'sh', '-c', 'cat /t/a; echo two > /t/b']), 'one\n');
  assert.equal(mounted(keep), true, 'still mounted for ka');
  assert.equal(await ok(['run', '--rm', '-v', 'keepv:/t', 'busybox', 'cat', '/t/b']), 'two\n');
  assert.equal(await ok(['exec', 'ka', 'cat', '/t/b']), 'two\n');
  await ok(['rm', '-f', 'ka', 'kb']);
  assert.equal(mounted(keep), false, 'unmounted after its last user');
  await ok(['volume', 'rm', 'keepv', 'gonev']);
});

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('bad input: duplicate mount points, --mount of a missing host path, a bad name in -v; nothing is left behind', async () => {
  const dup = await d.docker(['run', '--rm', '-v', 'a1:/x', '-v', 'a2:/x', 'busybox', 'true']);
  assert.equal(dup.code, 125);
  assert.match(dup.stderr, /Duplicate mount point: \/x/);
  const missing = await d.docker(['run', '--rm', '--mount', `type=bind,src=${host}/missing,dst=/m`, 'busybox', 'true']);
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, /bind source path does not exist/);
  const created = await d.docker(['run', '--rm', '-v', `${host}/made:/m`, 'busybox', 'true']);
  assert.equal(created.code, 0, created.stderr);
  assert.ok((await stat(join(host, 'made'))).isDirectory());
  const badName = await d.docker(['run', '--rm', '-v', 'b@d:/x', 'busybox', 'true']);
  assert.equal(badName.code, 125);
  assert.match(badName.stderr, /includes invalid characters for a local volume name/);
  assert.equal(await ok(['volume', 'ls', '-q']), '');
  assert.equal(await ok(['ps', '-aq']), '');
});

test('-v of a single host file binds that file, read-only when asked, with both CLIs', async () => {
  const conf = join(host, 'app.conf');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(conf, 'listen 8080\n');
  for (const cli of ['docker', 'wharf'] as const) {
    assert.equal(await ok(['run', '--rm', '-v', `${conf}:/etc/app.conf:ro`, 'busybox', 'cat', '/etc/app.conf'], cli), 'listen 8080\n');
    const w = await d[cli](['run', '--rm', '-v', `${conf}:/etc/app.conf:ro`, 'busybox', 'sh', '-c', 'echo x > /etc/app.conf']);
    assert.notEqual(w.code, 0, `${cli}: a :ro file bind took a write`);
  }
  assert.equal(await readFile(conf, 'utf8'), 'listen 8080\n');
});
