/**
 * What the network service checks and computes without state of its own: a create request's
 * validation in Docker's words, a container's endpoint settings, and the records' files.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EndpointSettings, NetworkContainer, NetworkCreateRequest, NetworkResource, PortMap } from '../types/index.js';
import { ConflictError, ForbiddenError, InvalidArgumentError, isErrno, NotFoundError, run } from '../util/index.js';
import { contains, defaultGateway, formatCidr, overlaps, parseCidr, parseIp, parseIpAddrJson, parseProcRoutes, portMap, tryParseIp, type BridgeNetwork, type DnsNetwork, type PortMapping } from '../network/index.js';
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
}

/** A container's interface on one network. */
export interface EndpointRecord {
  networkId: string;
  endpointId: string;
  ifname: string;
  ip: string;
  prefixLen: number;
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
  return { id: n.id, bridge: n.bridge, subnet: n.subnet, gateway: n.gateway, internal: n.internal, icc: n.icc, masquerade: n.masquerade, mtu: n.mtu };
}

/** The IPAM part of a create request, checked as moby checks it; `used` are the subnets taken. */
export interface IpamPlan {
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  auxAddresses?: Record<string, string>;
}

export function planIpam(req: NetworkCreateRequest, used: { subnet: string; dev: string }[]): IpamPlan {
  const configs = req.IPAM?.Config ?? [];
  const v4 = configs.filter((c) => !c.Subnet?.includes(':'));
  if (v4.length > 1) throw new InvalidArgumentError('wharf supports one IPv4 subnet per network');
  const c = v4[0];
  if (!c) return {};
  if (!c.Subnet) {
    if (c.Gateway || c.IPRange) throw new InvalidArgumentError('invalid pool request: a gateway or ip-range needs a subnet');
    return {};
  }
  const subnet = parseCidr(c.Subnet);
  if (subnet.prefixLen > 30) throw new InvalidArgumentError(`invalid subnet ${c.Subnet}: it has no room for a gateway and a container`);
  for (const u of used) {
    if (overlaps(subnet, parseCidr(u.subnet))) throw new ForbiddenError('Pool overlaps with other one on this address space');
  }
  const plan: IpamPlan = { subnet: formatCidr(subnet) };
  if (c.IPRange) {
    let range;
    try {
      range = parseCidr(c.IPRange);
    } catch (err) {
      throw new InvalidArgumentError(`invalid ip-range ${c.IPRange}: ${(err as Error).message}`);
    }
    if (range.prefixLen < subnet.prefixLen || !contains(subnet, range.network)) {
      throw new InvalidArgumentError(`invalid ip-range ${c.IPRange}: parent subnet ${plan.subnet} doesn't contain ip-range ${c.IPRange}`);
    }
    plan.ipRange = formatCidr(range);
  }
  if (c.Gateway) {
    const gw = tryParseIp(c.Gateway);
    if (gw === undefined) throw new InvalidArgumentError(`invalid gateway ${c.Gateway}: invalid IP address`);
    if (!contains(subnet, gw)) throw new InvalidArgumentError(`invalid gateway ${c.Gateway}: parent subnet ${plan.subnet} doesn't contain ip address ${c.Gateway}`);
    plan.gateway = c.Gateway;
  }
  const aux = Object.entries(c.AuxiliaryAddresses ?? {});
  for (const [name, addr] of aux) {
    const ip = tryParseIp(addr);
    if (ip === undefined || !contains(subnet, ip)) throw new InvalidArgumentError(`no matching subnet for aux-address ${name}=${addr}`);
  }
  if (aux.length) plan.auxAddresses = Object.fromEntries(aux);
  return plan;
}

/** The request's own checks, before any subnet is looked at. */
export function checkCreate(req: NetworkCreateRequest, nameTaken: (name: string) => boolean): void {
  const name = req.Name ?? '';
  if (!name) throw new InvalidArgumentError('network name must not be empty');
  const driver = req.Driver || 'bridge';
  if (driver !== 'bridge') throw new NotFoundError(`could not find plugin ${driver} in v1 plugin registry: plugin not found`);
  if (nameTaken(name)) throw new ConflictError(`network with name ${name} already exists`);
  if (req.EnableIPv6) throw new InvalidArgumentError('IPv6 networks are not supported by wharf yet');
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

/** A container's requested address on `n`, checked as moby checks it at create and connect. */
export function checkEndpoint(n: NetworkRecord, cfg: EndpointSettings | undefined): void {
  const ip = cfg?.IPAMConfig?.IPv4Address;
  if (n.name === 'bridge') {
    if (ip) throw new InvalidArgumentError('user specified IP address is supported on user defined networks only');
    if (cfg?.Aliases?.length) throw new InvalidArgumentError('network-scoped alias is supported only for containers in user defined networks');
    return;
  }
  if (!ip) return;
  if (!n.userSubnet) throw new InvalidArgumentError('user specified IP address is supported only when connecting to networks with user configured subnets');
  const addr = tryParseIp(ip);
  if (addr === undefined) throw new InvalidArgumentError(`invalid IPv4 address: ${ip}`);
  const pool = parseCidr(n.ipRange ?? n.subnet);
  if (!contains(pool, addr) || !contains(parseCidr(n.subnet), addr)) throw new InvalidArgumentError(`no configured subnet or ip-range contain the IP address ${ip}`);
  if (addr === parseIp(n.gateway)) throw new InvalidArgumentError(`Address already in use: ${ip} is the gateway of network ${n.name}`);
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
export async function readHostSubnets(): Promise<HostSubnet[]> {
  const out: HostSubnet[] = [];
  const routes = await readFile('/proc/net/route', 'utf8').catch(() => '');
  for (const line of routes.split('\n').slice(1)) {
    const dev = line.trim().split(/\s+/)[0];
    for (const subnet of parseProcRoutes(`header\n${line}`)) out.push({ subnet, dev });
  }
  const r = await run('ip', ['-j', '-4', 'addr']).catch(() => undefined);
  if (r?.code === 0) {
    for (const link of JSON.parse(r.stdout) as { ifname?: string }[]) {
      for (const subnet of parseIpAddrJson(JSON.stringify([link]))) out.push({ subnet, dev: link.ifname ?? '' });
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
        containers[s.containerId] = { Name: s.name, EndpointID: e.endpointId, MacAddress: e.mac, IPv4Address: `${e.ip}/${e.prefixLen}`, IPv6Address: '' };
      }
    }
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: 'local',
    Driver: n.driver,
    EnableIPv6: false,
    IPAM: {
      Driver: 'default',
      Options: n.ipamOptions !== undefined ? n.ipamOptions : n.name === 'bridge' ? null : {},
      Config: [{ Subnet: n.subnet, ...(n.ipRange ? { IPRange: n.ipRange } : {}), Gateway: n.gateway, ...(n.auxAddresses ? { AuxiliaryAddresses: n.auxAddresses } : {}) }],
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
      MacAddress: e.mac,
      IPAMConfig: e.ipamConfig ?? null,
      Links: e.links?.length ? e.links : null,
      DriverOpts: e.driverOpts ?? null,
      // Docker adds the short ID on user-defined networks, where names resolve.
      ...(e.aliases ? { Aliases: [...e.aliases, short], DNSNames: [sb.name, short, ...e.aliases] } : {}),
    };
  }
  const ports: PortMap = portMap(sb.ports, sb.exposedPorts);
  return { namespace: { mode: 'path', path: sb.nsPath }, endpoints, extraHosts: sb.extraHosts, dns: sb.dns, sandboxKey: sb.nsPath, sandboxId: sb.sandboxId, ports };
}
