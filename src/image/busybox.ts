import { readFile, stat } from 'node:fs/promises';
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

/** The layer tarball of the default image: Debian's static busybox and its applets, a minimal /etc. */
export async function busyboxLayer(busyboxPath: string): Promise<Buffer> {
  const binary = await readFile(busyboxPath);
  const mode = (await stat(busyboxPath)).mode & 0o755;
  const list = await run(busyboxPath, ['--list']);
  if (list.code !== 0) throw new Error(`${busyboxPath} --list failed: ${list.stderr.trim()}`);
  const applets = [...new Set(list.stdout.split('\n').map((s) => s.trim()).filter((s) => s && s !== 'busybox' && !s.includes('/')))].sort();

  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  const base = { uid: 0, gid: 0, mtime: EPOCH, uname: '', gname: '' };
  const entries: { name: string; body?: Buffer; header: Record<string, unknown> }[] = [];
  for (const [d, m] of DIRS) entries.push({ name: `${d}/`, header: { type: 'directory', mode: m } });
  entries.push({ name: 'bin/busybox', body: binary, header: { type: 'file', mode: mode || 0o755 } });
  for (const a of applets) entries.push({ name: `bin/${a}`, header: { type: 'symlink', linkname: 'busybox', mode: 0o777 } });
  entries.push({ name: 'etc/group', body: Buffer.from(GROUP), header: { type: 'file', mode: 0o644 } });
  entries.push({ name: 'etc/passwd', body: Buffer.from(PASSWD), header: { type: 'file', mode: 0o644 } });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    await new Promise<void>((resolve, reject) =>
      p.entry({ ...base, ...e.header, name: e.name, size: e.body?.length ?? 0 }, e.body ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())),
    );
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
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
