import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, run } from '../util/index.js';

/** Whether `path` is a mount point, from the kernel's own table. */
export async function isMounted(path: string): Promise<boolean> {
  const table = await readFile('/proc/self/mountinfo', 'utf8');
  const escaped = path.replace(/[\s\\]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
  return table.split('\n').some((l) => l.split(' ')[4] === escaped);
}

/**
 * Mounts an overlay. Lower directories are given relative to `cwd` (the layer store) so that
 * dozens of layers fit in the one page of mount options the kernel accepts.
 */
export async function mountOverlay(o: { cwd: string; lowers: string[]; upper: string; work: string; target: string }): Promise<void> {
  if (await isMounted(o.target)) return;
  const options = `lowerdir=${o.lowers.join(':')},upperdir=${o.upper},workdir=${o.work}`;
  if (options.length >= 4000) throw new InvalidArgumentError(`image has too many layers to mount (${o.lowers.length})`);
  const r = await run('mount', ['-t', 'overlay', 'overlay', '-o', options, o.target], { cwd: o.cwd });
  if (r.code !== 0) throw new Error(`mounting the container's filesystem failed: ${r.stderr.trim()}`);
}

/** Unmounts if mounted; falls back to a lazy unmount when something still holds it busy. */
export async function unmount(target: string): Promise<void> {
  if (!(await isMounted(target))) return;
  const r = await run('umount', [target]);
  if (r.code === 0) return;
  const lazy = await run('umount', ['-l', target]);
  if (lazy.code !== 0 && (await isMounted(target))) throw new Error(`unmounting ${target} failed: ${r.stderr.trim()}`);
}
