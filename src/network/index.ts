export { hostsContent, resolvConfContent, type HostsInput, type ResolvConfInput } from './hostfiles.js';
export type { BridgeNetwork, Endpoint, NetworkDriver, PortMapping, Protocol } from './driver.js';
export {
  allocateIp,
  broadcastOf,
  contains,
  defaultGateway,
  defaultSubnetCandidates,
  formatCidr,
  formatIp,
  macFromIp,
  overlaps,
  parseCidr,
  parseIp,
  parseIpAddrJson,
  parsePortRange,
  parseProcRoutes,
  pickSubnet,
  tryParseIp,
  type Cidr,
} from './ipam.js';
export { ipsClash, parsePortKey, planPorts, portMap, type PortHeld, type PublishInput } from './publish.js';
