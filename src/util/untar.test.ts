import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { untar } from './untar.js';

/** A tar of `entries`, streamed in 64 KiB chunks as a socket would bring it. */
function tarStream(entries: { name: string; body?: Buffer; type?: 'directory'; mode?: number; mtime?: Date; uid?: number }[]): Readable {
  const p = pack();
  for (const e of entries) p.entry({ name: e.name, type: e.type ?? 'file', mode: e.mode ?? 0o644, mtime: e.mtime, uid: e.uid ?? 0, gid: 0 }, e.body ?? Buffer.alloc(0));
  p.finalize();
  return p as unknown as Readable;
}

test('untar: new files, large ones streamed chunk by chunk, keep bytes, mode, owner and time, also with noOverwriteDirNonDir (docker cp)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-untar-test-'));
  try {
    const big = randomBytes(3 * 1024 * 1024 + 17);
    const small = randomBytes(4096);
    const mtime = new Date(1_600_000_000_000);
    for (const noOverwriteDirNonDir of [false, true]) {
      const into = join(dir, String(noOverwriteDirNonDir));
      await mkdir(into);
      await untar(tarStream([{ name: 'd/', type: 'directory' }, { name: 'd/big', body: big, mode: 0o640, mtime, uid: 1234 }, { name: 'd/small', body: small, mode: 0o600, mtime }]), { view: { root: into }, owner: 'header', noOverwriteDirNonDir });
      assert.deepEqual(await readFile(join(into, 'd/big')), big);
      assert.deepEqual(await readFile(join(into, 'd/small')), small);
      const st = await stat(join(into, 'd/big'));
      assert.deepEqual([st.mode & 0o7777, st.uid, st.mtimeMs], [0o640, 1234, mtime.getTime()]);
      assert.equal((await stat(join(into, 'd/small'))).mode & 0o7777, 0o600);
    }
    // A path that exists still meets the rule: a file does not replace a directory.
    await assert.rejects(untar(tarStream([{ name: 'd', body: small }]), { view: { root: join(dir, 'true') }, owner: 'header', noOverwriteDirNonDir: true, label: '/dst' }), /cannot overwrite directory "\/dst\/d" with non-directory "\/dst"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
