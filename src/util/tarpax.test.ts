import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chown, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { lgetxattr, lsetxattr } from './native.js';
import { paxRecords } from './tarpax.js';
import { packTree, readTarEntries, type PackOptions } from './tarpack.js';
import { untar } from './untar.js';

/**
 * `setcap cap_setuid,cap_net_bind_service+ep` as the kernel stores it (VFS_CAP_REVISION_2 with
 * the effective bit, then permitted and inheritable words): cap_setuid is 0x80, not valid UTF-8
 * on its own, the byte that tar-stream's text decoding turned into U+FFFD.
 */
const CAPS = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x80, 0x04, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const LONG = `${'dir-'.repeat(30)}/bïn-${'x'.repeat(80)}`;

async function inTemp(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-tarpax-test-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function packed(src: string, opts?: PackOptions): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of packTree(src, opts) as unknown as Readable) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** `tar` extracted by untar into `dir` (made here), as a layer is: owners from the headers. */
async function extracted(dir: string, tar: Buffer): Promise<string> {
  await mkdir(dir);
  await untar(Readable.from([tar]), { view: { root: dir }, owner: 'header' });
  return dir;
}

/** GNU tar's POSIX archive of what is in `src`, with every extended attribute. */
function gnuTar(src: string, ...extra: string[]): Buffer {
  return execFileSync('tar', ['--create', '--xattrs', '--xattrs-include=*', '--format=posix', ...extra, '-C', src, '.'], { maxBuffer: 1 << 24 });
}

async function capsTree(src: string): Promise<void> {
  await mkdir(join(src, LONG.split('/')[0]), { recursive: true });
  for (const rel of ['ping', LONG]) {
    await writeFile(join(src, rel), `#!/bin/sh\n# ${rel}\n`, { mode: 0o755 });
    lsetxattr(join(src, rel), 'security.capability', CAPS);
  }
  await writeFile(join(src, 'plain'), 'no capabilities\n');
}

test('tarpax: file capabilities survive packTree and untar as bytes, short and long (non-ASCII) names alike', async () => {
  await inTemp(async (dir) => {
    const src = join(dir, 'src');
    await capsTree(src);
    const tar = await packed(src);
    const out = await extracted(join(dir, 'out'), tar);
    assert.deepEqual(lgetxattr(join(out, 'ping'), 'security.capability'), CAPS);
    assert.deepEqual(lgetxattr(join(out, LONG), 'security.capability'), CAPS);
    assert.equal(lgetxattr(join(out, 'plain'), 'security.capability'), undefined);
    assert.equal(await readFile(join(out, LONG), 'utf8'), `#!/bin/sh\n# ${LONG}\n`);
    // The entries read back have their real names, and no PAX header shows as an entry.
    const names = (await readTarEntries(tar)).map((e) => e.header.name).sort();
    assert.deepEqual(names, [`${LONG.split('/')[0]}/`, LONG, 'ping', 'plain'].sort());
  });
});

test('tarpax: GNU tar reads the capabilities wharf writes, and wharf reads those GNU tar writes', async () => {
  await inTemp(async (dir) => {
    const src = join(dir, 'src');
    await capsTree(src);
    // Ours, extracted by GNU tar.
    const byGnu = join(dir, 'by-gnu');
    await mkdir(byGnu);
    const ours = await packed(src);
    execFileSync('tar', ['--extract', '--xattrs', '--xattrs-include=*', '-C', byGnu], { input: ours });
    assert.deepEqual(lgetxattr(join(byGnu, 'ping'), 'security.capability'), CAPS);
    assert.deepEqual(lgetxattr(join(byGnu, LONG), 'security.capability'), CAPS);
    // GNU tar's, extracted by untar: what a layer built elsewhere brings.
    const byUs = await extracted(join(dir, 'by-us'), gnuTar(src));
    assert.deepEqual(lgetxattr(join(byUs, 'ping'), 'security.capability'), CAPS);
    assert.deepEqual(lgetxattr(join(byUs, LONG), 'security.capability'), CAPS);
  });
});

test('tarpax: PAX records keep binary values, and parsing stops at a malformed record', () => {
  const rec = (key: string, value: Buffer) => {
    const rest = Buffer.byteLength(key) + value.length + 3;
    const len = rest + String(rest + 2).length;
    return Buffer.concat([Buffer.from(`${len} ${key}=`), value, Buffer.from('\n')]);
  };
  const body = Buffer.concat([rec('path', Buffer.from('bïn/ping')), rec('SCHILY.xattr.security.capability', CAPS), Buffer.from('garbage without length\n')]);
  const records = paxRecords(body);
  assert.deepEqual(records.map(([k]) => k), ['path', 'SCHILY.xattr.security.capability']);
  assert.equal(records[0][1].toString(), 'bïn/ping');
  assert.deepEqual(records[1][1], CAPS);
});

