/**
 * `debian:<suite>` images made from the Debian archive with mmdebstrap (DESIGN.md decision 7):
 * pulled by any of their names, made once for concurrent pulls, apt works inside through
 * wharf's NAT, and a failed make leaves nothing behind. Skipped, saying why, when mmdebstrap or
 * the archive is not there.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { startDaemon, type TestDaemon } from './harness.js';

const MIRROR = process.env.WHARF_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';

function archiveReachable(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${MIRROR}/dists/bookworm/Release`, { method: 'HEAD', timeout: 10_000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

let skip: string | false = false;
let d: TestDaemon | undefined;

before(async () => {
  if (spawnSync('mmdebstrap', ['--version']).status !== 0) skip = 'mmdebstrap is not installed (scripts/install-deps.sh installs it)';
  else if (!(await archiveReachable())) skip = `the Debian archive (${MIRROR}) is unreachable`;
  if (skip) return;
  d = await startDaemon([], JSON.stringify({ 'debian-mirror': MIRROR }));
});
after(async () => {
  await d?.stop();
});

const LONG = { timeoutMs: 15 * 60_000 };

test('concurrent pulls of one suite by two names make it once; both names tag the same image', async (t) => {
  if (skip || !d) return t.skip(skip || 'no daemon');
  const t0 = Date.now();
  const [a, b] = await Promise.all([d.docker(['pull', 'debian:bookworm'], LONG), d.docker(['pull', 'docker.io/library/debian:12'], LONG)]);
  t.diagnostic(`made debian:bookworm in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(a.code, 0, a.stderr + a.stdout);
  assert.equal(b.code, 0, b.stderr + b.stdout);
  assert.match(a.stdout, /bookworm: Pulling from library\/debian/);
  assert.match(a.stdout, /Status: Downloaded newer image for debian:bookworm/);
  assert.match(b.stdout, /Status: Downloaded newer image for debian:12/);
  assert.match(a.stdout, /mmdebstrap: Making from the Debian archive/);
  assert.equal(d.log().match(/making a Debian image/g)?.length, 1, d.log());

  const ids = await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}', 'debian']);
  const lines = ids.stdout.trim().split('\n').sort();
  assert.equal(lines.length, 2, ids.stdout);
  assert.equal(lines[0].split(' ')[1], lines[1].split(' ')[1]);
  assert.deepEqual(lines.map((l) => l.split(' ')[0]), ['debian:12', 'debian:bookworm']);

  const inspect = await d.docker(['image', 'inspect', '--format', '{{json .Config.Cmd}} {{json .Config.Env}} {{.Architecture}} {{.Os}} {{len .RootFS.Layers}}', 'debian:bookworm']);
  assert.equal(inspect.stdout.trim(), `["bash"] ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] ${process.arch === 'x64' ? 'amd64' : process.arch} linux 1`);

  // Already here: up to date, nothing made.
  const again = await d.docker(['pull', 'debian:12']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /Image is up to date for (docker\.io\/library\/)?debian:12/);
  assert.equal(d.log().match(/making a Debian image/g)?.length, 1);
  // No work files left.
  assert.deepEqual(await readdir(join(d.dataRoot, 'image', 'tmp')), []);
});

test('apt inside reaches the Debian archive through wharf\'s NAT', async (t) => {
  if (skip || !d) return t.skip(skip || 'no daemon');
  const t0 = Date.now();
  const r = await d.wharf(
    ['run', '--rm', 'debian:bookworm', 'sh', '-c', '(apt-get update && (apt-get install -y --no-install-recommends nginx-light || apt-get install -y nginx)) >/dev/null && nginx -v && cat /etc/os-release'],
    LONG,
  );
  t.diagnostic(`apt-get update + install nginx in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stderr + r.stdout, /nginx version: nginx\//);
  assert.match(r.stdout, /VERSION_CODENAME=bookworm/);
});

test('-slim leaves the documentation out and keeps it out of later installs', async (t) => {
  if (skip || !d) return t.skip(skip || 'no daemon');
  const p = await d.docker(['pull', 'debian:bookworm-slim'], LONG);
  assert.equal(p.code, 0, p.stderr + p.stdout);
  const r = await d.docker(['run', '--rm', 'debian:bookworm-slim', 'sh', '-c', 'ls /usr/share/man | wc -l; ls /usr/share/doc/bash; du -s /usr/share/locale 2>/dev/null | cut -f1']);
  assert.equal(r.code, 0, r.stderr);
  const [man, copyright] = r.stdout.trim().split('\n');
  assert.equal(man, '0');
  assert.equal(copyright, 'copyright');
  const sizes = await d.docker(['images', '--format', '{{.Tag}} {{.Size}}', 'debian']);
  t.diagnostic(sizes.stdout.trim().replace(/\n/g, ', '));
});

test('a failed make leaves no image, layer, blob or work file; other names go to the registry', async (t) => {
  if (skip) return t.skip(skip);
  // Nothing listens on port 9: apt fails at once.
  const bad = await startDaemon([], JSON.stringify({ 'debian-mirror': 'http://127.0.0.1:9/debian' }));
  try {
    const blobs = join(bad.dataRoot, 'image', 'blobs', 'sha256');
    const before = (await readdir(blobs)).sort();
    const r = await bad.docker(['pull', 'debian:trixie'], LONG);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /mmdebstrap failed/);
    assert.match(r.stderr, /127\.0\.0\.1:9/);
    assert.deepEqual((await readdir(blobs)).sort(), before);
    assert.deepEqual(await readdir(join(bad.dataRoot, 'image', 'tmp')), []);
    const imgs = await bad.docker(['images', '-q', 'debian']);
    assert.equal(imgs.stdout, '');
    const overlay = await bad.docker(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
    assert.match(overlay.stdout, /Images 1/);

    const other = await bad.docker(['pull', 'nginx']);
    assert.notEqual(other.code, 0);
    // Other names go to their registry (Docker Hub, unreachable from the test machines or not).
    assert.match(other.stderr, /registry-1\.docker\.io|pull access denied for nginx|manifest for nginx/);
  } finally {
    await bad.stop();
  }
});
