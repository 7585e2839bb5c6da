import { errorMessage, InvalidArgumentError, isErrno, isMountPoint, mountOverlayNative, umountAsync, type Mount } from '../util/index.js';

/** The kernel copies mount options into one page. */
const MAX_OPTIONS = 4000;

/**
 * Performs an overlay mount described as data, unless its target is already a mount point.
 * Relative lower directories are resolved from `cwd`, which keeps many layers within the
 * one-page option limit. An overlay without an upper dir is read-only by nature.
 */
export async function mountOverlay(m: Mount, cwd: string): Promise<void> {
  if (m.type !== 'overlay') throw new Error(`cannot mount ${m.type} at ${m.target}: only overlay mounts are performed here`);
  if (await isMountPoint(m.target)) return;
  const options = m.options.join(',');
  if (options.length >= MAX_OPTIONS) {
    const layers = m.options.find((o) => o.startsWith('lowerdir='))?.split(':').length ?? 0;
    throw new InvalidArgumentError(`image has too many layers to mount (${layers}); the overlay options would exceed one page`);
  }
  try {
    mountOverlayNative(cwd, options, m.target);
  } catch (err) {
    throw new Error(`mounting the container's file system at ${m.target} failed: ${errorMessage(err)}`);
  }
}

/** Unmounts if mounted; falls back to a lazy unmount when something still holds it busy. */
export async function unmount(target: string): Promise<void> {
  try {
    await umountAsync(target);
    return;
  } catch (err) {
    // EINVAL: not a mount point (already unmounted); ENOENT: already gone.
    if (isErrno(err, 'EINVAL') || isErrno(err, 'ENOENT')) return;
    if (!isErrno(err, 'EBUSY')) throw new Error(`unmounting ${target} failed: ${errorMessage(err)}`);
  }
  try {
    await umountAsync(target, true);
  } catch (err) {
    if (await isMountPoint(target)) throw new Error(`unmounting ${target} failed: ${errorMessage(err)}`);
  }
}
