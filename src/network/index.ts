export { hostsContent, resolvConfContent, type HostsInput, type ResolvConfInput } from './hostfiles.js';
export { portMappings, validatePorts, type PublishedPort } from './ports.js';
