/**
 * Copy-up: a new, empty volume mounted over image content is filled with that content first,
 * as Docker does, with owners, modes, timestamps, xattrs and symlinks as they are.
 */
import { chmod, chown, lstat, readdir } from 'node:fs/promises';
import { resolveInRoot, runChecked } from '../util/index.js';

/**
 * Copies what the container's root file system has at `destination` into the volume's
 * `data` directory when the volume is empty and the image has content there; returns whether
 * it copied. The source is resolved inside `rootfs` (a symlink in the image never leads
 * outside it), and `cp -a` writes only below `data`: it creates every entry it copies and
 * never follows a symlink it copied.
 */
export async function copyUp(rootfs: string, destination: string, data: string): Promise<boolean> {
  const source = await resolveInRoot(rootfs, destination);
  const st = await lstat(source).catch(() => undefined);
  if (!st?.isDirectory()) return false;
  if ((await readdir(data)).length > 0) return false;
  // The volume's root takes the image directory's owner and mode (a database's data dir).
  await chown(data, st.uid, st.gid);
  await chmod(data, st.mode & 0o7777);
  if ((await readdir(source)).length === 0) return false;
  await runChecked('cp', ['-a', '--no-target-directory', '--', `${source}/.`, data]);
  return true;
}
