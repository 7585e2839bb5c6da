import { isIP } from 'node:net';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, isErrno, type LogLevel } from '../util/index.js';
import type { RemappedRoot } from './userns.js';

/** The daemon's settings: dockerd's flags and daemon.json keys that wharf supports. */
export interface DaemonConfig {
  hosts: string[];
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  logLevel: LogLevel;
  tls: boolean;
  tlsVerify: boolean;
  tlsCaCert?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** Plain TCP without TLS was asked for explicitly. */
  insecureTcp: boolean;
  defaultRuntime: string;
  runtimes: Record<string, { path: string }>;
  liveRestore: boolean;
  logOpts: Record<string, string>;
  conmonPath: string;
  initPath: string;
  busyboxPath: string;
  group: string;
  /** The default network's bridge device (dockerd's --bridge); made if missing; `none`: no default network. */
  bridge: string;
  /** The default network's gateway address and prefix, `172.30.0.1/16` (dockerd's --bip); picked once when unset. */
  bip?: string;
  /**
   * IPv6 on the default network (dockerd's --ipv6), its subnet `fixedCidrV6` (--fixed-cidr-v6)
   * or, unset, a /64 of the daemon's own ULA prefix, as for a user network's --ipv6.
   */
  ipv6?: boolean;
  fixedCidrV6?: string;
  /** What `--add-host name:host-gateway` maps to (dockerd's --host-gateway-ip); the default network's gateway when unset. */
  hostGatewayIp?: string;
  /** The Debian archive `debian:<suite>` images are made from (daemon.json `debian-mirror`). */
  debianMirror: string;
  /**
   * Its security archive (daemon.json `debian-security-mirror`): unset, deb.debian.org's when the
   * mirror is deb.debian.org's and none otherwise; an empty string, none.
   */
  debianSecurityMirror?: string;
  /** daemon.json `registry-mirrors`: Docker Hub mirrors, tried in order before Docker Hub; each normalized to end in `/`. */
  registryMirrors: string[];
  /** daemon.json `insecure-registries`: `host[:port]` or CIDRs where plain HTTP is allowed (loopback always is). */
  insecureRegistries: string[];
  /** daemon.json `max-concurrent-downloads`: layers fetched at once, over all pulls. */
  maxConcurrentDownloads: number;
  /** daemon.json `max-concurrent-uploads`: layers sent at once, over all pushes. */
  maxConcurrentUploads: number;
  /** wharf's `certs-dir`: `<dir>/<host:port>/ca.crt` (and client.cert/client.key) per registry. */
  certsDir: string;
  /**
   * dockerd's --cpu-rt-period and --cpu-rt-runtime: the real-time CPU time (µs per period) of the
   * containers' parent cgroup, which their `--cpu-rt-runtime` is carved from (cgroup v1 only).
   */
  cpuRtPeriod?: number;
  cpuRtRuntime?: number;
  /** dockerd's --userns-remap: `default`, `user[:group]` or `uid[:gid]`, whose subordinate IDs containers' root takes. */
  usernsRemap?: string;
  /**
   * What usernsRemap resolved to at start (cmd/wharfd-main.ts), with dataRoot then
   * `<data root>/<uid>.<gid>` as dockerd's: images and containers of one mapping are not another's.
   */
  remap?: RemappedRoot;
}

export const DEFAULT_CONFIG: DaemonConfig = {
  hosts: ['unix:///run/wharf/wharf.sock'],
  dataRoot: '/var/lib/wharf',
  execRoot: '/run/wharf',
  pidfile: '/run/wharf/wharfd.pid',
  logLevel: 'info',
  tls: false,
  tlsVerify: false,
  insecureTcp: false,
  defaultRuntime: 'runc',
  runtimes: { runc: { path: '/usr/sbin/runc' }, crun: { path: '/usr/bin/crun' } },
  // Containers always outlive the daemon (conmon holds them); the flag exists for dockerd compatibility.
  liveRestore: true,
  // Unlike Docker, cap logs by default so a chatty container cannot fill the disk.
  logOpts: { 'max-size': '20m', 'max-file': '5' },
  conmonPath: '/usr/bin/conmon',
  // Static: it is bind-mounted into containers whose images may have no libc.
  initPath: '/usr/bin/tini-static',
  busyboxPath: '/usr/bin/busybox',
  group: 'wharf',
  // Not docker0, so wharf and Docker share a host.
  bridge: 'wharf0',
  debianMirror: 'http://deb.debian.org/debian',
  registryMirrors: [],
  insecureRegistries: [],
  maxConcurrentDownloads: 3,
  maxConcurrentUploads: 5,
  certsDir: '/etc/wharf/certs.d',
};

