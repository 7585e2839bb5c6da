import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes of regular file content under `root` and the inodes below it, each inode once. */
export async function diskUsage(root: string): Promise<{ size: number; inodes: number }> {
  let size = 0;
  let inodes = 0;
  const seen = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      const st = await lstat(path).catch(() => undefined);
      if (!st) continue;
      if (st.nlink > 1 && !st.isDirectory()) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      inodes++;
      if (st.isDirectory()) await walk(path);
      else if (st.isFile()) size += st.size;
    }
  };
  await walk(root);
  return { size, inodes };
}
