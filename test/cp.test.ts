import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tarOfEntries } from '../src/util/index.js';
import { startDaemon, type TestDaemon } from './harness.js';

let d: TestDaemon;
let local: string;
before(async () => {
  d = await startDaemon();
  local = await mkdtemp(join(tmpdir(), 'wharf-cp-'));
});
after(async () => {
  await d?.stop();
  if (local) await rm(local, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const tarOf = tarOfEntries;

/** PUT a raw tar to the archive endpoint, as a hostile client could. */
function putArchive(container: string, path: string, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: d.socket, method: 'PUT', path: `/v1.41/containers/${container}/archive?path=${encodeURIComponent(path)}&noOverwriteDirNonDir=1`, headers: { 'Content-Type': 'application/x-tar' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Waits until the container's command has made its files (HEAD answers 200). */
async function waitForPath(container: string, path: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await d.api('HEAD', `/containers/${container}/archive?path=${encodeURIComponent(path)}`);
    if (r.status === 200) return;
    await sleep(100);
  }
  throw new Error(`${path} never appeared in ${container}`);
}

/** Mount points whose path contains `part` (a container ID). */
function mountsOf(part: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && m.includes(part));
}

const SETUP = 'mkdir -p /data/sub && echo x > /data/sub/x && echo top > /data/top && ln -s /etc /data/etclink && sleep 1000';

for (const cli of ['docker', 'wharf'] as const) {
  const run = (args: string[], opts?: { input?: string | Buffer }) => d[cli](args, opts);
  const name = `cp-${cli}`;

  test(`${cli} cp: copies a file and a directory out of a running container`, async () => {
    assert.equal((await run(['run', '-d', '--name', name, 'busybox', 'sh', '-c', SETUP])).code, 0);
    await waitForPath(name, '/data/etclink');
    const out = join(local, cli);
    await mkdir(out);
    let r = await run(['cp', `${name}:/data/top`, join(out, 'top')]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
    assert.equal(await readFile(join(out, 'top'), 'utf8'), 'top\n');
    r = await run(['cp', `${name}:/data`, join(out, 'd')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(join(out, 'd/sub/x'), 'utf8'), 'x\n');
    assert.ok((await lstat(join(out, 'd/etclink'))).isSymbolicLink(), 'a link is copied as a link');
    // `dir/.` copies the contents into an existing directory.
    r = await run(['cp', `${name}:/data/sub/.`, out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(join(out, 'x'), 'utf8'), 'x\n');
    // `-` is a tar on stdout.
    r = await run(['cp', `${name}:/data/top`, '-']);
    assert.equal(r.code, 0);
    assert.ok(r.stdout.startsWith('top'), 'the tar starts with the entry name');
  });

  test(`${cli} cp: /etc/hosts of a running container is the container's own`, async () => {
    const file = join(local, `${cli}-hosts`);
    const r = await run(['cp', `${name}:/etc/hosts`, file]);
    assert.equal(r.code, 0, r.stderr);
    const inside = await run(['exec', name, 'cat', '/etc/hosts']);
    assert.equal(await readFile(file, 'utf8'), inside.stdout);
    assert.match(inside.stdout, /localhost/);
  });

  test(`${cli} cp: copies a file and a directory in, keeping owner and mode with -a`, async () => {
    const src = join(local, `${cli}-src`);
    await mkdir(join(src, 'dir'), { recursive: true });
    await writeFile(join(src, 'f.txt'), 'hello\n');
    await writeFile(join(src, 'dir', 'a'), 'a\n');
    await chown(join(src, 'f.txt'), 1234, 2345);
    await chmod(join(src, 'f.txt'), 0o640);
    await chown(join(src, 'dir'), 1234, 2345);
    await chmod(join(src, 'dir'), 0o750);
    let r = await run(['cp', '-a', join(src, 'f.txt'), `${name}:/tmp/`]);
    assert.deepEqual([r.code, r.stderr], [0, '']);
    r = await run(['cp', '-a', join(src, 'dir'), `${name}:/tmp/copied`]);
    assert.deepEqual([r.code, r.stderr], [0, '']);
    r = await run(['exec', name, 'stat', '-c', '%n %u:%g %a', '/tmp/f.txt', '/tmp/copied', '/tmp/copied/a']);
    assert.equal(r.stdout, '/tmp/f.txt 1234:2345 640\n/tmp/copied 1234:2345 750\n/tmp/copied/a 0:0 644\n');
    assert.equal((await run(['exec', name, 'cat', '/tmp/f.txt'])).stdout, 'hello\n');
  });

  test(`${cli} cp: errors are docker's`, async () => {
    let r = await run(['cp', `${name}:/nope`, local]);
    assert.deepEqual([r.code, r.stderr], [1, `Error response from daemon: Could not find the file /nope in container ${name}\n`]);
    r = await run(['cp', 'no-such-container:/etc/passwd', local]);
    assert.deepEqual([r.code, r.stderr], [1, 'Error response from daemon: No such container: no-such-container\n']);
    const file = join(local, `${cli}-file`);
    await writeFile(file, 'x');
    r = await run(['cp', `${name}:/data`, file]);
    assert.deepEqual([r.code, r.stderr], [1, 'cannot copy directory\n']);
    r = await run(['cp', `${name}:/etc/passwd`, join(local, 'nodir', 'x')]);
    assert.deepEqual([r.code, r.stderr], [1, `invalid output path: directory "${join(local, 'nodir')}" does not exist\n`]);
    r = await run(['cp', file, `${name}:/nope/`]);
    // docker's CLI may log that its tar writer lost the race with this error first.
    assert.deepEqual([r.code, r.stderr.split('\n').slice(-2)], [1, ['no such directory', '']]);
    r = await run(['cp', file, `${name}:/nope/x`]);
    assert.deepEqual([r.code, r.stderr], [1, `Error response from daemon: Could not find the file /nope in container ${name}\n`]);
    r = await run(['cp', file, local]);
    assert.deepEqual([r.code, r.stderr], [1, 'must specify at least one container source\n']);
  });

  test(`${cli} cp: works on a stopped container and leaves nothing mounted`, async () => {
    assert.equal((await run(['stop', '-t', '0', name])).code, 0);
    const src = join(local, `${cli}-stopped.txt`);
    await writeFile(src, 'while stopped\n');
    let r = await run(['cp', src, `${name}:/data/`]);
    assert.equal(r.code, 0, r.stderr);
    const back = join(local, `${cli}-back.txt`);
    r = await run(['cp', `${name}:/data/${cli}-stopped.txt`, back]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(back, 'utf8'), 'while stopped\n');
    // The hosts file written at its start is still the container's.
    r = await run(['cp', `${name}:/etc/hosts`, '-']);
    assert.match(r.stdout, /localhost/);
    const id = (await run(['inspect', '-f', '{{.Id}}', name])).stdout.trim();
    assert.deepEqual(mountsOf(id), [], 'the file system mounted for the copy is unmounted');
    assert.equal((await run(['start', name])).code, 0);
    r = await run(['exec', name, 'cat', `/data/${cli}-stopped.txt`]);
    assert.equal(r.stdout, 'while stopped\n');
  });
}

test('PUT archive: a tar cannot write outside the container root', async () => {
  const c = 'cp-evil';
  assert.equal((await d.docker(['run', '-d', '--name', c, 'busybox', 'sleep', '1000'])).code, 0);
  const marker = `wharf-cp-escape-${process.pid}`;
  for (const [entries, why] of [
    [[{ name: `../${marker}`, body: 'pwned' }], /escapes the root/],
    [[{ name: `a/../../${marker}`, body: 'pwned' }], /escapes the root/],
    [[{ name: 'h', type: 'link' as const, linkname: '../../etc/passwd' }], /escapes the root/],
    [[{ name: 'rel', type: 'symlink' as const, linkname: '../../..' }], /invalid symlink "\/tmp\/rel" -> "\.\.\/\.\.\/\.\."/],
  ] as const) {
    const r = await putArchive(c, '/tmp', await tarOf([...entries]));
    assert.equal(r.status, 400, r.body);
    assert.match(JSON.parse(r.body).message, why);
  }
  // A link to "/" is the container's root, never the host's.
  const r = await putArchive(c, '/tmp', await tarOf([{ name: 'evil', type: 'symlink', linkname: '/' }, { name: `evil/${marker}`, body: 'inside' }]));
  assert.equal(r.status, 200, r.body);
  assert.equal((await d.docker(['exec', c, 'cat', `/${marker}`])).stdout, 'inside');
  assert.equal(existsSync(`/${marker}`), false, 'nothing written at the host root');
  assert.equal(existsSync(`/tmp/${marker}`), false);
  assert.deepEqual((await readdir(d.dir)).filter((n) => n.includes(marker)), []);
  // The escapes were refused before writing anything: the container has no stray file either.
  assert.notEqual((await d.docker(['exec', c, 'ls', '/tmp/a'])).code, 0);
});
