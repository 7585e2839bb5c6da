/**
 * What the API shows of containers: inspect, the list with its filters, top. Queries only:
 * none takes a container's lock, so they never wait for a stop.
 */
import type {
  ContainerInspect,
  ContainerStateStatus,
  ContainerSummary,
  ContainerTopResponse,
  EndpointSettings,
  HealthStatus,
  Port,
} from '../../types/index.js';
import { compareCodeUnits, ConflictError, InvalidArgumentError, run } from '../../util/index.js';
import { checkFilterKeys, matchesFilters, parseLabelFilter } from '../filters.js';
import { mountPoints } from '../../volume/index.js';
import { inspectLinks } from './links.js';
import type { ContainerContext } from './context.js';
import type { NetworkAttachment } from './ports.js';
import { attachedNetworkMode, inspectState, isActive, statusText, type ContainerRecord } from './state.js';
import type { Container } from './store.js';

const LIST_FILTERS = ['id', 'name', 'status', 'label', 'exited', 'ancestor', 'before', 'since', 'health', 'network', 'volume', 'is-task', 'publish', 'expose'];
const HEALTH_STATUSES: readonly string[] = ['none', 'starting', 'healthy', 'unhealthy'] satisfies HealthStatus[];
const STATUSES: readonly string[] = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'] satisfies ContainerStateStatus[];

export interface ListOptions {
  all?: boolean;
  limit?: number;
  size?: boolean;
  filters?: Record<string, string[]>;
}

export class Views {
  constructor(private readonly ctx: ContainerContext) {}

