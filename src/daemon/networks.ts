/**
 * Networks: the default `bridge` network every container joins unless told otherwise, and
 * the predefined `host` and `none`. The service owns the records, under `<data root>/network/`:
 *
 *   <network id>.json            one per network: its bridge, subnet and gateway, kept for good
 *   endpoints/<container id>.json one per attached container: its namespace, its endpoint on each
 *                                network (address, MAC) and its published ports
 *
 * An address and the host ports are written down before any kernel work, so a daemon killed
 * half-way never hands them out twice; at start the driver is given every record and removes
 * what they do not explain. The kernel work itself is the NetworkDriver's (network/driver.ts).
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { NetworkContainer, NetworkPruneResponse, NetworkResource, PortMap } from '../types/index.js';
import { errorMessage, InvalidArgumentError, isErrno, newId, NotFoundError, run, WharfError, writeJsonAtomic, type Logger } from '../util/index.js';
import {
  allocateIp,
  defaultGateway,
  defaultSubnetCandidates,
  formatCidr,
  ipsClash,
  macFromIp,
  parseCidr,
  parseEphemeralRange,
  parseIpAddrJson,
  parseProcRoutes,
  pickSubnet,
  planPorts,
  portMap,
  portMappings,
  PortInUseError,
  tryParseIp,
  validatePorts,
  type BridgeNetwork,
  type Endpoint,
  type NetworkDriver,
  type PortMapping,
} from '../network/index.js';
import { emptyEndpoints, type NetworkAttachment, type NetworkPort, type NetworkRequest } from './containers/index.js';
import { checkFilterKeys, type Filters } from './filters.js';

/** The filters `docker network prune` may send; Docker refuses others even when there is nothing to prune. */
const PRUNE_FILTERS = ['until', 'label', 'label!'];

/** A network as its record keeps it: the driver's view plus what inspect shows. */
export interface NetworkRecord extends BridgeNetwork {
  name: string;
  created: string;
  driver: 'bridge';
  attachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
}

