import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../util/index.js';
import { resolveRemappedRoot, type AccountFiles } from './userns.js';

let dir = '';
let files: AccountFiles;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-userns-test-'));
  files = { passwd: join(dir, 'passwd'), group: join(dir, 'group'), subuid: join(dir, 'subuid'), subgid: join(dir, 'subgid') };
  await writeFile(files.passwd, 'root:x:0:0:root:/root:/bin/bash\nann:x:1001:1001::/home/ann:/bin/sh\nbob:x:1002:1002::/:/bin/false\nnone:x:1003:1003::/:/bin/false\n');
  await writeFile(files.group, 'root:x:0:\nann:x:1001:\nbob:x:1002:\nstaff:x:50:\nnone:x:1003:\n');
  // bob's ranges are named by his uid on one line and his name on the other, as shadow allows.
  await writeFile(files.subuid, 'ann:100000:65536\n1002:200000:1000\nbob:300000:64536\n');
  await writeFile(files.subgid, 'ann:400000:65536\nbob:500000:65536\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const resolve = (spec: string, create?: (name: string, f: AccountFiles) => Promise<void>) => resolveRemappedRoot(spec, silentLogger, files, create);

test('a user name, a uid and user:group resolve to that user\'s ranges, numbered on from 0 inside', async () => {
  assert.deepEqual(await resolve('ann'), { user: 'ann', group: 'ann', idmap: { uids: [{ containerId: 0, hostId: 100000, size: 65536 }], gids: [{ containerId: 0, hostId: 400000, size: 65536 }] } });
  const bob = await resolve('1002:staff');
  assert.equal(bob?.user, 'bob');
  assert.equal(bob?.group, 'staff');
  assert.deepEqual(bob?.idmap.uids, [
    { containerId: 0, hostId: 200000, size: 1000 },
    { containerId: 1000, hostId: 300000, size: 64536 },
  ]);
  assert.equal((await resolve('ann:50'))?.group, 'staff');
  assert.equal(await resolve('root'), undefined);
});

test("what cannot resolve is refused in dockerd's words", async () => {
  await assert.rejects(resolve('a:b:c'), { message: 'Invalid user/group specification in --userns-remap: "a:b:c"' });
  await assert.rejects(resolve('4242'), { message: 'Uid 4242 has no entry in /etc/passwd' });
  await assert.rejects(resolve('nosuch'), { message: 'Error during uid lookup for "nosuch": no such user' });
  await assert.rejects(resolve('ann:nogrp'), { message: 'Error during groupname lookup for "nogrp": no such group' });
  await assert.rejects(resolve('none'), { message: 'error creating ID mappings: no subuid ranges found for user "none"' });
});

test('default makes dockremap once, then takes its ranges', async () => {
  const made: string[] = [];
  const create = async (name: string, f: AccountFiles) => {
    made.push(name);
    await appendFile(f.passwd, `${name}:x:999:999::/:/bin/false\n`);
    await appendFile(f.group, `${name}:x:999:\n`);
    await appendFile(f.subuid, `${name}:600000:65536\n`);
    await appendFile(f.subgid, `${name}:700000:65536\n`);
  };
  const first = await resolve('default', create);
  assert.deepEqual(made, ['dockremap']);
  assert.deepEqual(first?.idmap.uids, [{ containerId: 0, hostId: 600000, size: 65536 }]);
  assert.equal((await resolve('default', create))?.idmap.gids[0]?.hostId, 700000);
  assert.deepEqual(made, ['dockremap']);
});
