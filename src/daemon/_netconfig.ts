/**
 * What the network service checks and computes without state of its own: a create request's
 * validation in Docker's words, a container's endpoint settings, and the records' files.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EndpointSettings, NetworkContainer, NetworkCreateRequest, NetworkResource, PortMap } from '../types/index.js';
import { ConflictError, ForbiddenError, InvalidArgumentError, isErrno, NotFoundError, run } from '../util/index.js';
import {
  contains,
  contains6,
  defaultGateway,
  defaultGateway6,
  formatCidr,
  formatCidr6,
  formatIp6,
  overlaps,
  overlaps6,
  parseCidr,
  parseCidr6,
  parseIp6AddrJson,
  parseIpAddrJson,
  parseProcIpv6Routes,
  parseProcRoutes,
  pickSubnet6,
  portMap,
  tryParseIp,
  tryParseIp6,
  type BridgeNetwork,
  type DnsNetwork,
  type PortMapping,
} from '../network/index.js';
import { emptyEndpoints, type NetworkAttachment } from './containers/index.js';

/** A network as its record keeps it: the driver's view plus what inspect shows. */
export interface NetworkRecord extends BridgeNetwork {
  name: string;
  created: string;
  driver: 'bridge';
  attachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** Where containers' addresses come from (`--ip-range`); the whole subnet when absent. */
  ipRange?: string;
  /** Whether the subnet was asked for: Docker takes `--ip` only on such networks. */
  userSubnet?: boolean;
  /**
   * IPAM.Options as the request gave them (null when it gave none, as moby shows them);
   * absent in records written before wharf kept them.
   */
  ipamOptions?: Record<string, string> | null;
  /** `--aux-address`es: names for addresses of the subnet that no container is given. */
  auxAddresses?: Record<string, string>;
  /** The IPv6 side's `--ip-range` and `--aux-address`es, on a network with IPv6. */
  ipRange6?: string;
  auxAddresses6?: Record<string, string>;
  /** Whether the IPv6 subnet was asked for (else it came from the daemon's own pool). */
  userSubnet6?: boolean;
}

/** A container's interface on one network. */
export interface EndpointRecord {
  networkId: string;
  endpointId: string;
  ifname: string;
  ip: string;
  prefixLen: number;
  /** The IPv6 address, on a network with IPv6. */
  ip6?: string;
  prefixLen6?: number;
  mac: string;
  /** `--network-alias`es on a user-defined network. */
  aliases?: string[];
  /** What the request asked for (`--ip`, links on this network), which inspect shows back as Docker does. */
  ipamConfig?: EndpointSettings['IPAMConfig'];
  links?: string[];
  /** The endpoint's DriverOpts, kept and shown back as Docker does (the bridge driver uses none of them). */
  driverOpts?: Record<string, string>;
}

/** A container's attachment as its record keeps it. */
export interface SandboxRecord {
  containerId: string;
  /** The container's name when attached, as a network's inspect lists it. */
  name: string;
  sandboxId: string;
  nsPath: string;
  endpoints: EndpointRecord[];
  ports: PortMapping[];
  exposedPorts: Record<string, object> | null;
  extraHosts: string[];
  dns: { servers: string[]; search: string[]; options: string[] };
  /** The container's own `--dns` servers, asked after its networks' name servers (absent from records before it). */
  givenDns?: string[];
}

/** Where a host's subnets are in use: a route's or an address's, with its device. */
export interface HostSubnet {
  subnet: string;
  dev: string;
}

export const PREDEFINED = ['bridge', 'host', 'none'];

/** A network as the name server knows it. */
export function dnsNetwork(n: NetworkRecord): DnsNetwork {
  return { name: n.name, id: n.id, gateway: n.gateway, internal: n.internal };
}

/** The networks every engine has. Docker's zero time: they were never created. */
export function predefined(name: string, driver: string): NetworkResource {
  return {
    Name: name,
    Id: name,
    Created: '0001-01-01T00:00:00Z',
    Scope: 'local',
    Driver: driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: {},
  };
}

export function bridgeOf(n: NetworkRecord): BridgeNetwork {
  return { id: n.id, bridge: n.bridge, subnet: n.subnet, gateway: n.gateway, internal: n.internal, icc: n.icc, masquerade: n.masquerade, mtu: n.mtu, ...(n.ipv6 ? { ipv6: { ...n.ipv6 } } : {}) };
}

