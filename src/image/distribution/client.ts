import type { AuthConfig } from '../../types/index.js';
import { silentLogger, type Logger } from '../../util/index.js';
import { TokenCache } from './auth.js';
import { RegistryError, wrapForRequest } from './errors.js';
import { parseChallenges, type Challenge } from './headers.js';
import { InsecureRegistries } from './insecure.js';
import { DOCKER_HUB, DOCKER_HUB_REGISTRY } from './names.js';
import { drain, readCertsDir, Transport, type HttpResponse, type SendOptions, type TlsProfile } from './transport.js';

/** A registry's base URL that answered a /v2/ ping, with its TLS settings and auth challenges. */
export interface Endpoint {
  /** `https://127.0.0.1:5000`, or a mirror's URL (which may carry a path); no trailing slash. */
  base: string;
  tls: TlsProfile;
  mirror: boolean;
  challenges: Challenge[];
  /** The key it is cached under (forgotten when a request to it fails in transport). */
  key: string;
  /** When the ping answered (Date.now()). */
  probedAt: number;
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

export interface CallOptions extends SendOptions {
  auth?: AuthConfig;
  scopes: string[];
  /** The body can be sent again (no stream): a 401 may then be answered with fresh credentials and a retry. */
  replayable?: boolean;
}

/** Go's http.Client follows up to 10 redirects. */
const MAX_REDIRECTS = 10;

/**
 * What Registries and its Repositories share: endpoint probing (https, then http for an insecure
 * registry, as dockerd does), mirrors, the token cache and the transport.
 */
export class RegistryClient {
  readonly transport: Transport;
  readonly tokens: TokenCache;
  readonly logger: Logger;
  readonly #opts: RegistryOptions;
  readonly #insecure: InsecureRegistries;
  readonly #endpoints = new Map<string, Promise<Endpoint>>();

  constructor(opts: RegistryOptions) {
    this.#opts = opts;
    this.logger = opts.logger ?? silentLogger;
    this.transport = new Transport(opts.env, opts.userAgent ?? 'wharf');
    this.tokens = new TokenCache(this.transport);
    this.#insecure = new InsecureRegistries(opts.insecure);
  }

