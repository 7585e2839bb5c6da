/**
 * The bridge driver's devices as `ip -batch` scripts, their names and their markers. Pure: no
 * process is run here.
 *
 * Each device the driver makes carries an alias (ifalias) `<tag>:net=<id12>[:ctr=<id12>]`:
 * names alone cannot tell wharf's devices from others (`br-<id>` and `veth*` are Docker's
 * names too), and the alias is set in the same `ip -batch` that makes the device, for free.
 */
import { createHash } from 'node:crypto';
import type { BridgeNetwork, Endpoint } from './driver.js';
import { endpointComment, networkComment } from './_firewall.js';

/**
 * The host end of an endpoint's veth pair: `veth` and 11 hex digits of a hash of the container
 * and network IDs, so that one container on several networks gets one name per network.
 */
export function vethName(containerId: string, networkId: string): string {
  return `veth${createHash('sha256').update(`${containerId}/${networkId}`).digest('hex').slice(0, 11)}`;
}

/**
 * A fixed, locally administered MAC for a bridge: without one the bridge takes the lowest MAC
 * of its ports, so the gateway's MAC would change under the containers' ARP caches each time a
 * container comes or goes.
 */
export function bridgeMac(networkId: string): string {
  const b = createHash('sha256').update(`bridge/${networkId}`).digest();
  b[0] = (b[0] & 0xfe) | 0x02;
  return [...b.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export const bridgeAlias = (tag: string, n: BridgeNetwork) => networkComment(tag, n.id);
export const vethAlias = (tag: string, ep: Endpoint) => endpointComment(tag, ep.network.id, ep.containerId);

/** The bridge, its marker, MTU, gateway address and up: every line safe to run again. */
export function bridgeBatch(tag: string, n: BridgeNetwork, exists: boolean): string {
  const lines: string[] = [];
  if (!exists) lines.push(`link add name ${n.bridge} address ${bridgeMac(n.id)} type bridge`);
  lines.push(`link set dev ${n.bridge} alias ${bridgeAlias(tag, n)}${n.mtu > 0 ? ` mtu ${n.mtu}` : ''}`);
  lines.push(`addr replace ${n.gateway}/${prefixOf(n.subnet)} dev ${n.bridge}`);
  // No duplicate address detection: the bridge is the network's only router, and an address
  // still "tentative" would refuse the first container's packets for a second.
  if (n.ipv6) lines.push(`addr replace ${n.ipv6.gateway}/${prefixOf(n.ipv6.subnet)} dev ${n.bridge} nodad`);
  lines.push(`link set dev ${n.bridge} up`);
  return lines.join('\n') + '\n';
}

/**
 * The host side of an endpoint: the veth pair made with its far end already in the namespace
 * (named, MAC'd and sized there), the near end on the bridge and up.
 */
export function hostBatch(tag: string, ep: Endpoint, veth: string, nsPath: string): string {
  const mtu = ep.network.mtu > 0 ? ` mtu ${ep.network.mtu}` : '';
  const mac = ep.mac ? ` address ${ep.mac}` : '';
  const lines: string[] = [];
  lines.push(`link add name ${veth}${mtu} master ${ep.network.bridge} up type veth peer name ${ep.ifname} netns ${nsPath}${mac}${mtu}`);
  lines.push(`link set dev ${veth} alias ${vethAlias(tag, ep)}`);
  return lines.join('\n') + '\n';
}

/** The namespace side: address, up, and the default route (never on an internal network: no way out). */
export function namespaceBatch(ep: Endpoint): string {
  const lines = [`addr replace ${ep.ip}/${ep.prefixLen} broadcast + dev ${ep.ifname}`];
  if (ep.ip6) lines.push(`addr replace ${ep.ip6.ip}/${ep.ip6.prefixLen} dev ${ep.ifname} nodad`);
  lines.push(`link set dev ${ep.ifname} up`);
  if (ep.defaultRoute && !ep.network.internal) {
    lines.push(`route replace default via ${ep.network.gateway} dev ${ep.ifname}`);
    if (ep.ip6 && ep.network.ipv6) lines.push(`route replace default via ${ep.network.ipv6.gateway} dev ${ep.ifname}`);
  }
  return lines.join('\n') + '\n';
}

function prefixOf(cidr: string): number {
  return Number(cidr.split('/')[1]);
}

export interface LinkInfo {
  name: string;
  kind: string;
  alias: string;
}

/** Reads `ip -j -d link show`: each device's name, kind (bridge, veth, ...) and alias. */
export function parseLinks(json: string): LinkInfo[] {
  const list = JSON.parse(json || '[]') as { ifname: string; ifalias?: string; linkinfo?: { info_kind?: string } }[];
  return list.map((l) => ({ name: l.ifname, kind: l.linkinfo?.info_kind ?? '', alias: l.ifalias ?? '' }));
}
