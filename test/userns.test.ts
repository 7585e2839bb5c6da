/**
 * userns-remap, as a user of dockerd's `--userns-remap default` sees it: containers' root is an
 * unprivileged range of host IDs (the `dockremap` user's subordinate IDs, made at first start),
 * everything the daemon writes for them is owned by that range, every tar that leaves (cp,
 * export, commit, save) names the container's IDs, and the network, volumes and builds work.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { lgetxattr, lsetxattr } from '../src/util/index.js';
import { DOCKER, exec, startDaemon, WHARF, WHARFD, type TestDaemon } from './harness.js';

const REMAP_USER = 'dockremap';
let d: TestDaemon;
/** Whether this test made dockremap (so removes it again); on a host that had one, it stays. */
let madeUser = false;
let hostId = 0;
let dataRoot = '';

function subordinateStart(file: string): number {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${REMAP_USER}:`));
  assert.ok(line, `no ${REMAP_USER} line in ${file}`);
  return Number(line.split(':')[1]);
}

before(async () => {
  madeUser = spawnSync('getent', ['passwd', REMAP_USER]).status !== 0;
  d = await startDaemon(['--userns-remap', 'default']);
  hostId = subordinateStart('/etc/subuid');
  assert.equal(subordinateStart('/etc/subgid'), hostId, 'this test takes the same start for both kinds of IDs');
  dataRoot = join(d.dataRoot, `${hostId}.${hostId}`);
});

after(async () => {
  await d?.stop();
  // userdel also takes the user's lines out of /etc/subuid and /etc/subgid.
  if (madeUser) spawnSync('userdel', [REMAP_USER], { stdio: 'ignore' });
});

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** Every mount still below the test's directory: the namespace files (`<id>.user` too) must go with their containers. */
function mountsBelow(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => Boolean(m) && m.startsWith(dir));
}

test('the first start makes dockremap with subordinate IDs and a data root of its own, as info says', async () => {
  assert.ok(lstatSync(dataRoot).isDirectory());
  assert.equal(lstatSync(dataRoot).gid, hostId);
  const r = await d.docker(['info', '--format', '{{json .SecurityOptions}} {{.DockerRootDir}}']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /name=userns/);
  assert.equal(r.stdout.trim().split(' ').pop(), dataRoot);
});

for (const cli of ['docker', 'wharf'] as const) {
  const run = (args: string[]) => d[cli](args);

  test(`${cli}: root in a container is the remapped range; its volume's files are that range's on the host, and its ports answer`, async () => {
    const vol = `data-${cli}`;
    const port = cli === 'docker' ? 18931 : 18932;
    const r = await run(['run', '-d', '-v', `${vol}:/data`, '-p', `${port}:80`, 'busybox', 'sh', '-c', 'id -u > /data/who; touch /made; mkdir /www; echo served > /www/index.html; exec httpd -f -p 80 -h /www']);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    try {
      const map = await run(['exec', id, 'cat', '/proc/self/uid_map']);
      assert.equal(map.code, 0, map.stderr);
      assert.deepEqual(map.stdout.trim().split(/\s+/).map(Number), [0, hostId, 65536]);
      let body = '';
      for (let i = 0; i < 50 && !body; i++) body = await httpGet(port).catch(() => new Promise<string>((res) => setTimeout(() => res(''), 100)));
      assert.equal(body.trim(), 'served');
      const who = join(dataRoot, 'volumes', vol, '_data', 'who');
      assert.equal(readFileSync(who, 'utf8').trim(), '0');
      assert.equal(lstatSync(who).uid, hostId);
      assert.equal(lstatSync(join(dataRoot, 'volumes', vol, '_data')).uid, hostId);
      // As the container sees it, the image's files are root's.
      const ls = await run(['exec', id, 'stat', '-c', '%u:%g', '/bin', '/made']);
      assert.equal(ls.stdout.trim(), '0:0\n0:0');
    } finally {
      await run(['rm', '-f', id]);
      await run(['volume', 'rm', vol]);
    }
    assert.deepEqual(mountsBelow(d.dir).filter((m) => m.includes('/netns/')), []);
    assert.deepEqual(readdirSync(join(d.execRoot, 'netns')), []);
  });

  test(`${cli}: what a user namespace cannot share is refused with dockerd's texts, and --userns host runs without one`, async () => {
    const cases: [string[], RegExp][] = [
      [['--privileged'], /privileged mode is incompatible with user namespaces\.  You must run the container in the host namespace when running privileged mode/],
      [['--network', 'host'], /cannot share the host's network namespace when user namespaces are enabled/],
      [['--pid', 'host'], /cannot share the host PID namespace when user namespaces are enabled/],
    ];
    for (const [flags, text] of cases) {
      const r = await run(['run', '--rm', ...flags, 'busybox', 'true']);
      assert.equal(r.code, 125, `${flags.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, text);
    }
    const r = await run(['run', '--rm', '--userns', 'host', '--privileged', 'busybox', 'sh', '-c', 'cat /proc/self/uid_map; stat -c %u /bin']);
    assert.equal(r.code, 0, r.stderr);
    const [map, owner] = r.stdout.trim().split('\n');
    assert.deepEqual(map!.trim().split(/\s+/), ['0', '0', '4294967295']);
    // The layers are the remapped range's, whoever runs on them.
    assert.equal(Number(owner), hostId);
  });

  test(`${cli}: a remapped container cannot share the namespaces of a --userns host one, and says why; the other way round it can`, async () => {
    const hostNs = `hostns-${cli}`;
    const remapped = `remapped-${cli}`;
    try {
      for (const [name, flags] of [[hostNs, ['--userns', 'host']], [remapped, []]] as const) {
        const r = await run(['run', '-d', '--name', name, '--ipc', 'shareable', ...flags, 'busybox', 'sh', '-c', 'exec sleep 300']);
        assert.equal(r.code, 0, r.stderr);
      }
      const netnsBefore = readdirSync(join(d.execRoot, 'netns')).sort();
      for (const [flag, kind] of [['--pid', 'PID'], ['--ipc', 'IPC'], ['--network', 'network']] as const) {
        const r = await run(['run', '--rm', flag, `container:${hostNs}`, 'busybox', 'true']);
        assert.equal(r.code, 125, `${flag}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, new RegExp(`cannot join the ${kind} namespace of container ${hostNs}: it runs in the host's user namespace \\(--userns=host\\)`));
      }
      // Nothing of the refused starts is left behind.
      assert.deepEqual(readdirSync(join(d.execRoot, 'netns')).sort(), netnsBefore);
      const ps = await run(['run', '--rm', '--userns', 'host', '--pid', `container:${remapped}`, 'busybox', 'sh', '-c', 'cat /proc/self/uid_map; ps -o args']);
      assert.equal(ps.code, 0, ps.stderr);
      assert.deepEqual(ps.stdout.trim().split('\n')[0]!.trim().split(/\s+/), ['0', '0', '4294967295']);
      assert.match(ps.stdout, /^sleep 300$/m);
    } finally {
      await run(['rm', '-f', hostNs, remapped]);
    }
  });
}

