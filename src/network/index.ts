export { hostsContent, resolvConfContent, type HostsInput, type ResolvConfInput } from './hostfiles.js';
