import type { BuildRequest } from '../../types/index.js';
import { buildErrorCode, type Daemon } from '../../daemon/index.js';
import { InvalidArgumentError, errorMessage } from '../../util/index.js';
import { parseFilters } from '../query.js';
import type { Router } from '../router.js';

/**
 * moby's httputils.BoolValue, which the build router uses for every flag: whitespace trimmed,
 * case ignored, and `none` is false too (unlike the other routes' readings).
 */
function flag(q: URLSearchParams, name: string): boolean {
  const v = (q.get(name) ?? '').trim().toLowerCase();
  return !(v === '' || v === '0' || v === 'no' || v === 'false' || v === 'none');
}

/** moby's Int64ValueOrZero: what does not parse is 0, never an error. */
function int64OrZero(q: URLSearchParams, name: string): number {
  const v = q.get(name);
  if (v === null || !/^[+-]?\d+$/.test(v.trim())) return 0;
  return Number(v.trim());
}

function jsonParam<T>(q: URLSearchParams, name: string, what: string, check: (v: unknown) => boolean): T | undefined {
  const raw = q.get(name);
  if (raw === null || raw === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new InvalidArgumentError(`error reading ${what}: ${errorMessage(err)}`);
  }
  // JSON null decodes to Go's zero value: nothing given.
  if (v === null) return undefined;
  if (!check(v)) throw new InvalidArgumentError(`error reading ${what}: json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v} into the expected type`);
  return v as T;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringMap = (nullable: boolean) => (v: unknown) =>
  isObject(v) && Object.values(v).every((x) => typeof x === 'string' || (nullable && x === null));

/**
 * POST /build's query as moby's build router reads it (api/server/router/build/build_routes.go,
 * newImageBuildOptions), with its error texts. `t` and `extrahosts` are repeated parameters;
 * `buildargs`, `labels`, `cachefrom` and `ulimits` are JSON, as the docker CLI sends them.
 */
export function parseBuildQuery(q: URLSearchParams): BuildRequest {
  const version = q.get('version') ?? '';
  if (version !== '' && version !== '1') {
    if (version === '2') {
      throw new InvalidArgumentError(
        'BuildKit is not supported by this daemon (version=2): build with the classic builder (DOCKER_BUILDKIT=0 docker build, or wharf build)',
      );
    }
    throw new InvalidArgumentError(`invalid version ${version}`);
  }
  if (q.getAll('securityopt').length) throw new InvalidArgumentError('The daemon on this platform does not support setting security options on build');
  if (flag(q, 'squash')) throw new InvalidArgumentError('squash is only supported with experimental mode');
  const isolation = q.get('isolation');
  if (isolation && isolation !== 'default') throw new InvalidArgumentError(`Invalid isolation: ${JSON.stringify(isolation)}`);

  const req: BuildRequest = {
    dockerfile: q.get('dockerfile') || 'Dockerfile',
    tags: q.getAll('t').filter((t) => t !== ''),
    buildArgs: jsonParam<Record<string, string | null>>(q, 'buildargs', 'build args', isStringMap(true)) ?? {},
    noCache: flag(q, 'nocache'),
    pull: flag(q, 'pull'),
    labels: jsonParam<Record<string, string>>(q, 'labels', 'labels', isStringMap(false)) ?? {},
    extraHosts: q.getAll('extrahosts').filter((h) => h !== ''),
    quiet: flag(q, 'q'),
    // rm defaults to true; forcerm implies it.
    rm: flag(q, 'forcerm') || q.get('rm') === null || q.get('rm') === '' || flag(q, 'rm'),
    forceRm: flag(q, 'forcerm'),
    cacheFrom: jsonParam<string[]>(q, 'cachefrom', 'cache-from', (v) => Array.isArray(v) && v.every((x) => typeof x === 'string')) ?? [],
  };
  const str = (name: string) => q.get(name) || undefined;
  const target = str('target');
  if (target) req.target = target;
  const network = str('networkmode');
  if (network) req.networkMode = network;
  const platform = str('platform');
  if (platform) req.platform = platform;
  const remote = str('remote');
  if (remote) req.remote = remote;
  const ints: [keyof BuildRequest, string][] = [
    ['memory', 'memory'],
    ['memorySwap', 'memswap'],
    ['cpuShares', 'cpushares'],
    ['cpuPeriod', 'cpuperiod'],
    ['cpuQuota', 'cpuquota'],
  ];
  for (const [key, name] of ints) {
    const n = int64OrZero(q, name);
    if (n !== 0) (req as unknown as Record<string, unknown>)[key] = n;
  }
  const cpusetCpus = str('cpusetcpus');
  if (cpusetCpus) req.cpusetCpus = cpusetCpus;
  const cpusetMems = str('cpusetmems');
  if (cpusetMems) req.cpusetMems = cpusetMems;
  const shm = q.get('shmsize');
  if (shm !== null && shm !== '') {
    if (!/^[+-]?\d+$/.test(shm)) throw new InvalidArgumentError(`strconv.ParseInt: parsing ${JSON.stringify(shm)}: invalid syntax`);
    const n = Number(shm);
    if (n !== 0) req.shmSize = n;
  }
  const ulimits = jsonParam<{ Name: string; Soft: number; Hard: number }[]>(q, 'ulimits', 'ulimit settings', (v) => Array.isArray(v) && v.every(isObject));
  if (ulimits?.length) req.ulimits = ulimits;
  // wharf's own: the classic API has no session to carry secrets, so wharf build names files on this host.
  const secrets = jsonParam<Record<string, string>>(q, 'secrets', 'secrets', isStringMap(false));
  if (secrets) {
    for (const [id, path] of Object.entries(secrets)) if (!path.startsWith('/')) throw new InvalidArgumentError(`secret ${id}: the source must be an absolute path, not ${path}`);
    req.secrets = secrets;
  }
  return req;
}

/**
 * POST /build streams the classic builder's JSON messages. Headers go out only with the first
 * message, so a build that fails before it says anything (no Dockerfile, a parse error) is an
 * ordinary error response, as dockerd's; later failures are an in-band errorDetail whose code
 * the docker CLI exits with.
 */
export function buildRoutes(r: Router, d: Daemon): void {
  r.add('POST', '/build', async (ctx) => {
    const req = parseBuildQuery(ctx.query);
    const abort = new AbortController();
    let out: NodeJS.WritableStream | undefined;
    let finished = false;
    void ctx.clientGone().then(() => {
      if (!finished) abort.abort(new Error('the client went away: build canceled'));
    });
    const write = (m: unknown) => {
      out ??= ctx.stream(200, 'application/json');
      out.write(JSON.stringify(m) + '\r\n');
    };
    try {
      await d.builds.build(ctx.req, req, { stream: (text) => write({ stream: text }), aux: (value) => write({ aux: value }) }, abort.signal);
    } catch (err) {
      if (!out) throw err;
      const message = errorMessage(err);
      // Only a failed step has a code (the docker CLI exits with it); anything else exits 1.
      const code = buildErrorCode(err);
      write({ errorDetail: code !== undefined ? { code, message } : { message }, error: message });
    } finally {
      finished = true;
      out?.end();
    }
    if (!out) ctx.stream(200, 'application/json').end();
  });

  r.add('POST', '/build/prune', async (ctx) => {
    const keep = ctx.query.get('keep-storage') ?? ctx.query.get('reserved-space');
    const keepStorage = keep ? Number(keep) : 0;
    if (!Number.isFinite(keepStorage)) throw new InvalidArgumentError(`invalid keep-storage value: ${keep}`);
    ctx.send(200, await d.builds.prune({ all: ctx.bool('all'), filters: parseFilters(ctx.str('filters')), keepStorage }));
  });

  // Builds are canceled by closing their connection; there is no BuildKit build ID to cancel.
  r.add('POST', '/build/cancel', (ctx) => {
    if (!ctx.str('id')) throw new InvalidArgumentError('build ID not provided');
    ctx.send(200);
  });

}
