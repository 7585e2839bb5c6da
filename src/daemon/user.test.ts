import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveUser } from './user.js';

async function withRootfs(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'wharf-user-'));
  try {
    await mkdir(join(root, 'etc'));
    await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\nalice:x:1000:1000::/home/alice:/bin/sh\n');
    await writeFile(join(root, 'etc/group'), 'root:x:0:\ntty:x:5:\nwheel:x:10:alice\nnogroup:x:65534:\n');
    await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('the primary group is among the supplementary groups, as with Docker', async () => {
  await withRootfs(async (root) => {
    assert.deepEqual(await resolveUser(root, ''), { uid: 0, gid: 0, additionalGids: [0], home: '/root' });
    assert.deepEqual((await resolveUser(root, 'nobody')).additionalGids, [65534]);
    assert.deepEqual((await resolveUser(root, '1000:100', ['10', 'tty'])).additionalGids, [5, 10, 100]);
    assert.deepEqual((await resolveUser(root, 'alice')).additionalGids, [10, 1000]);
  });
});