/** The IPAM part of a create request, checked as moby checks it; `used` are the subnets taken. */
export interface IpamPlan {
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  auxAddresses?: Record<string, string>;
  /** With EnableIPv6: the IPv6 side, its subnet given or picked from `pool6`. */
  ipv6?: { subnet: string; gateway: string; ipRange?: string; auxAddresses?: Record<string, string>; given: boolean };
}

/** One address family's arithmetic, for the checks written once for both (in moby's words). */
interface Family<A> {
  parse(ip: string): A | undefined;
  contains(subnet: string, ip: A): boolean;
  cidr(s: string): string;
  overlaps(a: string, b: string): boolean;
}

const V4: Family<number> = {
  parse: tryParseIp,
  contains: (subnet, ip) => contains(parseCidr(subnet), ip),
  cidr: (s) => formatCidr(parseCidr(s)),
  overlaps: (a, b) => overlaps(parseCidr(a), parseCidr(b)),
};

const V6: Family<bigint> = {
  parse: tryParseIp6,
  contains: (subnet, ip) => contains6(parseCidr6(subnet), ip),
  cidr: (s) => formatCidr6(parseCidr6(s)),
  overlaps: (a, b) => overlaps6(parseCidr6(a), parseCidr6(b)),
};

type IpamConfig = NonNullable<NonNullable<NetworkCreateRequest['IPAM']>['Config']>[number];

/** One IPAM config entry's range, gateway and aux addresses, checked against its subnet. */
function planPool<A>(f: Family<A>, c: IpamConfig, subnet: string): { ipRange?: string; gateway?: string; auxAddresses?: Record<string, string> } {
  const plan: { ipRange?: string; gateway?: string; auxAddresses?: Record<string, string> } = {};
  if (c.IPRange) {
    let range: string;
    try {
      range = f.cidr(c.IPRange);
    } catch (err) {
      throw new InvalidArgumentError(`invalid ip-range ${c.IPRange}: ${(err as Error).message}`);
    }
    const rangeLen = Number(range.split('/')[1]);
    const start = f.parse(range.split('/')[0])!;
    if (rangeLen < Number(subnet.split('/')[1]) || !f.contains(subnet, start)) {
      throw new InvalidArgumentError(`invalid ip-range ${c.IPRange}: parent subnet ${subnet} doesn't contain ip-range ${c.IPRange}`);
    }
    plan.ipRange = range;
  }
  if (c.Gateway) {
    const gw = f.parse(c.Gateway);
    if (gw === undefined) throw new InvalidArgumentError(`invalid gateway ${c.Gateway}: invalid IP address`);
    if (!f.contains(subnet, gw)) throw new InvalidArgumentError(`invalid gateway ${c.Gateway}: parent subnet ${subnet} doesn't contain ip address ${c.Gateway}`);
    plan.gateway = c.Gateway;
  }
  const aux = Object.entries(c.AuxiliaryAddresses ?? {});
  for (const [name, addr] of aux) {
    const ip = f.parse(addr);
    if (ip === undefined || !f.contains(subnet, ip)) throw new InvalidArgumentError(`no matching subnet for aux-address ${name}=${addr}`);
  }
  if (aux.length) plan.auxAddresses = Object.fromEntries(aux);
  return plan;
}

/**
 * `used` are the subnets taken, both families; `pool6` is the daemon's unique local /48, where an
 * IPv6 network that names no subnet gets a /64. IPv6 entries count only with EnableIPv6, as in
 * moby, which otherwise leaves them unchecked and unused.
 */
export function planIpam(req: NetworkCreateRequest, used: { subnet: string; dev: string }[], pool6?: string): IpamPlan {
  const configs = req.IPAM?.Config ?? [];
  const isV6 = (c: IpamConfig) => (c.Subnet ? c.Subnet.includes(':') : (c.Gateway ?? c.IPRange ?? '').includes(':'));
  const v4 = configs.filter((c) => !isV6(c));
  if (v4.length > 1) throw new InvalidArgumentError('wharf supports one IPv4 subnet per network');
  const used4 = used.filter((u) => !u.subnet.includes(':')).map((u) => u.subnet);
  const used6 = used.filter((u) => u.subnet.includes(':')).map((u) => u.subnet);
  const plan: IpamPlan = {};
  if (req.EnableIPv6) plan.ipv6 = planIpv6(configs.filter(isV6), used6, pool6);
  const c = v4[0];
  if (!c) return plan;
  if (!c.Subnet) {
    if (c.Gateway || c.IPRange) throw new InvalidArgumentError('invalid pool request: a gateway or ip-range needs a subnet');
    return plan;
  }
  const subnet = formatCidr(parseCidr(c.Subnet));
  if (parseCidr(subnet).prefixLen > 30) throw new InvalidArgumentError(`invalid subnet ${c.Subnet}: it has no room for a gateway and a container`);
  if (used4.some((u) => V4.overlaps(subnet, u))) throw new ForbiddenError('Pool overlaps with other one on this address space');
  return { ...plan, subnet, ...planPool(V4, c, subnet) };
}

