import { createRequire } from 'node:module';
import { constants as fsConstants } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { NATIVE_ADDON_PATH } from './installed.js';

interface NativeBinding {
  mknod(path: string, mode: number, major: number, minor: number): void;
  lsetxattr(path: string, name: string, value: Buffer): void;
  lgetxattr(file: string | number, name: string): Buffer | undefined;
  llistxattr(file: string | number): string[];
  seqpacketConnect(path: string): number;
  mountOverlay(cwd: string, options: string, target: string): void;
  umount(target: string, detach: boolean): void;
  umountAsync(target: string, detach: boolean): Promise<void>;
  lookupIn(root: string, path: string): Promise<{ mode: number; size: number; mtimeSec: number; mtimeNsec: number; link?: string }>;
  openDirIn(root: string, path: string): Promise<number>;
  pipe(): [number, number];
  spawn(file: string, argv: string[], envp: string[] | null, cwd: string | null, fds: number[], setsid: boolean): { pid: number; exited: Promise<ProgramExit> };
  mallocTrim(): boolean;
  lowMemoryNotification(): void;
}

let binding: NativeBinding | undefined;

function native(): NativeBinding {
  binding ??= createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeBinding;
  return binding;
}

// stat's rdev is a 64-bit number (glibc's encoding); JS bit operators work on 32 bits, so split it first.
const low32 = (dev: number) => dev % 2 ** 32 >>> 0;
const high32 = (dev: number) => Math.floor(dev / 2 ** 32) >>> 0;

export function devMajor(dev: number): number {
  return (((low32(dev) >>> 8) & 0xfff) | (high32(dev) & 0xfffff000)) >>> 0;
}

export function devMinor(dev: number): number {
  return ((low32(dev) & 0xff) | (((low32(dev) >>> 12) | (high32(dev) << 20)) & 0xffffff00)) >>> 0;
}

/** mknod(2); `mode` includes the file type bits (fs.constants.S_IFCHR, ...). */
export function mknod(path: string, mode: number, major: number, minor: number): void {
  withCode(() => native().mknod(path, mode, major, minor));
}

/** malloc_trim(3): gives back what every thread's malloc arena holds free; true if anything went. */
export function mallocTrim(): boolean {
  return native().mallocTrim();
}

/**
 * V8's LowMemoryNotification on the calling thread's isolate: collections until nothing more goes,
 * with compaction, a shrunk young generation and bytecode not run lately dropped.
 */
export function lowMemoryNotification(): void {
  native().lowMemoryNotification();
}

/** The addon sets errno; Node knows every errno's name (ENOSPC, EROFS, ...). */
function named(err: unknown): NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException;
  if (typeof e.errno === 'number') e.code = getSystemErrorName(e.errno);
  return e;
}

function rethrowNamed(err: unknown): never {
  throw named(err);
}

function withCode<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw named(err);
  }
}

export function lsetxattr(path: string, name: string, value: Buffer | string): void {
  withCode(() => native().lsetxattr(path, name, typeof value === 'string' ? Buffer.from(value) : value));
}

/** The attribute's value, or undefined when the file (a path, not followed, or an open descriptor) does not have it. */
export function lgetxattr(file: string | number, name: string): Buffer | undefined {
  return withCode(() => native().lgetxattr(file, name));
}

/** The names of the file's extended attributes (a path, not followed, or an open descriptor); none where the file system has none. */
export function llistxattr(file: string | number): string[] {
  return withCode(() => native().llistxattr(file));
}

/** mount(2) of an overlay whose relative lowerdirs are resolved from `cwd`; errors carry err.code (EBUSY, EINVAL, ...). */
export function mountOverlayNative(cwd: string, options: string, target: string): void {
  withCode(() => native().mountOverlay(cwd, options, target));
}

/** umount2(2); `detach` is MNT_DETACH (lazy). */
export function umount(target: string, detach = false): void {
  withCode(() => native().umount(target, detach));
}

/** umount2(2) on the thread pool: an overlay's last unmount waits for its upper file system's writeback. */
export async function umountAsync(target: string, detach = false): Promise<void> {
  await native().umountAsync(target, detach).catch(rethrowNamed);
}

/** What lookupIn finds: lstat's fields that a copy needs, and a symlink's target. */
export interface RootedStats {
  mode: number;
  size: number;
  mtimeNs: bigint;
  link?: string;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/**
 * The directory `path` opened (close-on-exec) as lookupIn resolves it, with `root` as `/`. Names
 * one component below it (`/proc/self/fd/FD/name`) then stay inside `root` however the container
 * changes its tree meanwhile. The caller closes it.
 */
export function openDirIn(root: string, path: string): Promise<number> {
  return native().openDirIn(root, path).catch(rethrowNamed);
}

/**
 * lstat(2) (and readlink(2) for a symlink) of `path` resolved by the kernel with `root` as `/`,
 * on a thread of its own that nothing else shares: no `..` or symlink leads it out of `root`.
 */
export async function lookupIn(root: string, path: string): Promise<RootedStats> {
  const r = await native().lookupIn(root, path).catch(rethrowNamed);
  const type = r.mode & fsConstants.S_IFMT;
  return {
    mode: r.mode,
    size: r.size,
    mtimeNs: BigInt(r.mtimeSec) * 1_000_000_000n + BigInt(r.mtimeNsec),
    ...(r.link !== undefined ? { link: r.link } : {}),
    isDirectory: () => type === fsConstants.S_IFDIR,
    isSymbolicLink: () => type === fsConstants.S_IFLNK,
  };
}

/**
 * Connects to a SOCK_SEQPACKET unix socket (conmon's attach socket) and returns the fd of a
 * stream socket bridged to it, to be wrapped in a net.Socket. Each packet read arrives behind a
 * 4-byte big-endian length; bytes written go out as packets. Paths longer than sun_path work.
 */
export function seqpacketConnect(path: string): number {
  return withCode(() => native().seqpacketConnect(path));
}

/** A pipe as [read end, write end], both close-on-exec, for a child's stdio. */
export function pipe(): [number, number] {
  return withCode(() => native().pipe());
}

/** What a program started by spawnProgram ended with: an exit status or a signal number. */
export interface ProgramExit {
  code: number | null;
  signal: number | null;
}

/**
 * posix_spawn(3) of `file` (searched on PATH when it has no slash) with argv[0] `file`. The
 * child's fd i is fds[i], -1 for /dev/null; `newSession` makes it a session leader (setsid), as
 * Node's `detached`. Errors carry err.code (ENOENT, EACCES, ...) as Node's spawn's do.
 */
export function spawnProgram(
  file: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; fds: readonly number[]; newSession?: boolean },
): { pid: number; exited: Promise<ProgramExit> } {
  const envp = opts.env ? Object.entries(opts.env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`])) : null;
  return withCode(() => native().spawn(file, [file, ...args], envp, opts.cwd ?? null, [...opts.fds], opts.newSession ?? false));
}
