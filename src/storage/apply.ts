import { createWriteStream } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, rm, symlink, constants as fsConstants } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, type Header } from 'tar-stream';
import { InvalidArgumentError, WharfError, errorMessage, isErrno, isHostFault, lsetxattr, mknod, resolveInRoot } from '../util/index.js';

type Headers = Partial<Header> & Pick<Header, 'name'> & { pax?: Record<string, string> | null };

export const WHITEOUT_PREFIX = '.wh.';
/** aufs-era metadata names (`.wh..wh.plnk`, ...): not files, never extracted. */
const WHITEOUT_META_PREFIX = '.wh..wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';
const PAX_XATTR = 'SCHILY.xattr.';

/** A tar entry's path made relative and normal, or an error if it points outside the root. */
export function cleanEntryPath(name: string): string {
  const n = posix.normalize(name.replace(/^\/+/, ''));
  if (n === '.' || n === './' || n === '') return '';
  if (n === '..' || n.startsWith('../')) throw new InvalidArgumentError(`invalid tar entry "${name}": path escapes the root`);
  return n.replace(/\/+$/, '');
}

/**
 * The host path of the directory that will hold `rel`: existing symlinks on the way are followed
 * as if `root` were `/` (so they can never lead out of it), missing directories are created.
 */
async function parentIn(root: string, rel: string, entry: string): Promise<string> {
  const dir = posix.dirname(rel);
  if (dir === '.') return root;
  const resolved = await resolveInRoot(root, dir);
  const inside = posix.relative(root, resolved);
  if (inside.startsWith('..') || posix.isAbsolute(inside)) throw new InvalidArgumentError(`invalid tar entry "${entry}": path escapes the root`);
  let cur = root;
  for (const part of inside ? inside.split('/') : []) {
    cur = posix.join(cur, part);
    try {
      const st = await lstat(cur);
      if (!st.isDirectory()) throw new InvalidArgumentError(`invalid tar entry "${entry}": "${posix.relative(root, cur)}" is not a directory`);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      await mkdir(cur, { mode: 0o755 });
    }
  }
  return resolved;
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
  /** Bytes of file content and symlink targets written, as Docker counts a layer's size. */
  size: number;
}

/**
 * Extracts a layer tarball into `root`, an overlay layer directory: whiteouts become overlay
 * whiteouts (0:0 character devices) and opaque markers the overlay xattr. Every path is checked
 * to stay inside `root`; symlinks already in place are resolved inside it, never out of it.
 * Any bad entry is an InvalidArgumentError naming it; the caller removes the partial tree.
 */
export async function applyLayer(tar: Readable, root: string): Promise<ApplyResult> {
  let size = 0;
  const dirTimes: [string, Date][] = [];
  const ex = extract();
  ex.on('entry', (h, stream, next) => {
    // A truncated tar destroys the entry stream after our own pipeline has let go of it; the
    // error reaches us through the outer pipeline, so this listener only keeps it from being uncaught.
    stream.on('error', () => {});
    applyEntry(root, h as Headers, stream as unknown as Readable, dirTimes).then(
      (n) => {
        size += n;
        next();
      },
      (err: unknown) => {
        stream.resume();
        next(err instanceof WharfError || isHostFault(err) ? (err as Error) : new InvalidArgumentError(`invalid tar entry "${h.name}": ${errorMessage(err)}`, { cause: err }));
      },
    );
  });
  try {
    await pipeline(tar, ex);
  } catch (err) {
    if (err instanceof WharfError || isHostFault(err)) throw err;
    throw new InvalidArgumentError(`invalid layer tar: ${errorMessage(err)}`, { cause: err });
  }
  // Directory times last: creating their children changed them.
  for (const [path, mtime] of dirTimes.reverse()) await lutimes(path, mtime, mtime).catch(() => {});
  return { size };
}

