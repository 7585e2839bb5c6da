import { createHash } from 'node:crypto';
import type { AuthConfig } from '../../types/index.js';
import type { Challenge } from './headers.js';
import { RegistryError, responseError } from './errors.js';
import { header, readBody, readErrorBody, type TlsProfile, type Transport } from './transport.js';

/** Docker's client id at token servers (dockerd's AuthClientID). */
export const CLIENT_ID = 'docker';
/** A token without `expires_in` lives this long; shorter lifetimes are raised to it (distribution's rule). */
const MIN_TOKEN_LIFETIME_S = 60;

export interface TokenAnswer {
  token: string;
  /** When offline access was asked for: the refresh token (docker's identity token). */
  refreshToken?: string;
  expiresAt: number;
}

/** `repository:<path>:pull,push`. */
export function repositoryScope(path: string, actions: readonly string[]): string {
  return `repository:${path}:${actions.join(',')}`;
}

function credentialKey(auth: AuthConfig | undefined): string {
  if (!auth) return 'anonymous';
  return createHash('sha256').update(`${auth.username ?? ''}\0${auth.password ?? ''}\0${auth.identitytoken ?? ''}`).digest('hex').slice(0, 32);
}

/**
 * Bearer tokens of the token flow (distribution's token handler): a GET of the realm with Basic
 * credentials, or a POST `grant_type=refresh_token` when an identity token is at hand. Tokens are
 * cached per realm, service, scopes and credentials until they expire; concurrent requests for
 * the same token share one fetch.
 */
export class TokenCache {
  readonly #cache = new Map<string, Promise<TokenAnswer>>();
  readonly #transport: Transport;
  readonly #now: () => number;

  constructor(transport: Transport, now: () => number = Date.now) {
    this.#transport = transport;
    this.#now = now;
  }

  #key(ch: Challenge, scopes: string[], auth: AuthConfig | undefined): string {
    return [ch.params.realm ?? '', ch.params.service ?? '', [...scopes].sort().join(' '), credentialKey(auth)].join('|');
  }

  async token(ch: Challenge, scopes: string[], auth: AuthConfig | undefined, tls: TlsProfile): Promise<string> {
    const key = this.#key(ch, scopes, auth);
    const cached = this.#cache.get(key);
    if (cached) {
      const t = await cached.catch(() => undefined);
      if (t && t.expiresAt > this.#now()) return t.token;
      if (this.#cache.get(key) === cached) this.#cache.delete(key);
    }
    const p = this.fetch(ch, scopes, auth, tls, false);
    this.#cache.set(key, p);
    p.catch(() => {
      if (this.#cache.get(key) === p) this.#cache.delete(key);
    });
    return (await p).token;
  }

  /** Forgets the token of these scopes (the registry refused it). */
  invalidate(ch: Challenge, scopes: string[], auth: AuthConfig | undefined): void {
    this.#cache.delete(this.#key(ch, scopes, auth));
  }

  /** Asks the token server; `offline` asks for a refresh token too (login). */
  async fetch(ch: Challenge, scopes: string[], auth: AuthConfig | undefined, tls: TlsProfile, offline: boolean): Promise<TokenAnswer> {
    const realmText = ch.params.realm;
    if (!realmText) throw new RegistryError('no realm specified for token auth challenge', 0);
    let realm: URL;
    try {
      realm = new URL(realmText);
    } catch {
      throw new RegistryError(`invalid token auth challenge realm: ${realmText}`, 0);
    }
    const service = ch.params.service ?? '';
    const started = this.#now();
    const refresh = auth?.identitytoken;
    let res;
    if (refresh) {
      const form = new URLSearchParams();
      form.set('grant_type', 'refresh_token');
      form.set('refresh_token', refresh);
      form.set('service', service);
      form.set('client_id', CLIENT_ID);
      form.set('scope', scopes.join(' '));
      if (offline) form.set('access_type', 'offline');
      res = await this.#transport.send('POST', realm, tls, {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
    } else {
      const u = new URL(realm);
      if (service) u.searchParams.set('service', service);
      for (const s of scopes) u.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (auth?.username) {
        u.searchParams.set('account', auth.username);
        headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}`;
      }
      if (offline) {
        u.searchParams.set('offline_token', 'true');
        u.searchParams.set('client_id', CLIENT_ID);
      }
      res = await this.#transport.send('GET', u, tls, { headers });
    }
    if (res.status < 200 || res.status >= 300) {
      const text = await readErrorBody(res.body);
      throw responseError(res.status, header(res.headers, 'content-type'), text);
    }
    const body = await readBody(res.body, 1024 * 1024);
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown; refresh_token?: unknown };
    try {
      parsed = JSON.parse(body?.toString('utf8') ?? '');
    } catch (err) {
      throw new RegistryError(`unable to decode token response: ${(err as Error).message}`, res.status);
    }
    const token = typeof parsed.token === 'string' && parsed.token ? parsed.token : typeof parsed.access_token === 'string' ? parsed.access_token : '';
    if (!token) throw new RegistryError('authorization server did not include a token in the response', res.status);
    const lifetime = typeof parsed.expires_in === 'number' && parsed.expires_in >= MIN_TOKEN_LIFETIME_S ? parsed.expires_in : MIN_TOKEN_LIFETIME_S;
    const issued = typeof parsed.issued_at === 'string' ? Date.parse(parsed.issued_at) : NaN;
    // Trusting issued_at only when it is near our clock keeps a skewed server from shortening the token to nothing.
    const base = Number.isFinite(issued) && Math.abs(issued - started) < 60_000 ? issued : started;
    // A few seconds of margin so a token does not expire between our check and the registry's.
    const expiresAt = base + lifetime * 1000 - Math.min(10_000, lifetime * 100);
    const answer: TokenAnswer = { token, expiresAt };
    if (typeof parsed.refresh_token === 'string' && parsed.refresh_token) answer.refreshToken = parsed.refresh_token;
    return answer;
  }
}
