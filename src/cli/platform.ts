/*
 * containerd's platforms.Parse for the CLI's --platform of push: `os[/arch[/variant]]`, or an
 * architecture or OS alone, normalized (x86_64 -> amd64, aarch64 -> arm64), with its error texts.
 */

const OSES = new Set(['aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'nacl', 'netbsd', 'openbsd', 'plan9', 'solaris', 'wasip1', 'windows', 'zos']);
const ARCHES = new Set(['386', 'amd64', 'amd64p32', 'arm', 'armbe', 'arm64', 'arm64be', 'ppc64', 'ppc64le', 'loong64', 'mips', 'mipsle', 'mips64', 'mips64le', 'mips64p32', 'mips64p32le', 'ppc', 'riscv', 'riscv64', 's390', 's390x', 'sparc', 'sparc64', 'wasm']);
const ARCH_ALIASES: Record<string, string> = { i386: '386', x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm' };

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

const invalid = (s: string, why: string) => new Error(`${JSON.stringify(s)}: ${why}: invalid argument`);

function arch(a: string): string {
  return ARCH_ALIASES[a] ?? a;
}

export function parsePlatform(spec: string, hostArch = process.arch === 'x64' ? 'amd64' : process.arch): PlatformSpec {
  const parts = spec.toLowerCase().split('/');
  for (const p of parts) if (!/^[a-z0-9_.-]+$/.test(p)) throw invalid(spec, 'invalid platform component');
  const [a, b, c] = parts;
  if (parts.length === 1) {
    if (OSES.has(a)) return { os: a, architecture: hostArch };
    if (ARCHES.has(arch(a))) return { os: 'linux', architecture: arch(a) };
    throw invalid(spec, 'unknown operating system or architecture');
  }
  if (parts.length > 3) throw invalid(spec, 'cannot parse platform specifier');
  if (!OSES.has(a)) throw invalid(spec, 'unknown operating system or architecture');
  if (!ARCHES.has(arch(b))) throw invalid(spec, 'unknown operating system or architecture');
  const variant = c ?? (b === 'arm64' || b === 'aarch64' ? undefined : b === 'armhf' ? 'v7' : b === 'armel' ? 'v6' : undefined);
  return variant ? { os: a, architecture: arch(b), variant } : { os: a, architecture: arch(b) };
}