async function applyEntry(root: string, h: Headers, stream: Readable, dirTimes: [string, Date][]): Promise<number> {
  const rel = cleanEntryPath(h.name);
  const base = posix.basename(rel);
  if (rel === '' || (base.startsWith(WHITEOUT_META_PREFIX) && base !== OPAQUE_WHITEOUT)) {
    stream.resume();
    return 0;
  }
  const parent = await parentIn(root, rel, h.name);
  if (base === OPAQUE_WHITEOUT) {
    stream.resume();
    lsetxattr(parent, OVERLAY_OPAQUE_XATTR, 'y');
    return 0;
  }
  if (base.startsWith(WHITEOUT_PREFIX)) {
    stream.resume();
    const target = posix.join(parent, base.slice(WHITEOUT_PREFIX.length));
    await removeExisting(target, false);
    mknod(target, fsConstants.S_IFCHR, 0, 0);
    return 0;
  }
  const path = posix.join(parent, base);
  const mode = (h.mode ?? 0o644) & 0o7777;
  let written = 0;
  switch (h.type) {
    case 'directory':
      stream.resume();
      await removeExisting(path, true);
      await mkdir(path, { recursive: true });
      if (h.mtime) dirTimes.push([path, h.mtime]);
      break;
    case 'file':
    case 'contiguous-file':
    case undefined:
    case null:
      await removeExisting(path, false);
      // 'wx' is O_EXCL: never writes through a symlink that might have appeared.
      await pipeline(stream, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
      written = h.size ?? 0;
      break;
    case 'symlink':
      stream.resume();
      await removeExisting(path, false);
      await symlink(h.linkname ?? '', path);
      // Docker's layer size is what lstat says of every non-directory, and a symlink's size is its target's length.
      written = Buffer.byteLength(h.linkname ?? '');
      break;
    case 'link': {
      stream.resume();
      const targetRel = cleanEntryPath(h.linkname ?? '');
      if (targetRel === '') throw new InvalidArgumentError(`invalid tar entry "${h.name}": hard link to the root`);
      const target = posix.join(await parentIn(root, targetRel, h.name), posix.basename(targetRel));
      const st = await lstat(target).catch(() => undefined);
      if (!st) throw new InvalidArgumentError(`invalid tar entry "${h.name}": hard link target "${h.linkname}" is not in the layer`);
      if (st.isDirectory()) throw new InvalidArgumentError(`invalid tar entry "${h.name}": hard link target "${h.linkname}" is a directory`);
      if (target === path) return 0;
      await removeExisting(path, false);
      await link(target, path);
      return 0;
    }
    case 'character-device':
    case 'block-device':
    case 'fifo': {
      stream.resume();
      await removeExisting(path, false);
      const type = h.type === 'character-device' ? fsConstants.S_IFCHR : h.type === 'block-device' ? fsConstants.S_IFBLK : fsConstants.S_IFIFO;
      mknod(path, type | mode, h.devmajor ?? 0, h.devminor ?? 0);
      break;
    }
    default:
      // Sockets and vendor types have no place in a layer; Docker skips them too.
      stream.resume();
      return 0;
  }
  await lchown(path, h.uid ?? 0, h.gid ?? 0);
  // chown clears set-id bits, so the mode comes after it.
  if (h.type !== 'symlink') await chmod(path, mode);
  applyXattrs(path, h);
  if (h.mtime && h.type !== 'directory') await lutimes(path, h.mtime, h.mtime);
  return written;
}

/** File capabilities and other extended attributes recorded as PAX `SCHILY.xattr.*` records. */
function applyXattrs(path: string, h: Headers): void {
  for (const [key, value] of Object.entries(h.pax ?? {})) {
    if (!key.startsWith(PAX_XATTR)) continue;
    // tar-stream hands PAX values over as UTF-8 text; a value that did not survive that is skipped rather than corrupted.
    if (value.includes('\uFFFD')) continue;
    try {
      lsetxattr(path, key.slice(PAX_XATTR.length), Buffer.from(value, 'utf8'));
    } catch {
      // Not every file system takes every namespace (Docker ignores these failures as well).
    }
  }
}
