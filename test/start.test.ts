/**
 * What container start's steps give the process, seen from inside the container: the volume
 * step's binds and tmpfs mounts, and the network step's /etc/hosts and /etc/resolv.conf.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type TestDaemon } from './harness.js';

let d: TestDaemon;
let host: string;
before(async () => {
  d = await startDaemon();
  host = await mkdtemp(join(tmpdir(), 'wharf-start-'));
  await writeFile(join(host, 'note'), 'from the host\n');
});
after(async () => {
  await d?.stop();
  if (host) await rm(host, { recursive: true, force: true });
});

for (const cli of ['docker', 'wharf'] as const) {
  test(`${cli}: binds (read-only and created), --tmpfs and --mount tmpfs reach the process`, async () => {
    const made = join(host, `made-${cli}`);
    const script = [
      'cat /ro/note',
      'touch /ro/x 2>/dev/null && echo ro-writable || echo ro-refused',
      'echo hi > /made/f && cat /made/f',
      // busybox prints "tmpfs on /scratch type tmpfs (rw,...,size=1024k)".
      "mount | grep ' /scratch ' | grep -o 'type tmpfs.*size=1024k' | cut -d' ' -f1-2",
      "mount | grep -c ' /t2 type tmpfs'",
      // exec: a program on the tmpfs runs (Docker's default would be noexec).
      "printf '#!/bin/sh\\necho exec-ok\\n' > /scratch/t && chmod +x /scratch/t && /scratch/t",
    ].join('; ');
    const r = await d[cli]([
      'run', '--rm', '-v', `${host}:/ro:ro`, '-v', `${made}:/made`, '--tmpfs', '/scratch:size=1m,exec', '--mount', 'type=tmpfs,target=/t2', 'busybox', 'sh', '-c', script,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'from the host\nro-refused\nhi\ntype tmpfs\n1\nexec-ok\n');
    // The missing -v source was created on the host, as Docker does, and holds what the container wrote.
    assert.deepEqual(await readdir(made), ['f']);
  });

  test(`${cli}: --add-host, --dns, --dns-search and --dns-option shape /etc/hosts and /etc/resolv.conf`, async () => {
    const r = await d[cli]([
      'run', '--rm', '--add-host', 'db.internal:10.1.2.3', '--dns', '10.9.9.9', '--dns-search', 'example.test', '--dns-option', 'ndots:2', 'busybox', 'sh', '-c', 'grep db.internal /etc/hosts; cat /etc/resolv.conf',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '10.1.2.3\tdb.internal\nnameserver 10.9.9.9\nsearch example.test\noptions ndots:2\n');
  });
}

test('a start that fails at the runtime step leaves nothing mounted, and a later start works', async () => {
  const name = 'fails-at-runtime';
  // A bind over a path the image has as a file, with a directory source: the runtime refuses it.
  const create = await d.docker(['create', '--name', name, '-v', `${host}:/bin/sh`, 'busybox', 'true']);
  assert.equal(create.code, 0, create.stderr);
  const start = await d.docker(['start', name]);
  assert.notEqual(start.code, 0);
  const id = (await d.docker(['inspect', '-f', '{{.Id}}', name])).stdout.trim();
  const { readFile } = await import('node:fs/promises');
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  assert.equal(mounts.includes(id), false, 'the container file system stays mounted after a failed start');
  assert.equal((await d.docker(['rm', name])).code, 0);
  const ok = await d.docker(['run', '--rm', 'busybox', 'echo', 'still fine']);
  assert.equal(ok.stdout, 'still fine\n');
});
