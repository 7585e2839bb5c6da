import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

interface NativeBinding {
  mknod(path: string, mode: number, major: number, minor: number): void;
  lsetxattr(path: string, name: string, value: Buffer): void;
  lgetxattr(path: string, name: string): Buffer | undefined;
  seqpacketConnect(path: string): number;
  mountOverlay(cwd: string, options: string, target: string): void;
  umount(target: string, detach: boolean): void;
}

// The addon is built by `npm run build` into native/build; dist/src/util is three levels below the root.
const ADDON = fileURLToPath(new URL('../../../native/build/Release/wharf_native.node', import.meta.url));
let binding: NativeBinding | undefined;

function native(): NativeBinding {
  binding ??= createRequire(import.meta.url)(ADDON) as NativeBinding;
  return binding;
}

/** Encodes a device number the way the kernel reports it in stat's rdev. */
export function makedev(major: number, minor: number): number {
  return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12) | (Math.floor(major / 0x1000) * 2 ** 32);
}

export function devMajor(dev: number): number {
  return ((dev >> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
}

export function devMinor(dev: number): number {
  return (dev & 0xff) | ((dev >>> 12) & ~0xff & 0xfffff);
}

/** mknod(2); `mode` includes the file type bits (fs.constants.S_IFCHR, ...), `dev` is encoded as stat's rdev. */
export function mknod(path: string, mode: number, dev: number): void {
  native().mknod(path, mode, devMajor(dev), devMinor(dev));
}

export function lsetxattr(path: string, name: string, value: Buffer | string): void {
  native().lsetxattr(path, name, typeof value === 'string' ? Buffer.from(value) : value);
}

/** The attribute's value, or undefined when the file does not have it. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  return native().lgetxattr(path, name);
}

/** mount(2) of an overlay whose relative lowerdirs are resolved from `cwd`; errors carry err.code (EBUSY, EINVAL, ...). */
export function mountOverlayNative(cwd: string, options: string, target: string): void {
  native().mountOverlay(cwd, options, target);
}

/** umount2(2); `detach` is MNT_DETACH (lazy). */
export function umount(target: string, detach = false): void {
  native().umount(target, detach);
}

/**
 * Connects to a SOCK_SEQPACKET unix socket (conmon's attach socket) and returns the fd of a
 * stream socket bridged to it, to be wrapped in a net.Socket. Each packet read arrives behind a
 * 4-byte big-endian length; bytes written go out as packets. Paths longer than sun_path work.
 */
export function seqpacketConnect(path: string): number {
  return native().seqpacketConnect(path);
}