/** A container's interface on one network. */
export interface EndpointRecord {
  networkId: string;
  endpointId: string;
  ifname: string;
  ip: string;
  prefixLen: number;
  mac: string;
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

export interface NetworkServiceOptions {
  /** `<data root>/network`. */
  root: string;
  /** The bridge datapath; without one, bridge containers get loopback only, as before bridges. */
  driver?: NetworkDriver;
  /** The default network's bridge device and, when given, its gateway address and prefix (`--bip`). */
  bridge: string;
  bip?: string;
  logger: Logger;
  /** The subnets the host uses (routes, addresses); the real host's when left out. */
  hostSubnets?: () => Promise<HostSubnet[]>;
  /** The text of /proc/sys/net/ipv4/ip_local_port_range; the host's when left out. */
  portRange?: () => Promise<string | undefined>;
}

/** The networks every engine has. Docker's zero time: they were never created. */
function predefined(name: string, driver: string): NetworkResource {
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

export class NetworkService implements NetworkPort {
  readonly #root: string;
  readonly #driver: NetworkDriver | undefined;
  readonly #defaultBridge: { bridge: string; bip?: string };
  readonly #logger: Logger;
  readonly #hostSubnets: () => Promise<HostSubnet[]>;
  readonly #portRangeText: () => Promise<string | undefined>;
  readonly #networks = new Map<string, NetworkRecord>();
  readonly #sandboxes = new Map<string, SandboxRecord>();
  #ephemeral = { first: 32768, last: 60999 };
  readonly #cursor = { next: 0 };

  constructor(opts: NetworkServiceOptions) {
    this.#root = opts.root;
    this.#driver = opts.driver;
    this.#defaultBridge = { bridge: opts.bridge, bip: opts.bip };
    this.#logger = opts.logger;
    this.#hostSubnets = opts.hostSubnets ?? readHostSubnets;
    this.#portRangeText = opts.portRange ?? (() => readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => undefined));
  }

  /**
   * Loads the records, makes the default network on first start, brings every network's
   * bridge up and lets the driver remove what a killed daemon left behind.
   */
  async init(): Promise<void> {
    for (const n of await readRecords<NetworkRecord>(this.#root)) this.#networks.set(n.id, n);
    for (const s of await readRecords<SandboxRecord>(join(this.#root, 'endpoints'))) this.#sandboxes.set(s.containerId, s);
    if (!this.#find('bridge')) await this.#createDefault();
    this.#ephemeral = parseEphemeralRange(await this.#portRangeText());
    this.#cursor.next = this.#ephemeral.first;
    const driver = this.#driver;
    if (!driver) return;
    for (const n of this.#networks.values()) await driver.ensureNetwork(bridgeOf(n));
    const endpoints = [...this.#sandboxes.values()].flatMap((s) => s.endpoints.flatMap((e) => this.#driverEndpoints(s, e)));
    await driver.cleanup({ networks: [...this.#networks.values()].map(bridgeOf), endpoints });
  }

  async #createDefault(): Promise<void> {
    const { bridge, bip } = this.#defaultBridge;
    let subnet: string | undefined;
    let gateway: string | undefined;
    if (bip) {
      const [addr, len = '24'] = bip.split('/');
      const ip = tryParseIp(addr);
      const prefixLen = /^\d{1,2}$/.test(len) ? Number(len) : NaN;
      if (ip === undefined || !(prefixLen >= 8 && prefixLen <= 30)) throw new InvalidArgumentError(`invalid --bip ${bip}: expected an IPv4 address and a prefix length from 8 to 30, as 172.30.0.1/16`);
      subnet = formatCidr({ network: (ip & ((~0 << (32 - prefixLen)) >>> 0)) >>> 0, prefixLen });
      gateway = addr;
    } else {
      // The bridge's own subnet does not count as taken: a data root made again finds it still there.
      const used = (await this.#hostSubnets()).filter((h) => h.dev !== bridge).map((h) => h.subnet);
      for (const n of this.#networks.values()) used.push(n.subnet);
      subnet = pickSubnet(defaultSubnetCandidates(), used);
      if (!subnet) throw new Error('could not find a free subnet for the default bridge network: every candidate overlaps a host route; give one with --bip');
    }
    const n: NetworkRecord = {
      id: newId(),
      name: 'bridge',
      created: new Date().toISOString(),
      driver: 'bridge',
      bridge,
      subnet,
      gateway: gateway ?? defaultGateway(subnet),
      internal: false,
      icc: true,
      masquerade: true,
      mtu: 0,
      attachable: false,
      labels: {},
      options: {
        'com.docker.network.bridge.default_bridge': 'true',
        'com.docker.network.bridge.enable_icc': 'true',
        'com.docker.network.bridge.enable_ip_masquerade': 'true',
        'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
        'com.docker.network.bridge.name': bridge,
        'com.docker.network.driver.mtu': '1500',
      },
    };
    await writeJsonAtomic(join(this.#root, `${n.id}.json`), n);
    this.#networks.set(n.id, n);
    this.#logger.info('created the default bridge network', { bridge: n.bridge, subnet });
  }

  /** `extraHosts` come back in HostConfig.ExtraHosts' `name:address` form, which writeHostFiles takes. */
  async attach(req: NetworkRequest): Promise<NetworkAttachment> {
    const hc = req.hostConfig;
    const mode = hc.NetworkMode && hc.NetworkMode !== 'default' ? hc.NetworkMode : 'bridge';
    const extraHosts = hc.ExtraHosts ?? [];
    const dns = { servers: hc.Dns ?? [], search: hc.DnsSearch ?? [], options: hc.DnsOptions ?? [] };
    const driver = this.#driver;
    if (mode !== 'bridge' || !driver) {
      return { namespace: mode === 'host' ? { mode: 'host' } : { mode: 'new' }, endpoints: emptyEndpoints(mode), extraHosts, dns };
    }
    const net = this.#find('bridge')!;
    const id = req.containerId;
    // A run that was never released (a crash between start and stop) must not hold its address twice.
    if (this.#sandboxes.has(id)) await this.detach(id);
    let sb: SandboxRecord | undefined;
    let nsPath: string | undefined;
    try {
      nsPath = await driver.createNamespace(id);
      const ip = allocateIp(net.subnet, net.gateway, this.#ipsOn(net.id));
      const endpointId = newId();
      // Docker's words for a port taken, whether its records or the kernel say so.
      const programming = (err: unknown) =>
        new Error(`driver failed programming external connectivity on endpoint ${req.name} (${endpointId}): ${errorMessage(err)}`, { cause: err });
      let ports: PortMapping[];
      try {
        // Checked at create; checked again for containers created before that check existed.
        validatePorts(req.exposedPorts, hc.PortBindings);
        ports = planPorts(
          portMappings(req.exposedPorts, hc.PortBindings, hc.PublishAllPorts ?? false),
          (proto, hostIp, port) => this.#portHeld(proto, hostIp, port),
          this.#ephemeral,
          this.#cursor,
        );
      } catch (err) {
        throw err instanceof WharfError ? err : programming(err);
      }
      sb = {
        containerId: id,
        name: req.name,
        sandboxId: newId(),
        nsPath,
        endpoints: [{ networkId: net.id, endpointId, ifname: 'eth0', ip, prefixLen: parseCidr(net.subnet).prefixLen, mac: macFromIp(ip) }],
        ports,
        exposedPorts: req.exposedPorts ?? null,
        extraHosts,
        dns,
      };
      // Held in memory before the first await, so a concurrent attach cannot take the same address.
      this.#sandboxes.set(id, sb);
      await writeJsonAtomic(this.#recordPath(id), sb);
      for (const e of sb.endpoints) {
        try {
          await driver.attach(nsPath, this.#driverEndpoint(sb, e));
        } catch (err) {
          // The driver words a taken port as Docker does, endpoint included; any other failure of the endpoint Docker words so.
          throw err instanceof PortInUseError
            ? err
            : new Error(`failed to create endpoint ${req.name} on network bridge: ${errorMessage(err)}`, { cause: err });
        }
      }
      return this.#attachment(sb);
    } catch (err) {
      await this.#undoAttach(id, nsPath, sb).catch((e) => this.#logger.warn('undoing a failed network attach failed', { id, error: errorMessage(e) }));
      throw err;
    }
  }

  async #undoAttach(id: string, nsPath: string | undefined, sb: SandboxRecord | undefined): Promise<void> {
    const driver = this.#driver!;
    if (sb) for (const e of sb.endpoints) await driver.detach(nsPath, this.#driverEndpoint(sb, e));
    if (nsPath !== undefined) await driver.removeNamespace(id);
    if (sb && this.#sandboxes.get(id) === sb) {
      this.#sandboxes.delete(id);
      await rm(this.#recordPath(id), { force: true });
    }
  }

  /** Kernel state first, the record last: a daemon killed in between finds the record and retries. */
  async detach(containerId: string): Promise<void> {
    const sb = this.#sandboxes.get(containerId);
    if (!sb) return;
    const driver = this.#driver;
    if (driver) {
      // The namespace first: the kernel then destroys its veths by itself, which is half the cost
      // of deleting each one (20 ms); detach only takes the endpoints' rules and ports back.
      await driver.removeNamespace(containerId);
      for (const e of sb.endpoints) await driver.detach(undefined, this.#driverEndpoint(sb, e));
    }
    if (this.#sandboxes.get(containerId) === sb) this.#sandboxes.delete(containerId);
    await rm(this.#recordPath(containerId), { force: true });
  }

  /**
   * Detaches the records of containers that no longer exist (a removal the daemon's death cut
   * short after the container's files went). Called once at start-up, after the containers loaded.
   */
  async releaseOrphans(isContainer: (id: string) => boolean): Promise<void> {
    for (const id of [...this.#sandboxes.keys()]) {
      if (isContainer(id)) continue;
      await this.detach(id).catch((err) => this.#logger.warn('releasing the network of a removed container failed', { id, error: errorMessage(err) }));
    }
  }

  current(containerId: string): NetworkAttachment | undefined {
    const sb = this.#sandboxes.get(containerId);
    return sb ? this.#attachment(sb) : undefined;
  }

  list(): NetworkResource[] {
    // Docker's list leaves Containers empty (API 1.28+); inspect fills them.
    return [...[...this.#networks.values()].map((n) => this.#resource(n, false)), predefined('none', 'null'), predefined('host', 'host')];
  }

  /** GET /networks/{id}: by full name, full ID, then a unique ID prefix. */
  inspect(ref: string): NetworkResource {
    if (ref === 'host' || ref === 'none') return predefined(ref, ref === 'host' ? 'host' : 'null');
    const n = this.#find(ref);
    if (!n) throw new NotFoundError(`network ${ref} not found`);
    return this.#resource(n, true);
  }

  prune(filters: Filters): NetworkPruneResponse {
    checkFilterKeys(filters, PRUNE_FILTERS);
    return { NetworksDeleted: null };
  }

  #find(ref: string): NetworkRecord | undefined {
    const all = [...this.#networks.values()];
    const exact = all.find((n) => n.name === ref) ?? all.find((n) => n.id === ref);
    if (exact || ref === '') return exact;
    const byPrefix = all.filter((n) => n.id.startsWith(ref));
    return byPrefix.length === 1 ? byPrefix[0] : undefined;
  }

  #resource(n: NetworkRecord, withContainers: boolean): NetworkResource {
    const containers: Record<string, NetworkContainer> = {};
    if (withContainers) {
      for (const s of this.#sandboxes.values()) {
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
      IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: n.subnet, Gateway: n.gateway }] },
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

  #ipsOn(networkId: string): string[] {
    return [...this.#sandboxes.values()].flatMap((s) => s.endpoints.filter((e) => e.networkId === networkId).map((e) => e.ip));
  }

  #portHeld(protocol: string, hostIp: string, hostPort: number): boolean {
    for (const s of this.#sandboxes.values()) {
      if (s.ports.some((p) => p.protocol === protocol && p.hostPort === hostPort && ipsClash(p.hostIp, hostIp))) return true;
    }
    return false;
  }

  #driverEndpoint(sb: SandboxRecord, e: EndpointRecord): Endpoint {
    const n = this.#networks.get(e.networkId);
    if (!n) throw new Error(`network ${e.networkId} of container ${sb.containerId} not found`);
    return { containerId: sb.containerId, name: sb.name, endpointId: e.endpointId, network: bridgeOf(n), ifname: e.ifname, ip: e.ip, prefixLen: e.prefixLen, mac: e.mac, defaultRoute: e.ifname === 'eth0', ports: e.ifname === 'eth0' ? sb.ports : [] };
  }

  /** For cleanup: an endpoint whose network record is gone explains nothing. */
  #driverEndpoints(sb: SandboxRecord, e: EndpointRecord): Endpoint[] {
    return this.#networks.has(e.networkId) ? [this.#driverEndpoint(sb, e)] : [];
  }

  #attachment(sb: SandboxRecord): NetworkAttachment {
    const endpoints: NetworkAttachment['endpoints'] = {};
    for (const e of sb.endpoints) {
      const n = this.#networks.get(e.networkId);
      if (!n) continue;
      endpoints[n.name] = {
        ...emptyEndpoints(n.name)[n.name],
        NetworkID: n.id,
        EndpointID: e.endpointId,
        Gateway: n.gateway,
        IPAddress: e.ip,
        IPPrefixLen: e.prefixLen,
        MacAddress: e.mac,
      };
    }
    const ports: PortMap = portMap(sb.ports, sb.exposedPorts);
    return { namespace: { mode: 'path', path: sb.nsPath }, endpoints, extraHosts: sb.extraHosts, dns: sb.dns, sandboxKey: sb.nsPath, sandboxId: sb.sandboxId, ports };
  }

  #recordPath(containerId: string): string {
    return join(this.#root, 'endpoints', `${containerId}.json`);
  }
}

function bridgeOf(n: NetworkRecord): BridgeNetwork {
  return { id: n.id, bridge: n.bridge, subnet: n.subnet, gateway: n.gateway, internal: n.internal, icc: n.icc, masquerade: n.masquerade, mtu: n.mtu };
}

/** Every `*.json` record in `dir`; one that does not parse is skipped with the rest still loaded. */
async function readRecords<T>(dir: string): Promise<T[]> {
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
async function readHostSubnets(): Promise<HostSubnet[]> {
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
