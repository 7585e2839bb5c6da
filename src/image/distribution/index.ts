/**
 * CONTRACT (session 8): the distribution client, the registry side of pull and push. The
 * helper that owns src/image/distribution/ replaces the stubs below with the real thing and
 * may split it into more files here; the exported names and shapes stay as they are unless
 * the change is agreed.
 */
import type { Readable } from 'node:stream';
import type { AuthConfig, AuthResponse } from '../../types/index.js';
import { NotImplementedError, WharfError, type Logger } from '../../util/index.js';

/** A repository in a registry, as the distribution API names it. */
export interface RemoteName {
  /** `docker.io` for Docker Hub (never `index.docker.io`), else `host[:port]` as written. */
  domain: string;
  /** `library/busybox`, `ides/gateway`. */
  path: string;
}

export interface RemoteRef extends RemoteName {
  tag?: string;
  digest?: string;
}

/**
 * Parses a reference as Docker's ParseNormalizedNamed does (same rules and error texts as
 * parseReference): `busybox` -> docker.io, library/busybox; `127.0.0.1:5000/ides/gateway:1`.
 */
export function parseRemoteRef(_ref: string): RemoteRef {
  throw new NotImplementedError('parseRemoteRef');
}

/** The name as Docker shows and stores it: `busybox`, `me/app`, `127.0.0.1:5000/ides/gateway`. */
export function familiarRemote(_name: RemoteName): string {
  throw new NotImplementedError('familiarRemote');
}

/**
 * The registry key of an AuthConfig's serveraddress or of a domain, as the docker CLI's config
 * and dockerd agree on it: `docker.io`, `index.docker.io`, `https://index.docker.io/v1/` all
 * mean Docker Hub; `http://h:5000/` means `h:5000`.
 */
export function registryHost(_serverAddressOrDomain: string): string {
  throw new NotImplementedError('registryHost');
}

export interface RegistryOptions {
  /** daemon.json `registry-mirrors`: base URLs tried in order, for docker.io only, before Docker Hub itself. */
  mirrors: string[];
  /** daemon.json `insecure-registries`: `host`, `host:port` or a CIDR; plain HTTP (or unverified TLS) allowed there. Loopback always is. */
  insecure: string[];
  /** `<certsDir>/<host:port>/ca.crt` (and `client.cert`/`client.key`) per registry; /etc/wharf/certs.d by default. */
  certsDir: string;
  /** Where HTTP_PROXY, HTTPS_PROXY, NO_PROXY (either case) are read; loopback is never proxied, as Go's rule. */
  env: NodeJS.ProcessEnv;
  userAgent?: string;
  logger?: Logger;
}

/**
 * An error a registry answered, or a failure to reach it. `code` is the distribution spec's
 * (`MANIFEST_UNKNOWN`, `UNAUTHORIZED`, `DENIED`, `NAME_UNKNOWN`, `BLOB_UNKNOWN`, ...) when the
 * registry gave one; `status` the HTTP status (0 when no answer came). The message reads like
 * dockerd's (`manifest unknown: manifest unknown`, `Get "https://h/v2/": http: server gave HTTP
 * response to HTTPS client`), so the daemon can quote it.
 */
export class RegistryError extends WharfError {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface FetchedManifest {
  /** The digest of `bytes` (computed; checked against the reference when that was a digest, and against Docker-Content-Digest). */
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface BlobStream {
  /** The body from `offset` on; it does not verify: the caller hashes what it reads. */
  body: Readable;
  /** The blob's whole size. */
  size: number;
}

/** One repository of one registry, with its credentials; made by Registries.repository. */
export interface Repository {
  readonly name: RemoteName;
  /** A manifest or index by tag or digest, accepting every type in MEDIA_TYPES. 404 -> RegistryError with code MANIFEST_UNKNOWN. */
  getManifest(reference: string): Promise<FetchedManifest>;
  /** A blob from `offset` (a Range request, for resuming). Mirrors first for docker.io. */
  getBlob(digest: string, opts?: { offset?: number; signal?: AbortSignal }): Promise<BlobStream>;
  /** HEAD: the blob's size, or undefined when the registry lacks it. */
  statBlob(digest: string): Promise<number | undefined>;
  /** Cross-repository mount from `fromPath` of the same registry; false when the registry started an upload instead (that upload is cancelled). */
  mountBlob(digest: string, fromPath: string): Promise<boolean>;
  /**
   * Uploads a blob whose digest is known only at the end: POST, then the body streamed in one
   * PATCH (chunked), then PUT ?digest= with what `body` turned out to hash to (the caller passes
   * the digest getter). Returns the digest the registry stored.
   */
  pushBlob(body: Readable, digest: () => string, opts?: { onProgress?: (bytesSent: number) => void; signal?: AbortSignal }): Promise<string>;
  /** PUT a manifest by tag or digest; returns the registry's Docker-Content-Digest (or the computed one). */
  putManifest(reference: string, mediaType: string, bytes: Buffer): Promise<string>;
  /** Every tag (following `Link` pagination). */
  tags(): Promise<string[]>;
}

/**
 * The daemon's registry client: connection pools per host, TLS settings from certs.d, proxies,
 * mirrors, and bearer tokens cached per host and scope until they expire.
 */
export class Registries {
  constructor(_opts: RegistryOptions) {}

  /**
   * A client for one repository. `auth` comes from the request's X-Registry-Auth (or none);
   * `actions` are the scope asked of a token server (`repository:<path>:pull,push`).
   */
  repository(_name: RemoteName, _auth: AuthConfig | undefined, _actions: ('pull' | 'push')[]): Repository {
    throw new NotImplementedError('Registries.repository');
  }

  /**
   * POST /auth: checks the credentials against `<serveraddress>/v2/` (Basic, or the bearer flow
   * with an offline_token request). Wrong credentials -> RegistryError with status 401 and
   * dockerd's text (`login attempt to http://h:5000/v2/ failed with status: 401 Unauthorized`,
   * or the token server's message).
   */
  login(_auth: AuthConfig): Promise<AuthResponse> {
    throw new NotImplementedError('Registries.login');
  }

  /** Closes idle connections (daemon shutdown). */
  async close(): Promise<void> {}
}

/**
 * The uncompressed tar of a layer blob, by its media type (gzip, zstd, none; `+gzip`/`+zstd`
 * suffixes and Docker's names), checked against the stream's magic bytes when the type says
 * nothing. zstd runs Debian's `zstd -dc` (Node 20's zlib has none). Errors of the decompressor
 * surface as stream errors with the layer named.
 */
export function decompressLayer(_input: Readable, _mediaType: string): Readable {
  throw new NotImplementedError('decompressLayer');
}

/** A gzip stream of a layer tar for push (fast level: the network, not the ratio, is what users wait on). */
export function compressLayer(_input: Readable): Readable {
  throw new NotImplementedError('compressLayer');
}
