import { readFile } from 'node:fs/promises';

/**
 * A serialized mount(2) call: storage and volume produce these, runtime and daemon consume
 * them. Options are the `-o` strings of mount(8) (`ro`, `lowerdir=...`, `bind`, `rbind`...).
 */
export interface Mount {
  type: string;
  source: string;
  /** Absolute path inside the container (runtime) or on the host (rootfs mounts). */
  target: string;
  options: string[];
}

/** The mount points the kernel lists for this process (mountinfo's field 5, octal escapes decoded). */
export async function mountPoints(): Promise<string[]> {
  const table = await readFile('/proc/self/mountinfo', 'utf8');
  const out: string[] = [];
  for (const line of table.split('\n')) {
    const field = line.split(' ')[4];
    if (field) out.push(field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

/** Whether `path` is a mount point now, from the kernel's own table. */
export async function isMountPoint(path: string): Promise<boolean> {
  return (await mountPoints()).includes(path);
}
