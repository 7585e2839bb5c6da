export { hostsContent, resolvConfContent, type HostsInput, type ResolvConfInput } from './hostfiles.js';
export { isHostIp, parseBindingKey, parseExposedKey, parsePortRange, portMappings, splitProtoPort, validatePorts, type PublishedPort } from './ports.js';
