import { chmodSync, closeSync, createWriteStream, fchmodSync, fchownSync, fstatSync, futimesSync, lchownSync, lstatSync, lutimesSync, mkdirSync, openSync, readdirSync, rmdirSync, symlinkSync, unlinkSync, writeSync, constants as fsSyncConstants } from 'node:fs';
import { lchown, link, lstat, lutimes, mkdir, rm, symlink, constants as fsConstants } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Header } from 'tar-stream';
import { InvalidArgumentError, WharfError, errorMessage, isErrno, isHostFault } from './errors.js';
import { lsetxattr, mknod } from './native.js';
import { toHostIds, type IdMapping, type Ids } from './idmap.js';
import { hostPathIn, resolveInView, type RootView } from './safejoin.js';
import { xattrExtract, type Xattrs } from './tarpax.js';

/** A tar entry's header; `xattrs` are its extended attributes (PAX `SCHILY.xattr.*` records) as bytes. */
export type TarHeader = Partial<Header> & Pick<Header, 'name'> & { pax?: Record<string, string> | null; xattrs?: Xattrs };

/** A tar entry's path made relative and normal, or an error if it points outside the root. */
export function cleanEntryPath(name: string): string {
  const n = posix.normalize(name.replace(/^\/+/, ''));
  if (n === '.' || n === './' || n === '') return '';
  if (n === '..' || n.startsWith('../')) throw new InvalidArgumentError(`invalid tar entry "${name}": path escapes the root`);
  return n.replace(/\/+$/, '');
}

/** An entry about to be extracted, for an `intercept` hook. */
export interface UntarEntry {
  header: TarHeader;
  /** The entry's path, relative to the extraction directory and clean. */
  rel: string;
  /** Host path of the directory that holds the entry (already resolved and created). */
  parent: string;
  base: string;
}

export interface UntarOptions {
  /** The tree extracted into: a directory, or a container's root with its mounts. */
  view: RootView;
  /** Absolute path inside the view that entry names are relative to (`/` when not given). */
  dir?: string;
  /** Owners from the headers, left to the extracting process ('none', as a client does), or one fixed owner. */
  owner: 'header' | 'none' | { uid: number; gid: number };
  /** With owner 'header': the headers' IDs are a remapped container's, shifted to the host's. */
  idmap?: IdMapping;
  /** An existing directory is not replaced by a non-directory, nor the other way around (`docker cp`). */
  noOverwriteDirNonDir?: boolean;
  /** Refuse symlinks whose relative target climbs above `dir`, as Docker's copy does. */
  confineSymlinks?: boolean;
  /** Entries skipped before anything is resolved for them (layer metadata). */
  skip?: (rel: string) => boolean;
  /** Handles an entry before the default does; resolves true when it did (layer whiteouts). */
  intercept?: (e: UntarEntry) => Promise<boolean>;
  /** What a hard link's missing target is called in errors ("in the layer", "in the archive"). */
  linkScope?: string;
  /** How the extraction directory is named in errors (`dir` when not given). */
  label?: string;
  /** Renames entries (and hard link targets) before anything else: the client side of `docker cp`. */
  rename?: (name: string) => string;
}

export interface UntarResult {
  /** Bytes of file content and symlink targets written, as Docker counts a layer's size. */
  size: number;
}

/**
 * Extracts a tar stream into a tree without ever writing outside it: every entry name is
 * checked to stay inside, symlinks already in place (or extracted earlier) are resolved as if
 * the tree's root were `/`, and files are created with O_EXCL so nothing is written through a
 * link. Any bad entry is an InvalidArgumentError naming it; the caller removes a partial tree.
 */
