/**
 * Published ports, pure: host ports picked for the mappings left to the engine (`-p 80`, `-P`,
 * a host port range), and inspect's NetworkSettings.Ports from what was programmed. Parsing and
 * checking the API's shapes is ports.ts's.
 */
import type { PortMap } from '../types/index.js';
import type { PortMapping, Protocol } from './driver.js';
import { parseExposedKey, type PublishedPort } from './ports.js';

/** Whether a host port is held already (by an endpoint of the engine's records). */
export type PortHeld = (protocol: Protocol, hostIp: string, hostPort: number) => boolean;

/**
 * The mappings to program, host ports chosen: a fixed port as asked, else one free in the asked
 * range or the ephemeral range. `cursor` walks the ephemeral range as Docker's port allocator
 * does, so a port just released is not handed out again at once.
 */
export function planPorts(wanted: PublishedPort[], held: PortHeld, ephemeral: { first: number; last: number }, cursor: { next: number }): PortMapping[] {
  const out: PortMapping[] = [];
  const mine: PortHeld = (proto, ip, port) => held(proto, ip, port) || out.some((m) => m.protocol === proto && m.hostPort === port && ipsClash(m.hostIp, ip));
  for (const w of wanted) {
    const addr = w.hostIp || '0.0.0.0';
    let hostPort: number | undefined = w.hostPort && !w.hostPortEnd ? w.hostPort : undefined;
    if (hostPort !== undefined && mine(w.protocol, w.hostIp, hostPort)) throw new Error(`Bind for ${addr}:${hostPort} failed: port is already allocated`);
    if (hostPort === undefined) {
      const range = w.hostPortEnd ? { first: w.hostPort, last: w.hostPortEnd } : undefined;
      hostPort = pickPort(range ?? ephemeral, (p) => mine(w.protocol, w.hostIp, p), range ? { next: range.first } : cursor);
      if (hostPort === undefined) throw new Error(`Bind for ${addr}:${range ? `${range.first}-${range.last}` : 0} failed: port is already allocated`);
    }
    out.push({ protocol: w.protocol, hostIp: w.hostIp, hostPort, containerPort: w.containerPort });
  }
  return out;
}

/** Whether the engine picks the mapping's host port (`-p 80`, `-P`, a range), not the user. */
export function pickedPort(w: PublishedPort): boolean {
  return !w.hostPort || !!w.hostPortEnd;
}

/** Two listen addresses clash when they are the same or either is every address. */
export function ipsClash(a: string, b: string): boolean {
  const any = (x: string) => x === '' || x === '0.0.0.0' || x === '::';
  return any(a) || any(b) || a === b;
}

function pickPort(r: { first: number; last: number }, taken: (p: number) => boolean, cursor: { next: number }): number | undefined {
  const size = r.last - r.first + 1;
  let p = cursor.next >= r.first && cursor.next <= r.last ? cursor.next : r.first;
  for (let i = 0; i < size; i++) {
    if (!taken(p)) {
      cursor.next = p === r.last ? r.first : p + 1;
      return p;
    }
    p = p === r.last ? r.first : p + 1;
  }
  return undefined;
}

/**
 * NetworkSettings.Ports as Docker shows a running container's: every exposed or published
 * port, its host bindings (every address as 0.0.0.0, and also as :: when `ipv6`: the container
 * is published over IPv6 too), or null when it is only exposed. Keys in Go's map order
 * (sorted), so the JSON is Docker's byte for byte.
 */
export function portMap(mappings: PortMapping[], exposedPorts?: Record<string, object> | null, ipv6 = false): PortMap {
  const map: PortMap = {};
  for (const key of Object.keys(exposedPorts ?? {})) {
    try {
      const { first, last, protocol } = parseExposedKey(key);
      for (let port = first; port <= last; port++) map[`${port}/${protocol}`] = null;
    } catch {
      // An image's odd EXPOSE entry shows nothing rather than failing inspect.
    }
  }
  for (const m of mappings) {
    const key = `${m.containerPort}/${m.protocol}`;
    const bindings = (map[key] ??= []);
    bindings.push({ HostIp: m.hostIp || '0.0.0.0', HostPort: String(m.hostPort) });
    if (ipv6 && !m.hostIp) bindings.push({ HostIp: '::', HostPort: String(m.hostPort) });
  }
  const sorted: PortMap = {};
  for (const k of Object.keys(map).sort()) sorted[k] = map[k];
  return sorted;
}
