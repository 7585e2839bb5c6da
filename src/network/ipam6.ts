/**
 * IPv6 address management, pure: the twin of ipam.ts for 128-bit addresses. Addresses are
 * BigInts, because a /64 alone holds more hosts than a JavaScript number can count. The network
 * service keeps the allocations in its records; these functions only compute from what they are
 * given.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../util/index.js';
import { formatIp, tryParseIp } from './ipam.js';

export interface Cidr6 {
  /** The network address as an unsigned 128-bit number. */
  network: bigint;
  prefixLen: number;
}

const MAX = (1n << 128n) - 1n;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/**
 * RFC 4291 text forms: full, '::'-compressed, embedded IPv4 tail (::ffff:1.2.3.4,
 * 64:ff9b::1.2.3.4); no zone (%eth0), no brackets; hex groups of 1-4 digits, case-insensitive.
 * undefined when not an IPv6 address (an IPv4 dotted quad alone is NOT an IPv6 address).
 */
export function tryParseIp6(s: string): bigint | undefined {
  const cut = s.indexOf('::');
  const head = cut < 0 ? s : s.slice(0, cut);
  const tail = cut < 0 ? '' : s.slice(cut + 2);
  if (tail.includes('::')) return undefined;
  const front = groupsOf(head, cut < 0);
  const back = cut < 0 ? [] : groupsOf(tail, true);
  if (!front || !back) return undefined;
  const count = front.length + back.length;
  // '::' stands for one or more zero groups; without it the groups must fill all eight.
  if (cut < 0 ? count !== 8 : count > 7) return undefined;
  let n = 0n;
  for (const g of front) n = (n << 16n) | g;
  n <<= BigInt(16 * (8 - count));
  for (const g of back) n = (n << 16n) | g;
  return n;
}

/**
 * The 16-bit groups of one side of '::' (empty text is no groups). A dotted quad counts as two
 * groups and may only end the address, so only the side that ends it may have one.
 */
function groupsOf(text: string, endsAddress: boolean): bigint[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const out: bigint[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (HEX_GROUP.test(p)) {
      out.push(BigInt(`0x${p}`));
      continue;
    }
    const v4 = endsAddress && i === parts.length - 1 ? tryParseIp(p) : undefined;
    if (v4 === undefined) return undefined;
    out.push(BigInt(v4 >>> 16), BigInt(v4 & 0xffff));
  }
  return out;
}

/** throws InvalidArgumentError(`invalid IP address: ${s}`) */
export function parseIp6(s: string): bigint {
  const n = tryParseIp6(s);
  if (n === undefined) throw new InvalidArgumentError(`invalid IP address: ${s}`);
  return n;
}

/**
 * RFC 5952 canonical text, as Go's netip.Addr.String prints it: lower case, no leading zeros,
 * the longest run of two or more zero groups compressed to '::' (the first one on a tie), a
 * single zero group not compressed; an IPv4-mapped address (::ffff:0:0/96) prints as
 * ::ffff:1.2.3.4.
 */
