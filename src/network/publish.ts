/**
 * Published ports, pure: from a container's PortBindings, PublishAllPorts and ExposedPorts to
 * the mappings the driver programs, with host ports picked for the ones left to the engine
 * (`-p 80`, `-P`), and back to inspect's NetworkSettings.Ports.
 */
import type { PortBinding, PortMap } from '../types/index.js';
import { InvalidArgumentError } from '../util/index.js';
import type { PortMapping, Protocol } from './driver.js';

const PROTOCOLS: readonly string[] = ['tcp', 'udp', 'sctp'] satisfies Protocol[];

/** `80/tcp` (protocol tcp when left out) as its number and protocol; Docker's text when invalid. */
export function parsePortKey(key: string): { port: number; protocol: Protocol } {
  const [p, proto = 'tcp', extra] = key.split('/');
  if (extra !== undefined || !PROTOCOLS.includes(proto.toLowerCase())) throw new InvalidArgumentError(`invalid port specification: "${key}"`);
  const port = /^\d{1,5}$/.test(p) ? Number(p) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new InvalidArgumentError(`invalid port specification: "${key}"`);
  return { port, protocol: proto.toLowerCase() as Protocol };
}

/** A host port the engine must pick, optionally inside a range (`-p 8000-8010:80`). */
interface Wanted {
  protocol: Protocol;
  containerPort: number;
  hostIp: string;
  /** A fixed port, or the range to pick from (undefined: the ephemeral range). */
  hostPort?: number;
  range?: { first: number; last: number };
  /** The key inspect shows it under, as the client sent it. */
  key: string;
}

function wantedOf(key: string, b: PortBinding): Wanted {
  const { port, protocol } = parsePortKey(key);
  const hostIp = b.HostIp ?? '';
  const hp = (b.HostPort ?? '').trim();
  const w: Wanted = { protocol, containerPort: port, hostIp, key: `${port}/${protocol}` };
  if (hp === '' || hp === '0') return w;
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(hp);
  const first = m ? Number(m[1]) : NaN;
  const last = m?.[2] !== undefined ? Number(m[2]) : first;
  if (!(first >= 1 && last <= 65535 && first <= last)) throw new InvalidArgumentError(`invalid hostPort: ${hp}`);
  if (first === last) w.hostPort = first;
  else w.range = { first, last };
  return w;
}

export interface PublishInput {
  portBindings?: PortMap | null;
  publishAll?: boolean;
  exposedPorts?: Record<string, object> | null;
}

/** Whether a host port is held already (by an endpoint of the engine's records). */
export type PortHeld = (protocol: Protocol, hostIp: string, hostPort: number) => boolean;

/**
 * The mappings to program, host ports chosen. `pick` walks the ephemeral range from a cursor,
 * as Docker's port allocator does, so a port just released is not handed out again at once.
 */
export function planPorts(input: PublishInput, held: PortHeld, ephemeral: { first: number; last: number }, cursor: { next: number }): PortMapping[] {
  const wanted: Wanted[] = [];
  const bound = new Set<string>();
  for (const [key, bindings] of Object.entries(input.portBindings ?? {})) {
    const { port, protocol } = parsePortKey(key);
    bound.add(`${port}/${protocol}`);
    for (const b of bindings ?? []) wanted.push(wantedOf(key, b));
  }
  if (input.publishAll) {
    for (const key of Object.keys(input.exposedPorts ?? {})) {
      const { port, protocol } = parsePortKey(key);
      if (!bound.has(`${port}/${protocol}`)) wanted.push({ protocol, containerPort: port, hostIp: '', key: `${port}/${protocol}` });
    }
  }
  const out: PortMapping[] = [];
  const mine: PortHeld = (proto, ip, port) => held(proto, ip, port) || out.some((m) => m.protocol === proto && m.hostPort === port && ipsClash(m.hostIp, ip));
  for (const w of wanted) {
    let hostPort = w.hostPort;
    if (hostPort !== undefined && mine(w.protocol, w.hostIp, hostPort)) throw new Error(`Bind for ${w.hostIp || '0.0.0.0'}:${hostPort} failed: port is already allocated`);
    if (hostPort === undefined) {
      const r = w.range ?? ephemeral;
      hostPort = pickPort(r, (p) => mine(w.protocol, w.hostIp, p), w.range ? { next: r.first } : cursor);
      if (hostPort === undefined) throw new Error(`Bind for ${w.hostIp || '0.0.0.0'}:${w.range ? `${r.first}-${r.last}` : 0} failed: port is already allocated`);
    }
    out.push({ protocol: w.protocol, hostIp: w.hostIp, hostPort, containerPort: w.containerPort });
  }
  return out;
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
 * port, its host bindings (every address as 0.0.0.0), or null when it is only exposed. Keys in
 * Go's map order (sorted), so the JSON is Docker's byte for byte.
 */
export function portMap(mappings: PortMapping[], exposedPorts?: Record<string, object> | null): PortMap {
  const map: PortMap = {};
  for (const key of Object.keys(exposedPorts ?? {})) {
    try {
      const { port, protocol } = parsePortKey(key);
      map[`${port}/${protocol}`] = null;
    } catch {
      // An image's odd EXPOSE entry shows nothing rather than failing inspect.
    }
  }
  for (const m of mappings) {
    const key = `${m.containerPort}/${m.protocol}`;
    (map[key] ??= []).push({ HostIp: m.hostIp || '0.0.0.0', HostPort: String(m.hostPort) });
  }
  const sorted: PortMap = {};
  for (const k of Object.keys(map).sort()) sorted[k] = map[k];
  return sorted;
}