/** daemon.json keys (dockerd's names) that map onto DaemonConfig. */
interface DaemonJson {
  hosts?: string[];
  'data-root'?: string;
  'exec-root'?: string;
  pidfile?: string;
  'log-level'?: LogLevel;
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  'default-runtime'?: string;
  runtimes?: Record<string, { path: string }>;
  'live-restore'?: boolean;
  'log-opts'?: Record<string, string>;
  group?: string;
  bridge?: string;
  bip?: string;
  ipv6?: boolean;
  'fixed-cidr-v6'?: string;
  'host-gateway-ip'?: string;
  'debian-mirror'?: string;
  'debian-security-mirror'?: string;
  'registry-mirrors'?: string[];
  'insecure-registries'?: string[];
  'max-concurrent-downloads'?: number;
  'max-concurrent-uploads'?: number;
  'certs-dir'?: string;
  'cpu-rt-period'?: number;
  'cpu-rt-runtime'?: number;
  'userns-remap'?: string;
}

/**
 * The runtime for containers when neither --default-runtime nor daemon.json names one (#12):
 * crun (a small C program, where runc is a Go one) where it works, that is where it is installed
 * and every cgroup controller is on v2 (crun refuses a v1/v2 hybrid host: "cgroups in hybrid
 * mode not supported"); runc otherwise. `exists` is for tests.
 */
export function hostDefaultRuntime(runtimes: DaemonConfig['runtimes'], exists: (path: string) => boolean = existsSync): string {
  const crun = runtimes.crun?.path;
  // cgroup.controllers at the top of /sys/fs/cgroup: the unified hierarchy is mounted there, alone.
  return crun && exists(crun) && exists('/sys/fs/cgroup/cgroup.controllers') ? 'crun' : 'runc';
}

export async function readDaemonJson(path: string, required: boolean): Promise<Partial<DaemonConfig>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (!required && isErrno(err, 'ENOENT')) return {};
    throw new InvalidArgumentError(`unable to read configuration file ${path}: ${(err as Error).message}`);
  }
  let j: DaemonJson;
  try {
    j = JSON.parse(text) as DaemonJson;
  } catch (err) {
    throw new InvalidArgumentError(`unable to configure the Docker daemon with file ${path}: ${(err as Error).message}`);
  }
  const out: Partial<DaemonConfig> = {};
  if (j.hosts) out.hosts = j.hosts;
  if (j['data-root']) out.dataRoot = j['data-root'];
  if (j['exec-root']) out.execRoot = j['exec-root'];
  if (j.pidfile) out.pidfile = j.pidfile;
  if (j['log-level']) out.logLevel = j['log-level'];
  if (j.tls !== undefined) out.tls = j.tls;
  if (j.tlsverify !== undefined) out.tlsVerify = j.tlsverify;
  if (j.tlscacert) out.tlsCaCert = j.tlscacert;
  if (j.tlscert) out.tlsCert = j.tlscert;
  if (j.tlskey) out.tlsKey = j.tlskey;
  if (j['default-runtime']) out.defaultRuntime = j['default-runtime'];
  if (j.runtimes) out.runtimes = { ...DEFAULT_CONFIG.runtimes, ...j.runtimes };
  if (j['live-restore'] !== undefined) out.liveRestore = j['live-restore'];
  if (j['log-opts']) out.logOpts = j['log-opts'];
  if (j.group) out.group = j.group;
  if (j.bridge) out.bridge = j.bridge;
  if (j.bip) out.bip = j.bip;
  if (j.ipv6 !== undefined) out.ipv6 = j.ipv6;
  if (j['fixed-cidr-v6']) out.fixedCidrV6 = j['fixed-cidr-v6'];
  if (j['host-gateway-ip']) out.hostGatewayIp = checkHostGatewayIp(j['host-gateway-ip']);
  if (j['debian-mirror'] !== undefined) out.debianMirror = checkMirror('debian-mirror', j['debian-mirror'], false);
  if (j['debian-security-mirror'] !== undefined) out.debianSecurityMirror = checkMirror('debian-security-mirror', j['debian-security-mirror'], true);
  if (j['registry-mirrors'] !== undefined) out.registryMirrors = checkRegistryMirrors(j['registry-mirrors']);
  if (j['insecure-registries'] !== undefined) out.insecureRegistries = checkInsecureRegistries(j['insecure-registries']);
  if (j['max-concurrent-downloads'] !== undefined) out.maxConcurrentDownloads = checkConcurrency('max-concurrent-downloads', j['max-concurrent-downloads']);
  if (j['max-concurrent-uploads'] !== undefined) out.maxConcurrentUploads = checkConcurrency('max-concurrent-uploads', j['max-concurrent-uploads']);
  if (j['cpu-rt-period'] !== undefined) out.cpuRtPeriod = checkRealtime('cpu-rt-period', j['cpu-rt-period']);
  if (j['cpu-rt-runtime'] !== undefined) out.cpuRtRuntime = checkRealtime('cpu-rt-runtime', j['cpu-rt-runtime']);
  if (j['userns-remap'] !== undefined) {
    if (typeof j['userns-remap'] !== 'string') throw new InvalidArgumentError('invalid userns-remap: a user name or ID is expected');
    if (j['userns-remap']) out.usernsRemap = j['userns-remap'];
  }
  if (j['certs-dir'] !== undefined) {
    if (typeof j['certs-dir'] !== 'string' || !j['certs-dir'].startsWith('/')) throw new InvalidArgumentError('invalid certs-dir: an absolute path is expected');
    out.certsDir = j['certs-dir'];
  }
  return out;
}