export function formatIp6(n: bigint): string {
  if (n < 0n || n > MAX) throw new InvalidArgumentError(`not an IPv6 address: ${n}`);
  if (n >> 32n === 0xffffn) return `::ffff:${formatIp(Number(n & 0xffffffffn))}`;
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((n >> BigInt(16 * i)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

export function isIp6(s: string): boolean {
  return tryParseIp6(s) !== undefined;
}

function maskOf6(prefixLen: number): bigint {
  return prefixLen === 0 ? 0n : (MAX << BigInt(128 - prefixLen)) & MAX;
}

/**
 * `2001:db8::/64`. Host bits must be zero, as Docker asks of --subnet ("invalid subnet
 * 2001:db8::1/64: it should be 2001:db8::/64").
 */
export function parseCidr6(s: string): Cidr6 {
  const c = maskedCidr6(s);
  if (c.network !== tryParseIp6(s.split('/')[0])) throw new InvalidArgumentError(`invalid subnet ${s}: it should be ${formatCidr6(c)}`);
  return c;
}

/**
 * Like parseCidr6 but host bits are masked away instead of refused (for addresses read from the
 * host, "fd00::2/64" -> fd00::/64).
 */
export function maskedCidr6(s: string): Cidr6 {
  const [addr, len, extra] = s.split('/');
  const ip = tryParseIp6(addr);
  const prefixLen = len !== undefined && /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (ip === undefined || extra !== undefined || !(prefixLen >= 0 && prefixLen <= 128)) throw new InvalidArgumentError(`invalid CIDR address: ${s}`);
  return { network: ip & maskOf6(prefixLen), prefixLen };
}

export function formatCidr6(c: Cidr6): string {
  return `${formatIp6(c.network)}/${c.prefixLen}`;
}

function lastOf6(c: Cidr6): bigint {
  return c.network | (~maskOf6(c.prefixLen) & MAX);
}

export function contains6(c: Cidr6, ip: bigint): boolean {
  return (ip & maskOf6(c.prefixLen)) === c.network;
}

export function overlaps6(a: Cidr6, b: Cidr6): boolean {
  const mask = maskOf6(Math.min(a.prefixLen, b.prefixLen));
  return (a.network & mask) === (b.network & mask);
}

/**
 * The gateway Docker gives an IPv6 subnet when none is asked for: network + 1. A /127 would
 * leave nothing for a container once the network address is kept back.
 */
export function defaultGateway6(subnet: string): string {
  const c = parseCidr6(subnet);
  if (c.prefixLen > 126) throw new InvalidArgumentError(`subnet ${subnet} is too small: it has no room for a gateway and a container`);
  return formatIp6(c.network + 1n);
}

/**
 * The lowest address of `pool` (the --ip-range, or the subnet itself) that is neither the
 * subnet's network address (the subnet-router anycast address of RFC 4291), the gateway nor one
 * of `taken` (any valid spelling). IPv6 has no broadcast, so the pool's last address is usable.
 */
export function allocateIp6(subnet: string, pool: string, gateway: string, taken: Iterable<string>): string {
  const s = parseCidr6(subnet);
  const p = parseCidr6(pool);
  const used = new Set<bigint>([s.network, parseIp6(gateway)]);
  for (const t of taken) used.add(parseIp6(t));
  // Each step past an address in `used` is the only way the loop continues, so it returns within
  // used.size + 1 steps or at the pool's end: a /64 is never walked.
  const last = lastOf6(p);
  for (let ip = p.network; ip <= last; ip++) {
    if (!used.has(ip)) return formatIp6(ip);
  }
  throw new InvalidArgumentError(`no available IPv6 addresses on this network's address pools: ${subnet}`);
}

/**
 * A unique local /48 (RFC 4193: fd00::/8 plus a 40-bit global ID) whose global ID is the first
 * 40 bits of sha256(seed), e.g. "fd12:3456:789a::/48". Deterministic per seed, so one host keeps
 * its pool across restarts while two hosts are unlikely to pick the same one.
 */
export function ulaPrefix(seed: string): string {
  const globalId = BigInt(`0x${createHash('sha256').update(seed).digest('hex').slice(0, 10)}`);
  return formatCidr6({ network: (0xfdn << 120n) | (globalId << 80n), prefixLen: 48 });
}

/**
 * The first /64 inside `pool48` (in order ::, 1::, 2:: ... of the 4th group) that overlaps none
 * of `used` (CIDR texts, host bits allowed; IPv4 entries are ignored, so one list of host
 * subnets serves both families). undefined when all 65536 are taken.
 */
export function pickSubnet6(pool48: string, used: string[]): string | undefined {
  const pool = parseCidr6(pool48);
  if (pool.prefixLen !== 48) throw new InvalidArgumentError(`invalid IPv6 pool ${pool48}: expected a /48`);
  // Only the entries inside or around the pool matter; keeping them up front spares 65536 scans
  // of the whole list.
  const taken = used.filter((u) => tryParseIp(u.split('/')[0] ?? '') === undefined).map(maskedCidr6).filter((t) => overlaps6(t, pool));
  if (taken.some((t) => t.prefixLen <= 48)) return undefined;
  for (let i = 0n; i < 0x10000n; i++) {
    const c: Cidr6 = { network: pool.network | (i << 64n), prefixLen: 64 };
    if (!taken.some((t) => overlaps6(c, t))) return formatCidr6(c);
  }
  return undefined;
}

/**
 * `ip -j -6 addr` output: each global address's subnet (masked). Link-local and host scopes are
 * left out (every link has fe80::/64, and ::1 takes nothing), and so are /128 and /0 entries,
 * which name an address or everything rather than a subnet. Bad JSON gives [].
 */
export function parseIp6AddrJson(text: string): string[] {
  let links: { addr_info?: { family?: unknown; local?: unknown; prefixlen?: unknown; scope?: unknown }[] }[];
  try {
    links = JSON.parse(text);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const l of Array.isArray(links) ? links : []) {
    for (const a of Array.isArray(l?.addr_info) ? l.addr_info : []) {
      if (a?.family !== 'inet6' || a.scope === 'link' || a.scope === 'host') continue;
      const ip = typeof a.local === 'string' ? tryParseIp6(a.local) : undefined;
      const len = a.prefixlen;
      if (ip === undefined || typeof len !== 'number' || !Number.isInteger(len) || len <= 0 || len >= 128) continue;
      out.push(formatCidr6({ network: ip & maskOf6(len), prefixLen: len }));
    }
  }
  return out;
}

const LINK_LOCAL: Cidr6 = { network: 0xfe80n << 112n, prefixLen: 10 };
const MULTICAST: Cidr6 = { network: 0xffn << 120n, prefixLen: 8 };

/** Whether `c` lies wholly inside `outer` (not merely overlaps it, as 8000::/1 does fe80::/10). */
function within6(c: Cidr6, outer: Cidr6): boolean {
  return c.prefixLen >= outer.prefixLen && contains6(outer, c.network);
}

/**
 * The destinations of /proc/net/ipv6_route as CIDRs: 32 hex digits in network order, then the
 * prefix length in hex. Left out: ::/0 (the default route overlaps everything and takes
 * nothing), /128 host routes, and the fe80::/10 and ff00::/8 routes every interface has.
 */
export function parseProcIpv6Routes(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const [dest, len] = line.trim().split(/\s+/);
    if (!dest || !len || !/^[0-9A-Fa-f]{32}$/.test(dest) || !/^[0-9A-Fa-f]{2}$/.test(len)) continue;
    const prefixLen = parseInt(len, 16);
    if (prefixLen === 0 || prefixLen >= 128) continue;
    const c: Cidr6 = { network: BigInt(`0x${dest}`) & maskOf6(prefixLen), prefixLen };
    if (within6(c, LINK_LOCAL) || within6(c, MULTICAST)) continue;
    out.push(formatCidr6(c));
  }
  return out;
}
