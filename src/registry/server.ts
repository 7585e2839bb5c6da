import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '../image/index.js';
import { MEDIA_TYPES } from '../image/index.js';
import { sha256, type Digest } from '../util/index.js';
import { formatScope, parseBasic, parseScopes, type AccessPolicy, type Htpasswd, type Scope, type TokenSigner } from './auth.js';
import { RegistryError } from './errors.js';
import { MAX_MANIFEST_BYTES, parseManifest, subjectOf } from './manifest.js';
import { isRegistryDigest, isRepoName, isTag } from './names.js';
import type { RegistryStorage } from './storage.js';

export type RegistryAuth =
  | { mode: 'basic'; users: Htpasswd; policy: AccessPolicy; realm?: string }
  | { mode: 'token'; users: Htpasswd; policy: AccessPolicy; signer: TokenSigner; ttlSeconds: number; realm?: string };

export interface RegistryOptions {
  storage: RegistryStorage;
  auth?: RegistryAuth;
  /** Pushes and deletes are refused with UNSUPPORTED (405), as distribution's read-only mode does. */
  readOnly?: boolean;
  /** Where server faults are reported (never client errors). */
  log?: (line: string) => void;
}

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/** The catalog's page size when the client names none (distribution's default too). */
const CATALOG_PAGE = 1000;
const REFRESH_TTL_SECONDS = 90 * 24 * 3600;
/** How much of a refused request's body is read and dropped to keep the connection usable. */
const DRAIN_LIMIT = 64 * 1024 * 1024;

type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'token' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; ref: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'referrers'; name: string; digest: string };

const ROUTE_RE = /^\/v2\/(.+)\/(?:(tags)\/list|(manifests)\/([^/]+)|blobs\/(uploads)\/([^/]*)|(blobs)\/([^/]+)|(referrers)\/([^/]+))$/;

/** Matches a path to an endpoint; the name is checked against the grammar only afterwards, so a bad one gets NAME_INVALID. */
export function route(path: string): Route | undefined {
  if (path === '/v2/' || path === '/v2') return { kind: 'base' };
  if (path === '/v2/_catalog') return { kind: 'catalog' };
  if (path === '/token') return { kind: 'token' };
  const m = ROUTE_RE.exec(path);
  if (!m) return undefined;
  const name = m[1]!;
  if (m[2]) return { kind: 'tags', name };
  if (m[3]) return { kind: 'manifest', name, ref: m[4]! };
  if (m[5]) return m[6] ? { kind: 'upload', name, id: m[6] } : { kind: 'uploads', name };
  if (m[7]) return { kind: 'blob', name, digest: m[8]! };
  return { kind: 'referrers', name, digest: m[10]! };
}

const WRITE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Request handler for the distribution API (plus the token endpoint when the registry is its own token server). */
export function registryHandler(opts: RegistryOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const r = new Handler(opts);
  return (req, res) => {
    void r.serve(req, res);
  };
}

export function createRegistryServer(opts: RegistryOptions, tls?: TlsFiles): Server {
  const handler = registryHandler(opts);
  const server = tls ? (createHttpsServer({ cert: tls.cert, key: tls.key }, handler) as unknown as Server) : createHttpServer(handler);
  // A layer upload of gigabytes over a slow link is one request: no overall deadline on it.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  return server;
}

class Handler {
  readonly #s: RegistryStorage;
  readonly #o: RegistryOptions;

