import { closeSync, createReadStream, fstatSync, lstatSync, openSync, readSync, readdirSync, readlinkSync, statSync, constants as fsConstants, type Stats } from 'node:fs';
import { lstat, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, pack, type Header, type Pack } from 'tar-stream';
import { devMajor, devMinor, lgetxattr, llistxattr } from './native.js';
import type { TarHeader } from './untar.js';
import { LARGE_READ } from './gzip.js';
import { rootPair, toContainerIds, type IdMapping } from './idmap.js';
import { pushXattrHeader, type Xattrs } from './tarpax.js';

export interface PackOptions {
  /**
   * Name of `path` itself in the archive; its children go below it (`name/child`). When not
   * given, only what is inside `path` is archived, with names relative to it.
   */
  name?: string;
  /** Leaves out an entry (and everything below it); `rel` is relative to `path`, without a leading slash. */
  skip?: (rel: string, st: Stats) => boolean;
  /** Another host path to read for `rel` (a file or directory bind-mounted there); followed if it is a link. */
  redirect?: (rel: string) => string | undefined;
  /** Entries to write first in a directory (`rel` '' is `path` itself), such as an opaque marker. */
  before?: (dir: string, rel: string) => TarHeader[];
  /** An entry to write instead of `rel` (not descended into), such as a whiteout. */
  replace?: (rel: string, st: Stats) => TarHeader | undefined;
  /**
   * No entry's mtime is later than this (SOURCE_DATE_EPOCH): later ones are written as it, so a
   * layer made at another time is the same bytes.
   */
  mtimeMax?: Date;
  /** The tree is a remapped container's: the host's owners are written as the container's IDs. */
  idmap?: IdMapping;
  /**
   * Which extended attributes go with the entries: a regular file's capabilities, as Docker's
   * archives carry (the default), or every attribute of every entry, as GNU tar's `--xattrs`
   * (a volume's export).
   */
  xattrs?: 'capability' | 'all';
  /** Called once the walk has ended (finished or failed): descriptors that `path` names can be closed then. */
  done?: () => void;
}

/** Files up to this size are read whole in one go by readSmallFile; bigger ones are streamed. */
export const SMALL_FILE_LIMIT = 256 * 1024;

/**
 * The content of a regular file of at most `limit` bytes, read synchronously through one
 * descriptor; undefined when it is bigger (stream it then). For a tree of many small files the
 * open, read and close of a stream each cost a thread-pool round trip and most of the time.
 */
export function readSmallFile(path: string, limit = SMALL_FILE_LIMIT): Buffer | undefined {
  const fd = openSync(path, 'r');
  try {
    return readSmallFd(fd, limit);
  } finally {
    closeSync(fd);
  }
}

function readSmallFd(fd: number, limit = SMALL_FILE_LIMIT): Buffer | undefined {
  const size = fstatSync(fd).size;
  if (size > limit) return undefined;
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  while (off < size) {
    const n = readSync(fd, buf, off, size - off, off);
    if (n === 0) break;
    off += n;
  }
  // A file that shrank meanwhile is what it is now; the tar header follows the bytes read.
  return off === size ? buf : buf.subarray(0, off);
}

/**
 * A file that lstat said is regular, opened for reading. Unless `follow`, a link put there since
 * is refused (ELOOP), and a fifo does not block the open (O_NONBLOCK) and is refused after it.
 */
function openRegular(path: string, follow: boolean): number {
  const fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | (follow ? 0 : fsConstants.O_NOFOLLOW));
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw Object.assign(new Error(`open ${path}: no longer a regular file`), { code: 'EINVAL' });
  }
  return fd;
}

const CAPABILITY_XATTR = 'security.capability';

/**
 * The capabilities of a file (a path, not followed, or an open descriptor): the one extended
 * attribute Docker's archives carry (a layer of `commit` or `build`, `cp`, `export`), so that
 * `setcap cap_net_bind_service+ep` in a Dockerfile survives.
 */
export function capabilityOf(file: string | number): Xattrs | undefined {
  try {
    const value = lgetxattr(file, CAPABILITY_XATTR);
    return value ? { [CAPABILITY_XATTR]: value } : undefined;
  } catch {
    // A file system without extended attributes has no capabilities to keep.
    return undefined;
  }
}