test('cp, export, commit and save speak the container\'s IDs; a build\'s COPY --chown and ADD land in the range', async () => {
  const r = await d.docker(['run', '-d', '--name', 'files', 'busybox', 'sh', '-c', 'echo x > /owned; chown 1000:1001 /owned; exec sleep 300']);
  assert.equal(r.code, 0, r.stderr);
  const dir = join(d.dir, 'ctx');
  try {
    // A host file of root's, copied in, is the container's root's.
    const src = join(d.dir, 'in.txt');
    writeFileSync(src, 'in\n');
    assert.equal((await d.docker(['cp', src, 'files:/in.txt'])).code, 0);
    const st = await d.docker(['exec', 'files', 'stat', '-c', '%u:%g', '/in.txt', '/owned']);
    assert.equal(st.stdout.trim(), '0:0\n1000:1001');
    const out = await exec('sh', ['-c', `${DOCKER} cp files:/owned - | tar tv --numeric-owner`], { env: d.env });
    assert.match(out.stdout, /1000\/1001 .* owned/);
    const exported = await exec('sh', ['-c', `${DOCKER} export files | tar tv --numeric-owner | grep ' owned$'`], { env: d.env });
    assert.match(exported.stdout, /1000\/1001 .*owned/);
    assert.equal((await d.docker(['commit', 'files', 'remapped:1'])).code, 0);
    // Every file of the archive that is a tar (the layers) is listed; the JSON ones are not tars.
    const saved = join(d.dir, 'saved');
    const layer = await exec('sh', ['-c', `mkdir ${saved} && ${DOCKER} save remapped:1 | tar x -C ${saved} && find ${saved} -type f | while read f; do tar tv --numeric-owner -f "$f" 2>/dev/null; done | grep -E ' (in.txt|owned)$'`], { env: d.env });
    assert.match(layer.stdout, /0\/0 .* in\.txt/);
    assert.match(layer.stdout, /1000\/1001 .* owned/);

    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 't'), { recursive: true });
    writeFileSync(join(dir, 'f.txt'), 'f\n');
    writeFileSync(join(dir, 't', 'z'), 'z\n');
    assert.equal(spawnSync('tar', ['--owner=7', '--group=8', '-cf', join(dir, 'a.tar'), '-C', join(dir, 't'), 'z']).status, 0);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM remapped:1\nCOPY --chown=1234:1235 f.txt /home/\nADD a.tar /opt/\nRUN stat -c %u:%g /home/f.txt /opt/z /owned > /ids\n');
    const b = await d.docker(['build', '-q', '-t', 'remapped:2', dir], { env: { DOCKER_BUILDKIT: '0' } });
    assert.equal(b.code, 0, b.stderr);
    const ids = await d.docker(['run', '--rm', 'remapped:2', 'cat', '/ids']);
    assert.equal(ids.stdout.trim(), '1234:1235\n7:8\n1000:1001');
    // On the host, the layer's file is the range's.
    const found = spawnSync('find', [join(dataRoot, 'overlay', 'layers'), '-path', '*/diff/home/f.txt', '-printf', '%U:%G\n'], { encoding: 'utf8' });
    assert.equal(found.stdout.trim(), `${hostId + 1234}:${hostId + 1235}`);
  } finally {
    await d.docker(['rm', '-f', 'files']);
    await d.docker(['rmi', 'remapped:2', 'remapped:1']);
  }
});

