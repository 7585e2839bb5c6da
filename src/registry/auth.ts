import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import bcrypt from 'bcryptjs';
import { InvalidArgumentError } from '../util/index.js';

/** Users of an htpasswd file with bcrypt hashes (`htpasswd -B`), the only kind distribution accepts too. */
export class Htpasswd {
  readonly #users: Map<string, string>;
  /** bcrypt costs milliseconds per check and Basic-auth clients send the password with every request. */
  readonly #verified = new Map<string, number>();

  constructor(text: string, source = 'htpasswd') {
    this.#users = new Map();
    for (const [i, raw] of text.split('\n').entries()) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const at = line.indexOf(':');
      const hash = line.slice(at + 1);
      if (at <= 0 || !/^\$2[aby]\$\d\d\$/.test(hash)) throw new InvalidArgumentError(`${source} line ${i + 1}: expected "user:<bcrypt hash>" (make it with htpasswd -B)`);
      this.#users.set(line.slice(0, at), hash);
    }
  }

  static async load(path: string): Promise<Htpasswd> {
    return new Htpasswd(await readFile(path, 'utf8'), path);
  }

  has(user: string): boolean {
    return this.#users.has(user);
  }

  async check(user: string, password: string): Promise<boolean> {
    const hash = this.#users.get(user);
    if (hash === undefined) return false;
    const key = createHash('sha256').update(`${user}\0${password}\0${hash}`).digest('hex');
    const until = this.#verified.get(key);
    if (until !== undefined && until > Date.now()) return true;
    // bcryptjs knows $2a$ and $2b$; $2y$ (what htpasswd writes) is the same algorithm.
    const ok = await bcrypt.compare(password, hash.replace(/^\$2y\$/, '$2b$'));
    if (ok) {
      if (this.#verified.size > 1000) this.#verified.clear();
      this.#verified.set(key, Date.now() + 5 * 60_000);
    }
    return ok;
  }
}

/** `repository:<name>:<actions>` or `registry:catalog:*`, as Docker's token scopes are written. */
export interface Scope {
  type: string;
  name: string;
  actions: string[];
}

export function parseScopes(values: string[]): Scope[] {
  const out: Scope[] = [];
  for (const v of values.flatMap((s) => s.split(' ')).filter(Boolean)) {
    const first = v.indexOf(':');
    const last = v.lastIndexOf(':');
    if (first < 0 || last === first) continue;
    out.push({ type: v.slice(0, first), name: v.slice(first + 1, last), actions: v.slice(last + 1).split(',').filter(Boolean) });
  }
  return out;
}

export function formatScope(s: Scope): string {
  return `${s.type}:${s.name}:${s.actions.join(',')}`;
}

export interface AccessRule {
  /** A repository name; `*` matches any run of characters, `/` included. */
  repo: string;
  /** `pull`, `push`, `delete`, or `*` for all three. */
  actions: string[];
}

/**
 * Who may do what (`--access FILE`): a JSON map from a user name to rules; `*` applies to every
 * signed-in user, `anonymous` to requests without credentials. Without a file, signed-in users
 * may do everything and anonymous ones nothing. The catalog is listed to users whose rules
 * cover every repository (`"repo": "*"`).
 */
export class AccessPolicy {
  readonly #rules: Record<string, AccessRule[]> | undefined;

  constructor(rules?: Record<string, AccessRule[]>) {
    this.#rules = rules;
  }

  static async load(path: string): Promise<AccessPolicy> {
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      throw new InvalidArgumentError(`cannot read access file "${path}": ${(err as Error).message}`);
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InvalidArgumentError(`access file "${path}": expected a JSON object of user -> [{"repo", "actions"}]`);
    for (const [user, rules] of Object.entries(doc)) {
      if (!Array.isArray(rules) || !rules.every((r) => typeof r?.repo === 'string' && Array.isArray(r?.actions))) {
        throw new InvalidArgumentError(`access file "${path}": rules of "${user}" must be a list of {"repo": "<glob>", "actions": ["pull", "push", ...]}`);
      }
    }
    return new AccessPolicy(doc as Record<string, AccessRule[]>);
  }

  #rulesOf(user: string | undefined): AccessRule[] {
    if (!this.#rules) return user === undefined ? [] : [{ repo: '*', actions: ['*'] }];
    return user === undefined ? (this.#rules.anonymous ?? []) : [...(this.#rules[user] ?? []), ...(this.#rules['*'] ?? [])];
  }

  /** The part of `wanted` that `user` (undefined: anonymous) is granted. */
  grant(user: string | undefined, wanted: Scope): string[] {
    const rules = this.#rulesOf(user);
    if (wanted.type === 'registry' && wanted.name === 'catalog') {
      return rules.some((r) => r.repo === '*' && r.actions.length > 0) ? wanted.actions.filter((a) => a === '*') : [];
    }
    if (wanted.type !== 'repository') return [];
    const allowed = new Set<string>();
    for (const r of rules) {
      if (!globMatch(r.repo, wanted.name)) continue;
      for (const a of r.actions) {
        if (a === '*') ['pull', 'push', 'delete', '*'].forEach((x) => allowed.add(x));
        else allowed.add(a);
      }
    }
    return wanted.actions.filter((a) => allowed.has(a));
  }
}

function globMatch(glob: string, name: string): boolean {
  const re = new RegExp(`^${glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(name);
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access?: Scope[];
  /** Set on refresh tokens (`offline_token=true`), which are traded for access tokens and never accepted as one. */
  refresh?: true;
}

const b64 = (v: Buffer | string) => Buffer.from(v).toString('base64url');

/**
 * HMAC-signed JSON Web Tokens (HS256) for Docker's token flow: the registry is its own token
 * server, so one key both signs and verifies, and servers sharing a store share the key.
 */
export class TokenSigner {
  constructor(
    readonly key: Buffer,
    readonly service: string,
    readonly issuer = 'wharf-registry',
  ) {}

  sign(sub: string, ttlSeconds: number, extra: { access?: Scope[]; refresh?: true }): string {
    const now = Math.floor(Date.now() / 1000);
    const claims: TokenClaims = { iss: this.issuer, sub, aud: this.service, exp: now + ttlSeconds, nbf: now - 10, iat: now, jti: randomBytes(12).toString('hex'), ...extra };
    const head = `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64(JSON.stringify(claims))}`;
    return `${head}.${b64(createHmac('sha256', this.key).update(head).digest())}`;
  }

  /** The claims of a token this signer made for this service and that has not expired; else undefined. */
  verify(token: string): TokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const want = createHmac('sha256', this.key).update(`${parts[0]}.${parts[1]}`).digest();
    const got = Buffer.from(parts[2]!, 'base64url');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      return undefined;
    }
    const now = Math.floor(Date.now() / 1000);
    if (claims.aud !== this.service || claims.iss !== this.issuer || !(claims.exp > now) || claims.nbf > now) return undefined;
    return claims;
  }
}

/** User and password of a Basic Authorization header. */
export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const at = text.indexOf(':');
  return at < 0 ? undefined : { user: text.slice(0, at), password: text.slice(at + 1) };
}
