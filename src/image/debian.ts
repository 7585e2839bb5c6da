import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { goArch, type ImageConfig } from './types.js';

/**
 * `debian:<suite>` base images made from the Debian archive with mmdebstrap, for a wharfd that
 * cannot reach a registry (DESIGN.md decision 7). The recipe follows the official images
 * (docker-library's debuerreotype): the minbase variant (Essential, Priority: required, apt),
 * merged /usr where the suite has it, the suite's -updates and -security sources, apt tuned for
 * containers, package lists removed; `-slim` also leaves out documentation, man pages and locales.
 */

export const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';
const DEFAULT_SECURITY_MIRROR = 'http://deb.debian.org/debian-security';

/** Release numbers the official images are also tagged with; fixed forever once released. */
const NUMBERS: Record<string, string> = { '11': 'bullseye', '12': 'bookworm', '13': 'trixie' };
const CODENAMES = ['bullseye', 'bookworm', 'trixie', 'forky'];
/** Symbolic suites move from release to release, so they are never aliased to a codename. */
const SYMBOLIC = ['oldstable', 'stable', 'testing', 'sid'];

export interface DebianRecipe {
  /** The suite mmdebstrap is given: a codename, or oldstable/stable/testing/sid. */
  suite: string;
  slim: boolean;
  /** The tags that name this same recipe (`bookworm` and `12`; `stable` and `latest`), the canonical one first. */
  aliases: string[];
}

/**
 * The recipe for an image reference's repository (familiar form) and tag, or undefined when it
 * is not an official Debian suite wharf can make: then it is a registry pull like any other.
 */
export function debianRecipe(repo: string, tag: string | undefined): DebianRecipe | undefined {
  if (repo !== 'debian') return undefined;
  let t = tag ?? 'latest';
  if (t === 'latest') return { suite: 'stable', slim: false, aliases: ['stable', 'latest'] };
  const slim = t.endsWith('-slim');
  if (slim) t = t.slice(0, -'-slim'.length);
  if (t === 'unstable') t = 'sid';
  const suite = NUMBERS[t] ?? t;
  if (!CODENAMES.includes(suite) && !SYMBOLIC.includes(suite)) return undefined;
  const names = [suite, ...Object.keys(NUMBERS).filter((n) => NUMBERS[n] === suite), ...(suite === 'sid' ? ['unstable'] : [])];
  if (slim) return { suite, slim, aliases: names.map((n) => `${n}-slim`) };
  return { suite, slim, aliases: suite === 'stable' ? [...names, 'latest'] : names };
}

export interface DebianSources {
  /** The main archive (daemon config `debian-mirror`). */
  mirror: string;
  /**
   * The security archive. Unset: deb.debian.org's when the main archive is deb.debian.org, none
   * otherwise (a private mirror often has no debian-security, and a closed network cannot reach
   * the public one). An empty string: none.
   */
  securityMirror?: string;
}

/** The apt sources of the image, as the official images have them. */
export function debianSourceLines(recipe: DebianRecipe, src: DebianSources): string[] {
  const mirror = src.mirror.replace(/\/+$/, '');
  const lines = [`deb ${mirror} ${recipe.suite} main`];
  if (recipe.suite === 'sid') return lines;
  lines.push(`deb ${mirror} ${recipe.suite}-updates main`);
  const security = src.securityMirror ?? (mirror === DEFAULT_DEBIAN_MIRROR ? DEFAULT_SECURITY_MIRROR : '');
  if (security) lines.push(`deb ${security.replace(/\/+$/, '')} ${recipe.suite}-security main`);
  return lines;
}