/** dockerd's ValidateMirror, with its texts; duplicates dropped, each ending in `/`. */
export function checkRegistryMirrors(v: unknown): string[] {
  if (!Array.isArray(v) || v.some((m) => typeof m !== 'string')) throw new InvalidArgumentError('invalid registry-mirrors: a list of URLs is expected');
  const out: string[] = [];
  for (const m of v as string[]) {
    const scheme = m.includes('://') ? m.slice(0, m.indexOf('://')) : '';
    if (!scheme) throw new InvalidArgumentError(`invalid mirror: no scheme specified for "${m}": must use either 'https://' or 'http://'`);
    let u: URL;
    try {
      u = new URL(m);
    } catch {
      throw new InvalidArgumentError(`invalid mirror: "${m}" is not a valid URI`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError(`invalid mirror: unsupported scheme "${scheme}" in "${m}": must use either 'https://' or 'http://'`);
    if (u.search || u.hash) throw new InvalidArgumentError(`invalid mirror: query or fragment at end of the URI "${m}"`);
    if (u.username || u.password) throw new InvalidArgumentError(`invalid mirror: username/password not allowed in URI "${u.protocol}//${u.username}:xxxxx@${u.host}${u.pathname}"`);
    const norm = m.replace(/\/+$/, '') + '/';
    if (!out.includes(norm)) out.push(norm);
  }
  return out;
}

/** dockerd's insecure-registries entries: a CIDR or `host[:port]`, without a scheme (http:// and https:// are dropped, as dockerd warns). */
export function checkInsecureRegistries(v: unknown): string[] {
  if (!Array.isArray(v) || v.some((m) => typeof m !== 'string')) throw new InvalidArgumentError('invalid insecure-registries: a list of hosts or CIDRs is expected');
  const out: string[] = [];
  for (let r of v as string[]) {
    if (r === 'index.docker.io') r = 'docker.io';
    if (r.startsWith('-') || r.endsWith('-')) throw new InvalidArgumentError(`invalid index name (${r}). Cannot begin or end with a hyphen`);
    const sep = r.indexOf('://');
    if (sep >= 0) {
      const scheme = r.slice(0, sep).toLowerCase();
      if (scheme !== 'http' && scheme !== 'https') throw new InvalidArgumentError(`insecure registry ${r} should not contain '://'`);
      r = r.slice(sep + 3);
    }
    const cidr = /^(.+)\/(\d{1,3})$/.exec(r);
    if (cidr) {
      const ipv = isIP(cidr[1]);
      if (!ipv || Number(cidr[2]) > (ipv === 4 ? 32 : 128)) throw new InvalidArgumentError(`insecure registry ${r} is not valid: invalid CIDR`);
    } else {
      const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+)(?::(\d+))?$/.exec(r);
      const host = m?.[1].replace(/^\[|\]$/g, '') ?? '';
      if (!m || (!isIP(host) && !/^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/.test(host))) {
        throw new InvalidArgumentError(`insecure registry ${r} is not valid: invalid host "${host}"`);
      }
      if (m[2] !== undefined && Number(m[2]) > 65535) throw new InvalidArgumentError(`insecure registry ${r} is not valid: invalid port "${m[2]}"`);
    }
    if (!out.includes(r)) out.push(r);
  }
  return out;
}

function checkConcurrency(key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new InvalidArgumentError(`invalid ${key}: a positive whole number is expected`);
  return v;
}

/** An archive URL apt can fetch from; apt's own error would come only minutes into a pull. */
export function checkMirror(key: string, v: unknown, emptyOk: boolean): string {
  if (typeof v !== 'string') throw new InvalidArgumentError(`invalid ${key}: a URL string is expected`);
  if (v === '' && emptyOk) return v;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new InvalidArgumentError(`invalid ${key} "${v}": not a URL`);
  }
  if (!['http:', 'https:', 'file:'].includes(u.protocol)) throw new InvalidArgumentError(`invalid ${key} "${v}": use an http, https or file URL`);
  if (/\s/.test(v)) throw new InvalidArgumentError(`invalid ${key} "${v}": it contains spaces`);
  return v.replace(/\/+$/, '');
}

/** --cpu-rt-period and --cpu-rt-runtime: microseconds; -1 is the kernel's "no limit" for a runtime. */
export function checkRealtime(key: 'cpu-rt-period' | 'cpu-rt-runtime', v: unknown): number {
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  const min = key === 'cpu-rt-runtime' ? -1 : 0;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`invalid ${key} "${String(v)}": a whole number of microseconds is expected`);
  return n;
}

/** dockerd's --host-gateway-ip: one IPv4 address (wharf's networks are IPv4 only). */
export function checkHostGatewayIp(v: string): string {
  if (isIP(v) !== 4) throw new InvalidArgumentError(`invalid host-gateway-ip "${v}": an IPv4 address is expected`);
  return v;
}
