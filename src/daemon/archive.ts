import type { BigIntStats } from 'node:fs';
import { closeSync, constants as fsConstants } from 'node:fs';
import { lstat, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { Pack } from 'tar-stream';
import type { ContainerPathStat } from '../types/index.js';
import { InvalidArgumentError, NotFoundError, goBase, goClean, hostPathIn, isErrno, openDirIn, packTree, preserveTrailingDotOrSeparator, resolveInView, toHostIds, untar, type IdMapping, type RootedStats, type RootView } from '../util/index.js';

/*
 * `docker cp` on the daemon side: stat a path, archive it, extract an archive into a directory,
 * all inside a container's file system as its processes see it (the root plus its bind mounts).
 * The client does the renaming and "is it a directory" logic; these follow dockerd's half.
 */

// Go's os.FileMode type bits.
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
const MODE_DEVICE = 2 ** 26;
const MODE_NAMED_PIPE = 2 ** 25;
const MODE_SOCKET = 2 ** 24;
const MODE_SETUID = 2 ** 23;
const MODE_SETGID = 2 ** 22;
const MODE_CHAR_DEVICE = 2 ** 21;
const MODE_STICKY = 2 ** 20;

/** A stat mode as Go's os.FileMode, which is what Docker clients decode from the path-stat header. */
export function goFileMode(mode: number): number {
  let m = mode & 0o777;
  switch (mode & fsConstants.S_IFMT) {
    case fsConstants.S_IFDIR:
      m += MODE_DIR;
      break;
    case fsConstants.S_IFLNK:
      m += MODE_SYMLINK;
      break;
    case fsConstants.S_IFBLK:
      m += MODE_DEVICE;
      break;
    case fsConstants.S_IFCHR:
      m += MODE_DEVICE + MODE_CHAR_DEVICE;
      break;
    case fsConstants.S_IFIFO:
      m += MODE_NAMED_PIPE;
      break;
    case fsConstants.S_IFSOCK:
      m += MODE_SOCKET;
      break;
  }
  if (mode & 0o4000) m += MODE_SETUID;
  if (mode & 0o2000) m += MODE_SETGID;
  if (mode & 0o1000) m += MODE_STICKY;
  return m;
}

/** A time in nanoseconds as Go's time.Time marshals to JSON (RFC 3339, fraction without trailing zeros). */
export function goTime(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, frac ? `.${frac}Z` : 'Z');
}

/**
 * `path` as an absolute, clean path that keeps what the user asserted with a trailing `/` or
 * `/.` (that it is a directory; `/.` also that its contents are meant, not itself).
 */
export function absolutePath(path: string): string {
  return preserveTrailingDotOrSeparator(goClean('/' + path), path);
}

/** The mount whose target is exactly `path`, if any: its source is followed the way mount(8) followed it. */
function mountAt(view: RootView, path: string): string | undefined {
  return view.mounts?.find((m) => m.target === path)?.source;
}

async function lstatIn(view: RootView, path: string): Promise<BigIntStats | RootedStats> {
  if (view.lookup) return view.lookup(hostPathIn(view, path));
  const source = mountAt(view, path);
  return source ? stat(source, { bigint: true }) : lstat(hostPathIn(view, path), { bigint: true });
}

export interface ResolvedPath {
  /** The path resolved inside the view: parents always, the last component only after a trailing `/` or `/.`. */
  path: string;
  stat: ContainerPathStat;
  isDir: boolean;
}

/**
 * Stats `path` inside the view as dockerd does for `docker cp`: symlinks before the last
 * component are followed, the last one is reported as a link (with its target resolved inside
 * the view) unless a trailing `/` or `/.` asks for the directory it points to.
 * `where` names the container in Docker's "Could not find the file" error.
 */