function planIpv6(configs: IpamConfig[], used6: string[], pool6: string | undefined): NonNullable<IpamPlan['ipv6']> {
  if (configs.length > 1) throw new InvalidArgumentError('wharf supports one IPv6 subnet per network');
  const c = configs[0];
  if (!c?.Subnet) {
    if (c?.Gateway || c?.IPRange) throw new InvalidArgumentError('invalid pool request: a gateway or ip-range needs a subnet');
    const subnet = pool6 ? pickSubnet6(pool6, used6) : undefined;
    if (!subnet) throw new ForbiddenError('could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network');
    return { subnet, gateway: defaultGateway6(subnet), given: false };
  }
  const subnet = V6.cidr(c.Subnet);
  if (parseCidr6(subnet).prefixLen > 126) throw new InvalidArgumentError(`invalid subnet ${c.Subnet}: it has no room for a gateway and a container`);
  if (used6.some((u) => V6.overlaps(subnet, u))) throw new ForbiddenError('Pool overlaps with other one on this address space');
  const pool = planPool(V6, c, subnet);
  // Canonical text: ip6tables-save prints it so, and the rules are compared as text.
  const gateway = pool.gateway ? formatIp6(tryParseIp6(pool.gateway)!) : defaultGateway6(subnet);
  return { subnet, gateway, ...(pool.ipRange ? { ipRange: pool.ipRange } : {}), ...(pool.auxAddresses ? { auxAddresses: pool.auxAddresses } : {}), given: true };
}

/** The request's own checks, before any subnet is looked at. */
export function checkCreate(req: NetworkCreateRequest, nameTaken: (name: string) => boolean): void {
  const name = req.Name ?? '';
  if (!name) throw new InvalidArgumentError('network name must not be empty');
  const driver = req.Driver || 'bridge';
  if (driver !== 'bridge') throw new NotFoundError(`could not find plugin ${driver} in v1 plugin registry: plugin not found`);
  if (nameTaken(name)) throw new ConflictError(`network with name ${name} already exists`);
  if (req.EnableIPv4 === false) throw new InvalidArgumentError('IPv6-only networks (--ipv4=false) are not supported by wharf yet');
  const bridge = req.Options?.['com.docker.network.bridge.name'];
  if (bridge !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(bridge)) throw new InvalidArgumentError(`invalid bridge name "${bridge}": at most 15 letters, digits, '.', '_' or '-'`);
  const mtu = req.Options?.['com.docker.network.driver.mtu'];
  if (mtu !== undefined && !/^\d+$/.test(mtu)) throw new InvalidArgumentError(`invalid MTU "${mtu}": strconv.Atoi: parsing "${mtu}": invalid syntax`);
}

/** A user-defined network's record from its create request, checked, and its subnet. */
export function newNetworkRecord(req: NetworkCreateRequest, id: string, subnet: string, plan: IpamPlan): NetworkRecord {
  const opts = { ...(req.Options ?? {}) };
  return {
    id,
    name: req.Name,
    created: new Date().toISOString(),
    driver: 'bridge',
    bridge: opts['com.docker.network.bridge.name'] || `br-${id.slice(0, 12)}`,
    subnet,
    gateway: plan.gateway ?? defaultGateway(subnet),
    internal: req.Internal ?? false,
    icc: boolOption(opts, 'com.docker.network.bridge.enable_icc', true),
    masquerade: boolOption(opts, 'com.docker.network.bridge.enable_ip_masquerade', true),
    mtu: Number(opts['com.docker.network.driver.mtu'] ?? 0),
    attachable: req.Attachable ?? false,
    labels: req.Labels ?? {},
    options: opts,
    ipRange: plan.ipRange,
    userSubnet: plan.subnet !== undefined,
    ipamOptions: req.IPAM?.Options ?? null,
    ...(plan.auxAddresses ? { auxAddresses: plan.auxAddresses } : {}),
    ...(plan.ipv6
      ? {
          ipv6: { subnet: plan.ipv6.subnet, gateway: plan.ipv6.gateway },
          userSubnet6: plan.ipv6.given,
          ...(plan.ipv6.ipRange ? { ipRange6: plan.ipv6.ipRange } : {}),
          ...(plan.ipv6.auxAddresses ? { auxAddresses6: plan.ipv6.auxAddresses } : {}),
        }
      : {}),
  };
}

