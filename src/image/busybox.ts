import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import { run } from '../util/index.js';
import { goArch, type ImageConfig } from './types.js';

// Fixed times and owners make the layer, and so the image ID, the same on every machine with the same busybox.
const EPOCH = new Date('2024-01-01T00:00:00Z');

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/bin/false',
  'bin:x:2:2:bin:/bin:/bin/false',
  'sys:x:3:3:sys:/dev:/bin/false',
  'nobody:x:65534:65534:nobody:/home:/bin/false',
  '',
].join('\n');
const GROUP = ['root:x:0:', 'daemon:x:1:', 'bin:x:2:', 'sys:x:3:', 'tty:x:5:', 'nogroup:x:65534:', ''].join('\n');

const DIRS: [string, number][] = [
  ['bin', 0o755],
  ['dev', 0o755],
  ['etc', 0o755],
  ['home', 0o755],
  ['proc', 0o555],
  ['root', 0o700],
  ['sys', 0o555],
  ['tmp', 0o1777],
  ['usr', 0o755],
  ['var', 0o755],
];

/**
 * The layer tarball of the default image: Debian's static busybox and its applets, a minimal /etc.
 * A stream, the binary read in chunks: held whole (binary, tar chunks, their concatenation),
 * the 2 MB layer grew a new daemon's resident memory by 6 MB for good (#12).
 */
export async function busyboxLayer(busyboxPath: string): Promise<Readable> {
  const st = await stat(busyboxPath);
  const mode = st.mode & 0o755;
  const list = await run(busyboxPath, ['--list']);
  if (list.code !== 0) throw new Error(`${busyboxPath} --list failed: ${list.stderr.trim()}`);
  const applets = [...new Set(list.stdout.split('\n').map((s) => s.trim()).filter((s) => s && s !== 'busybox' && !s.includes('/')))].sort();

  const base = { uid: 0, gid: 0, mtime: EPOCH, uname: '', gname: '' };
  const entries: { name: string; body?: Buffer; file?: string; header: Record<string, unknown> }[] = [];
  for (const [d, m] of DIRS) entries.push({ name: `${d}/`, header: { type: 'directory', mode: m } });
  entries.push({ name: 'bin/busybox', file: busyboxPath, header: { type: 'file', mode: mode || 0o755, size: st.size } });
  for (const a of applets) entries.push({ name: `bin/${a}`, header: { type: 'symlink', linkname: 'busybox', mode: 0o777 } });
  entries.push({ name: 'etc/group', body: Buffer.from(GROUP), header: { type: 'file', mode: 0o644 } });
  entries.push({ name: 'etc/passwd', body: Buffer.from(PASSWD), header: { type: 'file', mode: 0o644 } });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const p = pack();
  const write = async () => {
    for (const e of entries) {
      await new Promise<void>((resolve, reject) => {
        const header = { size: e.body?.length ?? 0, ...base, ...e.header, name: e.name };
        if (!e.file) return void p.entry(header, e.body ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
        const body = p.entry(header, (err) => (err ? reject(err) : resolve()));
        pipeline(createReadStream(e.file), body).catch(reject);
      });
    }
    p.finalize();
  };
  write().catch((err: unknown) => p.destroy(err as Error));
  return p as unknown as Readable;
}

/** The image config for the busybox layer with the given diff ID. */
export function busyboxConfig(diffId: string, busyboxPath: string): ImageConfig {
  return {
    architecture: goArch(),
    os: 'linux',
    created: EPOCH.toISOString(),
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created: EPOCH.toISOString(), created_by: `wharf: busybox from ${busyboxPath}` }],
  };
}