export async function statIn(view: RootView, path: string, where: string): Promise<ResolvedPath> {
  const abs = absolutePath(path);
  const slash = abs.lastIndexOf('/');
  const base = abs.slice(slash + 1);
  const dir = await resolveInView(view, abs.slice(0, slash + 1));
  const assertsDir = base === '' || base === '.';
  const resolved = assertsDir ? dir : posix.join(dir, base);
  let st: BigIntStats | RootedStats;
  try {
    st = await lstatIn(view, resolved);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new NotFoundError(`Could not find the file ${path} in container ${where}`);
    if (isErrno(err, 'ENOTDIR')) throw new InvalidArgumentError(`lstat ${abs}: not a directory`);
    throw err;
  }
  if (assertsDir && !st.isDirectory()) throw new InvalidArgumentError(`lstat ${abs}: not a directory`);
  const linkTarget = st.isSymbolicLink() ? await resolveInView(view, abs) : '';
  return {
    path: resolved,
    isDir: st.isDirectory(),
    stat: { name: goBase(abs), size: Number(st.size), mode: goFileMode(Number(st.mode)), mtime: goTime(st.mtimeNs), linkTarget },
  };
}

/**
 * A tar of what `statIn` found, named as the user asked for it (`docker cp c:/a/link/ x` gives
 * entries under `link/`); mount points inside a directory are read from what is mounted there.
 */
export function archiveIn(view: RootView, found: ResolvedPath, idmap?: IdMapping): Pack {
  return packTree(hostPathIn(view, found.path), {
    name: found.stat.name,
    idmap,
    redirect: (rel) => mountAt(view, rel ? posix.join(found.path, rel) : found.path),
  });
}

/**
 * archiveIn for a running container's root (`/proc/PID/root`, its mounts included), read while
 * its processes run: the parent of what statIn found is opened inside the root by the kernel,
 * and everything below is named one component at a time through held descriptors (packTree), so
 * no directory swapped for a symlink meanwhile leads the copy out of the root.
 */
export async function archiveInRoot(root: string, found: ResolvedPath, idmap?: IdMapping): Promise<Pack> {
  const fd = await openDirIn(root, posix.dirname(found.path));
  const base = posix.basename(found.path);
  return packTree(`/proc/self/fd/${fd}/${base || '.'}`, { name: found.stat.name, idmap, done: () => closeSync(fd) });
}

export interface ExtractOptions {
  noOverwriteDirNonDir: boolean;
  /** A fixed owner for everything extracted (`copyUIDGID` with a container user); else the archive's. */
  owner?: { uid: number; gid: number };
  /** A remapped container (userns-remap): the owners, the archive's or the fixed one, are its IDs, shifted to the host's. */
  idmap?: IdMapping;
  readonlyRootfs: boolean;
  readonlyMounts: readonly string[];
}

/**
 * Where `docker cp` extracts into: `path` with every symlink followed inside the view (the last
 * one too, so a link to a directory is extracted into), which must be a writable directory.
 */
export async function extractPoint(view: RootView, path: string, where: string, o: Pick<ExtractOptions, 'readonlyRootfs' | 'readonlyMounts'>): Promise<string> {
  const dir = await resolveInView(view, absolutePath(path));
  let st;
  try {
    st = await lstatIn(view, dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) throw new NotFoundError(`Could not find the file ${path} in container ${where}`);
    throw err;
  }
  if (!st.isDirectory()) throw new InvalidArgumentError('extraction point is not a directory');
  const covering = (view.mounts ?? []).filter((m) => dir === m.target || dir.startsWith(m.target + '/')).sort((a, b) => b.target.length - a.target.length)[0];
  if (covering ? o.readonlyMounts.includes(covering.target) : o.readonlyRootfs) {
    throw new InvalidArgumentError(covering ? 'mounted volume is marked read-only' : 'container rootfs is marked read-only');
  }
  return dir;
}

/** Extracts `tar` into the directory `dir` of the view (from extractPoint), never outside the view. */
export async function extractIn(view: RootView, dir: string, tar: Readable, o: ExtractOptions): Promise<void> {
  try {
    const owner = o.owner && o.idmap ? toHostIds(o.idmap, o.owner) : o.owner;
    await untar(tar, { view, dir, owner: owner ?? 'header', idmap: o.idmap, noOverwriteDirNonDir: o.noOverwriteDirNonDir, confineSymlinks: true, linkScope: 'in the archive' });
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new InvalidArgumentError(`Error processing tar file: ${err.message}`, { cause: err });
    throw err;
  }
}