/** What `-slim` leaves out (debuerreotype's slimify), kept in dpkg's config so later installs leave it out too. */
const SLIM_DPKG = [
  'path-exclude=/usr/share/doc/*',
  // Licences stay: they must go with the binaries.
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/groff/*',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/linda/*',
  'path-exclude=/usr/share/lintian/overrides/*',
  'path-exclude=/usr/share/locale/*',
  'path-exclude=/usr/share/man/*',
];

/** The official images' apt and dpkg settings for containers (debuerreotype-minimizing-config). */
const CONTAINER_CONFIG: [string, string[]][] = [
  ['etc/apt/apt.conf.d/docker-autoremove-suggests', ['Apt::AutoRemove::SuggestsImportant "false";']],
  [
    'etc/apt/apt.conf.d/docker-clean',
    [
      'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
      'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
      'Dir::Cache::pkgcache "";',
      'Dir::Cache::srcpkgcache "";',
    ],
  ],
  ['etc/apt/apt.conf.d/docker-gzip-indexes', ['Acquire::GzipIndexes "true";']],
  ['etc/apt/apt.conf.d/docker-no-languages', ['Acquire::Languages "none";']],
  ['etc/dpkg/dpkg.cfg.d/docker-apt-speedup', ['force-unsafe-io']],
];

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The container settings go in by a customize hook, after mmdebstrap's own apt runs: the
 * Post-Invoke clean-up must not run while mmdebstrap drives apt from outside the chroot.
 */
function customizeScript(): string {
  // With docker-clean in place mmdebstrap's own clean-up leaves the downloaded .debs (74 MB): drop them here.
  const clean = 'rm -f "$1"/var/cache/apt/archives/*.deb "$1"/var/cache/apt/archives/partial/*.deb "$1"/var/cache/apt/*.bin';
  return `${clean} && ` + CONTAINER_CONFIG.map(([path, lines]) => `printf '%s\\n' ${lines.map(shQuote).join(' ')} > "$1/${path}"`).join(' && ');
}

/** mmdebstrap's arguments: the root file system as a tar on stdout. */
export function mmdebstrapArgs(recipe: DebianRecipe, src: DebianSources): string[] {
  return [
    '--variant=minbase',
    '--format=tar',
    `--architectures=${goArch()}`,
    // Merged /usr by its package, as the official images are, where the suite has it (bookworm on);
    // without it apt picks usrmerge, which drags in perl.
    '--hook-dir=/usr/share/mmdebstrap/hooks/maybe-merged-usr',
    // A container's /dev is the runtime's: no device nodes in the layer.
    '--skip=output/dev',
    ...(recipe.slim ? SLIM_DPKG.map((o) => `--dpkgopt=${o}`) : []),
    `--customize-hook=${customizeScript()}`,
    recipe.suite,
    '-',
    ...debianSourceLines(recipe, src),
  ];
}

/** The image config, like the official image's: bash, the standard PATH, one layer. */
export function debianConfig(diffId: string, recipe: DebianRecipe, src: DebianSources, created: string): ImageConfig {
  const how = `wharf: mmdebstrap --variant=minbase ${recipe.suite}${recipe.slim ? ' (slim)' : ''} from ${src.mirror}`;
  return {
    architecture: goArch(),
    os: 'linux',
    created,
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['bash'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: how }],
  };
}

export interface DebianBuild {
  /** The root file system tar; read it to the end. */
  tar: Readable;
  /** Settles when mmdebstrap has exited: rejects with its last lines when it failed. */
  done: Promise<void>;
  /** Stops it (the mount namespace it ran in goes with it). */
  kill(): void;
}

/**
 * Runs mmdebstrap for `recipe`. It runs in a private mount namespace, so whatever it mounts in
 * its chroot (proc, sys) disappears with it even when it is killed, and its work directory in
 * `tmpDir` (which the caller removes) never holds a mount. Proxies (http_proxy, ...) come from
 * `env`, which apt inside honours.
 */
export function runMmdebstrap(
  recipe: DebianRecipe,
  src: DebianSources,
  opts: { tmpDir: string; env?: NodeJS.ProcessEnv; onLine(line: string): void; timeoutMs?: number },
): DebianBuild {
  const args = mmdebstrapArgs(recipe, src);
  const child = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'mmdebstrap', ...args], {
    env: { ...(opts.env ?? process.env), TMPDIR: opts.tmpDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  let partial = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    const lines = (partial + s).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.trim()) continue;
      tail.push(l);
      if (tail.length > 20) tail.shift();
      opts.onLine(l);
    }
  });
  const timer = setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs ?? 20 * 60_000);
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run mmdebstrap (install the mmdebstrap package): ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (partial.trim()) tail.push(partial);
      if (code === 0) return resolve();
      const why = signal ? `killed by ${signal}` : `exit status ${code}`;
      const detail = tail.join('\n').trim();
      const hint = code === 127 || /failed to execute mmdebstrap/.test(detail) ? ' (install the mmdebstrap package)' : '';
      reject(new Error(`making debian:${recipe.suite}${recipe.slim ? '-slim' : ''} from ${src.mirror} with mmdebstrap failed (${why})${hint}${detail ? `: ${detail}` : ''}`));
    });
  });
  return { tar: child.stdout, done, kill: () => child.kill('SIGTERM') };
}