/** Every extended attribute of a file (a path, not followed, or an open descriptor), as GNU tar's `--xattrs` keeps them. */
export function xattrsOf(file: string | number): Xattrs | undefined {
  let out: Xattrs | undefined;
  for (const name of llistxattr(file)) {
    // One removed between the listing and the read is gone.
    const value = lgetxattr(file, name);
    if (value) (out ??= {})[name] = value;
  }
  return out;
}

const VFS_CAP_REVISION_MASK = 0xff000000;
const VFS_CAP_REVISION_2 = 0x02000000;
const VFS_CAP_REVISION_3 = 0x03000000;

/**
 * `setcap` run by a remapped root stores the capabilities for its namespace only (revision 3,
 * with the host ID of that root): in an archive they are the image's, for whatever root runs
 * it, so they are written as revision 2, the form `setcap` writes outside any namespace.
 */
export function unscopedCapability(value: Buffer, idmap: IdMapping): Buffer {
  if (value.length !== 24 || (value.readUInt32LE(0) & VFS_CAP_REVISION_MASK) >>> 0 !== VFS_CAP_REVISION_3) return value;
  if (value.readUInt32LE(20) !== rootPair(idmap).uid) return value;
  const v2 = Buffer.from(value.subarray(0, 20));
  v2.writeUInt32LE(((value.readUInt32LE(0) & ~VFS_CAP_REVISION_MASK) | VFS_CAP_REVISION_2) >>> 0, 0);
  return v2;
}

