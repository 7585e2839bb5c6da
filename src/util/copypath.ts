import { posix } from 'node:path';

/*
 * Go's path rules as `docker cp` applies them on both sides (moby's archive package): the
 * client and the daemon must agree on what a trailing `/` or `/.` means.
 */

/** Go's filepath.Clean: `.` for nothing, no trailing slash except on `/`. */
export function goClean(p: string): string {
  if (p === '') return '.';
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** Go's filepath.Base: trailing slashes dropped, `/` for the root, `.` for nothing. */
export function goBase(p: string): string {
  if (p === '') return '.';
  const trimmed = p.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** Go's filepath.Dir: everything but the last element, cleaned. */
export function goDir(p: string): string {
  return goClean(p.slice(0, p.lastIndexOf('/') + 1));
}

/** The last element is `.`: the contents of a directory are meant, not the directory. */
export function specifiesCurrentDir(p: string): boolean {
  return goBase(p) === '.';
}

/** A trailing `/` or `/.` says the path must be a directory. */
export function assertsDirectory(p: string): boolean {
  return p.endsWith('/') || specifiesCurrentDir(p);
}

/** `cleaned` with the trailing `/.` or `/` of `original` put back. */
export function preserveTrailingDotOrSeparator(cleaned: string, original: string): string {
  let p = cleaned;
  if (!specifiesCurrentDir(p) && specifiesCurrentDir(original)) p = (p.endsWith('/') ? p : p + '/') + '.';
  if (!p.endsWith('/') && original.endsWith('/')) p += '/';
  return p;
}

/** Directory and last element of a cleaned path, keeping a final `.` as the element. */
export function splitPathDirEntry(p: string): [string, string] {
  let cleaned = goClean(p);
  if (specifiesCurrentDir(p)) cleaned += '/.';
  return [goDir(cleaned), goBase(cleaned)];
}