test('tarpax: a global PAX header\'s attributes reach no entry, as in Docker; an entry\'s own do', async () => {
  await inTemp(async (dir) => {
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'f'), 'f');
    lsetxattr(join(src, 'f'), 'user.own', 'mine');
    // keyword=value: GNU tar puts it in a global header at the start of the archive.
    const gnu = gnuTar(src, '--pax-option=SCHILY.xattr.user.global=g');
    assert.ok(gnu.includes('user.global=g'));
    const out = await extracted(join(dir, 'out'), gnu);
    assert.equal(lgetxattr(join(out, 'f'), 'user.global'), undefined);
    assert.equal(lgetxattr(join(out, 'f'), 'user.own')?.toString(), 'mine');
  });
});

test('tarpax: overlayfs attributes in an archive are not applied', async () => {
  await inTemp(async (dir) => {
    const src = join(dir, 'src');
    await mkdir(join(src, 'd'), { recursive: true });
    lsetxattr(join(src, 'd'), 'trusted.overlay.opaque', 'y');
    lsetxattr(join(src, 'd'), 'user.kept', 'yes');
    const out = await extracted(join(dir, 'out'), gnuTar(src));
    assert.equal(lgetxattr(join(out, 'd'), 'trusted.overlay.opaque'), undefined);
    assert.equal(lgetxattr(join(out, 'd'), 'user.kept')?.toString(), 'yes');
  });
});

test('tarpax: a remapped root\'s namespaced capabilities (revision 3) are packed as plain ones (revision 2)', async () => {
  await inTemp(async (dir) => {
    const src = join(dir, 'src');
    await mkdir(src);
    const idmap = { uids: [{ containerId: 0, hostId: 100000, size: 65536 }], gids: [{ containerId: 0, hostId: 100000, size: 65536 }] };
    // What the kernel keeps of `setcap cap_setuid+ep` run by a root that is host UID 100000.
    const v3 = Buffer.alloc(24);
    CAPS.copy(v3);
    v3.writeUInt32LE(0x03000001, 0);
    v3.writeUInt32LE(100000, 20);
    const other = Buffer.from(v3);
    other.writeUInt32LE(200000, 20);
    for (const [name, value] of [['mine', v3], ['other', other]] as const) {
      await writeFile(join(src, name), name);
      // The owner first: chown clears capabilities.
      await chown(join(src, name), 100000, 100000);
      lsetxattr(join(src, name), 'security.capability', value);
    }
    const out = await extracted(join(dir, 'out'), await packed(src, { idmap }));
    assert.deepEqual(lgetxattr(join(out, 'mine'), 'security.capability'), CAPS);
    // Another namespace's stays that namespace's.
    assert.deepEqual(lgetxattr(join(out, 'other'), 'security.capability'), other);
  });
});

test("tarpax: packTree with xattrs 'all' keeps every attribute of files, directories and links, as GNU tar's --xattrs does; by default only capabilities", async () => {
  await inTemp(async (dir) => {
    const src = join(dir, 'src');
    await capsTree(src);
    await mkdir(join(src, 'd'));
    await symlink('ping', join(src, 'link'));
    const attrs: [string, string, string][] = [
      ['ping', 'user.color', 'blue'],
      ['ping', 'trusted.origin', 'build 7'],
      ['d', 'user.dir', 'yes'],
      ['link', 'trusted.link', 'kept'],
    ];
    for (const [rel, name, value] of attrs) lsetxattr(join(src, rel), name, value);
    const expectAll = (out: string) => {
      for (const [rel, name, value] of attrs) assert.equal(lgetxattr(join(out, rel), name)?.toString(), value, `${rel} ${name}`);
      assert.deepEqual(lgetxattr(join(out, 'ping'), 'security.capability'), CAPS);
    };
    const all = await packed(src, { xattrs: 'all' });
    expectAll(await extracted(join(dir, 'ours'), all));
    const byGnu = join(dir, 'by-gnu');
    await mkdir(byGnu);
    execFileSync('tar', ['--extract', '--xattrs', '--xattrs-include=*', '-C', byGnu], { input: all });
    expectAll(byGnu);

    const plain = await extracted(join(dir, 'plain'), await packed(src));
    assert.deepEqual(lgetxattr(join(plain, 'ping'), 'security.capability'), CAPS);
    for (const [rel, name] of attrs) assert.equal(lgetxattr(join(plain, rel), name), undefined, `${rel} ${name} is not a layer's`);
  });
});
