export { hostsContent, resolvConfContent, type HostsInput, type ResolvConfInput } from './hostfiles.js';
export { portMappings, validatePorts, type PublishedPort } from './ports.js';
export type { BridgeNetwork, Endpoint, NetworkDriver, PortMapping, Protocol } from './driver.js';
export { BridgeDriver, type BridgeDriverOptions } from './bridge.js';
export { PortInUseError } from './_ports.js';