/** Docker's boolean options: "true"/"false" and Go's other spellings. */
export function boolOption(opts: Record<string, string> | undefined, key: string, dflt: boolean): boolean {
  const v = opts?.[key];
  if (v === undefined || v === '') return dflt;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  throw new InvalidArgumentError(`invalid value "${v}" for ${key}: strconv.ParseBool: parsing "${v}": invalid syntax`);
}

/** A container's requested addresses on `n`, checked as moby checks them at create and connect. */
export function checkEndpoint(n: NetworkRecord, cfg: EndpointSettings | undefined): void {
  const ip = cfg?.IPAMConfig?.IPv4Address;
  const ip6 = cfg?.IPAMConfig?.IPv6Address;
  if (n.name === 'bridge') {
    if (ip || ip6) throw new InvalidArgumentError('user specified IP address is supported on user defined networks only');
    if (cfg?.Aliases?.length) throw new InvalidArgumentError('network-scoped alias is supported only for containers in user defined networks');
    return;
  }
  if (ip) checkAddress(V4, n, ip, 'IPv4', { subnet: n.subnet, pool: n.ipRange, gateway: n.gateway, user: n.userSubnet });
  if (ip6) {
    // As current moby: an address no subnet of the network holds is refused, IPv6 off or not.
    if (!n.ipv6) throw new InvalidArgumentError(`invalid endpoint settings:\nno configured subnet contains IP address ${ip6}`);
    checkAddress(V6, n, ip6, 'IPv6', { subnet: n.ipv6.subnet, pool: n.ipRange6, gateway: n.ipv6.gateway, user: n.userSubnet6 });
  }
}

function checkAddress<A>(f: Family<A>, n: NetworkRecord, ip: string, family: string, side: { subnet: string; pool?: string; gateway: string; user?: boolean }): void {
  if (!side.user) throw new InvalidArgumentError('user specified IP address is supported only when connecting to networks with user configured subnets');
  const addr = f.parse(ip);
  if (addr === undefined) throw new InvalidArgumentError(`invalid ${family} address: ${ip}`);
  if (!f.contains(side.pool ?? side.subnet, addr) || !f.contains(side.subnet, addr)) throw new InvalidArgumentError(`no configured subnet or ip-range contain the IP address ${ip}`);
  if (addr === f.parse(side.gateway)) throw new InvalidArgumentError(`Address already in use: ${ip} is the gateway of network ${n.name}`);
}

/** Every `*.json` record in `dir`; one that does not parse is skipped with the rest still loaded. */
export async function readRecords<T>(dir: string): Promise<T[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const out: T[] = [];
  for (const name of names) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    try {
      out.push(JSON.parse(await readFile(join(dir, name), 'utf8')) as T);
    } catch {
      // A torn write cannot happen (writes are atomic); a file edited by hand is not ours to guess.
    }
  }
  return out;
}

/** The host's routes and IPv4 addresses, each with its device. */
export function readHostSubnets(): Promise<HostSubnet[]> {
  return readSubnetsOf({ routes: '/proc/net/route', routeSubnets: (line) => parseProcRoutes(`header\n${line}`), routeDev: 0, ipFlag: '-4', addrSubnets: parseIpAddrJson });
}

/** The host's IPv6 routes and global addresses, each with its device (read only for IPv6 networks). */
export function readHostSubnets6(): Promise<HostSubnet[]> {
  return readSubnetsOf({ routes: '/proc/net/ipv6_route', routeSubnets: parseProcIpv6Routes, routeDev: 9, ipFlag: '-6', addrSubnets: parseIp6AddrJson });
}

