/**
 * Networks. Today there are no networks of wharf's own: `--network host` shares the host's
 * namespace, and every other mode (none, bridge, default) gets a new namespace with loopback
 * only, made by the runtime. Bridge networks replace this implementation behind the same port;
 * the routes stay as they are.
 */
import type { NetworkPruneResponse, NetworkResource } from '../types/index.js';
import { emptyEndpoints, type NetworkAttachment, type NetworkPort, type NetworkRequest } from './containers/index.js';
import { checkFilterKeys, type Filters } from './filters.js';

/** The filters `docker network prune` may send; Docker refuses others even when there is nothing to prune. */
const PRUNE_FILTERS = ['until', 'label', 'label!'];

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
  /** `extraHosts` come back in HostConfig.ExtraHosts' `name:address` form, which writeHostFiles takes. */
  async attach(req: NetworkRequest): Promise<NetworkAttachment> {
    const hc = req.hostConfig;
    const mode = hc.NetworkMode && hc.NetworkMode !== 'default' ? hc.NetworkMode : 'bridge';
    return {
      namespace: mode === 'host' ? { mode: 'host' } : { mode: 'new' },
      endpoints: emptyEndpoints(mode),
      extraHosts: hc.ExtraHosts ?? [],
      dns: { servers: hc.Dns ?? [], search: hc.DnsSearch ?? [], options: hc.DnsOptions ?? [] },
    };
  }

  /** Nothing to undo: the runtime's namespace goes with the container's process. */
  async detach(_containerId: string): Promise<void> {}

  list(): NetworkResource[] {
    return [predefined('none', 'null'), predefined('host', 'host')];
  }

  prune(filters: Filters): NetworkPruneResponse {
    checkFilterKeys(filters, PRUNE_FILTERS);
    return { NetworksDeleted: null };
  }
}