export async function untar(tar: Readable, o: UntarOptions): Promise<UntarResult> {
  let size = 0;
  const dirTimes: DirTime[] = [];
  const dirs = new KnownDirs(o.view.openDir !== undefined);
  // The entry being extracted: held directories are closed only once it is done with them.
  let current: Promise<unknown> = Promise.resolve();
  const ex = xattrExtract();
  ex.on('entry', (h, stream, next) => {
    // A truncated tar destroys the entry stream after our own pipeline has let go of it; the
    // error reaches us through the outer pipeline, so this listener only keeps it from being uncaught.
    stream.on('error', () => {});
    dirs.settle();
    current = untarEntry(o, h as TarHeader, stream as unknown as Readable, dirTimes, dirs).then(
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
    try {
      await pipeline(tar, ex);
    } catch (err) {
      if (err instanceof WharfError || isHostFault(err)) throw err;
      throw new InvalidArgumentError(`invalid tar: ${errorMessage(err)}`, { cause: err });
    }
    // Directory times last: creating their children changed them.
    for (const t of dirTimes.reverse()) await setDirTime(o, dirs, t).catch(() => {});
  } finally {
    await current.catch(() => {});
    dirs.closeAll();
  }
  return { size };
}

/** A directory whose time is set once its children are in: its path inside the view, and on the host where no descriptor holds it. */
interface DirTime {
  dir: string;
  host: string;
  mtime: Date;
}

async function setDirTime(o: UntarOptions, dirs: KnownDirs, t: DirTime): Promise<void> {
  if (!o.view.openDir) return lutimes(t.host, t.mtime, t.mtime);
  const held = dirs.fd(t.dir);
  const fd = held ?? (await o.view.openDir(t.dir));
  try {
    futimesSync(fd, t.mtime, t.mtime);
  } finally {
    if (held === undefined) closeSync(fd);
  }
}

/** Held directories kept open at most: past it the oldest are closed, and opened again if named again. */
const HELD_MAX = 256;

/**
 * Directories of this extraction already resolved and known to be real directories (path inside
 * the view -> host path): most entries share their parent with the one before, and resolving it
 * again costs a few system calls per path component. Only this extraction changes the tree
 * meanwhile, and it forgets them all whenever it removes anything, the one way a known
 * directory could turn into something else (a symlink put where it was).
 *
 * In a rooted view (a running container's, whose processes change its tree as they like) each is
 * held open instead, and its host path is `/proc/self/fd/N`: that names the directory itself
 * whatever is renamed or replaced meanwhile, and a name below it is one component, which every
 * call here takes without following a link. A descriptor is closed only between entries, so no
 * path in use ever names a number the process has since reused for something else.
 */
class KnownDirs {
  readonly #hosts = new Map<string, string>();
  readonly #fds = new Map<string, number>();
  #retired: number[] = [];

  constructor(readonly held: boolean) {}

  get(dir: string): string | undefined {
    return this.#hosts.get(dir);
  }

  fd(dir: string): number | undefined {
    return this.#fds.get(dir);
  }

  /** Knows `dir` at `host`, or (held) through the open descriptor `fd`, which it then owns. */
  add(dir: string, host: string, fd?: number): string {
    this.#retire(dir);
    if (fd === undefined) {
      this.#hosts.set(dir, host);
      return host;
    }
    const path = `/proc/self/fd/${fd}`;
    this.#hosts.set(dir, path);
    this.#fds.set(dir, fd);
    return path;
  }

  /** Forgets every directory (something was removed); the current entry may still use their descriptors. */
  forget(): void {
    for (const dir of [...this.#hosts.keys()]) this.#retire(dir);
  }

  /** Between entries: closes what was forgotten, and the oldest held beyond HELD_MAX. */
  settle(): void {
    for (const [dir] of this.#fds) {
      if (this.#fds.size <= HELD_MAX) break;
      this.#retire(dir);
    }
    for (const fd of this.#retired) closeSync(fd);
    this.#retired = [];
  }

  closeAll(): void {
    this.forget();
    this.settle();
  }

  #retire(dir: string): void {
    const fd = this.#fds.get(dir);
    if (fd !== undefined) this.#retired.push(fd);
    this.#fds.delete(dir);
    this.#hosts.delete(dir);
  }
}

/**
 * The host path of the directory that will hold `rel`: existing symlinks on the way are followed
 * inside the view (so they can never lead out of it), missing directories are created.
 */
async function parentIn(o: UntarOptions, rel: string, entry: string, dirs: KnownDirs): Promise<string> {
  const dir = posix.join(o.dir ?? '/', posix.dirname(rel));
  const known = dirs.get(dir);
  if (known !== undefined) return known;
  if (o.view.openDir) return heldParentIn(o.view.openDir, dir, entry, dirs);
  const inside = await resolveInView(o.view, dir);
  let cur = '/';
  for (const part of inside.split('/').filter(Boolean)) {
    cur = posix.join(cur, part);
    const host = hostPathIn(o.view, cur);
    try {
      const st = await lstat(host);
      if (!st.isDirectory()) throw new InvalidArgumentError(`invalid tar entry "${entry}": "${cur}" is not a directory`);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      await mkdir(host, { mode: 0o755 });
    }
  }
  return dirs.add(dir, hostPathIn(o.view, inside));
}

/**
 * parentIn for a rooted view: the kernel opens `dir` inside the root, and where it is missing,
 * each missing directory is made by name in its parent's open descriptor, never through a path
 * the container could have changed.
 */
async function heldParentIn(openDir: (path: string) => Promise<number>, dir: string, entry: string, dirs: KnownDirs): Promise<string> {
  const open = async (path: string): Promise<number | undefined> => {
    try {
      return await openDir(path);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      if (isErrno(err, 'ENOTDIR')) throw new InvalidArgumentError(`invalid tar entry "${entry}": "${path}" is not a directory`);
      throw err;
    }
  };
  let fd = await open(dir);
  if (fd === undefined) {
    fd = await openDir('/');
    try {
      let cur = '/';
      for (const part of dir.split('/').filter(Boolean)) {
        cur = posix.join(cur, part);
        let next = await open(cur);
        if (next === undefined) {
          fresh(() => mkdirSync(`/proc/self/fd/${fd}/${part}`, { mode: 0o755 }));
          // Still missing: a link there that leads nowhere.
          next = await open(cur);
          if (next === undefined) throw new InvalidArgumentError(`invalid tar entry "${entry}": "${cur}" is not a directory`);
        }
        closeSync(fd);
        fd = next;
      }
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }
  return dirs.add(dir, '', fd);
}

/**
 * A directory made just now inside a resolved parent is a real one: its children need no walk
 * (for a layer of 886 directories, 14,000 lstat calls less). Not where a mount lies at or
 * below it: the children there are on the mount, not in the new directory. `fd`, open on it,
 * is held (rooted views) or closed.
 */
function knowNew(o: UntarOptions, dirs: KnownDirs, dir: string, host: string, fd: number): void {
  if (dirs.held) {
    dirs.add(dir, host, fd);
    return;
  }
  closeSync(fd);
  if (o.view.mounts?.some((m) => m.target === dir || m.target.startsWith(dir + '/'))) return;
  dirs.add(dir, host);
}

const label = (o: UntarOptions) => o.label ?? o.dir ?? '/';

async function removeExisting(path: string, isDir: boolean, o: UntarOptions, rel: string, dirs: KnownDirs): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  if (o.noOverwriteDirNonDir && st.isDirectory() !== isDir) {
    const dir = label(o);
    const where = posix.join(dir, rel);
    throw new InvalidArgumentError(isDir ? `cannot overwrite non-directory "${where}" with directory "${dir}"` : `cannot overwrite directory "${where}" with non-directory "${dir}"`);
  }
  if (isDir && st.isDirectory()) return;
  dirs.forget();
  if (dirs.held) removeTreeNoFollow(path);
  else await rm(path, { recursive: true, force: true });
}

/**
 * `rm -r` that never follows a link, for a tree whose owner may change it meanwhile: each
 * directory is opened with O_NOFOLLOW and emptied through its descriptor, so a directory swapped
 * for a link fails its open (ELOOP) instead of leading the removal elsewhere.
 */
function removeTreeNoFollow(path: string): void {
  if (!lstatSync(path).isDirectory()) {
    unlinkSync(path);
    return;
  }
  const fd = openSync(path, fsSyncConstants.O_RDONLY | fsSyncConstants.O_DIRECTORY | fsSyncConstants.O_NOFOLLOW);
  try {
    for (const name of readdirSync(`/proc/self/fd/${fd}`)) removeTreeNoFollow(`/proc/self/fd/${fd}/${name}`);
  } finally {
    closeSync(fd);
  }
  rmdirSync(path);
}

/** open(2)'s O_PATH (Linux): a descriptor that names a file without opening it, a link included. */
const O_PATH = 0o10000000;

/**
 * chmod(2) of `path` itself, never of what a link there points to (Linux has no lchmod): through
 * an O_PATH descriptor of what is there, left alone if that is a link (links have no mode).
 */
function chmodNoFollow(path: string, mode: number): void {
  const fd = openSync(path, O_PATH | fsSyncConstants.O_NOFOLLOW);
  try {
    if (!fstatSync(fd).isSymbolicLink()) chmodSync(`/proc/self/fd/${fd}`, mode);
  } finally {
    closeSync(fd);
  }
}

async function untarEntry(o: UntarOptions, h: TarHeader, stream: Readable, dirTimes: DirTime[], dirs: KnownDirs): Promise<number> {
  if (o.rename) {
    h.name = o.rename(h.name);
    if (h.type === 'link' && h.linkname) h.linkname = o.rename(h.linkname);
  }
  const rel = cleanEntryPath(h.name);
  // The extraction directory itself ("./"): it exists, and Docker leaves it as it is.
  if (rel === '' || o.skip?.(rel)) {
    stream.resume();
    return 0;
  }
  const base = posix.basename(rel);
  const parent = await parentIn(o, rel, h.name, dirs);
  if (o.intercept && (await o.intercept({ header: h, rel, parent, base }))) {
    // It may have removed something (a whiteout).
    dirs.forget();
    stream.resume();
    return 0;
  }
  const path = posix.join(parent, base);
  const inside = posix.join(o.dir ?? '/', rel);
  const mode = (h.mode ?? 0o644) & 0o7777;
  // Where nothing is there yet there is nothing to overwrite, whatever noOverwriteDirNonDir says.
  const n = await createFresh(o, h, stream, path, inside, mode, rel, dirTimes, dirs);
  if (n !== undefined) return n;
  let written = 0;
  switch (h.type) {
    case 'directory':
      stream.resume();
      await removeExisting(path, true, o, rel, dirs);
      await mkdir(path, { recursive: true });
      if (h.mtime) dirTimes.push({ dir: inside, host: path, mtime: h.mtime });
      break;
    case 'file':
    case 'contiguous-file':
    case undefined:
    case null:
      await removeExisting(path, false, o, rel, dirs);
      // 'wx' is O_EXCL: never writes through a symlink that might have appeared.
      await pipeline(stream, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
      written = h.size ?? 0;
      break;
    case 'symlink': {
      stream.resume();
      const target = h.linkname ?? '';
      if (o.confineSymlinks && !target.startsWith('/') && posix.normalize(posix.join(posix.dirname(rel), target)).split('/')[0] === '..') {
        throw new InvalidArgumentError(`invalid symlink "${posix.join(label(o), rel)}" -> "${target}"`);
      }
      await removeExisting(path, false, o, rel, dirs);
      await symlink(target, path);
      // Docker's layer size is what lstat says of every non-directory, and a symlink's size is its target's length.
      written = Buffer.byteLength(target);
      break;
    }
    case 'link': {
      stream.resume();
      const targetRel = cleanEntryPath(h.linkname ?? '');
      if (targetRel === '') throw new InvalidArgumentError(`invalid tar entry "${h.name}": hard link to the root`);
      const target = posix.join(await parentIn(o, targetRel, h.name, dirs), posix.basename(targetRel));
      const st = await lstat(target).catch(() => undefined);
      if (!st) throw new InvalidArgumentError(`invalid tar entry "${h.name}": hard link target "${h.linkname}" is not ${o.linkScope ?? 'in the archive'}`);
      if (st.isDirectory()) throw new InvalidArgumentError(`invalid tar entry "${h.name}": hard link target "${h.linkname}" is a directory`);
      if (target === path) return 0;
      await removeExisting(path, false, o, rel, dirs);
      await link(target, path);
      return 0;
    }
    case 'character-device':
    case 'block-device':
    case 'fifo': {
      stream.resume();
      await removeExisting(path, false, o, rel, dirs);
      const type = h.type === 'character-device' ? fsConstants.S_IFCHR : h.type === 'block-device' ? fsConstants.S_IFBLK : fsConstants.S_IFIFO;
      mknod(path, type | mode, h.devmajor ?? 0, h.devminor ?? 0);
      break;
    }
    default:
      // Sockets and vendor types have no place in a tree; Docker skips them too.
      stream.resume();
      return 0;
  }
  const owner = ownerOf(o, h);
  if (owner) await lchown(path, owner.uid, owner.gid);
  // chown clears set-id bits, so the mode comes after it.
  if (h.type !== 'symlink') chmodNoFollow(path, mode);
  setXattrs(path, h.xattrs);
  if (h.mtime && h.type !== 'directory') await lutimes(path, h.mtime, h.mtime);
  return written;
}

/** Files up to this size are read whole and written in one go, see createFresh. */
const SMALL_FILE = 256 * 1024;

function ownerOf(o: UntarOptions, h: TarHeader): Ids | undefined {
  if (o.owner === 'none') return undefined;
  if (o.owner !== 'header') return o.owner;
  const ids = { uid: h.uid ?? 0, gid: h.gid ?? 0 };
  return o.idmap ? toHostIds(o.idmap, ids) : ids;
}

/**
 * An entry whose path does not exist yet (nearly every entry of a layer or a build context):
 * created, owned, moded and dated with synchronous calls, yielding only between the chunks of a
 * large file. Each of those as its own asynchronous call costs a thread-pool round trip; for a
 * layer of many small files that was most of a pull's time (issue 11's bench: ~1 ms of system
 * time per file, twice GNU tar's).
 * Resolves undefined for what it leaves to the general path: hard links, devices, and whatever
 * finds its path taken (EEXIST from the create itself, before the entry's data is read: an lstat
 * first would cost every entry a lookup for the rare one that replaces something).
 */
async function createFresh(o: UntarOptions, h: TarHeader, stream: Readable, path: string, inside: string, mode: number, rel: string, dirTimes: DirTime[], dirs: KnownDirs): Promise<number | undefined> {
  const owner = ownerOf(o, h);
  switch (h.type) {
    case 'file':
    case 'contiguous-file':
    case undefined:
    case null: {
      // A small file is read whole, then written in one go; a large one chunk by chunk as the
      // tar brings them, each chunk written at once (no thread-pool round trip per chunk).
      const small = (h.size ?? 0) <= SMALL_FILE;
      // O_EXCL: never writes through a symlink that might have appeared.
      const fd = fresh(() => openSync(path, fsSyncConstants.O_WRONLY | fsSyncConstants.O_CREAT | fsSyncConstants.O_EXCL | fsSyncConstants.O_NOFOLLOW, 0o600));
      if (fd === null) return undefined;
      try {
        if (small) {
          const chunks: Buffer[] = [];
          for await (const c of stream) chunks.push(c as Buffer);
          writeAll(fd, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
        }
        else for await (const c of stream) writeAll(fd, c as Buffer);
        if (owner) fchownSync(fd, owner.uid, owner.gid);
        // chown clears set-id bits, so the mode comes after it.
        fchmodSync(fd, mode);
        setXattrs(path, h.xattrs);
        if (h.mtime) futimesSync(fd, h.mtime, h.mtime);
      } finally {
        closeSync(fd);
      }
      return h.size ?? 0;
    }
    case 'directory': {
      if (fresh(() => mkdirSync(path, { mode: 0o700 })) === null) return undefined;
      stream.resume();
      // Owned and moded through a descriptor opened without following a link: a link put where
      // it was meanwhile fails the open, and leads neither call anywhere.
      const fd = openSync(path, fsSyncConstants.O_RDONLY | fsSyncConstants.O_DIRECTORY | fsSyncConstants.O_NOFOLLOW);
      try {
        if (owner) fchownSync(fd, owner.uid, owner.gid);
        fchmodSync(fd, mode);
      } catch (err) {
        closeSync(fd);
        throw err;
      }
      knowNew(o, dirs, inside, path, fd);
      setXattrs(path, h.xattrs);
      if (h.mtime) dirTimes.push({ dir: inside, host: path, mtime: h.mtime });
      return 0;
    }
    case 'symlink': {
      stream.resume();
      const target = h.linkname ?? '';
      if (o.confineSymlinks && !target.startsWith('/') && posix.normalize(posix.join(posix.dirname(rel), target)).split('/')[0] === '..') {
        throw new InvalidArgumentError(`invalid symlink "${posix.join(label(o), rel)}" -> "${target}"`);
      }
      if (fresh(() => symlinkSync(target, path)) === null) return undefined;
      if (owner) lchownSync(path, owner.uid, owner.gid);
      setXattrs(path, h.xattrs);
      if (h.mtime) lutimesSync(path, h.mtime, h.mtime);
      // Docker's layer size is what lstat says of every non-directory, and a symlink's size is its target's length.
      return Buffer.byteLength(target);
    }
    default:
      return undefined;
  }
}

/** What `create` returns, or null where its path is already taken. */
function fresh<T>(create: () => T): T | null {
  try {
    return create();
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return null;
    throw err;
  }
}

function writeAll(fd: number, data: Buffer): void {
  for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
}

const OVERLAY_XATTRS = 'trusted.overlay.';

/**
 * File capabilities and the other extended attributes of an entry, as Docker sets them in every
 * extraction (layers, `cp`, `ADD`) and copy. After the owner: chown clears a file's capabilities.
 */
export function setXattrs(path: string, xattrs: Xattrs | undefined): void {
  // Nearly every entry has none: no list is made for it.
  if (!xattrs) return;
  for (const [name, value] of Object.entries(xattrs)) {
    // overlayfs's own (opaque, redirect, metacopy) would let an archive steer how layers stack.
    if (name.startsWith(OVERLAY_XATTRS)) continue;
    try {
      lsetxattr(path, name, value);
    } catch {
      // Not every file system takes every namespace, nor an unprivileged client (Docker ignores these failures as well).
    }
  }
}
