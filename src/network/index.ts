export { hostsContent, ownHostsRecords, resolvConfContent, type HostsInput, type ResolvConfInput } from './hostfiles.js';
export { portMappings, validatePorts, type PublishedPort } from './ports.js';
export { userNamespaceFile, type BridgeNetwork, type Endpoint, type NetnsOwner, type NetworkDriver, type PortMapping, type Protocol } from './driver.js';
export { BridgeDriver, bridgeTag, type BridgeDriverOptions } from './bridge.js';
export { PortInUseError } from './_ports.js';
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
  parseAddressPrefix,
  parseEphemeralRange,
  parseProcRoutes,
  pickSubnet,
  tryParseIp,
  type Cidr,
} from './ipam.js';
export {
  allocateIp6,
  contains6,
  defaultGateway6,
  formatCidr6,
  formatIp6,
  isIp6,
  overlaps6,
  parseCidr6,
  parseIp6AddrJson,
  parseProcIpv6Routes,
  pickSubnet6,
  tryParseIp6,
  ulaPrefix,
} from './ipam6.js';
export { ipsClash, pickedPort, planPorts, portMap, type PortHeld } from './publish.js';
export { AARDVARK_DNS, NameServer, configText, dnsNameservers, NO_FORWARD_DNS, type DnsEntry, type DnsNetwork, type DnsPort, type NameServerOptions } from './dns.js';
