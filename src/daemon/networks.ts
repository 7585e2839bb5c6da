/**
 * Networks: the default `bridge` network every container joins unless told otherwise, the
 * user-defined bridge networks (`network create`), and the predefined `host` and `none`. The
 * service owns the records, under `<data root>/network/`:
 *
 *   <network id>.json            one per network: its bridge, subnet, IP range and gateway
 *   endpoints/<container id>.json one per running container: its namespace, its endpoint on each
 *                                network (interface, address, MAC, aliases) and its published ports
 *
 * Which networks a container joins is its own record's (HostConfig.NetworkMode first, then
 * NetworkingConfig.EndpointsConfig), which connect and disconnect of a stopped container edit;
 * the endpoint records hold only what a run was given, so only running containers hold
 * endpoints, as under Docker.
 *
 * An address and the host ports are written down before any kernel work, so a daemon killed
 * half-way never hands them out twice; at start the driver is given every record and removes
 * what they do not explain. The kernel work itself is the NetworkDriver's (network/driver.ts).
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EndpointSettings, NetworkCreateRequest, NetworkingConfig, NetworkPruneResponse, NetworkResource, HostConfig } from '../types/index.js';
import { ConflictError, errorMessage, ForbiddenError, newId, NotFoundError, shortId, WharfError, writeJsonAtomic, type Logger } from '../util/index.js';
import {
  allocateIp,
  allocateIp6,
  defaultGateway,
  defaultSubnetCandidates,
  ipsClash,
  macFromIp,
  formatCidr6,
  formatIp6,
  parseCidr,
  parseCidr6,
  parseAddressPrefix,
  parseEphemeralRange,
  pickSubnet,
  pickedPort,
  planPorts,
  portMappings,
  PortInUseError,
  validatePorts,
  dnsNameservers,
  tryParseIp6,
  ulaPrefix,
  userNamespaceFile,
  type DnsEntry,
  type DnsPort,
  type Endpoint,
  type NetworkDriver,
  type PortMapping,
  type PublishedPort,
} from '../network/index.js';
import { emptyEndpoints, type NetworkAttachment, type NetworkPort, type NetworkRequest } from './containers/index.js';
import { checkFilterKeys, matchesFilters, parseFilterTime, parseLabelFilter, type Filters } from './filters.js';
import {
  attachmentOf,
  bridgeOf,
  dnsNetwork,
  checkCreate,
  checkEndpoint,
  networkResource,
  newNetworkRecord,
  planIpam,
  PREDEFINED,
  predefined,
  readHostSubnets,
  readHostSubnets6,
  readRecords,
  type EndpointRecord,
  type HostSubnet,
  type IpamPlan,
  type NetworkRecord,
  type SandboxRecord,
} from './_netconfig.js';

export type { EndpointRecord, HostSubnet, NetworkRecord, SandboxRecord } from './_netconfig.js';

/** The filters `docker network ls` may send. */
const LIST_FILTERS = ['name', 'id', 'driver', 'scope', 'type', 'label', 'dangling'];
/** The filters `docker network prune` may send; Docker refuses others even when there is nothing to prune. */
const PRUNE_FILTERS = ['until', 'label', 'label!'];

/** dockerd's `--bridge` value that turns the default network off. */
export const NO_DEFAULT_BRIDGE = 'none';

export interface NetworkServiceOptions {
  /** `<data root>/network`. */
  root: string;
  /** The bridge datapath; without one, bridge containers get loopback only, as before bridges. */
  driver?: NetworkDriver;
  /**
   * The default network's bridge device and, when given, its gateway address and prefix (`--bip`).
   * `none` (NO_DEFAULT_BRIDGE), as dockerd's `--bridge=none`: no default network; containers left
   * on it get loopback only, and user networks work as ever.
   */
  bridge: string;
  bip?: string;
  /** IPv6 on the default network (`--ipv6`), in `fixedCidr` (`--fixed-cidr-v6`) or a /64 of the daemon's ULA prefix. */
  ipv6?: { fixedCidr?: string };
  logger: Logger;
  /** The subnets the host uses (routes, addresses); the real host's when left out. */
  hostSubnets?: () => Promise<HostSubnet[]>;
  /** Its IPv6 subnets, read only to create a network with IPv6; the real host's when left out. */
  hostSubnets6?: () => Promise<HostSubnet[]>;
  /** Name resolution on user networks; when wired, their containers' resolv.conf names the gateway. */
  dns?: DnsPort;
  /** The text of /proc/sys/net/ipv4/ip_local_port_range; the host's when left out. */
  portRange?: () => Promise<string | undefined>;
  /** What `--add-host name:host-gateway` maps to (dockerd's --host-gateway-ip); the default network's gateway when left out. */
  hostGatewayIp?: string;
  /** Where network events go (the daemon's bus): create, destroy, connect, disconnect, as Docker sends them. */
  onEvent?: (action: 'create' | 'destroy' | 'connect' | 'disconnect', networkId: string, attributes: Record<string, string>) => void;
}

