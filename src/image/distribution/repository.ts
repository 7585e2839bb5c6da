import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import type { AuthConfig } from '../../types/index.js';
import { MEDIA_TYPES } from '../types.js';
import { repositoryScope } from './auth.js';
import type { Endpoint, RegistryClient } from './client.js';
import { errcodeText, RegistryError, responseError, transportError } from './errors.js';
import { nextLink, parseChallenges } from './headers.js';
import type { RemoteName } from './names.js';
import { drain, header, readBody, readErrorBody, type HttpResponse } from './transport.js';

export interface FetchedManifest {
  /** The digest of `bytes` (computed; checked against the reference when that was a digest, and against Docker-Content-Digest). */
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface BlobStream {
  /** The body from `offset` on; it does not verify: the caller hashes what it reads. */
  body: Readable;
  /** The blob's whole size (-1 when the registry did not say). */
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

/** The most a manifest may weigh (containerd and the distribution spec's advice: 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_TAG_PAGES = 10_000;

const MANIFEST_TYPES = [
  MEDIA_TYPES.index, MEDIA_TYPES.manifest, MEDIA_TYPES.dockerList, MEDIA_TYPES.dockerManifest,
  MEDIA_TYPES.dockerSchema1Signed, MEDIA_TYPES.dockerSchema1,
];
const ACCEPT = MANIFEST_TYPES.join(', ');

/** The digest of `bytes` in the algorithm of `like` (`sha256:...`, `sha512:...`). */
function digestLike(like: string, bytes: Buffer): string | undefined {
  const alg = like.slice(0, like.indexOf(':'));
  if (!['sha256', 'sha384', 'sha512'].includes(alg)) return undefined;
  return `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
}

/**
 * What a manifest is: the Content-Type when it names a manifest type, else the body's own
 * `mediaType`, else its shape (registries that answer `application/json`).
 */
export function manifestMediaType(contentType: string | undefined, bytes: Buffer): string {
  const ct = (contentType ?? '').split(';')[0].trim();
  if ((MANIFEST_TYPES as string[]).includes(ct)) return ct;
  try {
    const m = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown; config?: unknown; schemaVersion?: unknown; signatures?: unknown };
    if (typeof m.mediaType === 'string' && m.mediaType) return m.mediaType;
    if (m.schemaVersion === 1) return m.signatures ? MEDIA_TYPES.dockerSchema1Signed : MEDIA_TYPES.dockerSchema1;
    if (Array.isArray(m.manifests)) return MEDIA_TYPES.index;
    if (m.config && typeof m.config === 'object') return MEDIA_TYPES.manifest;
  } catch {
    // not JSON: report what the registry said
  }
  return ct || 'application/octet-stream';
}

function isDigestRef(reference: string): boolean {
  return /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(reference) && reference.includes(':');
}

/** Skips the first `n` bytes (a registry that ignored our Range). */
function skipBytes(n: number): Transform {
  let left = n;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (left <= 0) return cb(null, chunk);
      if (chunk.length <= left) {
        left -= chunk.length;
        return cb();
      }
      const rest = chunk.subarray(left);
      left = 0;
      cb(null, rest);
    },
  });
}

export class RemoteRepository implements Repository {
  readonly name: RemoteName;
  readonly #client: RegistryClient;
  readonly #auth: AuthConfig | undefined;
  readonly #actions: ('pull' | 'push')[];
  readonly #scopes: string[];

  constructor(client: RegistryClient, name: RemoteName, auth: AuthConfig | undefined, actions: ('pull' | 'push')[]) {
    this.#client = client;
    this.name = { domain: name.domain, path: name.path };
    this.#auth = auth;
    this.#actions = actions.length ? actions : ['pull'];
    this.#scopes = [repositoryScope(name.path, this.#actions)];
  }

  #url(ep: Endpoint, rest: string): URL {
    return new URL(`${ep.base}/v2/${this.name.path}/${rest}`);
  }

  /** Reads go to mirrors too (for Docker Hub), unless this client pushes. */
  get #readMirrors(): boolean {
    return !this.#actions.includes('push');
  }

  async #fail(res: HttpResponse): Promise<never> {
    const text = await readErrorBody(res.body);
    const bearer = parseChallenges(res.headers['www-authenticate']).find((c) => c.scheme === 'bearer');
    throw responseError(res.status, header(res.headers, 'content-type'), text, bearer?.params);
  }

  async getManifest(reference: string): Promise<FetchedManifest> {
    return this.#client.withEndpoints(this.name.domain, true, async (ep) => {
      const url = this.#url(ep, `manifests/${reference}`);
      const res = await this.#client.call(ep, 'GET', url, { auth: this.#auth, scopes: this.#scopes, headers: { accept: ACCEPT }, replayable: true });
      if (res.status === 404) {
        const err = await this.#fail(res).catch((e: RegistryError) => e);
        if (err.errorCode === 'MANIFEST_UNKNOWN' || err.errorCode === 'NAME_UNKNOWN') throw err;
        // A 404 without the spec's code (a bare web server, a mirror) still means no such manifest.
        throw new RegistryError(errcodeText({ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', bare: true }), 404, 'MANIFEST_UNKNOWN', { cause: err });
      }
      if (res.status !== 200) return this.#fail(res);
      const length = Number(header(res.headers, 'content-length'));
      if (Number.isFinite(length) && length > MAX_MANIFEST_BYTES) {
        drain(res.body);
        throw new RegistryError(`manifest ${familiar(this.name)}:${reference} is ${length} bytes, more than the ${MAX_MANIFEST_BYTES} bytes allowed`, 200, 'MANIFEST_INVALID');
      }
      let bytes: Buffer | undefined;
      try {
        bytes = await readBody(res.body, MAX_MANIFEST_BYTES);
      } catch (err) {
        throw transportError('GET', url, err);
      }
      if (!bytes) throw new RegistryError(`manifest ${familiar(this.name)}:${reference} is more than the ${MAX_MANIFEST_BYTES} bytes allowed`, 200, 'MANIFEST_INVALID');
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      if (isDigestRef(reference) && digestLike(reference, bytes) !== reference) {
        throw new RegistryError(`manifest verification failed for digest ${reference}`, 200, 'DIGEST_INVALID');
      }
      const claimed = header(res.headers, 'docker-content-digest');
      if (claimed && digestLike(claimed, bytes) !== undefined && digestLike(claimed, bytes) !== claimed) {
        throw new RegistryError(`manifest verification failed for digest ${claimed}`, 200, 'DIGEST_INVALID');
      }
      return { digest: isDigestRef(reference) && !reference.startsWith('sha256:') ? reference : digest, mediaType: manifestMediaType(header(res.headers, 'content-type'), bytes), bytes };
    });
  }

  async getBlob(digest: string, opts: { offset?: number; signal?: AbortSignal } = {}): Promise<BlobStream> {
    const offset = opts.offset ?? 0;
    return this.#client.withEndpoints(
      this.name.domain,
      true,
      async (ep) => {
        const url = this.#url(ep, `blobs/${digest}`);
        const headers: Record<string, string> = {};
        if (offset > 0) headers.range = `bytes=${offset}-`;
        const res = await this.#client.call(ep, 'GET', url, { auth: this.#auth, scopes: this.#scopes, headers, signal: opts.signal, replayable: true }, true);
        if (res.status === 404) {
          drain(res.body);
          throw new RegistryError('unknown blob', 404, 'BLOB_UNKNOWN');
        }
        if (res.status === 206) {
          const range = /^bytes\s+(\d+)-\d+\/(\d+|\*)$/i.exec(header(res.headers, 'content-range') ?? '');
          if (!range || Number(range[1]) !== offset) {
            drain(res.body);
            throw new RegistryError(`blob ${digest}: the registry answered a range other than bytes=${offset}-`, 206, 'RANGE_INVALID');
          }
          const length = Number(header(res.headers, 'content-length'));
          const size = range[2] !== '*' ? Number(range[2]) : Number.isFinite(length) ? offset + length : -1;
          return { body: res.body, size };
        }
        if (res.status !== 200) return this.#fail(res);
        const length = Number(header(res.headers, 'content-length') ?? NaN);
        const size = Number.isFinite(length) ? length : -1;
        if (offset === 0) return { body: res.body, size };
        // The registry ignored Range: drop what the caller already has.
        const skip = skipBytes(offset);
        res.body.on('error', (err) => skip.destroy(err));
        skip.on('close', () => {
          if (!res.body.destroyed) res.body.destroy();
        });
        return { body: res.body.pipe(skip), size };
      },
      { signal: opts.signal },
    );
  }

  async statBlob(digest: string): Promise<number | undefined> {
    return this.#client.withEndpoints(this.name.domain, this.#readMirrors, async (ep) => {
      const url = this.#url(ep, `blobs/${digest}`);
      const res = await this.#client.call(ep, 'HEAD', url, { auth: this.#auth, scopes: this.#scopes, replayable: true }, true);
      drain(res.body);
      if (res.status === 404) return undefined;
      if (res.status !== 200) return this.#fail(res);
      const length = Number(header(res.headers, 'content-length'));
      return Number.isFinite(length) ? length : -1;
    });
  }

  async mountBlob(digest: string, fromPath: string): Promise<boolean> {
    return this.#client.withEndpoints(this.name.domain, false, async (ep) => {
      const url = this.#url(ep, 'blobs/uploads/');
      url.searchParams.set('mount', digest);
      url.searchParams.set('from', fromPath);
      const scopes = [...this.#scopes, repositoryScope(fromPath, ['pull'])];
      const res = await this.#client.call(ep, 'POST', url, { auth: this.#auth, scopes, headers: { 'content-length': '0' }, replayable: true });
      if (res.status === 201) {
        drain(res.body);
        return true;
      }
      if (res.status === 202) {
        drain(res.body);
        const location = header(res.headers, 'location');
        if (location) await this.#cancelUpload(ep, new URL(location, url), scopes);
        return false;
      }
      return this.#fail(res);
    });
  }

  async #cancelUpload(ep: Endpoint, location: URL, scopes: string[]): Promise<void> {
    try {
      const res = await this.#client.call(ep, 'DELETE', location, { auth: this.#auth, scopes, replayable: true });
      drain(res.body);
    } catch (err) {
      this.#client.logger.debug('cancelling an upload failed', { location: location.href, error: (err as Error).message });
    }
  }

  async pushBlob(body: Readable, digest: () => string, opts: { onProgress?: (bytesSent: number) => void; signal?: AbortSignal } = {}): Promise<string> {
    // The body is a stream: once sent, nothing can be sent again, hence repeatable: false.
    return this.#client.withEndpoints(this.name.domain, false, async (ep) => {
      const start = this.#url(ep, 'blobs/uploads/');
      const scopes = this.#scopes;
      const posted = await this.#client.call(ep, 'POST', start, { auth: this.#auth, scopes, headers: { 'content-length': '0' }, signal: opts.signal, replayable: true });
      if (posted.status !== 202) return this.#fail(posted);
      drain(posted.body);
      const loc = header(posted.headers, 'location');
      if (!loc) throw new RegistryError(`POST ${start.href}: the registry started an upload without a Location`, 202);
      let location = new URL(loc, start);
      let sourceError: unknown;
      body.once('error', (err) => (sourceError = err));
      try {
        let sent = 0;
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            sent += chunk.length;
            opts.onProgress?.(sent);
            cb(null, chunk);
          },
        });
        body.on('error', (err) => counter.destroy(err));
        body.pipe(counter);
        let patched: HttpResponse;
        try {
          patched = await this.#client.call(ep, 'PATCH', location, {
            auth: this.#auth,
            scopes,
            headers: { 'content-type': 'application/octet-stream' },
            body: counter,
            signal: opts.signal,
          });
        } catch (err) {
          throw sourceError ?? err;
        }
        if (sourceError) throw sourceError;
        if (patched.status !== 202 && patched.status !== 204) return await this.#fail(patched);
        drain(patched.body);
        const next = header(patched.headers, 'location');
        if (next) location = new URL(next, location);
        const put = new URL(location);
        put.searchParams.set('digest', digest());
        const done = await this.#client.call(ep, 'PUT', put, { auth: this.#auth, scopes, headers: { 'content-length': '0' }, signal: opts.signal, replayable: true });
        if (done.status !== 201 && done.status !== 204) return await this.#fail(done);
        drain(done.body);
        return header(done.headers, 'docker-content-digest') ?? digest();
      } catch (err) {
        await this.#cancelUpload(ep, location, scopes);
        throw err;
      }
    }, { signal: opts.signal, repeatable: false });
  }

  async putManifest(reference: string, mediaType: string, bytes: Buffer): Promise<string> {
    return this.#client.withEndpoints(this.name.domain, false, async (ep) => {
      const url = this.#url(ep, `manifests/${reference}`);
      const res = await this.#client.call(ep, 'PUT', url, { auth: this.#auth, scopes: this.#scopes, headers: { 'content-type': mediaType }, body: bytes, replayable: true });
      if (res.status !== 201 && res.status !== 200 && res.status !== 202) return this.#fail(res);
      drain(res.body);
      return header(res.headers, 'docker-content-digest') ?? `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    });
  }

  async tags(): Promise<string[]> {
    return this.#client.withEndpoints(this.name.domain, this.#readMirrors, async (ep) => {
      const out: string[] = [];
      let url: URL | undefined = this.#url(ep, 'tags/list');
      for (let page = 0; url && page < MAX_TAG_PAGES; page++) {
        const res = await this.#client.call(ep, 'GET', url, { auth: this.#auth, scopes: this.#scopes, replayable: true });
        if (res.status !== 200) return this.#fail(res);
        const bytes = await readBody(res.body, 16 * 1024 * 1024);
        if (!bytes) throw new RegistryError(`tags of ${familiar(this.name)}: the answer is over 16 MiB`, 200);
        let parsed: { tags?: unknown };
        try {
          parsed = JSON.parse(bytes.toString('utf8'));
        } catch (err) {
          throw new RegistryError(`tags of ${familiar(this.name)}: ${(err as Error).message}`, 200);
        }
        if (Array.isArray(parsed.tags)) for (const t of parsed.tags) if (typeof t === 'string') out.push(t);
        url = nextLink(res.headers.link, url);
      }
      return out;
    });
  }
}

function familiar(name: RemoteName): string {
  return `${name.domain}/${name.path}`;
}