/** One family's subnets: its route table's lines (`routeDev` is the device's column), then `ip -j <flag> addr`. */
async function readSubnetsOf(f: { routes: string; routeSubnets: (line: string) => string[]; routeDev: number; ipFlag: string; addrSubnets: (json: string) => string[] }): Promise<HostSubnet[]> {
  const out: HostSubnet[] = [];
  const routes = await readFile(f.routes, 'utf8').catch(() => '');
  for (const line of routes.split('\n')) {
    const dev = line.trim().split(/\s+/)[f.routeDev] ?? '';
    for (const subnet of f.routeSubnets(line)) out.push({ subnet, dev });
  }
  const r = await run('ip', ['-j', f.ipFlag, 'addr']).catch(() => undefined);
  if (r?.code === 0) {
    for (const link of JSON.parse(r.stdout) as { ifname?: string }[]) {
      for (const subnet of f.addrSubnets(JSON.stringify([link]))) out.push({ subnet, dev: link.ifname ?? '' });
    }
  }
  return out;
}

export function networkResource(n: NetworkRecord, sandboxes: Iterable<SandboxRecord>): NetworkResource {
  const containers: Record<string, NetworkContainer> = {};
  {
    for (const s of sandboxes) {
      for (const e of s.endpoints) {
        if (e.networkId !== n.id) continue;
        containers[s.containerId] = { Name: s.name, EndpointID: e.endpointId, MacAddress: e.mac, IPv4Address: `${e.ip}/${e.prefixLen}`, IPv6Address: e.ip6 ? `${e.ip6}/${e.prefixLen6}` : '' };
      }
    }
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: 'local',
    Driver: n.driver,
    EnableIPv6: n.ipv6 !== undefined,
    IPAM: {
      Driver: 'default',
      Options: n.ipamOptions !== undefined ? n.ipamOptions : n.name === 'bridge' ? null : {},
      Config: [
        { Subnet: n.subnet, ...(n.ipRange ? { IPRange: n.ipRange } : {}), Gateway: n.gateway, ...(n.auxAddresses ? { AuxiliaryAddresses: n.auxAddresses } : {}) },
        ...(n.ipv6 ? [{ Subnet: n.ipv6.subnet, ...(n.ipRange6 ? { IPRange: n.ipRange6 } : {}), Gateway: n.ipv6.gateway, ...(n.auxAddresses6 ? { AuxiliaryAddresses: n.auxAddresses6 } : {}) }] : []),
      ],
    },
    Internal: n.internal,
    Attachable: n.attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: n.options,
    Labels: n.labels,
  };
}

export function attachmentOf(sb: SandboxRecord, networks: Map<string, NetworkRecord>): NetworkAttachment {
  const endpoints: NetworkAttachment['endpoints'] = {};
  const short = sb.containerId.slice(0, 12);
  for (const e of sb.endpoints) {
    const n = networks.get(e.networkId);
    if (!n) continue;
    endpoints[n.name] = {
      ...emptyEndpoints(n.name)[n.name],
      NetworkID: n.id,
      EndpointID: e.endpointId,
      Gateway: n.gateway,
      IPAddress: e.ip,
      IPPrefixLen: e.prefixLen,
      ...(e.ip6 && n.ipv6 ? { IPv6Gateway: n.ipv6.gateway, GlobalIPv6Address: e.ip6, GlobalIPv6PrefixLen: e.prefixLen6 ?? 64 } : {}),
      MacAddress: e.mac,
      IPAMConfig: e.ipamConfig ?? null,
      Links: e.links?.length ? e.links : null,
      DriverOpts: e.driverOpts ?? null,
      // Docker adds the short ID on user-defined networks, where names resolve.
      ...(e.aliases ? { Aliases: [...e.aliases, short], DNSNames: [sb.name, short, ...e.aliases] } : {}),
    };
  }
  // The ports are published through eth0; with an IPv6 address there, a binding to every address is one of both families.
  const eth0 = sb.endpoints.find((e) => e.ifname === 'eth0');
  const ports: PortMap = portMap(sb.ports, sb.exposedPorts, Boolean(eth0?.ip6 && networks.get(eth0.networkId)?.ipv6));
  return { namespace: { mode: 'path', path: sb.nsPath }, endpoints, extraHosts: sb.extraHosts, dns: sb.dns, sandboxKey: sb.nsPath, sandboxId: sb.sandboxId, ports };
}