/**
 * The names that links on a user network give their targets (`--link db:store` makes `store`
 * resolve to db), by target name. Docker's resolver answers such an alias to the linking
 * container only; aardvark-dns has no names per asking container, so every member of the
 * network resolves it.
 */
function linkAliases(links: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const l of links) {
    const [target, alias] = l.replace(/^\//, '').split(':');
    if (!alias || alias === target) continue;
    out.set(target, [...(out.get(target) ?? []), alias.replace(/^.*\//, '')]);
  }
  return out;
}

/** How often an attach picks again when the host port it picked is held by another process (dockerd's count). */
const MAX_PORT_ATTEMPTS = 10;

export class NetworkService implements NetworkPort {
  readonly #root: string;
  readonly #driver: NetworkDriver | undefined;
  readonly #defaultBridge: { bridge: string; bip?: string; ipv6?: { fixedCidr?: string } };
  readonly #logger: Logger;
  readonly #hostSubnets: () => Promise<HostSubnet[]>;
  readonly #hostSubnets6: () => Promise<HostSubnet[]>;
  /**
   * Where IPv6 networks that name no subnet get a /64: a unique local /48 of this data root's
   * own (RFC 4193), as dockerd derives one from its host ID, so two daemons are unlikely to pick alike.
   */
  readonly #pool6: string;
  readonly #portRangeText: () => Promise<string | undefined>;
  readonly #dns: DnsPort | undefined;
  readonly #hostGatewayIp: string | undefined;
  readonly #onEvent: NonNullable<NetworkServiceOptions['onEvent']>;
  readonly #networks = new Map<string, NetworkRecord>();
  readonly #sandboxes = new Map<string, SandboxRecord>();
  /** The endpoint wiring of attaches that have returned but may not be done (see attach). */
  readonly #wiring = new Map<string, Promise<void>>();
  #ephemeral = { first: 32768, last: 60999 };
  readonly #cursor = { next: 0 };
  /** Ports an attach has picked and is still probing, by container. */
  readonly #planning = new Map<string, PortMapping[]>();

  constructor(opts: NetworkServiceOptions) {
    this.#root = opts.root;
    this.#driver = opts.driver;
    this.#defaultBridge = { bridge: opts.bridge, bip: opts.bip, ipv6: opts.ipv6 };
    this.#logger = opts.logger;
    this.#hostSubnets = opts.hostSubnets ?? readHostSubnets;
    this.#hostSubnets6 = opts.hostSubnets6 ?? readHostSubnets6;
    this.#pool6 = ulaPrefix(opts.root);
    this.#dns = opts.dns;
    this.#hostGatewayIp = opts.hostGatewayIp;
    this.#onEvent = opts.onEvent ?? (() => {});
    this.#portRangeText = opts.portRange ?? (() => readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => undefined));
  }

  /**
   * Loads the records, makes the default network on first start, brings every network's
   * bridge up and lets the driver remove what a killed daemon left behind.
   */
  async init(): Promise<void> {
    for (const n of await readRecords<NetworkRecord>(this.#root)) this.#networks.set(n.id, n);
    for (const s of await readRecords<SandboxRecord>(join(this.#root, 'endpoints'))) this.#sandboxes.set(s.containerId, s);
    const stored = this.#find('bridge');
    if (this.#defaultBridge.bridge === NO_DEFAULT_BRIDGE) await this.#dropDefault();
    else if (!stored) await this.#createDefault();
    else if (this.#defaultChanged(stored)) await this.#remakeDefault(stored);
    this.#ephemeral = parseEphemeralRange(await this.#portRangeText());
    this.#cursor.next = this.#ephemeral.first;
    const driver = this.#driver;
    if (!driver) return;
    for (const n of this.#networks.values()) await driver.ensureNetwork(bridgeOf(n));
    const endpoints = [...this.#sandboxes.values()].flatMap((s) => s.endpoints.flatMap((e) => this.#driverEndpoints(s, e)));
    await driver.cleanup({ networks: [...this.#networks.values()].map(bridgeOf), endpoints });
    // The name server outlived the daemon; tell it the records as they are now.
    await this.#notifyDns([...this.#networks.keys()]);
  }

  /** A data root that had a default network, started with it turned off: the network goes, as dockerd removes it. */
  async #dropDefault(): Promise<void> {
    const n = this.#find('bridge');
    if (!n || this.#inUse(n.id)) return;
    await this.#driver?.removeNetwork(bridgeOf(n));
    await rm(join(this.#root, `${n.id}.json`), { force: true });
    this.#networks.delete(n.id);
    this.#logger.info('removed the default bridge network: the bridge is turned off', { bridge: n.bridge });
  }

  /** Whether the daemon now asks for another bridge device or `--bip` than the stored default network has. */
  #defaultChanged(n: NetworkRecord): boolean {
    const { bridge, bip, ipv6 } = this.#defaultBridge;
    if (n.bridge !== bridge) return true;
    if (!ipv6 !== !n.ipv6) return true;
    if (ipv6?.fixedCidr && n.ipv6?.subnet !== canonicalCidr6(ipv6.fixedCidr)) return true;
    if (!bip) return false;
    const { subnet, gateway } = parseAddressPrefix(bip);
    return n.subnet !== subnet || n.gateway !== (gateway ?? defaultGateway(subnet));
  }

  /**
   * The default network made again as the daemon's flags now say, as dockerd makes it at each
   * start: only while no container is on it. It keeps its ID, so the records of stopped
   * containers still name it.
   */
  async #remakeDefault(n: NetworkRecord): Promise<void> {
    const { bridge, bip } = this.#defaultBridge;
    if (this.#inUse(n.id)) {
      this.#logger.warn('the default bridge network keeps its bridge and subnet while containers are on it', { bridge: n.bridge, subnet: n.subnet, wanted: bip ?? bridge });
      return;
    }
    await this.#driver?.removeNetwork(bridgeOf(n));
    this.#networks.delete(n.id);
    await this.#createDefault({ id: n.id, created: n.created });
  }

  async #createDefault(keep?: { id: string; created: string }): Promise<void> {
    const { bridge, bip } = this.#defaultBridge;
    let subnet: string | undefined;
    let gateway: string | undefined;
    if (bip) {
      ({ subnet, gateway } = parseAddressPrefix(bip));
    } else {
      // The bridge's own subnet does not count as taken: a data root made again finds it still there.
      const used = (await this.#hostSubnets()).filter((h) => h.dev !== bridge).map((h) => h.subnet);
      for (const n of this.#networks.values()) used.push(n.subnet);
      subnet = pickSubnet(defaultSubnetCandidates(), used);
      if (!subnet) throw new Error('could not find a free subnet for the default bridge network: every candidate overlaps a host route; give one with --bip');
    }
    const ipv6 = this.#defaultBridge.ipv6 && (await this.#defaultIpv6(this.#defaultBridge.ipv6.fixedCidr));
    const n: NetworkRecord = {
      id: keep?.id ?? newId(),
      name: 'bridge',
      created: keep?.created ?? new Date().toISOString(),
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
      ...(ipv6 ? { ipv6: { subnet: ipv6.subnet, gateway: ipv6.gateway }, userSubnet6: ipv6.given } : {}),
    };
    await writeJsonAtomic(join(this.#root, `${n.id}.json`), n);
    this.#networks.set(n.id, n);
    this.#logger.info('created the default bridge network', { bridge: n.bridge, subnet, ...(ipv6 ? { subnet6: ipv6.subnet } : {}) });
  }

  /** The default network's IPv6 side, planned as a user network's `--ipv6 [--subnet]` is. */
  async #defaultIpv6(fixedCidr: string | undefined): Promise<NonNullable<IpamPlan['ipv6']>> {
    const bridge = this.#defaultBridge.bridge;
    // As for IPv4, the bridge's own subnet does not count as taken.
    const used = (await this.#hostSubnets6()).filter((h) => h.dev !== bridge);
    for (const n of this.#networks.values()) if (n.ipv6 && n.name !== 'bridge') used.push({ subnet: n.ipv6.subnet, dev: n.bridge });
    try {
      return planIpam({ Name: 'bridge', EnableIPv6: true, IPAM: { Config: fixedCidr ? [{ Subnet: fixedCidr }] : [] } }, used, this.#pool6).ipv6!;
    } catch (err) {
      throw new Error(`the default bridge network's IPv6 subnet${fixedCidr ? ` (--fixed-cidr-v6 ${fixedCidr})` : ''}: ${errorMessage(err)}`, { cause: err });
    }
  }

  /**
   * The container's networks in order: NetworkMode's first (eth0, the default route), then the
   * other EndpointsConfig entries, as Docker attaches a container created with several.
   */
  #wanted(mode: string, nc: NetworkingConfig | undefined): { net: NetworkRecord; cfg: EndpointSettings | undefined }[] {
    const first = this.#find(mode);
    if (!first) throw new NotFoundError(`network ${mode} not found`);
    const out: { net: NetworkRecord; cfg: EndpointSettings | undefined }[] = [{ net: first, cfg: undefined }];
    for (const [key, cfg] of Object.entries(nc?.EndpointsConfig ?? {})) {
      const n = this.#find(key === 'default' ? 'bridge' : key);
      if (!n) throw new NotFoundError(`network ${key} not found`);
      const known = out.find((o) => o.net.id === n.id);
      if (known) known.cfg ??= cfg;
      else out.push({ net: n, cfg });
    }
    return out;
  }

  /** The default network asked for where it is turned off: a namespace with loopback only, as dockerd gives. */
  #noDefault(mode: string): boolean {
    return mode === 'bridge' && this.#defaultBridge.bridge === NO_DEFAULT_BRIDGE && !this.#find('bridge');
  }

  /** Create's check of a container's networks, so that a bad one fails `create`, not the first start. */
  check(hc: HostConfig, nc: NetworkingConfig | undefined): void {
    const mode = hc.NetworkMode && hc.NetworkMode !== 'default' ? hc.NetworkMode : 'bridge';
    if (mode === 'host' || mode === 'none' || mode.startsWith('container:') || this.#noDefault(mode)) return;
    for (const { net, cfg } of this.#wanted(mode, nc)) checkEndpoint(net, cfg);
  }

  /** A new endpoint on `net`; the address is taken by the caller putting it in a record before any await. */
  #newEndpoint(net: NetworkRecord, cfg: EndpointSettings | undefined, ifname: string, extraTaken: string[]): EndpointRecord {
    checkEndpoint(net, cfg);
    const taken = [...this.#ipsOn(net.id), ...Object.values(net.auxAddresses ?? {}), ...extraTaken];
    const want = cfg?.IPAMConfig?.IPv4Address;
    if (want && taken.includes(want)) throw new ForbiddenError(`Address already in use: ${want} on network ${net.name}`);
    const ip = want || allocateIp(net.ipRange ?? net.subnet, net.gateway, taken);
    const v6 = net.ipv6 ? this.#newAddress6(net, net.ipv6, cfg?.IPAMConfig?.IPv6Address) : {};
    const aliases = net.name === 'bridge' ? undefined : [...(cfg?.Aliases ?? [])];
    const ipamConfig = cfg?.IPAMConfig && Object.keys(cfg.IPAMConfig).length ? cfg.IPAMConfig : undefined;
    return { networkId: net.id, endpointId: newId(), ifname, ip, prefixLen: parseCidr(net.subnet).prefixLen, ...v6, mac: cfg?.MacAddress || macFromIp(ip), aliases, ipamConfig, links: cfg?.Links ?? undefined, ...(cfg?.DriverOpts && Object.keys(cfg.DriverOpts).length ? { driverOpts: { ...cfg.DriverOpts } } : {}) };
  }

  /** The endpoint's IPv6 address: the one asked for (checked by checkEndpoint) unless taken, else the lowest free, as moby's IPAM gives them. */
  #newAddress6(net: NetworkRecord, v6: NonNullable<NetworkRecord['ipv6']>, want: string | undefined): { ip6: string; prefixLen6: number } {
    const taken = [...this.#ipsOn(net.id, 6), ...Object.values(net.auxAddresses6 ?? {})];
    const prefixLen6 = parseCidr6(v6.subnet).prefixLen;
    if (want) {
      const n = tryParseIp6(want)!;
      if (taken.some((t) => tryParseIp6(t) === n)) throw new ForbiddenError(`Address already in use: ${want} on network ${net.name}`);
      return { ip6: formatIp6(n), prefixLen6 };
    }
    return { ip6: allocateIp6(v6.subnet, net.ipRange6 ?? v6.subnet, v6.gateway, taken), prefixLen6 };
  }

  /** `extraHosts` come back in HostConfig.ExtraHosts' `name:address` form, which writeHostFiles takes. */
  async attach(req: NetworkRequest): Promise<NetworkAttachment> {
    const hc = req.hostConfig;
    const mode = hc.NetworkMode && hc.NetworkMode !== 'default' ? hc.NetworkMode : 'bridge';
    const extraHosts = this.#extraHosts(hc.ExtraHosts ?? []);
    const dns = { servers: hc.Dns ?? [], search: hc.DnsSearch ?? [], options: hc.DnsOptions ?? [] };
    const driver = this.#driver;
    if (mode === 'host' || mode === 'none' || mode.startsWith('container:') || !driver || this.#noDefault(mode)) {
      return { namespace: mode === 'host' ? { mode: 'host' } : { mode: 'new' }, endpoints: emptyEndpoints(mode), extraHosts, dns };
    }
    const wanted = this.#wanted(mode, req.networkingConfig);
    const id = req.containerId;
    // A run that was never released (a crash between start and stop) must not hold its address twice.
    if (this.#sandboxes.has(id)) await this.detach(id);
    let sb: SandboxRecord | undefined;
    let nsPath: string | undefined;
    try {
      nsPath = await driver.createNamespace(id, req.userns);
      // Planned before the endpoints: their addresses must be taken with no await until the record holds them.
      const planned = await this.#planPorts(id, driver, () => {
        // Checked at create; checked again for containers created before that check existed.
        validatePorts(req.exposedPorts, hc.PortBindings);
        return portMappings(req.exposedPorts, hc.PortBindings, hc.PublishAllPorts ?? false);
      }).then(
        (ports) => ({ ports }),
        (error: unknown) => ({ error }),
      );
      this.#planning.delete(id);
      const endpoints: EndpointRecord[] = [];
      wanted.forEach((w, i) => endpoints.push(this.#newEndpoint(w.net, w.cfg, `eth${i}`, [])));
      if ('error' in planned) {
        // Docker's words for a port taken, whether its records or the kernel say so.
        const err = planned.error;
        throw err instanceof WharfError ? err : new Error(`driver failed programming external connectivity on endpoint ${req.name} (${endpoints[0].endpointId}): ${errorMessage(err)}`, { cause: err });
      }
      const { ports } = planned;
      sb = { containerId: id, name: req.name, sandboxId: newId(), nsPath, endpoints, ports, exposedPorts: req.exposedPorts ?? null, extraHosts, dns, givenDns: dns.servers };
      sb.dns = { ...dns, servers: this.#nameServers(sb) };
      // Held in memory before the first await, so a concurrent attach cannot take the same address.
      this.#sandboxes.set(id, sb);
      await writeJsonAtomic(this.#recordPath(id), sb);
    } catch (err) {
      await this.#undoAttach(id, nsPath, sb).catch((e) => this.#logger.warn('undoing a failed network attach failed', { id, error: errorMessage(e) }));
      throw err;
    }
    // The veths, addresses and rules are made while the runtime creates the container, some 20 ms
    // of every start (#12): the caller starts the process only once `ready` resolves.
    // A failed wiring is not undone here: the runtime may be reading the namespace, so the
    // caller detaches once its create has ended, and detach waits for the wiring first.
    const wired = sb;
    const ready = (async () => {
      for (const e of wired.endpoints) await this.#attachEndpoint(wired, e);
      await this.#notifyDns(wired.endpoints.map((e) => e.networkId));
    })();
    this.#wiring.set(id, ready);
    const forget = () => this.#wiring.get(id) === ready && this.#wiring.delete(id);
    ready.then(forget, forget);
    const attachment = this.#attachment(sb);
    if (req.userns && attachment.namespace.mode === 'path') attachment.namespace.userns = 'idmap' in req.userns ? userNamespaceFile(sb.nsPath) : req.userns.path;
    return { ...attachment, ready };
  }

  /**
   * ExtraHosts with `host-gateway` replaced by the daemon's host gateway address: the one it was
   * given, else the default network's gateway, as dockerd derives it.
   */
  #extraHosts(given: string[]): string[] {
    return given.map((h) => {
      const sep = h.indexOf(':');
      if (sep < 0 || h.slice(sep + 1) !== 'host-gateway') return h;
      const ip = this.#hostGatewayIp ?? this.#find('bridge')?.gateway;
      if (!ip) throw new Error('unable to derive the IP value for host-gateway');
      return `${h.slice(0, sep)}:${ip}`;
    });
  }

  /** Docker's network event: the network's ID, its name and type, and what the action concerns. */
  #event(action: 'create' | 'destroy' | 'connect' | 'disconnect', n: NetworkRecord, containerId?: string): void {
    this.#onEvent(action, n.id, { ...(containerId ? { container: containerId } : {}), name: n.name, type: n.driver });
  }

  async #attachEndpoint(sb: SandboxRecord, e: EndpointRecord): Promise<void> {
    try {
      await this.#driver!.attach(sb.nsPath, this.#driverEndpoint(sb, e));
      const n = this.#networks.get(e.networkId);
      if (n) this.#event('connect', n, sb.containerId);
    } catch (err) {
      // The driver words a taken port as Docker does, endpoint included; any other failure of the endpoint Docker words so.
      const net = this.#networks.get(e.networkId)?.name ?? e.networkId;
      throw err instanceof PortInUseError ? err : new Error(`failed to create endpoint ${sb.name} on network ${net}: ${errorMessage(err)}`, { cause: err });
    }
  }

  /**
   * POST /networks/{id}/connect for a running container: a new interface (eth1, eth2, ...) in
   * its namespace. Stopped containers are the container service's: their record says what the
   * next start attaches. Answers the network's name, under which the record keeps the endpoint.
   */
  async connect(ref: string, containerId: string, cfg: EndpointSettings | undefined): Promise<void> {
    const net = this.#networkFor(ref);
    const sb = this.#sandboxes.get(containerId);
    if (!sb || !this.#driver) return;
    if (sb.endpoints.some((e) => e.networkId === net.id)) throw new ForbiddenError(`endpoint with name ${sb.name} already exists in network ${net.name}`);
    const used = new Set(sb.endpoints.map((e) => e.ifname));
    let i = 0;
    while (used.has(`eth${i}`)) i++;
    const e = this.#newEndpoint(net, cfg, `eth${i}`, []);
    const before = sb.dns;
    sb.endpoints.push(e);
    sb.dns = { ...before, servers: this.#nameServers(sb) };
    try {
      await writeJsonAtomic(this.#recordPath(containerId), sb);
      await this.#attachEndpoint(sb, e);
    } catch (err) {
      await this.#driver.detach(sb.nsPath, this.#driverEndpoint(sb, e)).catch(() => {});
      sb.endpoints = sb.endpoints.filter((x) => x !== e);
      sb.dns = before;
      await writeJsonAtomic(this.#recordPath(containerId), sb).catch(() => {});
      throw err;
    }
    // Every network's file: whether the container's outside names are forwarded may change.
    await this.#notifyDns(sb.endpoints.map((x) => x.networkId));
  }

  /** Removes a running container's endpoint on the network; false when it has none there. */
  async disconnect(ref: string, containerId: string): Promise<boolean> {
    const net = this.#networkFor(ref);
    const sb = this.#sandboxes.get(containerId);
    const e = sb?.endpoints.find((x) => x.networkId === net.id);
    if (!sb || !e) return false;
    await this.#driver?.detach(sb.nsPath, this.#driverEndpoint(sb, e));
    sb.endpoints = sb.endpoints.filter((x) => x !== e);
    sb.dns = { ...sb.dns, servers: this.#nameServers(sb) };
    await writeJsonAtomic(this.#recordPath(containerId), sb);
    this.#event('disconnect', net, containerId);
    await this.#notifyDns([net.id, ...sb.endpoints.map((x) => x.networkId)]);
    return true;
  }

  /** A stale endpoint held under a name no container has any more (moby's ForceEndpointDelete). */
  async forceDisconnect(ref: string, containerName: string): Promise<void> {
    const net = this.#networkFor(ref);
    const name = containerName.replace(/^\//, '');
    const sb = [...this.#sandboxes.values()].find((s) => (s.name === name || s.containerId === name) && s.endpoints.some((e) => e.networkId === net.id));
    if (!sb) throw new NotFoundError(`endpoint ${name} not found`);
    if (sb.endpoints.length > 1) {
      await this.disconnect(net.id, sb.containerId);
      return;
    }
    await this.detach(sb.containerId);
  }

  /** The network a request names; host and none cannot be connected to. */
  #networkFor(ref: string): NetworkRecord {
    const net = this.#find(ref);
    if (!net) throw new NotFoundError(`network ${ref} not found`);
    return net;
  }

  /** The network's name and ID, for the container service's record of a stopped container. */
  resolve(ref: string): { id: string; name: string } {
    if (ref === 'host' || ref === 'none') return { id: ref, name: ref };
    const n = this.#networkFor(ref);
    return { id: n.id, name: n.name };
  }

  async #notifyDns(networkIds: string[]): Promise<void> {
    const dns = this.#dns;
    if (!dns) return;
    for (const id of new Set(networkIds)) {
      const n = this.#networks.get(id);
      if (!n || n.name === 'bridge') continue;
      const entries: DnsEntry[] = [];
      const linked = linkAliases([...this.#sandboxes.values()].flatMap((s) => s.endpoints.filter((e) => e.networkId === id).flatMap((e) => e.links ?? [])));
      for (const s of this.#sandboxes.values()) {
        // Docker answers a container's name, its aliases on the network and its short ID.
        // A container with no network that has a way out gets no outside names either.
        const forward = s.endpoints.some((x) => this.#networks.get(x.networkId)?.internal === false);
        for (const e of s.endpoints) {
          if (e.networkId === id) entries.push({ containerId: s.containerId, names: [s.name, ...(e.aliases ?? []), ...(linked.get(s.name) ?? []), shortId(s.containerId)], ip: e.ip, ip6: e.ip6, forward });
        }
      }
      try {
        await dns.update(dnsNetwork(n), entries);
      } catch (err) {
        this.#logger.warn('updating the name server of a network failed', { network: n.name, error: errorMessage(err) });
      }
    }
  }

  /** POST /networks/create: the record written, then the bridge made; a failure leaves neither. */
  async create(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    const [host, host6] = await Promise.all([this.#hostSubnets(), req.EnableIPv6 ? this.#hostSubnets6() : []]);
    // After the await, so that two creates of one name or subnet cannot both pass.
    checkCreate(req, (name) => PREDEFINED.includes(name) || this.#find(name)?.name === name);
    const nets = [...this.#networks.values()];
    const used = [...host, ...nets.map((n) => ({ subnet: n.subnet, dev: n.bridge }))];
    const used6 = [...host6, ...nets.flatMap((n) => (n.ipv6 ? [{ subnet: n.ipv6.subnet, dev: n.bridge }] : []))];
    const plan = planIpam(req, [...used, ...used6], this.#pool6);
    const subnet = plan.subnet ?? pickSubnet(defaultSubnetCandidates(), used.map((u) => u.subnet));
    if (!subnet) throw new ForbiddenError('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
    const id = newId();
    const n = newNetworkRecord(req, id, subnet, plan);
    if ([...this.#networks.values()].some((x) => x.bridge === n.bridge)) throw new ConflictError(`bridge name ${n.bridge} is already used by another network`);
    this.#networks.set(id, n);
    try {
      await writeJsonAtomic(join(this.#root, `${id}.json`), n);
      await this.#driver?.ensureNetwork(bridgeOf(n));
    } catch (err) {
      await this.#driver?.removeNetwork(bridgeOf(n)).catch(() => {});
      this.#networks.delete(id);
      await rm(join(this.#root, `${id}.json`), { force: true });
      throw err;
    }
    this.#logger.info('created network', { name: n.name, bridge: n.bridge, subnet, ...(n.ipv6 ? { subnet6: n.ipv6.subnet } : {}) });
    this.#event('create', n);
    return { Id: id, Warning: '' };
  }

  /** DELETE /networks/{id}. Only running containers hold endpoints, as under Docker. */
  async remove(ref: string): Promise<void> {
    if (PREDEFINED.includes(ref)) throw new ForbiddenError(`${ref} is a pre-defined network and cannot be removed`);
    const n = this.#networkFor(ref);
    if (n.name === 'bridge') throw new ForbiddenError(`bridge is a pre-defined network and cannot be removed`);
    if (this.#inUse(n.id)) throw new ForbiddenError(`error while removing network: network ${n.name} id ${n.id} has active endpoints`);
    await this.#driver?.removeNetwork(bridgeOf(n));
    this.#networks.delete(n.id);
    await rm(join(this.#root, `${n.id}.json`), { force: true });
    this.#event('destroy', n);
    await this.#dns?.update(dnsNetwork(n), []);
  }

  #inUse(networkId: string): boolean {
    return [...this.#sandboxes.values()].some((s) => s.endpoints.some((e) => e.networkId === networkId));
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
    // A wiring still running must end before its parts are taken away.
    await this.#wiring.get(containerId)?.catch(() => {});
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
    for (const e of sb.endpoints) {
      const n = this.#networks.get(e.networkId);
      if (n) this.#event('disconnect', n, containerId);
    }
    await this.#notifyDns(sb.endpoints.map((e) => e.networkId));
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

  /**
   * GET /networks with moby's filters: `name` and `id` match as regular expressions (so a part of
   * a name or an ID prefix selects), `driver`, `scope` and `type` (custom|builtin) exactly.
   */
  list(filters: Filters = {}): NetworkResource[] {
    checkFilterKeys(filters, LIST_FILTERS);
    const builtin = (r: NetworkResource) => ['bridge', 'host', 'none'].includes(r.Name);
    const matchRe = (v: string, s: string) => {
      try {
        return new RegExp(v).test(s);
      } catch {
        return s.includes(v);
      }
    };
    // Docker's list leaves Containers empty (API 1.28+); inspect fills them.
    const all = [...[...this.#networks.values()].map((n) => this.#resource(n, false)), predefined('none', 'null'), predefined('host', 'host')];
    return all.filter((r) =>
      matchesFilters(filters, {
        name: (v) => matchRe(v, r.Name),
        id: (v) => matchRe(v, r.Id),
        driver: (v) => v === r.Driver,
        scope: (v) => v === r.Scope,
        type: (v) => (v === 'builtin' ? builtin(r) : v === 'custom' ? !builtin(r) : false),
        label: (v) => parseLabelFilter(v)(r.Labels ?? {}),
        dangling: (v) => (v === 'true' || v === '1') === (!builtin(r) && !this.#inUse(r.Id)),
      }),
    );
  }

  /** GET /networks/{id}: by full name, full ID, then a unique ID prefix. */
  inspect(ref: string): NetworkResource {
    if (ref === 'host' || ref === 'none') return predefined(ref, ref === 'host' ? 'host' : 'null');
    const n = this.#find(ref);
    if (!n) throw new NotFoundError(`network ${ref} not found`);
    return this.#resource(n, true);
  }

  /** POST /networks/prune: the user-defined networks no running container uses. */
  async prune(filters: Filters): Promise<NetworkPruneResponse> {
    checkFilterKeys(filters, PRUNE_FILTERS);
    const deleted: string[] = [];
    for (const n of [...this.#networks.values()]) {
      if (n.name === 'bridge' || this.#inUse(n.id)) continue;
      const ok = matchesFilters(filters, {
        until: (v) => Date.parse(n.created) < parseFilterTime(v),
        label: (v) => parseLabelFilter(v)(n.labels),
        'label!': (v) => !parseLabelFilter(v)(n.labels),
      });
      if (!ok) continue;
      try {
        await this.remove(n.id);
        deleted.push(n.name);
      } catch (err) {
        this.#logger.warn('pruning a network failed', { network: n.name, error: errorMessage(err) });
      }
    }
    return { NetworksDeleted: deleted.length ? deleted : null };
  }

  #find(ref: string): NetworkRecord | undefined {
    const all = [...this.#networks.values()];
    const exact = all.find((n) => n.name === ref) ?? all.find((n) => n.id === ref);
    if (exact || ref === '') return exact;
    const byPrefix = all.filter((n) => n.id.startsWith(ref));
    return byPrefix.length === 1 ? byPrefix[0] : undefined;
  }

  #resource(n: NetworkRecord, withContainers: boolean): NetworkResource {
    return networkResource(n, withContainers ? this.#sandboxes.values() : []);
  }

  #ipsOn(networkId: string, family: 4 | 6 = 4): string[] {
    return [...this.#sandboxes.values()].flatMap((s) => s.endpoints.filter((e) => e.networkId === networkId).flatMap((e) => (family === 4 ? [e.ip] : e.ip6 ? [e.ip6] : [])));
  }

  /** Whether another container's endpoint holds the port, or another attach has just picked it. */
  #portHeld(protocol: string, hostIp: string, hostPort: number, asking: string): boolean {
    const clash = (ports: PortMapping[]) => ports.some((p) => p.protocol === protocol && p.hostPort === hostPort && ipsClash(p.hostIp, hostIp));
    for (const s of this.#sandboxes.values()) if (clash(s.ports)) return true;
    for (const [id, ports] of this.#planning) if (id !== asking && clash(ports)) return true;
    return false;
  }

  /**
   * Host ports for the mappings. A port the engine picks that another process holds (a
   * client's connection took it from the same ephemeral range) is passed over for the next,
   * up to 10 times as dockerd retries; a port the user named is left to the driver's check,
   * which words its failure as Docker does.
   */
  async #planPorts(id: string, driver: NetworkDriver, mappings: () => PublishedPort[]): Promise<PortMapping[]> {
    const wanted = mappings();
    const refused: PortMapping[] = [];
    const held = (proto: string, hostIp: string, port: number) =>
      this.#portHeld(proto, hostIp, port, id) || refused.some((r) => r.protocol === proto && r.hostPort === port && ipsClash(r.hostIp, hostIp));
    for (let attempt = 1; ; attempt++) {
      const ports = planPorts(wanted, held, this.#ephemeral, this.#cursor);
      // Held in memory across the probes, so a concurrent attach cannot take the same ports.
      this.#planning.set(id, ports);
      if (attempt > MAX_PORT_ATTEMPTS || !wanted.some(pickedPort)) return ports;
      const free = await Promise.all(ports.map((p, i) => !pickedPort(wanted[i]) || driver.hostPortFree(p)));
      if (free.every(Boolean)) return ports;
      ports.forEach((p, i) => free[i] || refused.push(p));
    }
  }

  #driverEndpoint(sb: SandboxRecord, e: EndpointRecord): Endpoint {
    const n = this.#networks.get(e.networkId);
    if (!n) throw new Error(`network ${e.networkId} of container ${sb.containerId} not found`);
    const ip6 = e.ip6 && n.ipv6 ? { ip6: { ip: e.ip6, prefixLen: e.prefixLen6 ?? 64 } } : {};
    return { containerId: sb.containerId, name: sb.name, endpointId: e.endpointId, network: bridgeOf(n), ifname: e.ifname, ip: e.ip, prefixLen: e.prefixLen, ...ip6, mac: e.mac, defaultRoute: e.ifname === 'eth0', ports: e.ifname === 'eth0' ? sb.ports : [] };
  }

  /** For cleanup: an endpoint whose network record is gone explains nothing. */
  #driverEndpoints(sb: SandboxRecord, e: EndpointRecord): Endpoint[] {
    return this.#networks.has(e.networkId) ? [this.#driverEndpoint(sb, e)] : [];
  }

  /**
   * A container's name servers: those on the gateways of its user networks, in the order it
   * joined them, then its own `--dns`. A container of the default bridge alone has only its own
   * (none: the host's); Docker's resolver likewise starts with the first endpoint that needs it,
   * and a gateway of a network left is one the container can no longer reach.
   */
  #nameServers(sb: SandboxRecord): string[] {
    const nets = sb.endpoints.map((x) => this.#networks.get(x.networkId));
    const gateways = this.#dns ? nets.filter((n) => n && n.name !== 'bridge').map((n) => n!.gateway) : [];
    const allGateways = new Set([...this.#networks.values()].map((n) => n.gateway));
    const given = sb.givenDns ?? sb.dns.servers.filter((s) => !allGateways.has(s));
    return gateways.length ? dnsNameservers(gateways, given) : given;
  }

  #attachment(sb: SandboxRecord): NetworkAttachment {
    return attachmentOf(sb, this.#networks);
  }

  #recordPath(containerId: string): string {
    return join(this.#root, 'endpoints', `${containerId}.json`);
  }
}

/** A CIDR's canonical text, or undefined when it is none (the plan then says what is wrong). */
function canonicalCidr6(cidr: string): string | undefined {
  try {
    return formatCidr6(parseCidr6(cidr));
  } catch {
    return undefined;
  }
}
