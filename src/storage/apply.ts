import { rm } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { constants as fsConstants } from 'node:fs';
import { cleanEntryPath, isErrno, lsetxattr, mknod, untar, type IdMapping, type UntarEntry } from '../util/index.js';

export { cleanEntryPath };

export const WHITEOUT_PREFIX = '.wh.';
/** aufs-era metadata names (`.wh..wh.plnk`, ...): not files, never extracted. */
const WHITEOUT_META_PREFIX = '.wh..wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

export interface ApplyResult {
  /** Bytes of file content and symlink targets written, as Docker counts a layer's size. */
  size: number;
}

/** OCI whiteouts become what overlayfs understands: opaque markers an xattr, deletions 0:0 character devices. */
async function whiteout(e: UntarEntry): Promise<boolean> {
  if (e.base === OPAQUE_WHITEOUT) {
    lsetxattr(e.parent, OVERLAY_OPAQUE_XATTR, 'y');
    return true;
  }
  if (!e.base.startsWith(WHITEOUT_PREFIX)) return false;
  const target = posix.join(e.parent, e.base.slice(WHITEOUT_PREFIX.length));
  await rm(target, { recursive: true, force: true }).catch((err) => {
    if (!isErrno(err, 'ENOENT')) throw err;
  });
  mknod(target, fsConstants.S_IFCHR, 0, 0);
  return true;
}

/**
 * Extracts a layer tarball into `root`, an overlay layer directory: whiteouts become overlay
 * whiteouts (0:0 character devices) and opaque markers the overlay xattr. Every path is checked
 * to stay inside `root`; symlinks already in place are resolved inside it, never out of it.
 * Any bad entry is an InvalidArgumentError naming it; the caller removes the partial tree.
 * With `idmap`, the tar's owners are a remapped root's container IDs, written as their host IDs.
 */
export async function applyLayer(tar: Readable, root: string, idmap?: IdMapping): Promise<ApplyResult> {
  return untar(tar, {
    view: { root },
    owner: 'header',
    idmap,
    linkScope: 'in the layer',
    skip: (rel) => {
      const base = posix.basename(rel);
      return base.startsWith(WHITEOUT_META_PREFIX) && base !== OPAQUE_WHITEOUT;
    },
    intercept: whiteout,
  });
}
