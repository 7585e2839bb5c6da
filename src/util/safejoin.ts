import { lstat, readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { InvalidArgumentError, isErrno } from './errors.js';
import { lookupIn, openDirIn, type RootedStats } from './native.js';

const MAX_LINKS = 255;

/**
 * A container's file system as the host sees it: its root directory plus the files and
 * directories bind-mounted over it (which are not in the root directory itself).
 */
export interface RootView {
  root: string;
  /** `target`: an absolute, symlink-free path inside the view; `source`: the host path mounted there. */
  mounts?: readonly { target: string; source: string }[];
  /** Looks paths up where node's fs on host paths would not be safe: a running container's root (see rootedView). */
  lookup?: (path: string) => Promise<RootedStats>;
  /**
   * With `lookup`: opens a directory of the view (close-on-exec; the caller closes it), the path
   * resolved by the kernel inside it, so names one component below stay inside (see untar).
   */
  openDir?: (path: string) => Promise<number>;
}

/**
 * A running container's root as its processes see it (`/proc/PID/root`, its mounts included),
 * every lookup resolved by the kernel inside it: the container may swap a directory for a
 * symlink between two lookups, and neither leads outside.
 */
export function rootedView(root: string): RootView {
  return { root: '/', lookup: (path) => lookupIn(root, path), openDir: (path) => openDirIn(root, path) };
}

/** The host path of a symlink-free path inside the view: under the deepest mount that covers it, else under the root. */
export function hostPathIn(view: RootView, path: string): string {
  const p = posix.normalize('/' + path);
  let best: { target: string; source: string } | undefined;
  for (const m of view.mounts ?? []) {
    if ((p === m.target || p.startsWith(m.target === '/' ? '/' : m.target + '/')) && (!best || m.target.length > best.target.length)) best = m;
  }
  return best ? posix.join(best.source, posix.relative(best.target, p)) : posix.join(view.root, p);
}

export interface ResolveOptions {
  /** Follow a symlink in the last component too (the default). */
  followLast?: boolean;
  /**
   * Called for a `..` above the root, written or met through a link (`via` names the last link
   * followed); it may throw to refuse the path. Without it the `..` is clamped at the root.
   */
  aboveRoot?: (via: string | undefined) => void;
  /** How errors name the path (default: `path` itself). */
  name?: string;
}

/**
 * Resolves `path` inside the view the way chroot would, and returns it as an absolute,
 * symlink-free path inside the view: `..` is clamped at `/` (or refused, see ResolveOptions) and
 * every existing symlink on the way is followed as if the view's root were `/`. Missing
 * components are kept as they are.
 */
export async function resolveInView(view: RootView, path: string, opts: ResolveOptions = {}): Promise<string> {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  const resolved: string[] = [];
  let links = 0;
  let via: string | undefined;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      if (resolved.length === 0) opts.aboveRoot?.(via);
      resolved.pop();
      continue;
    }
    if (parts.length === 0 && opts.followLast === false) {
      resolved.push(part);
      break;
    }
    const host = hostPathIn(view, '/' + [...resolved, part].join('/'));
    let target: string | undefined;
    try {
      if (view.lookup) {
        target = (await view.lookup(host)).link;
      } else {
        const st = await lstat(host);
        if (st.isSymbolicLink()) target = await readlink(host);
      }
    } catch (err) {
      if (!isErrno(err, 'ENOENT') && !isErrno(err, 'ENOTDIR')) throw err;
    }
    if (target === undefined) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new InvalidArgumentError(`too many levels of symbolic links resolving "${opts.name ?? path}"`);
    via = `${[...resolved, part].join('/')} -> ${target}`;
    if (target.startsWith('/')) resolved.length = 0;
    parts.unshift(...target.split('/').filter(Boolean));
  }
  return '/' + resolved.join('/');
}

/**
 * Resolve `path` (as seen from inside a container whose root is `root`) to a host path that is
 * guaranteed to stay below `root`: `..` is clamped at the root and every existing symlink on the
 * way is followed as if `root` were `/`, the way chroot would. Missing components are kept as-is.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  return hostPathIn({ root }, await resolveInView({ root }, path));
}

/** Join without following links, refusing any result outside `root` (for names from archives). */
export function joinInRoot(root: string, name: string): string {
  const joined = posix.join(root, posix.normalize('/' + name));
  const rel = posix.relative(root, joined);
  if (rel.startsWith('..') || posix.isAbsolute(rel)) {
    throw new InvalidArgumentError(`path "${name}" escapes its root`);
  }
  return joined;
}

/** True when `name` (a path from an archive) contains a `..` component or is absolute after cleaning. */
export function escapesRoot(name: string): boolean {
  return name.split('/').includes('..');
}
