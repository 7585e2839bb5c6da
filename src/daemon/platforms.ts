import { readFileSync } from 'node:fs';
import { goArch, type Platform } from '../image/index.js';
import { InvalidArgumentError } from '../util/index.js';

/** An OS/architecture/variant triple, normalized as containerd's platforms package does. */
export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

const KNOWN_OS = new Set(['aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'illumos', 'ios', 'js', 'linux', 'netbsd', 'openbsd', 'plan9', 'solaris', 'wasip1', 'windows']);
const KNOWN_ARCH = new Set(['386', 'amd64', 'amd64p32', 'arm', 'armbe', 'arm64', 'arm64be', 'loong64', 'mips', 'mipsle', 'mips64', 'mips64le', 'ppc', 'ppc64', 'ppc64le', 'riscv', 'riscv64', 's390', 's390x', 'sparc', 'sparc64', 'wasm']);

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

export function normalizePlatform(p: { os?: string; architecture?: string; variant?: string }): PlatformSpec {
  const arch = normalizeArch(p.architecture ?? '', p.variant);
  return { os: (p.os ?? '').toLowerCase(), architecture: arch.architecture, ...(arch.variant ? { variant: arch.variant } : {}) };
}

/** `linux/arm64`, `linux/arm/v7`, `arm64`: the API's `platform` parameter. */
export function parsePlatform(s: string): PlatformSpec {
  const parts = s.split('/');
  const bad = (why: string) => new InvalidArgumentError(`"${s}": ${why}: invalid argument`);
  if (parts.length > 3 || parts.some((p) => !/^[A-Za-z0-9_.-]+$/.test(p))) throw bad('invalid platform specifier');
  if (parts.length === 1) {
    const x = parts[0].toLowerCase();
    if (KNOWN_OS.has(x)) return normalizePlatform({ os: x, architecture: goArch() });
    const a = normalizeArch(x, undefined);
    if (!KNOWN_ARCH.has(a.architecture)) throw bad('unknown operating system or architecture');
    return { os: 'linux', ...a };
  }
  const p = normalizePlatform({ os: parts[0], architecture: parts[1], variant: parts[2] });
  if (!KNOWN_OS.has(p.os)) throw bad('unknown operating system or architecture');
  if (!KNOWN_ARCH.has(p.architecture)) throw bad('unknown operating system or architecture');
  return p;
}

export function formatPlatform(p: PlatformSpec): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** The x86-64 micro-architecture level of this CPU (v1..v4), as Go's archvariant reads it from its flags. */
export function amd64Level(cpuinfo?: string): number {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return 1;
    }
  }
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(text)?.[1] ?? '').split(/\s+/));
  const all = (xs: string[]) => xs.every((x) => flags.has(x));
  if (!all(['cx16', 'lahf_lm', 'popcnt', 'sse4_1', 'sse4_2', 'ssse3'])) return 1;
  if (!all(['avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'abm', 'movbe', 'xsave'])) return 2;
  if (!all(['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'])) return 3;
  return 4;
}

/** What an image is pulled for when no platform is asked: this machine, with its amd64 level. */
export function hostPlatform(level: () => number = amd64Level): PlatformSpec {
  const arch = goArch();
  if (arch === 'amd64') {
    const l = level();
    return { os: 'linux', architecture: 'amd64', ...(l > 1 ? { variant: `v${l}` } : {}) };
  }
  return normalizePlatform({ os: 'linux', architecture: arch });
}

/**
 * The platforms that can run images made for `want`, best first (containerd's platforms.Only):
 * lower amd64 levels and 386 for amd64, lower ARM versions for ARM.
 */
export function compatiblePlatforms(want: PlatformSpec): PlatformSpec[] {
  const out: PlatformSpec[] = [want];
  const { os, architecture: arch, variant } = want;
  if (arch === 'amd64') {
    const level = variant ? Number(variant.slice(1)) || 1 : 1;
    for (let l = level - 1; l >= 1; l--) out.push({ os, architecture: 'amd64', ...(l > 1 ? { variant: `v${l}` } : {}) });
    out.push({ os, architecture: '386' });
  } else if (arch === 'arm64' && !variant) {
    for (const v of ['v8', 'v7', 'v6', 'v5']) out.push({ os, architecture: 'arm', variant: v });
  } else if (arch === 'arm' && variant) {
    for (let n = Number(variant.slice(1)) - 1; n >= 5; n--) out.push({ os, architecture: 'arm', variant: `v${n}` });
  }
  return out;
}

/**
 * The index entries that `want` can run, best first; entries without a platform match last,
 * as moby's filterManifests orders them.
 */
export function matchManifests<T extends { platform?: Platform }>(entries: T[], want: PlatformSpec): T[] {
  const vector = compatiblePlatforms(want);
  const rank = (e: T): number => {
    if (!e.platform) return vector.length;
    const p = normalizePlatform(e.platform);
    return vector.findIndex((v) => v.os === p.os && v.architecture === p.architecture && (v.variant ?? '') === (p.variant ?? ''));
  };
  return entries
    .map((e, i) => ({ e, i, r: rank(e) }))
    .filter((x) => x.r >= 0)
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.e);
}
