import { readFile } from 'node:fs/promises';
import { errorMessage, InvalidArgumentError, isErrno, mountOverlayNative, umount } from '../util/index.js';

/** Whether `path` is a mount point, from the kernel's own table. */
export async function isMounted(path: string): Promise<boolean> {
  const table = await readFile('/proc/self/mountinfo', 'utf8');
  const escaped = path.replace(/[\s\\]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
  return table.split('\n').some((l) => l.split(' ')[4] === escaped);
}

/** The kernel copies mount options into one page. */
const MAX_OPTIONS = 4000;

/**
 * Mounts an overlay; read-only when there is no upper dir. Relative lower directories are
 * resolved from `cwd` (the layer store), which keeps many layers within the option limit.
 */
export async function mountOverlay(o: { cwd: string; lowers: string[]; upper?: string; work?: string; target: string }): Promise<void> {
  if (await isMounted(o.target)) return;
  for (const p of [...o.lowers, o.upper ?? '', o.work ?? '']) {
    if (/[,:]/.test(p)) throw new InvalidArgumentError(`cannot mount an overlay on "${p}": the path contains a comma or colon`);
  }
  let options = `lowerdir=${o.lowers.join(':')}`;
  if (o.upper) options += `,upperdir=${o.upper},workdir=${o.work}`;
  if (options.length >= MAX_OPTIONS) throw new InvalidArgumentError(`image has too many layers to mount (${o.lowers.length}); the overlay options would exceed one page`);
  try {
    mountOverlayNative(o.cwd, options, o.target);
  } catch (err) {
    throw new Error(`mounting the container's file system at ${o.target} failed: ${errorMessage(err)}`);
  }
}

/** Unmounts if mounted; falls back to a lazy unmount when something still holds it busy. */
export async function unmount(target: string): Promise<void> {
  try {
    umount(target);
    return;
  } catch (err) {
    // EINVAL: not a mount point (already unmounted); ENOENT: already gone.
    if (isErrno(err, 'EINVAL') || isErrno(err, 'ENOENT')) return;
    if (!isErrno(err, 'EBUSY')) throw new Error(`unmounting ${target} failed: ${errorMessage(err)}`);
  }
  try {
    umount(target, true);
  } catch (err) {
    if (await isMounted(target)) throw new Error(`unmounting ${target} failed: ${errorMessage(err)}`);
  }
}
