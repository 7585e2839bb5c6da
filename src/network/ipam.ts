/**
 * IPv4 address management, pure: CIDR parsing, address allocation inside a subnet, and the
 * choice of a subnet no host route uses. The network service keeps the allocations in its
 * records; these functions only compute from what they are given.
 */
import { InvalidArgumentError } from '../util/index.js';

export interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  network: number;
  prefixLen: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** `10.1.2.3` as an unsigned 32-bit number; undefined when it is not a dotted quad. */
export function tryParseIp(s: string): number | undefined {
  const m = IPV4.exec(s);
  if (!m) return undefined;
  const b = m.slice(1).map(Number);
  if (b.some((x) => x > 255)) return undefined;
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

export function parseIp(s: string): number {
  const n = tryParseIp(s);
  if (n === undefined) throw new InvalidArgumentError(`invalid IP address: ${s}`);
  return n;
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function maskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/**
 * `172.17.0.0/16`. Host bits must be zero, as Docker asks of a --subnet ("invalid subnet
 * 172.17.0.1/16: it should be 172.17.0.0/16").
 */
export function parseCidr(s: string): Cidr {
  const [addr, len, extra] = s.split('/');
  const ip = tryParseIp(addr ?? '');
  const prefixLen = len !== undefined && /^\d{1,2}$/.test(len) ? Number(len) : NaN;
  if (ip === undefined || extra !== undefined || !(prefixLen >= 0 && prefixLen <= 32)) throw new InvalidArgumentError(`invalid CIDR address: ${s}`);
  const network = (ip & maskOf(prefixLen)) >>> 0;
  if (network !== ip) throw new InvalidArgumentError(`invalid subnet ${s}: it should be ${formatCidr({ network, prefixLen })}`);
  return { network, prefixLen };
}

/**
 * An address with its prefix length (`172.30.0.1/16`, dockerd's --bip) as the subnet it sits in
 * and the address itself, the gateway. No prefix means /24.
 */
export function parseAddressPrefix(s: string): { subnet: string; gateway: string } {
  const [addr, len = '24', extra] = s.split('/');
  const ip = tryParseIp(addr);
  const prefixLen = /^\d{1,2}$/.test(len) ? Number(len) : NaN;
  if (ip === undefined || extra !== undefined || !(prefixLen >= 8 && prefixLen <= 30)) {
    throw new InvalidArgumentError(`invalid address ${s}: expected an IPv4 address and a prefix length from 8 to 30, as 172.30.0.1/16`);
  }
  return { subnet: formatCidr({ network: (ip & maskOf(prefixLen)) >>> 0, prefixLen }), gateway: formatIp(ip) };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.network)}/${c.prefixLen}`;
}

export function broadcastOf(c: Cidr): number {
  return (c.network | ~maskOf(c.prefixLen)) >>> 0;
}

export function contains(c: Cidr, ip: number): boolean {
  return (ip & maskOf(c.prefixLen)) >>> 0 === c.network;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const len = Math.min(a.prefixLen, b.prefixLen);
  return (a.network & maskOf(len)) >>> 0 === (b.network & maskOf(len)) >>> 0;
}

/** The gateway Docker gives a subnet when none is asked for: its first host address. */
export function defaultGateway(subnet: string): string {
  const c = parseCidr(subnet);
  if (c.prefixLen > 30) throw new InvalidArgumentError(`subnet ${subnet} is too small: it has no room for a gateway and a container`);
  return formatIp(c.network + 1);
}

/**
 * The lowest address of `subnet` that is neither the network, the broadcast, the gateway nor
 * one of `taken`. Throws when the subnet is full, in Docker's words.
 */
export function allocateIp(subnet: string, gateway: string, taken: Iterable<string>): string {
  const c = parseCidr(subnet);
  const used = new Set<number>([parseIp(gateway)]);
  for (const t of taken) used.add(parseIp(t));
  const last = broadcastOf(c);
  for (let ip = c.network + 1; ip < last; ip++) {
    if (!used.has(ip)) return formatIp(ip);
  }
  throw new InvalidArgumentError(`no available IPv4 addresses on this network's address pools: ${subnet}`);
}

/** Docker's MAC for an address: the locally administered 02:42 and the address's four bytes. */
export function macFromIp(ip: string): string {
  const n = parseIp(ip);
  return ['02', '42', ...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** Where a default network may go, in order: Docker's 172.17-31/16, then /16s of 10.x. */
export function defaultSubnetCandidates(): string[] {
  const out: string[] = [];
  for (let b = 17; b <= 31; b++) out.push(`172.${b}.0.0/16`);
  for (let b = 200; b <= 254; b++) out.push(`10.${b}.0.0/16`);
  return out;
}

/** The first candidate that overlaps none of `used` (host routes, addresses of other bridges). */
export function pickSubnet(candidates: string[], used: string[]): string | undefined {
  const taken = used.map(parseCidr);
  return candidates.find((s) => {
    const c = parseCidr(s);
    return !taken.some((t) => overlaps(c, t));
  });
}

/**
 * The destinations of /proc/net/route, as CIDRs, the default route left out (it overlaps
 * everything and takes nothing). The file writes addresses as host-order (little-endian) hex.
 */
export function parseProcRoutes(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const dest = leHex(f[1]);
    const mask = leHex(f[7]);
    if (dest === undefined || mask === undefined || mask === 0) continue;
    const prefixLen = popcount(mask);
    out.push(formatCidr({ network: (dest & maskOf(prefixLen)) >>> 0, prefixLen }));
  }
  return out;
}

function leHex(h: string | undefined): number | undefined {
  if (!h || !/^[0-9A-Fa-f]{8}$/.test(h)) return undefined;
  const n = parseInt(h, 16);
  return (((n & 255) << 24) | (((n >>> 8) & 255) << 16) | (((n >>> 16) & 255) << 8) | (n >>> 24)) >>> 0;
}

function popcount(n: number): number {
  let c = 0;
  for (let x = n >>> 0; x; x = (x & (x - 1)) >>> 0) c++;
  return c;
}

/** `ip -j -4 addr` output: every IPv4 address with its prefix, as the subnet it sits in. */
export function parseIpAddrJson(text: string): string[] {
  let links: { addr_info?: { family?: string; local?: string; prefixlen?: number }[] }[];
  try {
    links = JSON.parse(text);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const l of Array.isArray(links) ? links : []) {
    for (const a of l.addr_info ?? []) {
      const ip = a.family === 'inet' && a.local ? tryParseIp(a.local) : undefined;
      if (ip === undefined || typeof a.prefixlen !== 'number' || a.prefixlen <= 0) continue;
      out.push(formatCidr({ network: (ip & maskOf(a.prefixlen)) >>> 0, prefixLen: a.prefixlen }));
    }
  }
  return out;
}

/** `32768\t60999` from /proc/sys/net/ipv4/ip_local_port_range; Linux's default when unreadable. */
export function parseEphemeralRange(text: string | undefined): { first: number; last: number } {
  const m = /^\s*(\d+)\s+(\d+)/.exec(text ?? '');
  const first = m ? Number(m[1]) : 32768;
  const last = m ? Number(m[2]) : 60999;
  return first > 0 && last >= first && last <= 65535 ? { first, last } : { first: 32768, last: 60999 };
}
