import type { Duplex, Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type {
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerInspect,
  ContainerPathStat,
  ContainerPruneResponse,
  ContainerSummary,
  ContainerTopResponse,
  ContainerUpdateRequest,
  ContainerUpdateResponse,
  ContainerWaitResponse,
  ExecCreateRequest,
  ExecInspect,
  ExecStartRequest,
  FilesystemChange,
  IdResponse,
  ImageDeleteItem,
  ImageHistoryItem,
  ImageInspect,
  ImagePruneResponse,
  ImageSummary,
  InfoResponse,
  AuthConfig,
  AuthResponse,
  EndpointSettings,
  NetworkCreateRequest,
  NetworkResource,
  SystemDfResponse,
  VersionResponse,
  Volume,
  VolumeCreateRequest,
  VolumeListResponse,
} from '../types/index.js';
import { resolveEndpoint, type ConnectEnv, type ConnectOptions } from './host.js';
import { Transport, type Query } from './transport.js';

/** The X-Docker-Container-Path-Stat header of the archive endpoints, decoded. */
function pathStat(res: IncomingMessage): ContainerPathStat {
  const header = res.headers['x-docker-container-path-stat'];
  try {
    return JSON.parse(Buffer.from(String(header ?? ''), 'base64').toString('utf8')) as ContainerPathStat;
  } catch (err) {
    throw new Error(`unable to get resource stat from response: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The X-Registry-Auth header: base64url of the AuthConfig's JSON, padded as Go's
 * base64.URLEncoding pads it (`{}` -> `e30=`, what docker sends when it has no credentials).
 */
export function encodeRegistryAuth(auth: AuthConfig = {}): string {
  return Buffer.from(JSON.stringify(authJson(auth))).toString('base64').replaceAll('+', '-').replaceAll('/', '_');
}

/** The AuthConfig as Go marshals it: the struct's field order, empty fields left out. */
function authJson(auth: AuthConfig): AuthConfig {
  const out: Record<string, string> = {};
  for (const k of ['username', 'password', 'auth', 'email', 'serveraddress', 'identitytoken', 'registrytoken'] as const) {
    const v = (auth as Record<string, unknown>)[k];
    if (typeof v === 'string' && v) out[k] = v;
  }
  return out;
}

/** Docker's filter map `{"name": ["a", "b"]}`, sent JSON-encoded in the `filters` query. */
export type Filters = Record<string, string[]>;

const enc = encodeURIComponent;
const filtersQuery = (f?: Filters) => (f && Object.keys(f).length ? JSON.stringify(f) : undefined);
/** Image references keep their `/` and `:` in paths, as docker's client sends them. */
const imagePath = (ref: string) => ref.split('/').map((p) => enc(p).replaceAll('%3A', ':')).join('/');

export interface AttachOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  detachKeys?: string;
  logs?: boolean;
}

export interface LogsOptions {
  follow?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  since?: string;
  until?: string;
  timestamps?: boolean;
  tail?: string;
  details?: boolean;
}

/** The typed Engine API: one method per endpoint the CLI uses. */
export class Client extends Transport {
  /** Builds a client from flags and DOCKER_* variables as the docker CLI does. */
  static from(opts: ConnectOptions = {}, env: ConnectEnv = {}): Client {
    return new Client(resolveEndpoint(opts, env));
  }

  // System

  versionInfo(): Promise<VersionResponse> {
    return this.json('GET', '/version');
  }
  info(): Promise<InfoResponse> {
    return this.json('GET', '/info');
  }
  systemDf(): Promise<SystemDfResponse> {
    return this.json('GET', '/system/df');
  }
  events(opts: { since?: string; until?: string; filters?: Filters } = {}): Promise<IncomingMessage> {
    return this.request('GET', '/events', { query: { since: opts.since, until: opts.until, filters: filtersQuery(opts.filters) } });
  }

  // Containers

  containerList(opts: { all?: boolean; limit?: number; size?: boolean; filters?: Filters } = {}): Promise<ContainerSummary[]> {
    return this.json('GET', '/containers/json', { query: { all: opts.all, limit: opts.limit, size: opts.size, filters: filtersQuery(opts.filters) } });
  }
  containerCreate(req: ContainerCreateRequest, name?: string, platform?: string): Promise<ContainerCreateResponse> {
    return this.json('POST', '/containers/create', { query: { name: name || undefined, platform }, body: req });
  }
  containerInspect(id: string, size = false): Promise<ContainerInspect> {
    return this.json('GET', `/containers/${enc(id)}/json`, { query: { size: size || undefined } });
  }
  containerStart(id: string, detachKeys?: string): Promise<void> {
    return this.call('POST', `/containers/${enc(id)}/start`, { query: { detachKeys } });
  }
  containerStop(id: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    return this.call('POST', `/containers/${enc(id)}/stop`, { query: { t: opts.timeout, signal: opts.signal } });
  }
  containerRestart(id: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    return this.call('POST', `/containers/${enc(id)}/restart`, { query: { t: opts.timeout, signal: opts.signal } });
  }
  containerKill(id: string, signal?: string): Promise<void> {
    return this.call('POST', `/containers/${enc(id)}/kill`, { query: { signal } });
  }
  containerPause(id: string): Promise<void> {
    return this.call('POST', `/containers/${enc(id)}/pause`);
  }
  containerUnpause(id: string): Promise<void> {
    return this.call('POST', `/containers/${enc(id)}/unpause`);
  }
  containerRemove(id: string, opts: { force?: boolean; volumes?: boolean; link?: boolean } = {}): Promise<void> {
    // A link is named `parent/alias`, its slash part of the path as docker's client sends it.
    const name = opts.link ? id.split('/').map(enc).join('/') : enc(id);
    return this.call('DELETE', `/containers/${name}`, { query: { force: opts.force, v: opts.volumes, link: opts.link } });
  }
  containerRename(id: string, name: string): Promise<void> {
    return this.call('POST', `/containers/${enc(id)}/rename`, { query: { name } });
  }
  containerWait(id: string, condition?: 'not-running' | 'next-exit' | 'removed'): Promise<ContainerWaitResponse> {
    return this.json('POST', `/containers/${enc(id)}/wait`, { query: { condition } });
  }
  containerTop(id: string, psArgs?: string): Promise<ContainerTopResponse> {
    return this.json('GET', `/containers/${enc(id)}/top`, { query: { ps_args: psArgs } });
  }
  containerUpdate(id: string, req: ContainerUpdateRequest): Promise<ContainerUpdateResponse> {
    return this.json('POST', `/containers/${enc(id)}/update`, { body: req });
  }
  /** The stats stream (newline-delimited JSON), or one sample with `stream: false`. */
  containerStats(id: string, opts: { stream: boolean; oneShot?: boolean }): Promise<IncomingMessage> {
    return this.request('GET', `/containers/${enc(id)}/stats`, { query: { stream: opts.stream ? '1' : '0', 'one-shot': opts.oneShot || undefined } });
  }
  async containerChanges(id: string): Promise<FilesystemChange[]> {
    return (await this.json<FilesystemChange[] | null>('GET', `/containers/${enc(id)}/changes`)) ?? [];
  }
  containerResize(id: string, h: number, w: number): Promise<void> {
    return this.call('POST', `/containers/${enc(id)}/resize`, { query: { h, w } });
  }
  containerLogs(id: string, opts: LogsOptions): Promise<IncomingMessage> {
    return this.request('GET', `/containers/${enc(id)}/logs`, {
      query: { follow: opts.follow, stdout: opts.stdout ?? true, stderr: opts.stderr ?? true, since: opts.since, until: opts.until, timestamps: opts.timestamps, tail: opts.tail, details: opts.details },
    });
  }
  containerExport(id: string): Promise<IncomingMessage> {
    return this.request('GET', `/containers/${enc(id)}/export`);
  }
  /** Stat of a path inside a container (`HEAD .../archive`). */
  async containerStatPath(id: string, path: string): Promise<ContainerPathStat> {
    const res = await this.request('HEAD', `/containers/${enc(id)}/archive`, { query: { path } });
    res.resume();
    return pathStat(res);
  }
  /** A tar of a path inside a container, with the path's stat. */
  async containerArchive(id: string, path: string): Promise<{ stat: ContainerPathStat; body: IncomingMessage }> {
    const res = await this.request('GET', `/containers/${enc(id)}/archive`, { query: { path } });
    try {
      return { stat: pathStat(res), body: res };
    } catch (err) {
      res.destroy();
      throw err;
    }
  }
  /** Extracts a tar into a directory of a container. */
  containerExtract(id: string, path: string, input: Readable, opts: { copyUIDGID?: boolean; noOverwriteDirNonDir?: boolean } = {}): Promise<void> {
    return this.call('PUT', `/containers/${enc(id)}/archive`, {
      query: { path, noOverwriteDirNonDir: opts.noOverwriteDirNonDir || undefined, copyUIDGID: opts.copyUIDGID || undefined },
      input,
    });
  }
  containerAttach(id: string, opts: AttachOptions): Promise<Duplex> {
    return this.hijack(`/containers/${enc(id)}/attach`, {
      query: { stream: true, logs: opts.logs, stdin: Boolean(opts.stdin), stdout: Boolean(opts.stdout), stderr: Boolean(opts.stderr), detachKeys: opts.detachKeys },
    });
  }
  containerPrune(filters?: Filters): Promise<ContainerPruneResponse> {
    return this.json('POST', '/containers/prune', { query: { filters: filtersQuery(filters) } });
  }
  containerCommit(opts: { container: string; repo?: string; tag?: string; author?: string; comment?: string; pause?: boolean; changes?: string[] }): Promise<IdResponse> {
    return this.json('POST', '/commit', { query: { ...opts } });
  }

  // Exec

  execCreate(id: string, req: ExecCreateRequest): Promise<IdResponse> {
    return this.json('POST', `/containers/${enc(id)}/exec`, { body: req });
  }
  execStartDetached(execId: string, req: ExecStartRequest = {}): Promise<void> {
    return this.call('POST', `/exec/${enc(execId)}/start`, { body: { ...req, Detach: true } });
  }
  execStartAttached(execId: string, req: ExecStartRequest = {}): Promise<Duplex> {
    return this.hijack(`/exec/${enc(execId)}/start`, { body: { ...req, Detach: false } });
  }
  execInspect(execId: string): Promise<ExecInspect> {
    return this.json('GET', `/exec/${enc(execId)}/json`);
  }
  execResize(execId: string, h: number, w: number): Promise<void> {
    return this.call('POST', `/exec/${enc(execId)}/resize`, { query: { h, w } });
  }

  // Images

  imageList(opts: { all?: boolean; digests?: boolean; filters?: Filters } = {}): Promise<ImageSummary[]> {
    return this.json('GET', '/images/json', { query: { all: opts.all, digests: opts.digests, filters: filtersQuery(opts.filters) } });
  }
  imageInspect(ref: string): Promise<ImageInspect> {
    return this.json('GET', `/images/${imagePath(ref)}/json`);
  }
  imageHistory(ref: string): Promise<ImageHistoryItem[]> {
    return this.json('GET', `/images/${imagePath(ref)}/history`);
  }
  imageTag(ref: string, repo: string, tag?: string): Promise<void> {
    return this.call('POST', `/images/${imagePath(ref)}/tag`, { query: { repo, tag } });
  }
  async imageRemove(ref: string, opts: { force?: boolean; noprune?: boolean } = {}): Promise<ImageDeleteItem[]> {
    return (await this.json<ImageDeleteItem[] | null>('DELETE', `/images/${imagePath(ref)}`, { query: { force: opts.force, noprune: opts.noprune } })) ?? [];
  }
  imagePrune(filters?: Filters): Promise<ImagePruneResponse> {
    return this.json('POST', '/images/prune', { query: { filters: filtersQuery(filters) } });
  }
  networkList(filters?: Filters): Promise<NetworkResource[]> {
    return this.json('GET', '/networks', { query: { filters: filtersQuery(filters) } });
  }
  networkInspect(id: string, opts: { verbose?: boolean } = {}): Promise<NetworkResource> {
    return this.json('GET', `/networks/${enc(id)}`, { query: { verbose: opts.verbose || undefined } });
  }
  networkCreate(req: NetworkCreateRequest): Promise<{ Id: string; Warning?: string }> {
    return this.json('POST', '/networks/create', { body: req });
  }
  networkRemove(id: string): Promise<void> {
    return this.call('DELETE', `/networks/${enc(id)}`);
  }
  networkConnect(id: string, req: { Container: string; EndpointConfig?: EndpointSettings }): Promise<void> {
    return this.call('POST', `/networks/${enc(id)}/connect`, { body: req });
  }
  networkDisconnect(id: string, req: { Container: string; Force?: boolean }): Promise<void> {
    return this.call('POST', `/networks/${enc(id)}/disconnect`, { body: req });
  }
  networkPrune(filters?: Filters): Promise<{ NetworksDeleted: string[] | null }> {
    return this.json('POST', '/networks/prune', { query: { filters: filtersQuery(filters) } });
  }
  volumeCreate(req: VolumeCreateRequest): Promise<Volume> {
    return this.json('POST', '/volumes/create', { body: req });
  }
  volumeInspect(name: string): Promise<Volume> {
    return this.json('GET', `/volumes/${enc(name)}`);
  }
  volumeList(filters?: Filters): Promise<VolumeListResponse> {
    return this.json('GET', '/volumes', { query: { filters: filtersQuery(filters) } });
  }
  volumeRemove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    return this.call('DELETE', `/volumes/${enc(name)}`, { query: { force: opts.force } });
  }
  /** wharf's extension: the volume's content as a tar stream. */
  volumeExport(name: string): Promise<IncomingMessage> {
    return this.request('GET', `/volumes/${enc(name)}/export`);
  }
  /** wharf's extension: a tar stream extracted into the volume (made when missing). */
  volumeImport(name: string, input: Readable): Promise<void> {
    return this.call('POST', `/volumes/${enc(name)}/import`, { input });
  }
  volumePrune(filters?: Filters): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }> {
    return this.json('POST', '/volumes/prune', { query: { filters: filtersQuery(filters) } });
  }
  /**
   * POST /build with the classic builder's query (built by the caller as docker's
   * imageBuildOptionsToQuery does) and the context tar; the answer is a JSON message stream.
   */
  imageBuild(input: Readable | undefined, query: Query): Promise<IncomingMessage> {
    return this.request('POST', '/build', { query, input });
  }
  buildPrune(opts: { all?: boolean; filters?: Filters; keepStorage?: number } = {}): Promise<{ CachesDeleted: string[] | null; SpaceReclaimed: number }> {
    // docker sends `keep-storage` to API 1.47 and older, `reserved-space` after; wharfd reads both.
    return this.json('POST', '/build/prune', { query: { all: opts.all || undefined, 'keep-storage': opts.keepStorage || undefined, filters: filtersQuery(opts.filters) } });
  }
  /**
   * Pulls; the answer is a progress stream (see readProgress). `fromImage` is the repository
   * (`docker.io/library/busybox`), `tag` a tag or a digest (none: every tag); credentials go in
   * X-Registry-Auth, `{}` when there are none, as docker sends them.
   */
  imagePull(fromImage: string, tag?: string, platform?: string, auth?: AuthConfig): Promise<IncomingMessage> {
    return this.request('POST', '/images/create', {
      query: { fromImage, tag, platform: platform?.toLowerCase() || undefined },
      headers: { 'X-Registry-Auth': encodeRegistryAuth(auth) },
    });
  }
  /**
   * Pushes `name` (`127.0.0.1:5000/team/app`) at `tag` (none: every tag of the repository);
   * `platform` as the API's JSON object (API 1.46). The answer is a progress stream.
   */
  imagePush(name: string, tag?: string, auth?: AuthConfig, platform?: { os: string; architecture: string; variant?: string }): Promise<IncomingMessage> {
    return this.request('POST', `/images/${imagePath(name)}/push`, {
      query: { tag, platform: platform ? JSON.stringify(platform) : undefined },
      headers: { 'X-Registry-Auth': encodeRegistryAuth(auth) },
    });
  }
  /** POST /auth: checks credentials against a registry (the daemon asks it). */
  login(auth: AuthConfig): Promise<AuthResponse> {
    return this.json('POST', '/auth', { body: authJson(auth) });
  }
  /** Imports a rootfs tarball; the answer is a progress stream. */
  imageImport(input: Readable, opts: { repo?: string; tag?: string; message?: string; changes?: string[]; platform?: string } = {}): Promise<IncomingMessage> {
    return this.request('POST', '/images/create', { query: { fromSrc: '-', repo: opts.repo, tag: opts.tag, message: opts.message, changes: opts.changes, platform: opts.platform }, input });
  }
  /** Loads a `docker save` archive; the answer is a progress stream. */
  imageLoad(input: Readable, quiet = false): Promise<IncomingMessage> {
    return this.request('POST', '/images/load', { query: { quiet }, input });
  }
  /** Saves images as one tar stream. */
  imageSave(refs: string[]): Promise<IncomingMessage> {
    return this.request('GET', '/images/get', { query: { names: refs } });
  }
}
