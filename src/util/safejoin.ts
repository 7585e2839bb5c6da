import { lstat, readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { InvalidArgumentError, isErrno } from './errors.js';

const MAX_LINKS = 255;

/**
 * Resolve `path` (as seen from inside a container whose root is `root`) to a host path that is
 * guaranteed to stay below `root`: `..` is clamped at the root and every existing symlink on the
 * way is followed as if `root` were `/`, the way chroot would. Missing components are kept as-is.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const parts = posix.normalize('/' + path).split('/').filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === '.' || part === '') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const host = posix.join(root, ...resolved, part);
    let target: string | undefined;
    try {
      const st = await lstat(host);
      if (st.isSymbolicLink()) target = await readlink(host);
    } catch (err) {
      if (!isErrno(err, 'ENOENT') && !isErrno(err, 'ENOTDIR')) throw err;
    }
    if (target === undefined) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new InvalidArgumentError(`too many levels of symbolic links resolving "${path}"`);
    if (target.startsWith('/')) resolved.length = 0;
    parts.unshift(...target.split('/').filter(Boolean));
  }
  return posix.join(root, ...resolved);
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
