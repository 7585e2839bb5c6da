import type { Stats } from 'node:fs';
import type { Pack } from 'tar-stream';
import { lgetxattr, packTree, type IdMapping } from '../util/index.js';
import { OPAQUE_WHITEOUT, OVERLAY_OPAQUE_XATTR, WHITEOUT_PREFIX } from './apply.js';

/** An overlay whiteout: a character device numbered 0:0. */
export function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

export function isOpaque(dir: string): boolean {
  try {
    return lgetxattr(dir, OVERLAY_OPAQUE_XATTR)?.toString() === 'y';
  } catch {
    return false;
  }
}

/**
 * Writes the tree at `root` as a tar stream. With `layer`, `root` is an overlay upper directory
 * and its whiteouts become OCI whiteout entries, so the tar is an image layer. `skip` leaves out
 * a path (relative, no leading slash) and everything below it; `mtimeMax` caps every entry's mtime.
 */
export function packDir(root: string, opts: { layer: boolean; skip?: (rel: string, st: Stats) => boolean; mtimeMax?: Date; idmap?: IdMapping }): Pack {
  if (!opts.layer) return packTree(root, { skip: opts.skip, mtimeMax: opts.mtimeMax, idmap: opts.idmap });
  return packTree(root, {
    skip: opts.skip,
    mtimeMax: opts.mtimeMax,
    idmap: opts.idmap,
    before: (dir, rel) => (rel && isOpaque(dir) ? [{ name: `${rel}/${OPAQUE_WHITEOUT}`, type: 'file', size: 0, mode: 0o644, mtime: new Date(0) }] : []),
    replace: (rel, st) => {
      if (!isWhiteout(st)) return undefined;
      const slash = rel.lastIndexOf('/');
      return { name: `${rel.slice(0, slash + 1)}${WHITEOUT_PREFIX}${rel.slice(slash + 1)}`, type: 'file', size: 0, mode: 0o644, mtime: st.mtime };
    },
  });
}
