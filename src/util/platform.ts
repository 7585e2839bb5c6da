/*
 * Platforms as containerd's platforms package reads them (Parse, Normalize, Format), with its
 * error texts: the CLI's --platform and the API's `platform` parameter must agree on what
 * `linux/arm`, `aarch64` or `x86_64` mean.
 */
import { InvalidArgumentError } from './errors.js';

/** An OS/architecture/variant triple. */
export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

const KNOWN_OS = new Set(['aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'nacl', 'netbsd', 'openbsd', 'plan9', 'solaris', 'wasip1', 'windows', 'zos']);
const KNOWN_ARCH = new Set(['386', 'amd64', 'amd64p32', 'arm', 'armbe', 'arm64', 'arm64be', 'loong64', 'mips', 'mipsle', 'mips64', 'mips64le', 'mips64p32', 'mips64p32le', 'ppc', 'ppc64', 'ppc64le', 'riscv', 'riscv64', 's390', 's390x', 'sparc', 'sparc64', 'wasm']);
const COMPONENT = /^[A-Za-z0-9_.-]+$/;

/** Go's GOARCH for this machine, which containerd assumes when only an OS is given. */
const hostArch = (): string => (process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch);

function normalizeArch(arch: string, variant: string | undefined): { architecture: string; variant?: string } {
  const a = arch.toLowerCase();
  const v = variant?.toLowerCase() || undefined;
  switch (a) {
    case 'i386':
    case 'i686':
      return { architecture: '386' };
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return { architecture: 'amd64', variant: v === 'v1' ? undefined : v };
    case 'aarch64':
    case 'arm64':
      return { architecture: 'arm64', variant: v === '8' || v === 'v8' ? undefined : v };
    case 'armhf':
      return { architecture: 'arm', variant: 'v7' };
    case 'armel':
      return { architecture: 'arm', variant: 'v6' };
    case 'arm':
      return { architecture: 'arm', variant: !v ? 'v7' : /^\d$/.test(v) ? `v${v}` : v };
    default:
      return { architecture: a, ...(v ? { variant: v } : {}) };
  }
}

const spec = (os: string, a: { architecture: string; variant?: string }): PlatformSpec => ({ os, architecture: a.architecture, ...(a.variant ? { variant: a.variant } : {}) });

/** containerd's Normalize: lower case, aliases resolved (x86_64 -> amd64), ARM's default variant v7. */
export function normalizePlatform(p: { os?: string; architecture?: string; variant?: string }): PlatformSpec {
  return spec((p.os ?? '').toLowerCase(), normalizeArch(p.architecture ?? '', p.variant));
}

/**
 * containerd's Parse: `os[/arch[/variant]]`, or an OS or an architecture alone. Unlike Normalize
 * it leaves ARM's v7 implied (`linux/arm` stays without a variant) and spells arm64's v8. Unlike
 * containerd it also refuses an unknown OS or architecture in the two- and three-part forms.
 */
export function parsePlatform(s: string, arch: string = hostArch()): PlatformSpec {
  const bad = (why: string) => new InvalidArgumentError(`${JSON.stringify(s)}: ${why}: invalid argument`);
  const parts = s.split('/');
  if (parts.length > 3) throw bad('cannot parse platform specifier');
  for (const p of parts) if (!COMPONENT.test(p)) throw bad('invalid platform specifier');
  if (parts.length === 1) {
    const x = parts[0].toLowerCase();
    if (KNOWN_OS.has(x)) return normalizePlatform({ os: x, architecture: arch });
    const a = normalizeArch(x, undefined);
    if (!KNOWN_ARCH.has(a.architecture)) throw bad('unknown operating system or architecture');
    return spec('linux', a.architecture === 'arm' && a.variant === 'v7' ? { architecture: 'arm' } : a);
  }
  const p = normalizePlatform({ os: parts[0], architecture: parts[1], variant: parts[2] });
  if (!KNOWN_OS.has(p.os) || !KNOWN_ARCH.has(p.architecture)) throw bad('unknown operating system or architecture');
  if (parts.length === 2 && p.architecture === 'arm' && p.variant === 'v7') return { os: p.os, architecture: 'arm' };
  if (parts.length === 3 && p.architecture === 'arm64' && !p.variant) return { ...p, variant: 'v8' };
  return p;
}

/** containerd's Format: `linux/arm/v7`. */
export function formatPlatform(p: PlatformSpec): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}