test("wharf volume export and import speak the container's IDs and keep every extended attribute, as without remapping", async () => {
  const r = await d.docker(['run', '--rm', '-v', 'exported:/v', 'busybox', 'sh', '-c', 'echo e > /v/e; chown 1000:1001 /v/e; mkdir /v/d; ln -s e /v/l']);
  assert.equal(r.code, 0, r.stderr);
  const exportedData = join(dataRoot, 'volumes', 'exported', '_data');
  const attrs: [string, string, string][] = [
    ['e', 'user.color', 'blue'],
    ['d', 'user.dir', 'yes'],
    ['l', 'trusted.link', 'kept'],
  ];
  for (const [rel, name, value] of attrs) lsetxattr(join(exportedData, rel), name, value);
  const archive = join(d.dir, 'volume.tar');
  try {
    const out = await exec('sh', ['-c', `node ${JSON.stringify(WHARF)} volume export exported > ${archive} && tar tv --numeric-owner -f ${archive}`], { env: d.env });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /1000\/1001 .* e$/m);
    const imp = await exec('sh', ['-c', `node ${JSON.stringify(WHARF)} volume import imported < ${archive}`], { env: d.env });
    assert.equal(imp.code, 0, imp.stderr);
    const importedData = join(dataRoot, 'volumes', 'imported', '_data');
    const st = lstatSync(join(importedData, 'e'));
    assert.deepEqual([st.uid, st.gid], [hostId + 1000, hostId + 1001]);
    for (const [rel, name, value] of attrs) assert.equal(lgetxattr(join(importedData, rel), name)?.toString(), value, `${rel} ${name}`);
  } finally {
    await d.docker(['volume', 'rm', 'exported', 'imported']);
  }
});

test('a daemon whose remap user has no subordinate IDs does not start, and says why', async () => {
  const user = 'nobody';
  const dir = join(d.dir, 'bad');
  const r = await exec(process.execPath, [WHARFD, '-H', `unix://${join(dir, 's.sock')}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'run'), '--pidfile', join(dir, 'pid'), '--bridge', 'none', '--userns-remap', `${user}:nogroup`], { timeoutMs: 20_000 });
  assert.equal(r.code, 1);
  assert.match(r.stdout + r.stderr, /error creating ID mappings: no subuid ranges found for user \\?"nobody\\?"/);
  assert.equal(existsSync(join(dir, 'data', '65534.65534')), false);
});
