import { createWriteStream } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, rm, symlink, utimes, constants as fsConstants } from 'node:fs/promises';
import { posix, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, type Header } from 'tar-stream';

type Headers = Partial<Header> & Pick<Header, 'name'>;
import { InvalidArgumentError, isErrno, lsetxattr, makedev, mknod } from '../util/index.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

/** A tar entry's path made relative and normal, or an error if it points outside the root. */
export function cleanEntryPath(name: string): string {
  const n = posix.normalize(name.replace(/^\/+/, ''));
  if (n === '.' || n === './' || n === '') return '';
  if (n === '..' || n.startsWith('../')) throw new InvalidArgumentError(`invalid tar entry "${name}": path escapes the root`);
  return n.replace(/\/+$/, '');
}

/** Creates the missing parents of `rel` under `root`, refusing to pass through a symlink. */
async function ensureParents(root: string, rel: string): Promise<void> {
  const parts = rel.split('/').slice(0, -1);
  let cur = root;
  for (const p of parts) {
    cur = join(cur, p);
    try {
      const st = await lstat(cur);
      if (st.isSymbolicLink()) throw new InvalidArgumentError(`invalid tar entry "${rel}": path goes through the symlink "${posix.relative(root, cur)}"`);
      if (!st.isDirectory()) throw new InvalidArgumentError(`invalid tar entry "${rel}": "${posix.relative(root, cur)}" is not a directory`);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      await mkdir(cur, { mode: 0o755 });
    }
  }
}

async function removeExisting(path: string, keepDir: boolean): Promise<void> {
  try {
    const st = await lstat(path);
    if (keepDir && st.isDirectory()) return;
    await rm(path, { recursive: true, force: true });
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
}

export interface ApplyResult {
  /** Bytes of file content written. */
  size: number;
}

/**
 * Extracts a layer tarball into `root`, an overlay layer directory: whiteouts become overlay
 * whiteouts (0:0 character devices) and opaque markers the overlay xattr. Every path is checked
 * to stay inside `root`; symlinks already in place are never followed.
 */
export async function applyLayer(tar: Readable, root: string): Promise<ApplyResult> {
  let size = 0;
  const dirTimes: [string, Date][] = [];
  const ex = extract();
  ex.on('entry', (h, stream, next) => {
    applyEntry(root, h, stream as unknown as Readable).then(
      (n) => {
        size += n;
        if (h.type === 'directory' && h.mtime) dirTimes.push([h.name, h.mtime]);
        next();
      },
      (err) => {
        stream.resume();
        next(err as Error);
      },
    );
  });
  await pipeline(tar, ex);
  // Directory times last: creating their children changed them.
  for (const [name, mtime] of dirTimes.reverse()) {
    const rel = cleanEntryPath(name);
    await utimes(join(root, rel), mtime, mtime).catch(() => {});
  }
  return { size };
}

async function applyEntry(root: string, h: Headers, stream: Readable): Promise<number> {
  const rel = cleanEntryPath(h.name);
  if (rel === '') {
    stream.resume();
    return 0;
  }
  const base = posix.basename(rel);
  const dir = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
  if (base.startsWith(WHITEOUT_PREFIX)) {
    stream.resume();
    await ensureParents(root, rel);
    if (base === OPAQUE_WHITEOUT) {
      const d = join(root, dir);
      await mkdir(d, { recursive: true });
      lsetxattr(d, OVERLAY_OPAQUE_XATTR, 'y');
      return 0;
    }
    const target = join(root, dir, base.slice(WHITEOUT_PREFIX.length));
    await removeExisting(target, false);
    mknod(target, fsConstants.S_IFCHR, 0);
    return 0;
  }
  await ensureParents(root, rel);
  const path = join(root, rel);
  const mode = (h.mode ?? 0o644) & 0o7777;
  let written = 0;
  switch (h.type) {
    case 'directory':
      stream.resume();
      await removeExisting(path, true);
      await mkdir(path, { recursive: true });
      break;
    case 'file':
    case 'contiguous-file':
    case undefined:
    case null:
      await removeExisting(path, false);
      await pipeline(stream, createWriteStream(path, { flags: 'wx', mode }));
      written = h.size ?? 0;
      break;
    case 'symlink':
      stream.resume();
      await removeExisting(path, false);
      await symlink(h.linkname ?? '', path);
      break;
    case 'link': {
      stream.resume();
      const target = cleanEntryPath(h.linkname ?? '');
      if (target === '') throw new InvalidArgumentError(`invalid tar entry "${h.name}": hard link to the root`);
      const st = await lstat(join(root, target)).catch(() => undefined);
      if (!st) throw new InvalidArgumentError(`invalid tar entry "${h.name}": hard link target "${h.linkname}" is not in the layer`);
      await removeExisting(path, false);
      await link(join(root, target), path);
      return 0;
    }
    case 'character-device':
    case 'block-device':
    case 'fifo': {
      stream.resume();
      await removeExisting(path, false);
      const type = h.type === 'character-device' ? fsConstants.S_IFCHR : h.type === 'block-device' ? fsConstants.S_IFBLK : fsConstants.S_IFIFO;
      mknod(path, type | mode, makedev(h.devmajor ?? 0, h.devminor ?? 0));
      break;
    }
    default:
      stream.resume();
      return 0;
  }
  await lchown(path, h.uid ?? 0, h.gid ?? 0);
  if (h.type !== 'symlink') await chmod(path, mode);
  if (h.mtime) await lutimes(path, h.mtime, h.mtime);
  return written;
}
