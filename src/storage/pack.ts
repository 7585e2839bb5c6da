import { createReadStream, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack, type Header, type Pack } from 'tar-stream';

type Headers = Partial<Header> & Pick<Header, 'name'>;
import { devMajor, devMinor, lgetxattr } from '../util/index.js';
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

function header(name: string, st: Stats): Headers {
  return { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
}

/**
 * Writes the tree at `root` as a tar stream. With `layer`, `root` is an overlay upper directory
 * and its whiteouts become OCI whiteout entries, so the tar is an image layer. `skip` leaves out
 * a path (relative, no leading slash) and everything below it.
 */
export function packDir(root: string, opts: { layer: boolean; skip?: (rel: string, st: Stats) => boolean }): Pack {
  const p = pack();
  // A reader that goes away mid-stream destroys the pack; that's the reader's error to see, not ours.
  p.on('error', () => {});
  const seen = new Map<string, string>();
  const add = (h: Headers, body?: Buffer) => new Promise<void>((resolve, reject) => p.entry(h, body ?? Buffer.alloc(0), (e) => (e ? reject(e) : resolve())));

  const walk = async (dir: string, rel: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    if (opts.layer && rel && isOpaque(dir)) await add({ name: `${rel}/${OPAQUE_WHITEOUT}`, type: 'file', size: 0, mode: 0o644, mtime: new Date(0) });
    for (const name of names) {
      const path = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(path);
      if (opts.skip?.(r, st)) continue;
      if (opts.layer && isWhiteout(st)) {
        await add({ name: `${rel ? rel + '/' : ''}${WHITEOUT_PREFIX}${name}`, type: 'file', size: 0, mode: 0o644, mtime: st.mtime });
        continue;
      }
      if (st.isDirectory()) {
        await add({ ...header(`${r}/`, st), type: 'directory' });
        await walk(path, r);
      } else if (st.isSymbolicLink()) {
        await add({ ...header(r, st), type: 'symlink', linkname: await readlink(path) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? seen.get(key) : undefined;
        if (first) {
          await add({ ...header(r, st), type: 'link', linkname: first });
          continue;
        }
        if (st.nlink > 1) seen.set(key, r);
        await new Promise<void>((resolve, reject) => {
          const entry = p.entry({ ...header(r, st), type: 'file', size: st.size }, (e) => (e ? reject(e) : resolve()));
          pipeline(createReadStream(path), entry).catch(reject);
        });
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        await add({ ...header(r, st), type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: devMajor(st.rdev), devminor: devMinor(st.rdev) });
      } else if (st.isFIFO()) {
        await add({ ...header(r, st), type: 'fifo' });
      }
      // Sockets have no tar form; Docker skips them too.
    }
  };
  walk(root, '').then(
    () => p.finalize(),
    (err) => p.destroy(err),
  );
  return p;
}

/** Bytes of regular file content under `root`, each inode once. */
export async function diskUsage(root: string): Promise<number> {
  let total = 0;
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
      if (st.isDirectory()) await walk(path);
      else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        if (st.nlink > 1) {
          if (seen.has(key)) continue;
          seen.add(key);
        }
        total += st.size;
      }
    }
  };
  await walk(root);
  return total;
}
