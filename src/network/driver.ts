/**
 * The bridge datapath as the daemon's network service drives it. Plain data in, kernel state
 * out: the service owns the records (networks, IP allocations, endpoints) and their files; the
 * driver only makes and unmakes devices, namespaces and firewall rules from them, idempotently,
 * so that a daemon killed half-way can run any step again on its next start.
 *
 * Vocabulary:
 * - a *network* is a bridge device with a subnet, its gateway address on the bridge, NAT to the
 *   outside (unless internal) and isolation from every other network;
 * - a *namespace* is a container's network namespace, a file under the exec root that outlives
 *   the container's processes until the service removes it;
 * - an *endpoint* is one container's interface on one network: a veth pair, one end on the
 *   bridge, the other in the namespace with the container's address, plus its published ports.
 */

import type { IdMapping } from '../util/index.js';

export type Protocol = 'tcp' | 'udp' | 'sctp';

export interface BridgeNetwork {
  /** The network's ID, 64 hex digits (used to name its firewall rules). */
  id: string;
  /** The bridge device, at most 15 characters: `wharf0` for the default network, `br-<id 12>` otherwise. */
  bridge: string;
  /** IPv4 subnet in CIDR form, `172.30.0.0/16`. */
  subnet: string;
  /** The bridge's own address inside the subnet, the containers' default route. */
  gateway: string;
  /** No route out and no NAT: containers reach only each other. */
  internal: boolean;
  /** Inter-container traffic on this network allowed (Docker's `enable_icc`, default true). */
  icc: boolean;
  /** Masquerade traffic leaving the host (Docker's `enable_ip_masquerade`, default true). */
  masquerade: boolean;
  /** MTU of the bridge and the veths; 0 means the kernel's default. */
  mtu: number;
  /** The IPv6 subnet and the bridge's address in it (`--ipv6`); absent on an IPv4-only network. */
  ipv6?: { subnet: string; gateway: string };
}

export interface PortMapping {
  protocol: Protocol;
  /** The host address to listen on; '' means every address. */
  hostIp: string;
  hostPort: number;
  containerPort: number;
}

export interface Endpoint {
  containerId: string;
  /** The endpoint's name in Docker's errors: the container's name (its short ID when not given). */
  name?: string;
  /** Docker's EndpointID, shown beside the name in errors when given. */
  endpointId?: string;
  network: BridgeNetwork;
  /** The interface name inside the namespace: eth0, eth1, ... */
  ifname: string;
  /** The container's address on this network and the subnet's prefix length. */
  ip: string;
  prefixLen: number;
  /** The container's IPv6 address and prefix length, on a network that has IPv6. */
  ip6?: { ip: string; prefixLen: number };
  mac: string;
  /** Whether the default route goes through this network's gateway (the first network's does). */
  defaultRoute: boolean;
  ports: PortMapping[];
}

/** The user namespace that owns a container's network namespace, when it is not the host's (userns-remap). */
export type NetnsOwner = { idmap: IdMapping } | { path: string };

export const USERNS_SUFFIX = '.user';

/** Where the user namespace made with a network namespace is kept: beside it. */
export function userNamespaceFile(netnsPath: string): string {
  return `${netnsPath}${USERNS_SUFFIX}`;
}

export interface NetworkDriver {
  /** Makes the bridge, its address and its firewall rules; nothing when they are there. */
  ensureNetwork(n: BridgeNetwork): Promise<void>;
  /** Removes the bridge and its rules; idempotent. */
  removeNetwork(n: BridgeNetwork): Promise<void>;
  /**
   * A new network namespace for a container, with loopback up; returns its path. With an
   * `owner`, a user namespace owns it: a new one with these ID ranges (kept at
   * userNamespaceFile(path) and removed with the namespace), or the one at `owner.path`.
   */
  createNamespace(containerId: string, owner?: NetnsOwner): Promise<string>;
  /** Removes the namespace (and with it what is inside); idempotent. */
  removeNamespace(containerId: string): Promise<void>;
  /**
   * Connects the namespace to the endpoint's network: veth, address, routes, published ports.
   * A host port another process or endpoint holds fails with Docker's "port is already
   * allocated" text and leaves nothing behind.
   */
  attach(nsPath: string, ep: Endpoint): Promise<void>;
  /**
   * Whether no other process holds the host port now. The allocator asks it of the ports it
   * picks itself, so that one a client's connection happens to hold is passed over, as dockerd
   * retries a dynamic port whose bind failed.
   */
  hostPortFree(p: PortMapping): Promise<boolean>;
  /**
   * Undoes `attach`; idempotent, also when the namespace is already gone. A stop that removes
   * the namespace first and then detaches with `nsPath` undefined is ~20 ms faster: the kernel
   * destroys the veth with the namespace, where deleting it is most of a detach's time.
   */
  detach(nsPath: string | undefined, ep: Endpoint): Promise<void>;
  /**
   * Removes every device, namespace and rule the driver made that the records given no longer
   * explain: what a daemon killed with -9 left behind. Called once at start-up. `namespaces`
   * names the containers whose namespaces stay although they have no endpoint (`--network
   * none`); the endpoints' containers keep theirs anyway.
   */
  cleanup(live: { networks: BridgeNetwork[]; endpoints: Endpoint[]; namespaces?: string[] }): Promise<void>;
}
