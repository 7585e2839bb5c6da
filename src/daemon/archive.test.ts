import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { absolutePath, goFileMode, goTime, statIn } from './archive.js';

test('goFileMode gives Go os.FileMode bits', () => {
  assert.equal(goFileMode(0o40755), 2147484141);
  assert.equal(goFileMode(0o120777), 134218239);
  assert.equal(goFileMode(0o100644), 420);
  assert.equal(goFileMode(0o41777), 2 ** 31 + 2 ** 20 + 0o777, 'sticky directory');
  assert.equal(goFileMode(0o20666), 2 ** 26 + 2 ** 21 + 0o666, 'character device');
});

test('goTime writes RFC 3339 with nanoseconds as Go does', () => {
  assert.equal(goTime(1_704_067_200_000_000_000n), '2024-01-01T00:00:00Z');
  assert.equal(goTime(1_704_067_200_656_086_550n), '2024-01-01T00:00:00.65608655Z');
});

test('absolutePath keeps a trailing / and /.', () => {
  assert.equal(absolutePath('data/sub/.'), '/data/sub/.');
  assert.equal(absolutePath('/data/../etc/'), '/etc/');
  assert.equal(absolutePath('/'), '/');
  assert.equal(absolutePath('/a//b'), '/a/b');
});

test('statIn resolves inside the root and through mounts', async () => {
  const base = await mkdtemp(join(tmpdir(), 'wharf-archive-'));
  try {
    const root = join(base, 'root');
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc/hosts'), '');
    await writeFile(join(base, 'hosts'), '127.0.0.1 localhost\n');
    await symlink('../../../..', join(root, 'up'));
    await symlink('/etc', join(root, 'etclink'));
    const view = { root, mounts: [{ target: '/etc/hosts', source: join(base, 'hosts') }] };
    const hosts = await statIn(view, '/etclink/hosts', 'c');
    assert.equal(hosts.stat.size, 20, 'the mounted file, not the one below it');
    const link = await statIn(view, '/etclink', 'c');
    assert.deepEqual([link.stat.name, link.stat.linkTarget, link.isDir], ['etclink', '/etc', false]);
    assert.equal((await statIn(view, '/etclink/', 'c')).isDir, true);
    // A link climbing out is clamped at the root: "up" is "/", not the host's directory.
    assert.equal((await statIn(view, '/up', 'c')).stat.linkTarget, '/');
    await assert.rejects(statIn(view, '/up/hosts', 'c'), /Could not find the file \/up\/hosts in container c/);
    await assert.rejects(statIn(view, '/etc/hosts/', 'c'), /not a directory/);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});