  /** The registry's base URLs in the order to try: for Docker Hub reads, the mirrors first. */
  candidates(domain: string, withMirrors: boolean): { key: string; resolve: () => Promise<Endpoint> }[] {
    const out: { key: string; resolve: () => Promise<Endpoint> }[] = [];
    if (domain === DOCKER_HUB && withMirrors) {
      for (const m of this.#opts.mirrors) {
        const url = (/^https?:\/\//i.test(m) ? m : `https://${m}`).replace(/\/+$/, '');
        out.push({ key: `mirror:${url}`, resolve: () => this.#cached(`mirror:${url}`, () => this.#probeMirror(url)) });
      }
    }
    out.push({ key: `registry:${domain}`, resolve: () => this.#cached(`registry:${domain}`, () => this.#probeRegistry(domain)) });
    return out;
  }

  async tlsFor(hostPort: string): Promise<TlsProfile> {
    const insecure = await this.#insecure.isInsecure(hostPort);
    if (hostPort === 'registry-1.docker.io') return { insecure: false, ca: [] };
    return { insecure, ...(await readCertsDir(this.#opts.certsDir, hostPort)) };
  }

  /** https first; for an insecure registry plain http when https got no HTTP answer. */
  async probeBases(domain: string): Promise<{ base: string; tls: TlsProfile }[]> {
    if (domain === DOCKER_HUB) return [{ base: DOCKER_HUB_REGISTRY, tls: await this.tlsFor('registry-1.docker.io') }];
    const tls = await this.tlsFor(domain);
    const out = [{ base: `https://${domain}`, tls }];
    if (tls.insecure) out.push({ base: `http://${domain}`, tls });
    return out;
  }

  #cached(key: string, probe: () => Promise<Endpoint>): Promise<Endpoint> {
    let p = this.#endpoints.get(key);
    if (!p) {
      p = probe();
      this.#endpoints.set(key, p);
      p.catch(() => this.forget(key, p));
    }
    return p;
  }

  /** Drops a cached endpoint (after a transport failure) so the next request probes again. */
  forget(key: string, which?: Promise<Endpoint>): void {
    if (which === undefined || this.#endpoints.get(key) === which) this.#endpoints.delete(key);
  }

  async #probeRegistry(domain: string): Promise<Endpoint> {
    let last: unknown;
    for (const { base, tls } of await this.probeBases(domain)) {
      try {
        const challenges = await this.ping(base, tls);
        return { base, tls, mirror: false, challenges, key: `registry:${domain}`, probedAt: Date.now() };
      } catch (err) {
        last = err;
        if (!(err instanceof RegistryError) || err.status !== 0) throw err;
        this.logger.debug('registry endpoint not reachable, trying the next', { base, error: err.message });
      }
    }
    throw last;
  }

  async #probeMirror(url: string): Promise<Endpoint> {
    const tls = await this.tlsFor(new URL(url).host);
    const challenges = await this.ping(url, tls);
    return { base: url, tls, mirror: true, challenges, key: `mirror:${url}`, probedAt: Date.now() };
  }

  /** GET /v2/: any HTTP answer proves the scheme; a 401 carries the auth challenges. */
  async ping(base: string, tls: TlsProfile): Promise<Challenge[]> {
    const res = await this.transport.send('GET', new URL(`${base}/v2/`), tls);
    drain(res.body);
    return res.status === 401 ? parseChallenges(res.headers['www-authenticate']) : [];
  }

  /** The Authorization header for a request to `ep` with these scopes, or undefined. */
  async authorization(ep: Endpoint, scopes: string[], auth: AuthConfig | undefined): Promise<string | undefined> {
    if (auth?.registrytoken) return `Bearer ${auth.registrytoken}`;
    const bearer = ep.challenges.find((c) => c.scheme === 'bearer');
    if (bearer) return `Bearer ${await this.tokens.token(bearer, scopes, auth, ep.tls)}`;
    const basic = ep.challenges.find((c) => c.scheme === 'basic');
    if (basic && auth?.username) return `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}`;
    return undefined;
  }

  /**
   * One authorized request to an endpoint. A 401 of a replayable request is retried once with
   * the challenge it carried (a new token, or credentials the ping did not ask for).
   * Redirects are followed when `follow` is set, without Authorization to another origin.
   */
  async call(ep: Endpoint, method: string, url: URL, opts: CallOptions, follow = false): Promise<HttpResponse> {
    let scopes = opts.scopes;
    for (let attempt = 0; ; attempt++) {
      let authz: string | undefined;
      try {
        authz = await this.authorization(ep, scopes, opts.auth);
      } catch (err) {
        throw err instanceof RegistryError ? wrapForRequest(method, url, err) : err;
      }
      const headers = { ...opts.headers };
      if (authz) headers.authorization = authz;
      const res = await this.#sendFollowing(ep, method, url, { ...opts, headers }, follow);
      if (res.status !== 401 || attempt > 0 || (!opts.replayable && opts.body !== undefined)) return res;
      const fresh = parseChallenges(res.headers['www-authenticate']);
      if (fresh.length === 0 || opts.auth?.registrytoken) return res;
      drain(res.body);
      const bearer = fresh.find((c) => c.scheme === 'bearer');
      const known = ep.challenges.find((c) => c.scheme === 'bearer');
      if (known) this.tokens.invalidate(known, scopes, opts.auth);
      // The registry names the scope it wants (say, the mount source's pull): ask for it too.
      if (bearer?.params.scope) scopes = [...new Set([...scopes, ...bearer.params.scope.split(' ')])];
      ep.challenges = fresh.map((c) => ({ scheme: c.scheme, params: Object.fromEntries(Object.entries(c.params).filter(([k]) => k !== 'scope' && k !== 'error' && k !== 'error_description')) }));
    }
  }

  async #sendFollowing(ep: Endpoint, method: string, url: URL, opts: SendOptions, follow: boolean): Promise<HttpResponse> {
    let current = url;
    let headers = opts.headers ?? {};
    for (let hops = 0; ; hops++) {
      let res: HttpResponse;
      try {
        res = await this.transport.send(method, current, ep.tls, { ...opts, headers });
      } catch (err) {
        if (err instanceof RegistryError && err.status === 0 && current.origin === new URL(ep.base).origin) this.forget(ep.key);
        throw err;
      }
      if (!follow || ![301, 302, 303, 307, 308].includes(res.status)) return res;
      const location = res.headers.location;
      drain(res.body);
      if (typeof location !== 'string') return res;
      if (hops >= MAX_REDIRECTS) throw new RegistryError(`${method.charAt(0)}${method.slice(1).toLowerCase()} "${current.href}": stopped after ${MAX_REDIRECTS} redirects`, 0);
      const next = new URL(location, current);
      // Blob storage behind a redirect (S3, a CDN) must not see the registry's credentials.
      if (next.origin !== current.origin) {
        const { authorization: _dropped, ...rest } = headers;
        headers = rest;
      }
      current = next;
    }
  }

  /**
   * Runs `op` on each candidate endpoint in turn (mirrors first); the last one's error is the one
   * reported. When a remembered endpoint fails in transport and `op` can run again, the registry
   * is probed afresh once (it may have restarted, or moved between http and https), so the
   * error, if any, is the ping's, as dockerd (which pings every time) reports it.
   */
  async withEndpoints<T>(domain: string, withMirrors: boolean, op: (ep: Endpoint) => Promise<T>, opts: { signal?: AbortSignal; repeatable?: boolean } = {}): Promise<T> {
    const list = this.candidates(domain, withMirrors);
    const signal = opts.signal;
    for (let i = 0; ; i++) {
      const c = list[i];
      const last = i === list.length - 1;
      const started = Date.now();
      try {
        const ep = await c.resolve();
        try {
          return await op(ep);
        } catch (err) {
          const stale = ep.probedAt < started && err instanceof RegistryError && err.status === 0;
          if (!stale || opts.repeatable === false || signal?.aborted) throw err;
          this.forget(c.key);
          return await op(await c.resolve());
        }
      } catch (err) {
        if (last || signal?.aborted) throw err;
        this.logger.info('registry mirror failed, trying the next endpoint', { mirror: c.key, error: (err as Error).message });
      }
    }
  }

  async close(): Promise<void> {
    this.#endpoints.clear();
    await this.transport.close();
  }
}

