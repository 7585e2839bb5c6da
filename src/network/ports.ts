/**
 * Published and exposed ports as the Engine API carries them (`"80/tcp"` keys, string host
 * ports), checked as moby checks them at create and turned into the plain mappings the
 * datapath programs. SDKs send these without a CLI in front, so the daemon cannot trust them.
 */
import { isIP } from 'node:net';
import type { PortMap } from '../types/index.js';
import { compareCodeUnits, InvalidArgumentError } from '../util/index.js';
import type { PortMapping, Protocol } from './driver.js';

const PROTOCOLS: readonly string[] = ['tcp', 'udp', 'sctp'];

/**
 * A mapping to publish. `hostPort` 0 means "any free port"; a binding with a host port range
 * (`"8000-8010"` on one container port) means "any free port of the range": hostPort is its
 * first port and `hostPortEnd` its last.
 */
export interface PublishedPort extends PortMapping {
  hostPortEnd?: number;
}

/** Go's strconv.ParseUint(s, 10, 16): digits only, at most 65535. */
function parseUint16(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

/** `"8000-8010"` or `"80"` → [first, last]; undefined when either end is not a port or last < first. */
export function parsePortRange(s: string): [number, number] | undefined {
  const dash = s.indexOf('-');
  const lo = parseUint16(dash < 0 ? s : s.slice(0, dash));
  const hi = dash < 0 ? lo : parseUint16(s.slice(dash + 1));
  if (lo === undefined || hi === undefined || hi < lo) return undefined;
  return [lo, hi];
}

/** `"80/udp"` → ['80', 'udp']; no protocol is tcp (nat.SplitProtoPort). */
export function splitProtoPort(key: string): [port: string, proto: string] {
  const slash = key.indexOf('/');
  if (slash < 0) return [key, 'tcp'];
  const proto = key.slice(slash + 1).split('/')[0];
  return [key.slice(0, slash), proto || 'tcp'];
}

/** Whether `ip` is an address Go's net.ParseIP takes (no zone, no brackets). */
export function isHostIp(ip: string): boolean {
  return !ip.includes('%') && isIP(ip) !== 0;
}

const invalidSpec = (what: string) => new InvalidArgumentError(`invalid port specification: ${JSON.stringify(what)}`);

function checkProto(key: string, proto: string): Protocol {
  const p = proto.toLowerCase();
  if (!PROTOCOLS.includes(p)) throw invalidSpec(key);
  return p as Protocol;
}

/** One ExposedPorts key (`"80/tcp"`, `"8000-8002/udp"`) → its protocol and port range. */
export function parseExposedKey(key: string): { protocol: Protocol; first: number; last: number } {
  const [port, proto] = splitProtoPort(key);
  const range = parsePortRange(port);
  if (!range || range[0] === 0) throw invalidSpec(port);
  return { protocol: checkProto(key, proto), first: range[0], last: range[1] };
}

/** One PortBindings key, a single container port (`"80/tcp"`), as moby's validatePortBindings reads it. */
export function parseBindingKey(key: string): { protocol: Protocol; port: number } {
  const [port, proto] = splitProtoPort(key);
  const n = parseUint16(port);
  if (n === undefined || n === 0) throw invalidSpec(port);
  return { protocol: checkProto(key, proto), port: n };
}

/**
 * Checks ExposedPorts and PortBindings as they come in a create request, with moby's texts:
 * ports 1-65535, protocol tcp, udp or sctp, host ports or host port ranges, host addresses.
 */
export function validatePorts(exposed: Record<string, unknown> | null | undefined, bindings: PortMap | null | undefined): void {
  for (const key of Object.keys(exposed ?? {})) parseExposedKey(key);
  for (const [key, list] of Object.entries(bindings ?? {})) {
    parseBindingKey(key);
    for (const b of list ?? []) {
      const hp = b.HostPort ?? '';
      // An empty host port, or 0, asks for any free one.
      if (hp !== '' && !parsePortRange(splitProtoPort(hp)[0])) throw invalidSpec(hp);
      const ip = b.HostIp ?? '';
      if (ip !== '' && !isHostIp(ip)) throw new InvalidArgumentError(`invalid IP address: ${ip}`);
    }
  }
}

// By container port and protocol only: the bindings of one port keep the order the client gave,
// which inspect's Ports shows. The sort is stable.
const byMapping = (a: PublishedPort, b: PublishedPort) => a.containerPort - b.containerPort || compareCodeUnits(a.protocol, b.protocol);

/**
 * What to publish for a container: its PortBindings, plus with `publishAll` (-P) every exposed
 * port (the image's and the request's, merged by the caller) that has no binding, on any host
 * address and any free host port. Call `validatePorts` first: keys that do not parse are skipped.
 */
export function portMappings(exposed: Record<string, unknown> | null | undefined, bindings: PortMap | null | undefined, publishAll: boolean): PublishedPort[] {
  const out: PublishedPort[] = [];
  const bound = new Set<string>();
  for (const [key, list] of Object.entries(bindings ?? {})) {
    let k: ReturnType<typeof parseBindingKey>;
    try {
      k = parseBindingKey(key);
    } catch {
      continue;
    }
    if (!list?.length) continue;
    bound.add(`${k.port}/${k.protocol}`);
    for (const b of list) {
      const range = b.HostPort ? parsePortRange(splitProtoPort(b.HostPort)[0]) : undefined;
      const m: PublishedPort = { protocol: k.protocol, hostIp: b.HostIp ?? '', hostPort: range ? range[0] : 0, containerPort: k.port };
      if (range && range[1] !== range[0]) m.hostPortEnd = range[1];
      out.push(m);
    }
  }
  if (publishAll) {
    for (const key of Object.keys(exposed ?? {})) {
      let e: ReturnType<typeof parseExposedKey>;
      try {
        e = parseExposedKey(key);
      } catch {
        continue;
      }
      for (let p = e.first; p <= e.last; p++) {
        if (bound.has(`${p}/${e.protocol}`)) continue;
        bound.add(`${p}/${e.protocol}`);
        out.push({ protocol: e.protocol, hostIp: '', hostPort: 0, containerPort: p });
      }
    }
  }
  return out.sort(byMapping);
}