  async inspect(ref: string, opts: { size?: boolean } = {}): Promise<ContainerInspect> {
    const c = this.ctx.store.get(ref);
    const r = c.record;
    const out: ContainerInspect = {
      Id: r.id,
      Created: r.created,
      Path: r.path,
      Args: r.args,
      State: inspectState(c.state),
      Image: r.imageId,
      ResolvConfPath: c.files.resolvConfPath,
      HostnamePath: c.files.hostnamePath,
      HostsPath: c.files.hostsPath,
      LogPath: r.logPath,
      Name: `/${r.name}`,
      RestartCount: c.state.restartCount,
      Driver: r.driver,
      Platform: 'linux',
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: '',
      ExecIDs: null,
      HostConfig: { ...r.hostConfig, Links: inspectLinks(this.ctx, r) },
      GraphDriver: { Name: r.driver, Data: this.ctx.rootfs.graphDriverData(r.id) },
      Mounts: mountPoints(r.hostConfig, r.mounts),
      Config: r.config,
      NetworkSettings: networkSettings(c, this.#attachment(c), (n) => this.#networkId(n)),
    };
    if (opts.size) {
      const sz = await this.ctx.rootfs.size(r.id);
      out.SizeRw = sz.sizeRw;
      out.SizeRootFs = sz.sizeRootFs;
    }
    return out;
  }

  async list(opts: ListOptions): Promise<ContainerSummary[]> {
    const filters = opts.filters ?? {};
    checkFilterKeys(filters, LIST_FILTERS);
    for (const v of filters.status ?? []) {
      if (!STATUSES.includes(v)) throw new InvalidArgumentError(`invalid filter 'status=${v}'`);
    }
    for (const v of filters.health ?? []) {
      if (!HEALTH_STATUSES.includes(v)) {
        throw new InvalidArgumentError(`invalid filter 'health=${v}': invalid value for health (${v}): must be one of ${HEALTH_STATUSES.join(', ')}`);
      }
    }
    for (const v of filters.exited ?? []) {
      if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`invalid filter 'exited=${v}': the exit code must be an integer`);
    }
    // Docker matches a name exactly or as a regular expression; one that does not compile matches nothing.
    const namePatterns = (filters.name ?? []).map((v) => {
      try {
        return new RegExp(v);
      } catch {
        return undefined;
      }
    });
    const { store } = this.ctx;
    let items = store.all().sort((a, b) => compareCodeUnits(b.record.created, a.record.created));
    const all = opts.all || (opts.limit !== undefined && opts.limit > 0) || filters.status?.length || filters.exited?.length;
    if (!all) items = items.filter((c) => isActive(c.state) || c.state.status === 'restarting');
    const before = filters.before?.[0] ? store.get(filters.before[0]).record.created : undefined;
    const since = filters.since?.[0] ? store.get(filters.since[0]).record.created : undefined;
    const ancestors = (filters.ancestor ?? []).map((a) => {
      try {
        return this.ctx.images.get(a).id;
      } catch {
        return undefined;
      }
    });
    items = items.filter((c) => {
      const r = c.record;
      if (before && r.created >= before) return false;
      if (since && r.created <= since) return false;
      return matchesFilters(filters, {
        id: (v) => r.id.startsWith(v),
        name: (v, i) => v === r.name || v === `/${r.name}` || (namePatterns[i] ? namePatterns[i].test(r.name) || namePatterns[i].test(`/${r.name}`) : false),
        status: (v) => c.state.status === v,
        label: (v) => parseLabelFilter(v)(r.config.Labels ?? {}),
        exited: (v) => c.state.status === 'exited' && c.state.exitCode === Number(v),
        ancestor: (_v, i) => ancestors[i] !== undefined && r.imageId === ancestors[i],
        before: () => true,
        since: () => true,
        health: (v) => (c.state.health?.Status ?? 'none') === v,
        network: (v) => {
          const id = this.#networkId(v);
          return recordedNetworks(r).some((n) => n === v || (id !== '' && this.#networkId(n) === id));
        },
        volume: (v) => mountPoints(r.hostConfig, r.mounts).some((m) => m.Source === v || m.Destination === v || m.Name === v),
        'is-task': (v) => v === 'false',
        // Checked below, over the summary's Ports, as moby checks them.
        publish: () => true,
        expose: () => true,
      });
    });
    const publish = portFilter('publish', filters.publish);
    const expose = portFilter('expose', filters.expose);
    if (opts.limit !== undefined && opts.limit > 0) items = items.slice(0, opts.limit);
    let out = await Promise.all(items.map((c) => this.#summary(c, opts.size ?? false)));
    // One port, published (its host side) or exposed (its container side), is enough.
    if (publish.size || expose.size) out = out.filter((s) => s.Ports.some((p) => publish.has(`${p.PublicPort ?? 0}/${p.Type}`) || expose.has(`${p.PrivatePort}/${p.Type}`)));
    return out;
  }

  /**
   * The running container's attachment: the start's, or after a daemon restart the network
   * service's records (an in-memory lookup, no file read).
   */
  /** A network reference's ID, '' when the network service does not know it. */
  #networkId(ref: string): string {
    try {
      return this.ctx.network.resolve?.(ref).id ?? '';
    } catch {
      return '';
    }
  }

  #attachment(c: Container): NetworkAttachment | undefined {
    if (c.network) return c.network;
    return isActive(c.state) ? this.ctx.network.current?.(c.record.id) : undefined;
  }

  async #summary(c: Container, size: boolean): Promise<ContainerSummary> {
    const r = c.record;
    const a = this.#attachment(c);
    const s: ContainerSummary = {
      Id: r.id,
      Names: [`/${r.name}`],
      Image: r.image,
      ImageID: r.imageId,
      Command: summaryCommand(r.path, r.args),
      Created: Math.floor(Date.parse(r.created) / 1000),
      Ports: summaryPorts(r, a),
      Labels: r.config.Labels ?? {},
      State: c.state.status,
      Status: statusText(c.state),
      HostConfig: { NetworkMode: r.hostConfig.NetworkMode ?? 'bridge' },
      NetworkSettings: { Networks: networkSettings(c, a, (n) => this.#networkId(n)).Networks },
      Mounts: mountPoints(r.hostConfig, r.mounts),
    };
    if (size) {
      const sz = await this.ctx.rootfs.size(r.id);
      s.SizeRw = sz.sizeRw;
      s.SizeRootFs = sz.sizeRootFs;
    }
    return s;
  }

  async top(ref: string, psArgs = '-ef'): Promise<ContainerTopResponse> {
    const c = this.ctx.store.get(ref);
    if (!isActive(c.state)) throw new ConflictError(`Container ${c.record.id} is not running`);
    const pids = new Set(await this.ctx.runtimeOf(c).pids(c.record.id));
    const r = await run('ps', psArgs.split(/\s+/).filter(Boolean));
    // ps follows its first line with a page of usage; the first line says what was wrong.
    if (r.code !== 0) throw new InvalidArgumentError(`ps: ${r.stderr.trim().split('\n')[0]}`);
    const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
    const header = lines[0].trim().split(/\s+/);
    const pidCol = header.indexOf('PID');
    if (pidCol < 0) throw new InvalidArgumentError(`Couldn't find PID field in ps output`);
    const processes: string[][] = [];
    for (const line of lines.slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (!pids.has(Number(fields[pidCol]))) continue;
      // The last column (the command) may contain spaces: keep it whole.
      const row = fields.slice(0, header.length - 1);
      row.push(fields.slice(header.length - 1).join(' '));
      processes.push(row);
    }
    return { Titles: header, Processes: processes };
  }
}

/**
 * `ps`'s COMMAND column as Docker builds it: arguments holding a space are wrapped in single
 * quotes (nothing is escaped), so `sh -c 'exit 3'` does not read as four words.
 */
export function summaryCommand(path: string, args: string[]): string {
  return [path, ...args.map((a) => (a.includes(' ') ? `'${a}'` : a))].join(' ');
}

/**
 * `ps`'s Ports: each published binding with its host address and port (`0.0.0.0:8080->80/tcp`),
 * each port only exposed without; a container that does not run shows its exposed ports only.
 */
function summaryPorts(r: ContainerRecord, a: NetworkAttachment | undefined): Port[] {
  const out: Port[] = [];
  if (a?.ports) {
    for (const [key, bindings] of Object.entries(a.ports)) {
      const [port, proto = 'tcp'] = key.split('/');
      if (!bindings) out.push({ PrivatePort: Number(port), Type: proto as Port['Type'] });
      for (const b of bindings ?? []) out.push({ IP: b.HostIp ?? '', PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: proto as Port['Type'] });
    }
    return out;
  }
  for (const key of Object.keys(r.config.ExposedPorts ?? {})) {
    const [port, proto = 'tcp'] = key.split('/');
    out.push({ PrivatePort: Number(port), Type: proto as Port['Type'] });
  }
  return out;
}

/** An endpoint with nothing assigned: what a container on `mode` shows before (or without) an address. */
export function emptyEndpoints(mode: string): Record<string, EndpointSettings> {
  return {
    [mode]: { IPAMConfig: null, Links: null, Aliases: null, NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: '', DriverOpts: null, DNSNames: null },
  };
}

/**
 * NetworkSettings as Docker shows them: a running container's from its attachment, the
 * top-level address fields from its `bridge` endpoint (Docker fills them for the default
 * network only); a container that does not run shows empty endpoints for its mode and no
 * ports (moby's releaseNetwork clears them).
 */
function networkSettings(c: Container, a: NetworkAttachment | undefined, networkId: (ref: string) => string): ContainerInspect['NetworkSettings'] {
  const bridge = a?.endpoints.bridge;
  return {
    Bridge: '',
    SandboxID: a?.sandboxId ?? '',
    SandboxKey: a?.sandboxKey ?? '',
    Ports: a?.ports ?? {},
    EndpointID: bridge?.EndpointID ?? '',
    Gateway: bridge?.Gateway ?? '',
    GlobalIPv6Address: bridge?.GlobalIPv6Address ?? '',
    GlobalIPv6PrefixLen: bridge?.GlobalIPv6PrefixLen ?? 0,
    IPAddress: bridge?.IPAddress ?? '',
    IPPrefixLen: bridge?.IPPrefixLen ?? 0,
    IPv6Gateway: bridge?.IPv6Gateway ?? '',
    MacAddress: bridge?.MacAddress ?? '',
    Networks: a?.endpoints ?? Object.assign({}, ...recordedNetworks(c.record).filter((n) => !n.startsWith('container:')).map((n) => stoppedEndpoint(n, networkId(n)))),
  };
}

/** A container that does not run keeps which network each endpoint is on, as moby's releaseNetwork does. */
function stoppedEndpoint(name: string, networkId: string): Record<string, EndpointSettings> {
  const e = emptyEndpoints(name);
  e[name].NetworkID = networkId === name ? '' : networkId;
  return e;
}

/**
 * A `publish` or `expose` filter's values as moby's portOp reads them: `80`, `80/udp` or a
 * range `8000-8080[/tcp]`, each port as `<n>/<proto>`; an address is refused.
 */
function portFilter(key: string, values: string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const v of values ?? []) {
    if (v.includes(':')) throw new InvalidArgumentError(`filter for '${key}' should not contain ':': ${v}`);
    const slash = v.indexOf('/');
    const range = slash < 0 ? v : v.slice(0, slash);
    const proto = (slash < 0 ? '' : v.slice(slash + 1)).toLowerCase() || 'tcp';
    const dash = range.indexOf('-');
    const [a, b] = dash < 0 ? [range, range] : [range.slice(0, dash), range.slice(dash + 1)];
    const start = portNumber(key, v, 'start', a);
    const end = a === b ? start : portNumber(key, v, 'end', b);
    if (end < start) throw new InvalidArgumentError(`error while looking up for ${key} ${v}: invalid port range: ${v}`);
    // Bounded by the port space: at most 65536 entries.
    for (let p = start; p <= end; p++) out.add(`${p}/${proto}`);
  }
  return out;
}

/** One end of a filter's range, with the words of Go's strconv behind moby's parsePortNumber. */
function portNumber(key: string, value: string, which: 'start' | 'end', s: string): number {
  const fail = (why: string) => new InvalidArgumentError(`error while looking up for ${key} ${value}: invalid ${which} port '${s}': ${why}`);
  if (s === '') throw fail('value is empty');
  if (!/^\d+$/.test(s)) throw fail('invalid syntax');
  const n = Number(s);
  if (n > 65535) throw fail('value out of range');
  return n;
}

/** The networks a container's record names: NetworkMode's, then the other EndpointsConfig keys. */
function recordedNetworks(r: ContainerRecord): string[] {
  const norm = (k: string) => (k === 'default' ? 'bridge' : k);
  const out = [norm(attachedNetworkMode(r))];
  for (const k of Object.keys(r.networkingConfig?.EndpointsConfig ?? {})) if (!out.includes(norm(k))) out.push(norm(k));
  return out;
}