function header(name: string, st: Stats): TarHeader {
  return { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
}

/**
 * Writes the tree at `path` as a tar stream: files, directories, symlinks (never followed),
 * hard links between files met twice, devices and fifos. Sockets have no tar form and are left
 * out, as Docker does. A reader that goes away mid-stream destroys the pack.
 */
export function packTree(path: string, opts: PackOptions = {}): Pack {
  const p = pack();
  // A reader that goes away mid-stream destroys the pack; that's the reader's error to see, not ours.
  p.on('error', () => {});
  const seen = new Map<string, string>();
  const max = opts.mtimeMax;
  const clamp = <H extends TarHeader>(h: H): H => (max && (!h.mtime || h.mtime > max) ? { ...h, mtime: max } : h);
  // Each entry starts once the one before has ended: pushXattrHeader writes between entries.
  const add = (h: TarHeader, body?: Buffer) => new Promise<void>((resolve, reject) => p.entry(pushXattrHeader(p, clamp(h)), body ?? Buffer.alloc(0), (e) => (e ? reject(e) : resolve())));
  const head = (name: string, st: Stats): TarHeader => {
    const h = header(name, st);
    return opts.idmap ? { ...h, ...toContainerIds(opts.idmap, { uid: st.uid, gid: st.gid }) } : h;
  };
  const xattrsFor = (file: string | number, regular: boolean): Xattrs | undefined => {
    const found = opts.xattrs === 'all' ? xattrsOf(file) : regular ? capabilityOf(file) : undefined;
    const caps = found?.[CAPABILITY_XATTR];
    return caps && opts.idmap ? { ...found, [CAPABILITY_XATTR]: unscopedCapability(caps, opts.idmap) } : found;
  };
  const nameOf = (rel: string) => (opts.name === undefined || !rel ? (opts.name ?? rel) : opts.name.endsWith('/') ? opts.name + rel : `${opts.name}/${rel}`);

  // Each directory is opened before it is read, and what is in it is named through that
  // descriptor (/proc/self/fd/N/child): every lookup is one component below a directory already
  // held, never a path whose directories could be swapped for links meanwhile (the copy of a
  // running container's tree). `followed`: a redirect's host path, which may be a link.
  const entry = async (host: string, rel: string, st: Stats, followed: boolean): Promise<void> => {
    const replaced = opts.replace?.(rel, st);
    if (replaced) return add(replaced);
    const name = nameOf(rel);
    // Only a regular file is opened: any other entry's attributes are read by its path, not followed.
    const others = () => xattrsFor(host, false);
    if (st.isDirectory()) {
      await add({ ...head(name.endsWith('/') ? name : `${name}/`, st), type: 'directory', xattrs: others() });
      await walk(host, rel, followed);
    } else if (st.isSymbolicLink()) {
      await add({ ...head(name, st), type: 'symlink', linkname: readlinkSync(host), xattrs: others() });
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? seen.get(key) : undefined;
      if (first) return add({ ...head(name, st), type: 'link', linkname: first });
      if (st.nlink > 1) seen.set(key, name);
      const fd = openRegular(host, followed);
      const xattrs = xattrsFor(fd, true);
      let streamed = false;
      try {
        const small = st.size <= SMALL_FILE_LIMIT ? readSmallFd(fd) : undefined;
        if (small) return await add({ ...head(name, st), type: 'file', size: small.length, xattrs }, small);
        streamed = true;
        await new Promise<void>((resolve, reject) => {
          const e = p.entry(pushXattrHeader(p, clamp({ ...head(name, st), type: 'file', size: st.size, xattrs })), (err) => (err ? reject(err) : resolve()));
          // Reads of 1 MiB, not 64 KiB: one thread-pool round trip per MiB, a sixteenth as many.
          pipeline(createReadStream('', { fd, highWaterMark: LARGE_READ }), e).catch(reject);
        });
      } finally {
        // The read stream closes its descriptor itself.
        if (!streamed) closeSync(fd);
      }
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      await add({ ...head(name, st), type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: devMajor(st.rdev), devminor: devMinor(st.rdev), xattrs: others() });
    } else if (st.isFIFO()) {
      await add({ ...head(name, st), type: 'fifo', xattrs: others() });
    }
  };

  const walk = async (path: string, rel: string, followed: boolean): Promise<void> => {
    const fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | (followed ? 0 : fsConstants.O_NOFOLLOW));
    try {
      const dir = `/proc/self/fd/${fd}`;
      for (const h of opts.before?.(path, rel) ?? []) await add({ ...h, name: nameOf(h.name) });
      for (const child of readdirSync(dir).sort()) {
        const r = rel ? `${rel}/${child}` : child;
        const other = opts.redirect?.(r);
        const host = other ?? `${dir}/${child}`;
        // Synchronous: one system call each, far cheaper than a thread-pool round trip per entry.
        const st = other ? statSync(host) : lstatSync(host);
        if (opts.skip?.(r, st)) continue;
        await entry(host, r, st, other !== undefined);
      }
    } finally {
      closeSync(fd);
    }
  };

  const top = async (): Promise<void> => {
    // The caller's own path is followed if it is a link; below it, nothing is.
    if (opts.name === undefined) return walk(path, '', true);
    const other = opts.redirect?.('');
    await entry(other ?? path, '', other ? await stat(other) : await lstat(path), other !== undefined);
  };
  top()
    .finally(() => opts.done?.())
    .then(
      () => p.finalize(),
      (err) => p.destroy(err),
    );
  return p;
}

/** One in-memory archive entry: a header and, for a file, its content. */
export type MemoryEntry = Partial<TarHeader> & { name: string; body?: string | Buffer };

/** A tar of entries held in memory (files 0644 and directories 0755 unless a mode is given). */
export async function tarOfEntries(entries: MemoryEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => p.on('end', () => resolve()));
  for (const { body, ...h } of entries) {
    await new Promise<void>((resolve, reject) =>
      p.entry({ mode: h.type === 'directory' ? 0o755 : 0o644, ...h, size: body === undefined ? 0 : Buffer.byteLength(body) }, body ?? '', (e) => (e ? reject(e) : resolve())),
    );
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Every entry of a tar, in order, with its content read into memory: tests read back what they packed. */
export async function readTarEntries(tar: Readable | Buffer): Promise<{ header: Header; body: Buffer }[]> {
  const out: { header: Header; body: Buffer }[] = [];
  const ex = extract();
  ex.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    stream.on('end', () => {
      out.push({ header, body: Buffer.concat(chunks) });
      next();
    });
    stream.on('error', next);
  });
  const source = Buffer.isBuffer(tar) ? Readable.from([tar]) : tar;
  await new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
    source.on('error', reject);
    source.pipe(ex);
  });
  return out;
}
