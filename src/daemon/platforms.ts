import { readFileSync } from 'node:fs';
import { goArch, type Platform } from '../image/index.js';
import { normalizePlatform, parsePlatform as parseSpecifier, type PlatformSpec } from '../util/index.js';

/**
 * The API's `platform` parameter (`linux/arm64`, `linux/arm/v7`, `arm64`): parsed and then
 * normalized, as dockerd does, so `linux/arm` asks for arm/v7.
 */
export function parsePlatform(s: string): PlatformSpec {
  return normalizePlatform(parseSpecifier(s, goArch()));
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