  constructor(opts: RegistryOptions) {
    this.#s = opts.storage;
    this.#o = opts;
  }

  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    try {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
      const rt = route(path);
      if (!rt) throw new RegistryError('UNSUPPORTED', undefined, { status: 404, message: 'page not found' });
      await this.#dispatch(rt, req, res, query);
    } catch (err) {
      this.#fail(req, res, err);
    }
  }

  #fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const e = err instanceof RegistryError ? err : new RegistryError('UNKNOWN', (err as Error)?.message);
    if (!(err instanceof RegistryError)) this.#o.log?.(`${req.method} ${req.url}: ${(err as Error)?.stack ?? String(err)}`);
    if (!req.complete && !req.destroyed) {
      // The rest of an unread body is read and dropped, so the client (still sending) gets to
      // read the answer; closing on it would reset the connection under the answer. Past a
      // limit it is not worth the bytes.
      const len = Number(req.headers['content-length'] ?? 0);
      if (len > DRAIN_LIMIT) res.setHeader('Connection', 'close');
      else {
        let drained = 0;
        req.on('data', (c: Buffer) => {
          drained += c.length;
          if (drained > DRAIN_LIMIT) req.destroy();
        });
        req.resume();
      }
    }
    for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
    const body = JSON.stringify({ errors: [e.toJSON()] });
    res.writeHead(e.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async #dispatch(rt: Route, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    const read = method === 'GET' || method === 'HEAD';
    if (rt.kind === 'token') {
      if (this.#o.auth?.mode !== 'token') throw new RegistryError('UNSUPPORTED', undefined, { status: 404, message: 'page not found' });
      return this.#token(req, res, query);
    }
    if (rt.kind === 'base') {
      if (!read) throw new RegistryError('UNSUPPORTED');
      await this.#authorize(req, undefined);
      return send(req, res, 200, { 'Content-Type': 'application/json; charset=utf-8' }, '{}');
    }
    if (rt.kind === 'catalog') {
      if (!read) throw new RegistryError('UNSUPPORTED');
      await this.#authorize(req, { type: 'registry', name: 'catalog', actions: ['*'] });
      return this.#catalog(req, res, query);
    }
    if (!isRepoName(rt.name)) throw new RegistryError('NAME_INVALID', { name: rt.name });
    if (WRITE.has(method) && this.#o.readOnly) throw new RegistryError('UNSUPPORTED', undefined, { message: 'The operation is unsupported: the registry is read-only' });
    const actions = read ? ['pull'] : method === 'DELETE' && rt.kind !== 'upload' ? ['delete'] : ['pull', 'push'];
    const user = await this.#authorize(req, { type: 'repository', name: rt.name, actions });
    switch (rt.kind) {
      case 'tags':
        if (!read) throw new RegistryError('UNSUPPORTED');
        return this.#tags(req, res, rt.name, query);
      case 'referrers':
        if (!read) throw new RegistryError('UNSUPPORTED');
        return this.#referrers(req, res, rt.name, rt.digest, query);
      case 'manifest':
        if (read) return this.#getManifest(req, res, rt.name, rt.ref);
        if (method === 'PUT') return this.#putManifest(req, res, rt.name, rt.ref);
        if (method === 'DELETE') return this.#deleteManifest(req, res, rt.name, rt.ref);
        throw new RegistryError('UNSUPPORTED');
      case 'blob':
        if (read) return this.#getBlob(req, res, rt.name, rt.digest);
        if (method === 'DELETE') return this.#deleteBlob(req, res, rt.name, rt.digest);
        throw new RegistryError('UNSUPPORTED');
      case 'uploads':
        if (method === 'POST') return this.#startUpload(req, res, rt.name, query, user);
        throw new RegistryError('UNSUPPORTED');
      case 'upload':
        if (method === 'GET') return this.#uploadStatus(req, res, rt.name, rt.id);
        if (method === 'PATCH') return this.#patchUpload(req, res, rt.name, rt.id);
        if (method === 'PUT') return this.#putUpload(req, res, rt.name, rt.id, query);
        if (method === 'DELETE') return this.#cancelUpload(req, res, rt.name, rt.id);
        throw new RegistryError('UNSUPPORTED');
    }
  }

  // ---- access control

  #realm(req: IncomingMessage): string {
    const a = this.#o.auth;
    if (a?.realm) return a.realm;
    const proto = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
    return `${proto}://${req.headers.host ?? '127.0.0.1'}/token`;
  }

  /**
   * Who the request comes from (undefined: anonymous) once it may do `need`; else throws
   * UNAUTHORIZED with the challenge that tells a client how to sign in, or DENIED.
   */
  async #authorize(req: IncomingMessage, need: Scope | undefined): Promise<string | undefined> {
    const a = this.#o.auth;
    if (!a) return undefined;
    const covered = (granted: string[]) => need !== undefined && need.actions.every((x) => granted.includes(x));
    if (a.mode === 'basic') {
      const challenge = { 'WWW-Authenticate': `Basic realm="${a.realm ?? 'wharf-registry'}"` };
      const creds = parseBasic(req.headers.authorization);
      if (!creds) {
        if (covered(need ? a.policy.grant(undefined, need) : [])) return undefined;
        throw new RegistryError('UNAUTHORIZED', undefined, { headers: challenge });
      }
      if (!(await a.users.check(creds.user, creds.password))) throw new RegistryError('UNAUTHORIZED', undefined, { headers: challenge, message: 'invalid username or password' });
      if (need && !covered(a.policy.grant(creds.user, need))) throw new RegistryError('DENIED', [{ Type: need.type, Name: need.name, Action: need.actions.join(',') }]);
      return creds.user;
    }
    const base = `Bearer realm="${this.#realm(req)}",service="${a.signer.service}"`;
    const scopePart = need ? `,scope="${formatScope(need)}"` : '';
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) throw new RegistryError('UNAUTHORIZED', need ? [{ Type: need.type, Name: need.name, Action: need.actions.join(',') }] : undefined, { headers: { 'WWW-Authenticate': base + scopePart } });
    const claims = a.signer.verify(m[1]!);
    if (!claims || claims.refresh) throw new RegistryError('UNAUTHORIZED', undefined, { headers: { 'WWW-Authenticate': `${base}${scopePart},error="invalid_token"` }, message: 'invalid or expired token' });
    if (need) {
      const granted = (claims.access ?? []).filter((s) => s.type === need.type && s.name === need.name).flatMap((s) => s.actions);
      if (!covered(granted)) {
        throw new RegistryError('UNAUTHORIZED', [{ Type: need.type, Name: need.name, Action: need.actions.join(',') }], {
          headers: { 'WWW-Authenticate': `${base}${scopePart},error="insufficient_scope"` },
          message: 'insufficient scope',
        });
      }
    }
    return claims.sub === '' ? undefined : claims.sub;
  }

  /** May `user` pull from `repo`? For the cross-repository mount, which falls back to an upload when not. */
  #mayPull(user: string | undefined, repo: string, req: IncomingMessage): boolean {
    const a = this.#o.auth;
    if (!a) return true;
    const need: Scope = { type: 'repository', name: repo, actions: ['pull'] };
    if (a.mode === 'basic') return a.policy.grant(user, need).includes('pull');
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const claims = m ? a.signer.verify(m[1]!) : undefined;
    return (claims?.access ?? []).some((s) => s.type === 'repository' && s.name === repo && s.actions.includes('pull'));
  }

  /**
   * Docker's token endpoint: GET with optional Basic credentials (`offline_token=true` adds a
   * refresh token, which `docker login` keeps), and the OAuth2 POST form with
   * `grant_type=password` or `refresh_token`. The token grants the part of each asked scope the
   * user's rules allow, possibly nothing; the registry then answers insufficient_scope.
   */
  async #token(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const a = this.#o.auth as Extract<RegistryAuth, { mode: 'token' }>;
    let params = query;
    let user: string | undefined;
    let offline = query.get('offline_token') === 'true';
    const unauthorized = () => new RegistryError('UNAUTHORIZED', undefined, { message: 'invalid username or password', headers: { 'WWW-Authenticate': 'Basic realm="wharf-registry"' } });
    if (req.method === 'POST') {
      params = new URLSearchParams((await readBody(req, 64 * 1024)).toString('utf8'));
      const grant = params.get('grant_type');
      offline = params.get('access_type') === 'offline';
      if (grant === 'password') {
        const name = params.get('username') ?? '';
        if (!(await a.users.check(name, params.get('password') ?? ''))) throw unauthorized();
        user = name;
      } else if (grant === 'refresh_token') {
        const claims = a.signer.verify(params.get('refresh_token') ?? '');
        if (!claims?.refresh || !a.users.has(claims.sub)) throw unauthorized();
        user = claims.sub;
      } else {
        throw new RegistryError('UNSUPPORTED', undefined, { status: 400, message: `unsupported grant_type "${grant ?? ''}"` });
      }
    } else if (req.method === 'GET') {
      const creds = parseBasic(req.headers.authorization);
      if (creds) {
        if (!(await a.users.check(creds.user, creds.password))) throw unauthorized();
        user = creds.user;
      }
    } else {
      throw new RegistryError('UNSUPPORTED');
    }
    const service = params.get('service');
    if (service !== null && service !== a.signer.service) throw new RegistryError('DENIED', undefined, { status: 400, message: `unknown service "${service}"` });
    const access: Scope[] = [];
    for (const s of parseScopes(params.getAll('scope'))) {
      const granted = a.policy.grant(user, s);
      if (granted.length > 0) access.push({ ...s, actions: granted });
    }
    const token = a.signer.sign(user ?? '', a.ttlSeconds, { access });
    const body: Record<string, unknown> = { token, access_token: token, expires_in: a.ttlSeconds, issued_at: new Date().toISOString() };
    if (req.method === 'POST') body.scope = access.map(formatScope).join(' ');
    if (offline && user !== undefined) body.refresh_token = req.method === 'POST' && params.get('grant_type') === 'refresh_token' ? params.get('refresh_token') : a.signer.sign(user, REFRESH_TTL_SECONDS, { refresh: true });
    sendJson(req, res, 200, body);
  }

  // ---- listing

  async #catalog(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const all = await this.#s.listRepositories();
    const { items, link } = paginate(all, query, '/v2/_catalog', CATALOG_PAGE);
    sendJson(req, res, 200, { repositories: items }, link);
  }

  async #tags(req: IncomingMessage, res: ServerResponse, name: string, query: URLSearchParams): Promise<void> {
    const tags = await this.#s.listTags(name);
    if (!tags) throw new RegistryError('NAME_UNKNOWN', { name });
    const { items, link } = paginate(tags, query, `/v2/${name}/tags/list`, undefined);
    sendJson(req, res, 200, { name, tags: items }, link);
  }

  async #referrers(req: IncomingMessage, res: ServerResponse, name: string, digest: string, query: URLSearchParams): Promise<void> {
    if (!isRegistryDigest(digest)) throw new RegistryError('DIGEST_INVALID', { digest });
    let list = await this.#s.listReferrers(name, digest);
    const filter = query.get('artifactType');
    const headers: Record<string, string> = { 'Content-Type': MEDIA_TYPES.index };
    if (filter !== null) {
      list = list.filter((d) => d.artifactType === filter);
      headers['OCI-Filters-Applied'] = 'artifactType';
    }
    const body = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: list });
    send(req, res, 200, headers, body);
  }

  // ---- manifests

  async #resolve(name: string, ref: string): Promise<Digest> {
    if (isRegistryDigest(ref)) return ref;
    if (ref.includes(':')) throw new RegistryError('DIGEST_INVALID', { digest: ref });
    const d = isTag(ref) ? await this.#s.resolveTag(name, ref) : undefined;
    if (!d) throw new RegistryError('MANIFEST_UNKNOWN', { name, tag: ref });
    return d;
  }

  async #getManifest(req: IncomingMessage, res: ServerResponse, name: string, ref: string): Promise<void> {
    const digest = await this.#resolve(name, ref);
    const rev = await this.#s.getRevision(name, digest);
    const body = rev && (await this.#s.readBlob(digest));
    if (!rev || !body) throw new RegistryError('MANIFEST_UNKNOWN', { name, [isRegistryDigest(ref) ? 'digest' : 'tag']: ref });
    const etag = `"${digest}"`;
    const headers = { 'Content-Type': rev.mediaType, 'Docker-Content-Digest': digest, ETag: etag };
    if (req.headers['if-none-match'] === etag) return send(req, res, 304, headers, '');
    send(req, res, 200, headers, body);
  }

  async #putManifest(req: IncomingMessage, res: ServerResponse, name: string, ref: string): Promise<void> {
    const byDigest = isRegistryDigest(ref);
    if (!byDigest) {
      if (ref.includes(':')) throw new RegistryError('DIGEST_INVALID', { digest: ref });
      if (!isTag(ref)) throw new RegistryError('TAG_INVALID', { tag: ref });
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_MANIFEST_BYTES) throw new RegistryError('MANIFEST_INVALID', `manifest larger than ${MAX_MANIFEST_BYTES} bytes`, { status: 413 });
    const body = await readBody(req, MAX_MANIFEST_BYTES);
    const parsed = parseManifest(body, req.headers['content-type']);
    const digest = sha256(body);
    if (byDigest && digest !== ref) throw new RegistryError('DIGEST_INVALID', { digest: ref, actual: digest });
    for (const b of parsed.blobs) {
      if (!(await this.#s.isLinked(name, b.digest as Digest))) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', { digest: b.digest });
    }
    for (const m of parsed.manifests) {
      if (!(await this.#s.getRevision(name, m.digest as Digest))) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', { digest: m.digest });
    }
    // A collection that marked before this manifest existed must not take what it refers to.
    for (const d of [...parsed.blobs, ...parsed.manifests]) await this.#s.touchBlob(d.digest as Digest);
    await this.#s.putBlob(body);
    await this.#s.linkBlob(name, digest);
    await this.#s.putRevision(name, { digest, mediaType: parsed.mediaType, size: body.length });
    if (!byDigest) await this.#s.setTag(name, ref, digest);
    const headers: Record<string, string> = { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest };
    if (parsed.subject) {
      const desc: Descriptor = { mediaType: parsed.mediaType, digest, size: body.length };
      if (parsed.artifactType) desc.artifactType = parsed.artifactType;
      if (parsed.annotations) desc.annotations = parsed.annotations;
      await this.#s.addReferrer(name, parsed.subject.digest as Digest, desc);
      headers['OCI-Subject'] = parsed.subject.digest;
    }
    send(req, res, 201, headers, '');
  }

  async #deleteManifest(req: IncomingMessage, res: ServerResponse, name: string, ref: string): Promise<void> {
    if (!isRegistryDigest(ref)) {
      if (!isTag(ref) || !(await this.#s.deleteTag(name, ref))) throw new RegistryError('MANIFEST_UNKNOWN', { name, tag: ref });
      return send(req, res, 202, {}, '');
    }
    const rev = await this.#s.getRevision(name, ref);
    if (!rev) throw new RegistryError('MANIFEST_UNKNOWN', { name, digest: ref });
    const body = await this.#s.readBlob(ref);
    const subject = body ? subjectOf(body) : undefined;
    if (subject) await this.#s.removeReferrer(name, subject, ref);
    for (const tag of (await this.#s.listTags(name)) ?? []) {
      if ((await this.#s.resolveTag(name, tag)) === ref) await this.#s.deleteTag(name, tag);
    }
    await this.#s.deleteRevision(name, ref);
    send(req, res, 202, {}, '');
  }

  // ---- blobs

  async #getBlob(req: IncomingMessage, res: ServerResponse, name: string, digest: string): Promise<void> {
    if (!isRegistryDigest(digest)) throw new RegistryError('DIGEST_INVALID', { digest });
    const blob = (await this.#s.isLinked(name, digest)) ? await this.#s.openBlob(digest) : undefined;
    if (!blob) throw new RegistryError('BLOB_UNKNOWN', { digest });
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      'Docker-Content-Digest': digest,
      ETag: `"${digest}"`,
      'Accept-Ranges': 'bytes',
      'Cache-Control': 'max-age=31536000',
    };
    let start = 0;
    let end = blob.size - 1;
    let status = 200;
    const range = req.headers.range;
    if (range !== undefined) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      const total = blob.size;
      if (m && (m[1] !== '' || m[2] !== '')) {
        if (m[1] === '') {
          start = Math.max(0, total - Number(m[2]));
        } else {
          start = Number(m[1]);
          end = m[2] === '' ? total - 1 : Math.min(Number(m[2]), total - 1);
        }
      }
      if (!m || (m[1] === '' && m[2] === '') || start > end || start >= total || (m[1] === '' && Number(m[2]) === 0)) {
        await blob.close();
        throw new RegistryError('RANGE_INVALID', { range }, { status: 416, headers: { 'Content-Range': `bytes */${total}` }, message: 'requested range not satisfiable' });
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${total}`;
    }
    headers['Content-Length'] = end - start + 1;
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || blob.size === 0) {
      await blob.close();
      res.end();
      return;
    }
    try {
      await pipeline(blob.stream(start, end), res);
    } catch {
      // The client went away mid-blob; nothing to tell it.
      res.destroy();
    }
  }

  async #deleteBlob(req: IncomingMessage, res: ServerResponse, name: string, digest: string): Promise<void> {
    if (!isRegistryDigest(digest)) throw new RegistryError('DIGEST_INVALID', { digest });
    if (!(await this.#s.unlinkBlob(name, digest))) throw new RegistryError('BLOB_UNKNOWN', { digest });
    send(req, res, 202, { 'Docker-Content-Digest': digest }, '');
  }

  // ---- uploads

  async #startUpload(req: IncomingMessage, res: ServerResponse, name: string, query: URLSearchParams, user: string | undefined): Promise<void> {
    const mount = query.get('mount');
    const from = query.get('from');
    if (mount !== null && from !== null && isRegistryDigest(mount) && isRepoName(from) && this.#mayPull(user, from, req)) {
      if (await this.#s.isLinked(from, mount)) {
        await this.#s.touchBlob(mount);
        await this.#s.linkBlob(name, mount);
        return send(req, res, 201, { Location: `/v2/${name}/blobs/${mount}`, 'Docker-Content-Digest': mount }, '');
      }
    }
    const digest = query.get('digest');
    if (digest !== null && !isRegistryDigest(digest)) throw new RegistryError('DIGEST_INVALID', { digest });
    const up = await this.#s.startUpload(name);
    if (digest !== null) {
      await this.#append(req, up.id, 0);
      return this.#commit(req, res, name, up.id, digest);
    }
    this.#uploadResponse(req, res, 202, name, up.id, 0);
  }

  #uploadResponse(req: IncomingMessage, res: ServerResponse, status: number, name: string, id: string, size: number): void {
    send(req, res, status, { Location: `/v2/${name}/blobs/uploads/${id}`, Range: `0-${Math.max(0, size - 1)}`, 'Docker-Upload-UUID': id }, '');
  }

  async #upload(name: string, id: string) {
    const up = await this.#s.getUpload(id).catch((err) => {
      if (err instanceof RegistryError) return undefined;
      throw err;
    });
    if (!up || up.repo !== name) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', { uuid: id });
    return up;
  }

  async #uploadStatus(req: IncomingMessage, res: ServerResponse, name: string, id: string): Promise<void> {
    const up = await this.#upload(name, id);
    this.#uploadResponse(req, res, 204, name, id, up.size);
  }

  /**
   * Appends the request body. With Content-Range the chunk must start where the upload ends
   * (else 416, the Range header telling where) and be as long as the range says.
   */
  async #append(req: IncomingMessage, id: string, size: number, name?: string): Promise<number> {
    const cr = req.headers['content-range'];
    let expect: number | undefined;
    if (cr !== undefined) {
      const m = /^(?:bytes[= ])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(cr.trim());
      if (!m) throw new RegistryError('BLOB_UPLOAD_INVALID', `invalid Content-Range "${cr}"`);
      const start = Number(m[1]);
      const end = Number(m[2]);
      if (start !== size || start > end) {
        throw new RegistryError('RANGE_INVALID', { uploaded: size, range: cr }, { headers: { Range: `0-${Math.max(0, size - 1)}`, ...(name ? { Location: `/v2/${name}/blobs/uploads/${id}`, 'Docker-Upload-UUID': id } : {}) } });
      }
      expect = end - start + 1;
      const cl = req.headers['content-length'];
      if (cl !== undefined && Number(cl) !== expect) throw new RegistryError('SIZE_INVALID', { contentLength: Number(cl), range: cr });
    }
    const up = await this.#s.appendUpload(id, req, (written) => {
      if (expect !== undefined && written !== expect) throw new RegistryError('SIZE_INVALID', { received: written, range: cr });
    });
    return up.size;
  }

  async #patchUpload(req: IncomingMessage, res: ServerResponse, name: string, id: string): Promise<void> {
    const up = await this.#upload(name, id);
    const size = await this.#append(req, id, up.size, name);
    this.#uploadResponse(req, res, 202, name, id, size);
  }

  async #putUpload(req: IncomingMessage, res: ServerResponse, name: string, id: string, query: URLSearchParams): Promise<void> {
    const up = await this.#upload(name, id);
    const digest = query.get('digest');
    if (digest === null || !isRegistryDigest(digest)) throw new RegistryError('DIGEST_INVALID', digest === null ? 'digest missing' : { digest });
    await this.#append(req, id, up.size, name);
    await this.#commit(req, res, name, id, digest);
  }

  async #commit(req: IncomingMessage, res: ServerResponse, name: string, id: string, digest: Digest): Promise<void> {
    await this.#s.commitUpload(id, digest);
    await this.#s.linkBlob(name, digest);
    send(req, res, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest }, '');
  }

  async #cancelUpload(req: IncomingMessage, res: ServerResponse, name: string, id: string): Promise<void> {
    await this.#upload(name, id);
    await this.#s.cancelUpload(id);
    send(req, res, 204, {}, '');
  }
}

/** `n` and `last` as the spec defines them; `Link` to the next page when there is one. */
function paginate(all: string[], query: URLSearchParams, path: string, defaultN: number | undefined): { items: string[]; link?: string } {
  const last = query.get('last');
  let items = last !== null ? all.filter((x) => x > last) : all;
  const nRaw = query.get('n');
  let n = defaultN;
  if (nRaw !== null) {
    if (!/^\d+$/.test(nRaw)) throw new RegistryError('PAGINATION_NUMBER_INVALID', { n: nRaw });
    n = Number(nRaw);
  }
  if (n === undefined || items.length <= n) return { items };
  items = items.slice(0, n);
  if (n === 0) return { items };
  const next = new URLSearchParams({ last: items[items.length - 1]!, n: String(n) });
  return { items, link: `<${path}?${next.toString()}>; rel="next"` };
}

function send(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string | number>, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(req.method === 'HEAD' || status === 304 ? undefined : body);
}

function sendJson(req: IncomingMessage, res: ServerResponse, status: number, value: unknown, link?: string): void {
  send(req, res, status, { 'Content-Type': 'application/json; charset=utf-8', ...(link ? { Link: link } : {}) }, JSON.stringify(value));
}

/**
 * The whole body, refused past `limit` bytes (413, as for an oversized manifest). Not with
 * `for await`: leaving that loop early destroys the request, and with it the socket, before
 * the client has read the error.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const onData = (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        cleanup();
        req.pause();
        reject(new RegistryError('MANIFEST_INVALID', `request body larger than ${limit} bytes`, { status: 413 }));
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
