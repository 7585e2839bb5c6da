import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
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
    // docker's CLI may log, before or after this error, that its tar writer lost the race with it.
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(r.code, 1);
    assert.ok(lines.includes('no such directory'), r.stderr);
    assert.ok(lines.every((l) => l === 'no such directory' || /level=error msg="Can't (add file .* to tar|close tar writer): io: read\/write on closed pipe"$/.test(l)), r.stderr);
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

/** GET archive, reading `first` bytes, then nothing until `resume` is called: a slow client. */
function slowArchive(container: string, path: string): Promise<{ status: number; first: number; resume(): Promise<number> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: d.socket, method: 'GET', path: `/v1.41/containers/${container}/archive?path=${encodeURIComponent(path)}` }, (res) => {
      let total = 0;
      const ended = new Promise<number>((r) => res.on('end', () => r(total)));
      res.once('data', (c: Buffer) => {
        total += c.length;
        res.pause();
        res.on('data', (more: Buffer) => (total += more.length));
        resolve({ status: res.statusCode ?? 0, first: total, resume: () => (res.resume(), ended) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test('cp: a running container keeps running while a large copy streams to a slow client', async () => {
  const c = 'cp-slow';
  assert.equal((await d.docker(['run', '-d', '--name', c, 'busybox', 'sh', '-c', 'dd if=/dev/zero of=/big bs=1M count=64 2>/dev/null && touch /ready && sleep 1000'])).code, 0);
  await waitForPath(c, '/ready');
  const slow = await slowArchive(c, '/big');
  assert.equal(slow.status, 200);
  // While the client reads nothing, the container is neither paused nor blocked.
  assert.equal((await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', c])).stdout, 'running false\n');
  const r = await d.docker(['exec', c, 'sh', '-c', 'echo alive > /alive && cat /alive']);
  assert.deepEqual([r.code, r.stdout], [0, 'alive\n']);
  const total = await slow.resume();
  assert.ok(total >= 64 * 1024 * 1024, `the whole file came (${total} bytes)`);
});

test('cp: a parent that is a symlink out of the root leads nowhere outside, in either direction', async () => {
  const host = await mkdtemp(join(tmpdir(), 'wharf-cp-host-'));
  try {
    await writeFile(join(host, 'secret'), 'host secret\n');
    const c = 'cp-links';
    // Absolute and relative links to the host directory's path, made by the container's own processes.
    const rel = '../../../../../../../..' + host;
    assert.equal((await d.docker(['run', '-d', '--name', c, 'busybox', 'sh', '-c', `ln -s ${host} /abs && mkdir -p /a/b && ln -s ${rel} /a/b/rel && touch /ready && sleep 1000`])).code, 0);
    await waitForPath(c, '/ready');
    const file = join(local, 'overwrite');
    await writeFile(file, 'from the client\n');
    for (const link of ['/abs', '/a/b/rel']) {
      // Out: the host's file is not what the container's path names.
      let r = await d.docker(['cp', `${c}:${link}/secret`, '-']);
      assert.equal(r.code, 1, `${link}: ${r.stdout}`);
      assert.doesNotMatch(r.stdout, /host secret/);
      // In: nothing is written into the host directory, whether the copy fails or lands inside the container.
      r = await d.docker(['cp', file, `${c}:${link}/secret`]);
      r = await d.docker(['cp', file, `${c}:${link}/`]);
      assert.deepEqual(await readdir(host), ['secret']);
      assert.equal(await readFile(join(host, 'secret'), 'utf8'), 'host secret\n');
    }
    // Through the raw API too: a tar whose parent directory is the link.
    const put = await putArchive(c, '/abs', await tarOf([{ name: 'secret', body: 'pwned' }]));
    assert.notEqual(put.status, 200, put.body);
    assert.equal(await readFile(join(host, 'secret'), 'utf8'), 'host secret\n');
    // The same links when the container is stopped: the daemon resolves them inside the root itself.
    assert.equal((await d.docker(['stop', '-t', '0', c])).code, 0);
    for (const link of ['/abs', '/a/b/rel']) {
      const r = await d.docker(['cp', `${c}:${link}/secret`, '-']);
      assert.equal(r.code, 1);
      await d.docker(['cp', file, `${c}:${link}/`]);
      assert.deepEqual(await readdir(host), ['secret']);
    }
  } finally {
    await rm(host, { recursive: true, force: true });
  }
});

test('GET archive of a running container: a directory swapped for a link to a host path mid-copy never leads the copy there', async () => {
  const host = await mkdtemp(join(tmpdir(), 'wharf-cp-race-'));
  const marker = `wharf-host-only-${process.pid}`;
  const FILES = 200;
  try {
    // The host directory has the same names as the container's, so a copy led there mid-way finds them.
    for (let i = 0; i < FILES; i++) await writeFile(join(host, `f${i}`), `${marker}\n`);
    const c = 'cp-race';
    // The container's processes keep putting a link to the host directory's path where /race/sub
    // is, half of the time, while a copy reads its files.
    const swap = [
      `mkdir -p /race/sub && for i in $(seq 0 ${FILES - 1}); do echo inside > /race/sub/f$i; done && touch /ready`,
      `while true; do mv /race/sub /race/held; ln -s ${host} /race/sub; usleep 3000; rm /race/sub; mv /race/held /race/sub; usleep 3000; done`,
    ].join(' && ');
    assert.equal((await d.docker(['run', '-d', '--name', c, '--network', 'none', 'busybox', 'sh', '-c', swap])).code, 0);
    await waitForPath(c, '/ready');
    let withInside = 0;
    const until = Date.now() + 20_000;
    for (let i = 0; i < 100 && Date.now() < until; i++) {
      // A copy may fail when it meets a link where it found a directory; it never reads the host's files.
      const r = await d.api('GET', `/containers/${c}/archive?path=/race`).catch(() => undefined);
      if (!r) continue;
      assert.doesNotMatch(r.body, new RegExp(marker), `round ${i}: the host's files came with the copy`);
      if (r.body.includes('inside\n')) withInside++;
    }
    assert.ok(withInside > 0, 'some copies found the directory in place');
  } finally {
    await d.docker(['rm', '-f', 'cp-race']);
    await rm(host, { recursive: true, force: true });
  }
});

test('PUT archive into a running container: a directory swapped for a link to a host path mid-copy never leads the copy there', async () => {
  const host = await mkdtemp(join(tmpdir(), 'wharf-cp-put-race-'));
  const FILES = 100;
  try {
    await writeFile(join(host, 'keep'), 'host\n');
    await chmod(join(host, 'keep'), 0o600);
    await chmod(host, 0o700);
    const c = 'cp-put-race';
    const swap = [
      'mkdir -p /race/sub && touch /ready',
      `while true; do mv /race/sub /race/held; ln -s ${host} /race/sub; usleep 2000; rm /race/sub; mv /race/held /race/sub; usleep 2000; done`,
    ].join(' && ');
    assert.equal((await d.docker(['run', '-d', '--name', c, '--network', 'none', 'busybox', 'sh', '-c', swap])).code, 0);
    await waitForPath(c, '/ready');
    // Directories with modes of their own, files, a directory below: every kind of write that a
    // link in the way could carry to the host.
    const tar = await tarOf([
      { name: 'sub/', type: 'directory', mode: 0o777 },
      ...Array.from({ length: FILES }, (_, i) => ({ name: `sub/f${i}`, body: 'copied\n', mode: 0o666 })),
      { name: 'sub/n/', type: 'directory', mode: 0o777 },
      { name: 'sub/n/g', body: 'copied\n' },
    ]);
    let whole = 0;
    const until = Date.now() + 20_000;
    for (let i = 0; i < 60 && Date.now() < until; i++) {
      // A copy may fail when it meets a link where it made a directory; it never writes on the host.
      const r = await putArchive(c, '/race', tar);
      if (r.status === 200) whole++;
      assert.deepEqual(await readdir(host), ['keep'], `round ${i}: the copy wrote in the host's directory`);
    }
    assert.ok(whole > 0, 'some copies found the directory in place');
    assert.equal((await stat(host)).mode & 0o7777, 0o700, "the host directory's mode");
    assert.equal((await stat(join(host, 'keep'))).mode & 0o7777, 0o600);
    assert.equal(await readFile(join(host, 'keep'), 'utf8'), 'host\n');
    assert.equal((await d.docker(['inspect', '-f', '{{.State.Running}}', c])).stdout.trim(), 'true');
  } finally {
    await d.docker(['rm', '-f', 'cp-put-race']);
    await rm(host, { recursive: true, force: true });
  }
});

test('PUT archive: a tar with .. entries writes nothing, running or stopped', async () => {
  const c = 'cp-dotdot';
  assert.equal((await d.docker(['run', '-d', '--name', c, 'busybox', 'sleep', '1000'])).code, 0);
  const marker = `wharf-cp-dotdot-${process.pid}`;
  for (const state of ['running', 'stopped']) {
    if (state === 'stopped') assert.equal((await d.docker(['stop', '-t', '0', c])).code, 0);
    const r = await putArchive(c, '/tmp', await tarOf([{ name: 'ok', body: 'fine' }, { name: `../../../../${marker}`, body: 'pwned' }]));
    assert.equal(r.status, 400, `${state}: ${r.body}`);
    assert.match(JSON.parse(r.body).message, /escapes the root/);
    assert.equal(existsSync(`/${marker}`), false, `${state}: nothing at the host root`);
    assert.equal(existsSync(`/tmp/${marker}`), false);
  }
});

test('HEAD archive of a running container: the same stats as once it has stopped, links resolved inside, a volume seen through', async () => {
  const c = 'cp-stat';
  const host = await mkdtemp(join(tmpdir(), 'wharf-cp-stat-'));
  try {
    // A host-only file that no lookup inside the container may find.
    await writeFile(join(host, 'only-on-host'), 'host');
    const setup = [
      'mkdir -p /s/dir && printf 12345 > /s/dir/f && chmod 640 /s/dir/f',
      'ln -s /s/dir /s/abs && ln -s ../s/dir/f /s/rel && ln -s /nowhere/x /s/dangling',
      `ln -s ../../../../../../..${host} /s/up && printf vol > /v/in-volume`,
      'sleep 1000',
    ].join(' && ');
    assert.equal((await d.docker(['run', '-d', '--name', c, '-v', 'cp-stat-vol:/v', 'busybox', 'sh', '-c', setup])).code, 0);
    await waitForPath(c, '/s/up');
    const paths = ['/s/dir/f', '/s/abs', '/s/abs/', '/s/abs/f', '/s/rel', '/s/dangling', '/s/up', '/v/in-volume', '/s/../s/dir/f'];
    const stats = async () => {
      const out: Record<string, unknown> = {};
      for (const p of paths) {
        const r = await d.api('HEAD', `/containers/${c}/archive?path=${encodeURIComponent(p)}`);
        const header = r.headers['x-docker-container-path-stat'];
        out[p] = r.status === 200 ? JSON.parse(Buffer.from(String(header), 'base64').toString()) : r.status;
      }
      for (const p of [`/s/up/only-on-host`, `${host}/only-on-host`]) {
        out[p] = (await d.api('HEAD', `/containers/${c}/archive?path=${encodeURIComponent(p)}`)).status;
      }
      return out;
    };
    const running = await stats();
    assert.deepEqual(
      Object.fromEntries(['/s/dir/f', '/s/abs', '/s/rel', '/s/dangling', '/s/up', '/v/in-volume'].map((p) => [p, [(running[p] as { size: number }).size, (running[p] as { linkTarget: string }).linkTarget]])),
      { '/s/dir/f': [5, ''], '/s/abs': [6, '/s/dir'], '/s/rel': [10, '/s/dir/f'], '/s/dangling': [10, '/nowhere/x'], '/s/up': [host.length + 20, host], '/v/in-volume': [3, ''] },
    );
    assert.equal((running['/s/dir/f'] as { mode: number }).mode, 0o640);
    assert.equal(running['/s/up/only-on-host'], 404);
    assert.equal(running[`${host}/only-on-host`], 404);
    assert.equal((await d.docker(['stop', '-t', '0', c])).code, 0);
    assert.deepEqual(await stats(), running);
  } finally {
    await d.docker(['rm', '-f', '-v', c]);
    await d.docker(['volume', 'rm', 'cp-stat-vol']);
    await rm(host, { recursive: true, force: true });
  }
});
