/**
 * The run/create flags that shape a container's networking (-p, -P, --expose, --network and its
 * per-endpoint flags, --link), read as the docker CLI reads them: the same body, the same texts.
 * The docker CLI validates these before it sends anything, so do we.
 */
import { isIP } from 'node:net';
import { InvalidArgumentError } from 'commander';
import type { EndpointSettings, PortBinding, PortMap } from '../../../types/index.js';
import { Exit } from '../../errors.js';

/** One --network value, in its short (`NAME`) or long (`name=NAME,alias=A,ip=...`) form. */
export interface NetworkAttachment {
  target: string;
  aliases?: string[];
  ipv4?: string;
  ipv6?: string;
  mac?: string;
  driverOpts?: Record<string, string>;
  /** --link on a user-defined network: container aliases for this endpoint. */
  links?: string[];
}

/** The networking flags, as commander hands them over. */
export interface NetworkFlags {
  network?: NetworkAttachment[];
  net?: NetworkAttachment[];
  networkAlias?: string[];
  ip?: string;
  ip6?: string;
  macAddress?: string;
  link?: string[];
  publish?: string[];
  publishAll?: boolean;
  expose?: string[];
}

/** Go's strconv.ParseUint(s, 10, 16), with its error text. */
function parseUint16(s: string): number {
  if (!/^\d+$/.test(s)) throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = Number(s);
  if (n > 65535) throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(s)}: value out of range`);
  return n;
}

/** nat.ParsePortRange: `80` or `8000-8010` (anything after a second dash is ignored, as there). */
function portRange(s: string): [number, number] {
  if (s === '') throw new Error('empty string specified for ports');
  if (!s.includes('-')) {
    const n = parseUint16(s);
    return [n, n];
  }
  const parts = s.split('-');
  const lo = parseUint16(parts[0]);
  const hi = parseUint16(parts[1]);
  if (hi < lo) throw new Error(`invalid range specified for port: ${s}`);
  return [lo, hi];
}

/** nat.SplitProtoPort: [proto, port]; both empty when the port part is. */
function splitProtoPort(raw: string): [string, string] {
  const parts = raw.split('/');
  if (!raw || !parts[0]) return ['', ''];
  if (parts.length === 1) return ['tcp', raw];
  if (!parts[1]) return ['tcp', parts[0]];
  return [parts[1], parts[0]];
}

/** Go's net.SplitHostPort, for the `[v6]:` host address: the host or Go's error text. */
function bracketHost(hostport: string): string {
  const err = (why: string) => new Error(`address ${hostport}: ${why}`);
  const i = hostport.lastIndexOf(':');
  if (i < 0) throw err('missing port in address');
  const end = hostport.indexOf(']');
  if (end < 0) throw err("missing ']' in address");
  if (end + 1 === hostport.length) throw err('missing port in address');
  if (end + 1 !== i) throw err(hostport[end + 1] === ':' ? 'too many colons in address' : 'missing port in address');
  if (hostport.indexOf('[', 1) >= 0) throw err("unexpected '[' in address");
  if (hostport.indexOf(']', end + 1) >= 0) throw err("unexpected ']' in address");
  return hostport.slice(1, end);
}

const goParseIP = (ip: string) => !ip.includes('%') && isIP(ip) !== 0;

/** `-p published=8080,target=80,protocol=udp` → `8080:80/udp` (docker's convertToStandardNotation). */
function standardNotation(spec: string): string {
  if (!spec.includes('=')) return spec;
  const params: Record<string, string> = { protocol: 'tcp' };
  for (const param of spec.split(',')) {
    const eq = param.indexOf('=');
    if (eq <= 0) throw new Exit(125, `invalid publish opts format (should be name=value but got '${param}')`);
    params[param.slice(0, eq)] = param.slice(eq + 1);
  }
  return `${params.published ?? ''}:${params.target ?? ''}/${params.protocol}`;
}

/**
 * One -p value → its exposed ports and bindings (go-connections nat.ParsePortSpec): one binding
 * per container port of a range; a host range on a single container port stays a range, for the
 * daemon to pick a free port in it.
 */
export function parsePublish(raw: string): { key: string; binding: PortBinding }[] {
  const spec = standardNotation(raw);
  const parts = spec.split(':');
  const n = parts.length;
  const ctrPart = parts[n - 1];
  const hostPart = n >= 2 ? parts[n - 2] : '';
  let ip = n === 3 ? parts[0] : n > 3 ? parts.slice(0, n - 2).join(':') : '';
  const [protoRaw, ctr] = splitProtoPort(ctrPart);
  if (ip.startsWith('[')) {
    try {
      ip = bracketHost(`${ip}:`);
    } catch (err) {
      throw new Exit(125, `invalid IP address ${ip}: ${(err as Error).message}`);
    }
  }
  if (ip && !goParseIP(ip)) throw new Exit(125, `invalid IP address: ${ip}`);
  if (!ctr) throw new Exit(125, `no port specified: ${spec}<empty>`);
  let c: [number, number];
  try {
    c = portRange(ctr);
  } catch {
    throw new Exit(125, `invalid containerPort: ${ctr}`);
  }
  let h: [number, number] = [0, 0];
  if (hostPart) {
    try {
      h = portRange(hostPart);
    } catch {
      throw new Exit(125, `invalid hostPort: ${hostPart}`);
    }
    if (c[1] - c[0] !== h[1] - h[0] && c[1] !== c[0]) throw new Exit(125, `invalid ranges specified for container and host Ports: ${ctr} and ${hostPart}`);
  }
  const proto = protoRaw.toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new Exit(125, `invalid proto: ${proto}`);
  const out: { key: string; binding: PortBinding }[] = [];
  for (let i = 0; i <= c[1] - c[0]; i++) {
    let hostPort = hostPart ? String(h[0] + i) : '';
    if (c[0] === c[1] && h[0] !== h[1]) hostPort = `${hostPort}-${h[1]}`;
    out.push({ key: `${c[0] + i}/${proto}`, binding: { HostIp: ip, HostPort: hostPort } });
  }
  return out;
}

/** One --expose value → its port keys (`90-91/udp` is two). The protocol is not checked, as docker does not. */
export function parseExpose(e: string): string[] {
  if (e.includes(':')) throw new Exit(125, `invalid port format for --expose: ${e}`);
  const [proto, port] = splitProtoPort(e);
  let r: [number, number];
  try {
    r = portRange(port);
  } catch (err) {
    throw new Exit(125, `invalid range format for --expose: ${e}, error: ${(err as Error).message}`);
  }
  return Array.from({ length: r[1] - r[0] + 1 }, (_x, i) => `${r[0] + i}/${proto}`);
}

/** Commander parser for --link (docker's opts.ValidateLink). */
export function linkArg(v: string, prev: string[] = []): string[] {
  if (v === '') throw new InvalidArgumentError('empty string specified for links');
  if (v.split(':').length > 2) throw new InvalidArgumentError(`bad format for links: ${v}`);
  return [...prev, v];
}

/**
 * Commander parser for --add-host, as the docker CLI reads it: `name=ip` or `name:ip` (an IPv6
 * address needs `=`, or the first colon separates), sent as `name:ip` whichever was given.
 */
export function addHostArg(v: string, prev: string[] = []): string[] {
  let sep = v.indexOf('=');
  if (sep < 0) sep = v.indexOf(':');
  const name = sep < 0 ? '' : v.slice(0, sep);
  // `[::1]` is the same address as `::1`.
  const ip = (sep < 0 ? '' : v.slice(sep + 1)).replace(/^\[(.+)\]$/, '$1');
  if (!name) throw new InvalidArgumentError(`bad format for add-host: "${v}"`);
  if (ip !== 'host-gateway' && isIP(ip.trim()) === 0) throw new InvalidArgumentError(`invalid IP address in add-host: "${ip}"`);
  return [...prev, `${name}:${ip}`];
}

/** Commander parser for --network: docker's NetworkOpt, short and long forms. */
export function networkArg(v: string, prev: NetworkAttachment[] = []): NetworkAttachment[] {
  if (!/\w+=\w+(,\w+=\w+)*/.test(v)) return [...prev, { target: v }];
  const a: NetworkAttachment = { target: '', aliases: [] };
  for (const field of v.split(',')) {
    const eq = field.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`invalid field ${field}`);
    const key = field.slice(0, eq).trim().toLowerCase();
    const val = field.slice(eq + 1).trim();
    switch (key) {
      case 'name':
        a.target = val;
        break;
      case 'alias':
        a.aliases!.push(val);
        break;
      case 'ip':
        a.ipv4 = val;
        break;
      case 'ip6':
        a.ipv6 = val;
        break;
      case 'mac-address':
        a.mac = val;
        break;
      case 'driver-opt': {
        const deq = val.indexOf('=');
        if (deq < 0) throw new InvalidArgumentError(`invalid key value pair format in driver options`);
        a.driverOpts = { ...a.driverOpts, [val.slice(0, deq).trim().toLowerCase()]: val.slice(deq + 1).trim() };
        break;
      }
      default:
        throw new InvalidArgumentError(`invalid field key ${key}`);
    }
  }
  if (!a.target) throw new InvalidArgumentError('network name not specified');
  return [...prev, a];
}

/** Go's net.ParseMAC: 6, 8 or 20 octets, `:` or `-` separated, or dotted groups of four digits. */
export function isMac(s: string): boolean {
  const hex = (n: number, sep: string) => new RegExp(`^[0-9a-f]{2}(?:${sep}[0-9a-f]{2}){${n - 1}}$`, 'i');
  const dotted = (n: number) => new RegExp(`^[0-9a-f]{4}(?:\\.[0-9a-f]{4}){${n / 2 - 1}}$`, 'i');
  return [6, 8, 20].some((n) => hex(n, ':').test(s) || hex(n, '-').test(s) || dotted(n).test(s));
}

/** Not default, bridge, host, none or container:<id> (docker's NetworkMode.IsUserDefined). */
export const isUserDefined = (mode: string) => !['default', 'bridge', 'host', 'none'].includes(mode) && !mode.startsWith('container:');

function endpointSettings(a: NetworkAttachment): EndpointSettings {
  if (!a.target.trim()) throw new Exit(125, 'no name set for network');
  if (!isUserDefined(a.target)) {
    if (a.aliases?.length) throw new Exit(125, 'network-scoped aliases are only supported for user-defined networks');
    if (a.links?.length) throw new Exit(125, 'links are only supported for user-defined networks');
  }
  if (a.mac && !isMac(a.mac.trim())) throw new Exit(125, `${a.mac} is not a valid mac address`);
  // In the order of docker's EndpointSettings, so that the JSON reads the same.
  const ep: EndpointSettings = {};
  if (a.ipv4 || a.ipv6) ep.IPAMConfig = { ...(a.ipv4 ? { IPv4Address: a.ipv4 } : {}), ...(a.ipv6 ? { IPv6Address: a.ipv6 } : {}) };
  if (a.links?.length) ep.Links = a.links;
  if (a.aliases?.length) ep.Aliases = [...a.aliases];
  if (a.mac) ep.MacAddress = a.mac;
  if (a.driverOpts) ep.DriverOpts = a.driverOpts;
  return ep;
}

/**
 * NetworkMode and EndpointsConfig as docker's parseNetworkOpts makes them: --network-alias, --link,
 * --ip, --ip6 and --mac-address apply to the first network; one network without options sends no
 * endpoint, but with no --network at all the CLI sends an empty one for "default".
 */
export function networkConfig(f: NetworkFlags): { mode: string; endpoints: Record<string, EndpointSettings> } {
  const given = [...(f.network ?? []), ...(f.net ?? [])];
  const list: NetworkAttachment[] = given.length ? given.map((a) => ({ ...a })) : [{ target: 'default' }];
  const endpoints: Record<string, EndpointSettings> = {};
  let userDefined = false;
  let builtin = false;
  list.forEach((n, i) => {
    if (isUserDefined(n.target)) userDefined = true;
    else builtin = true;
    if (i === 0) {
      const conflict = (what: string) => new Exit(125, `conflicting options: cannot specify both ${what}`);
      if (n.aliases?.length && f.networkAlias?.length) throw conflict('--network-alias and per-network alias');
      if (n.ipv4 && f.ip) throw conflict('--ip and per-network IPv4 address');
      if (n.ipv6 && f.ip6) throw conflict('--ip6 and per-network IPv6 address');
      if (n.mac && f.macAddress) throw conflict('--mac-address and per-network MAC address');
      if (f.networkAlias?.length) n.aliases = [...f.networkAlias];
      // On a user-defined network --link is an alias for the endpoint; on the default bridge a legacy link only.
      if (isUserDefined(n.target) && f.link?.length) n.links = [...f.link];
      if (f.ip) n.ipv4 = f.ip;
      if (f.ip6) n.ipv6 = f.ip6;
      if (f.macAddress) n.mac = f.macAddress;
    }
    const ep = endpointSettings(n);
    if (endpoints[n.target]) throw new Exit(125, `network "${n.target}" is specified multiple times`);
    if (i === 0 && given.length === 1 && !Object.keys(ep).length) return;
    endpoints[n.target] = ep;
  });
  if (userDefined && builtin) throw new Exit(125, 'conflicting options: cannot attach both user-defined and non-user-defined network-modes');
  return { mode: list[0].target, endpoints: goMapOrder(endpoints) };
}

/** Go's encoding/json writes a map's keys sorted; so does docker's body, and inspect then lists them in that order. */
function goMapOrder<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** ExposedPorts and PortBindings from -p and --expose, as docker merges them. */
export function portConfig(f: NetworkFlags): { exposed: Record<string, object>; bindings: PortMap } {
  const exposed: Record<string, object> = {};
  const bindings: PortMap = {};
  for (const p of f.publish ?? []) {
    for (const { key, binding } of parsePublish(p)) {
      exposed[key] = {};
      (bindings[key] ??= []).push(binding);
    }
  }
  for (const e of f.expose ?? []) for (const key of parseExpose(e)) exposed[key] = {};
  return { exposed: goMapOrder(exposed), bindings: goMapOrder(bindings) };
}
