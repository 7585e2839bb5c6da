import { InvalidArgumentError } from '../util/index.js';

/**
 * A small structural check of request bodies, so a wrong type gets a 400 naming the field
 * (as Go's JSON decoder does for dockerd) instead of failing somewhere deep in the daemon.
 * Unknown fields are accepted, as Docker accepts them.
 */
export type Shape =
  | 'string'
  | 'number'
  | 'boolean'
  | 'any'
  | { array: Shape }
  | { map: Shape }
  | { object: Record<string, Shape> };

const strings: Shape = { array: 'string' };
const strMap: Shape = { map: 'string' };

const HOST_CONFIG: Shape = {
  object: {
    Binds: strings,
    ContainerIDFile: 'string',
    LogConfig: { object: { Type: 'string', Config: strMap } },
    NetworkMode: 'string',
    PortBindings: { map: { array: { object: { HostIp: 'string', HostPort: 'string' } } } },
    RestartPolicy: { object: { Name: 'string', MaximumRetryCount: 'number' } },
    AutoRemove: 'boolean',
    VolumesFrom: strings,
    Mounts: { array: { object: { Target: 'string', Source: 'string', Type: 'string', ReadOnly: 'boolean' } } },
    CapAdd: strings,
    CapDrop: strings,
    Dns: strings,
    DnsOptions: strings,
    DnsSearch: strings,
    ExtraHosts: strings,
    GroupAdd: strings,
    IpcMode: 'string',
    PidMode: 'string',
    Privileged: 'boolean',
    PublishAllPorts: 'boolean',
    ReadonlyRootfs: 'boolean',
    SecurityOpt: strings,
    Tmpfs: strMap,
    UTSMode: 'string',
    ShmSize: 'number',
    Sysctls: strMap,
    Runtime: 'string',
    Memory: 'number',
    MemoryReservation: 'number',
    MemorySwap: 'number',
    NanoCpus: 'number',
    CpuShares: 'number',
    CpuPeriod: 'number',
    CpuQuota: 'number',
    CpuRealtimePeriod: 'number',
    CpuRealtimeRuntime: 'number',
    CpusetCpus: 'string',
    CpusetMems: 'string',
    PidsLimit: 'number',
    Init: 'boolean',
    OomKillDisable: 'boolean',
    Ulimits: { array: { object: { Name: 'string', Soft: 'number', Hard: 'number' } } },
    CgroupParent: 'string',
  },
};

export const CREATE_CONTAINER: Shape = {
  object: {
    Hostname: 'string',
    Domainname: 'string',
    User: 'string',
    AttachStdin: 'boolean',
    AttachStdout: 'boolean',
    AttachStderr: 'boolean',
    ExposedPorts: { map: 'any' },
    Tty: 'boolean',
    OpenStdin: 'boolean',
    StdinOnce: 'boolean',
    Env: strings,
    Cmd: strings,
    Image: 'string',
    Volumes: { map: 'any' },
    WorkingDir: 'string',
    Entrypoint: strings,
    Labels: strMap,
    StopSignal: 'string',
    StopTimeout: 'number',
    Healthcheck: { object: { Test: strings, Interval: 'number', Timeout: 'number', Retries: 'number', StartPeriod: 'number', StartInterval: 'number' } },
    HostConfig: HOST_CONFIG,
    NetworkingConfig: { object: { EndpointsConfig: { map: 'any' } } },
  },
};

export const EXEC_CREATE: Shape = {
  object: {
    AttachStdin: 'boolean',
    AttachStdout: 'boolean',
    AttachStderr: 'boolean',
    DetachKeys: 'string',
    Tty: 'boolean',
    Env: strings,
    Cmd: strings,
    Privileged: 'boolean',
    User: 'string',
    WorkingDir: 'string',
  },
};

export const CONTAINER_CONFIG: Shape = CREATE_CONTAINER;

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Throws InvalidArgumentError naming the first field whose JSON type does not fit. */
/**
 * Renames the keys of `value` that match a key of `shape` but for case to the shape's spelling,
 * in place, as Go's JSON decoder matches field names case-insensitively (docker-py sends
 * `detachKeys`). Nested objects are folded as their shapes say.
 */
export function foldKeys(value: unknown, shape: Shape): void {
  if (value === null || typeof value !== 'object' || shape === 'any' || typeof shape === 'string') return;
  if ('array' in shape) {
    if (Array.isArray(value)) for (const v of value) foldKeys(v, shape.array);
    return;
  }
  if (Array.isArray(value)) return;
  const obj = value as Record<string, unknown>;
  if ('map' in shape) {
    for (const v of Object.values(obj)) foldKeys(v, shape.map);
    return;
  }
  const byLower = new Map(Object.keys(shape.object).map((k) => [k.toLowerCase(), k]));
  for (const k of Object.keys(obj)) {
    const canon = byLower.get(k.toLowerCase());
    if (canon && canon !== k) {
      if (!(canon in obj)) obj[canon] = obj[k];
      delete obj[k];
    }
  }
  for (const [k, s] of Object.entries(shape.object)) foldKeys(obj[k], s);
}

export function validateShape(value: unknown, shape: Shape, path = ''): void {
  if (value === null || value === undefined) return;
  const fail = (want: string) => {
    throw new InvalidArgumentError(`json: cannot unmarshal ${typeName(value)} into Go struct field ${path || 'body'} of type ${want}`);
  };
  if (shape === 'any') return;
  if (shape === 'string' || shape === 'number' || shape === 'boolean') {
    if (typeof value !== shape) fail(shape === 'number' ? 'int64' : shape === 'boolean' ? 'bool' : 'string');
    return;
  }
  if ('array' in shape) {
    if (!Array.isArray(value)) return fail('[]' + (typeof shape.array === 'string' ? shape.array : 'object'));
    value.forEach((v, i) => validateShape(v, shape.array, `${path}[${i}]`));
    return;
  }
  if (typeof value !== 'object' || Array.isArray(value)) return fail('object');
  if ('map' in shape) {
    for (const [k, v] of Object.entries(value as object)) validateShape(v, shape.map, `${path}.${k}`);
    return;
  }
  for (const [k, s] of Object.entries(shape.object)) {
    validateShape((value as Record<string, unknown>)[k], s, path ? `${path}.${k}` : k);
  }
}
