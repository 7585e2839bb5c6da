/*
 * Image references as docker's CLI reads them (distribution/reference's ParseNormalizedNamed),
 * with its error texts: scripts and users see the same "invalid reference format" before the
 * daemon is asked. The daemon has its own parser (src/image); the CLI may not import it, and the
 * CLI needs the pieces (registry domain for credentials, the fully qualified name it prints).
 */

const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
const MAX_NAME = 255;

// The grammar of distribution/reference's regexp.go.
const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[(?:[a-fA-F0-9:]+)\\])`;
const DOMAIN_AND_PORT = `${HOST}(?::[0-9]+)?`;
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const NAME = `(?:${DOMAIN_AND_PORT}/)?${REMOTE_NAME}`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const ANCHORED_NAME = new RegExp(`^(?:(${DOMAIN_AND_PORT})/)?(${REMOTE_NAME})$`);
const FULL_ID = /^[a-f0-9]{64}$/;
const DIGEST_HEX: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** A normalized named reference: `docker.io` + `library/busybox`, with a tag and/or a digest. */
export interface NamedRef {
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
}

/** A reference docker refuses; its message is docker's, printed as is with exit status 1. */
export class ReferenceError extends Error {
  override readonly name = 'ReferenceError';
}

/** go-digest's Parse, with its messages. */
function checkDigest(d: string): void {
  const i = d.indexOf(':');
  const algo = d.slice(0, i);
  const hex = d.slice(i + 1);
  const len = DIGEST_HEX[algo];
  if (len === undefined) throw new ReferenceError('unsupported digest algorithm');
  if (hex.length !== len) throw new ReferenceError('invalid checksum digest length');
  if (!/^[a-f0-9]+$/.test(hex)) throw new ReferenceError('invalid checksum digest format');
}

/** Docker's rule for whether the first component names a registry (splitDockerDomain). */
function splitDockerDomain(name: string): [string, string] {
  const i = name.indexOf('/');
  if (i < 0) return [DEFAULT_DOMAIN, OFFICIAL_PREFIX + name];
  const first = name.slice(0, i);
  const rest = name.slice(i + 1);
  let domain: string;
  let remote: string;
  if (first === LEGACY_DEFAULT_DOMAIN) [domain, remote] = [DEFAULT_DOMAIN, rest];
  else if (first === 'localhost' || /[.:]/.test(first) || first.toLowerCase() !== first) [domain, remote] = [first, rest];
  else [domain, remote] = [DEFAULT_DOMAIN, name];
  if (domain === DEFAULT_DOMAIN && !remote.includes('/')) remote = OFFICIAL_PREFIX + remote;
  return [domain, remote];
}

/** ParseNormalizedNamed: `busybox` -> docker.io/library/busybox; throws ReferenceError with docker's text. */
export function parseNormalizedNamed(s: string): NamedRef {
  if (FULL_ID.test(s)) throw new ReferenceError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  const [domain, remainder] = splitDockerDomain(s);
  const colon = remainder.indexOf(':');
  const remote = colon >= 0 ? remainder.slice(0, colon) : remainder;
  if (remote.toLowerCase() !== remote) throw new ReferenceError(`invalid reference format: repository name (${remote}) must be lowercase`);
  const full = `${domain}/${remainder}`;
  const m = REFERENCE.exec(full);
  if (!m) {
    if (REFERENCE.test(full.toLowerCase())) throw new ReferenceError('repository name must be lowercase');
    throw new ReferenceError('invalid reference format');
  }
  const name = ANCHORED_NAME.exec(m[1])!;
  if (name[2].length > MAX_NAME) throw new ReferenceError(`repository name must not be more than ${MAX_NAME} characters`);
  if (m[3]) checkDigest(m[3]);
  return { domain: name[1] ?? '', path: name[2], tag: m[2] || undefined, digest: m[3] || undefined };
}

/** The repository as the distribution API names it: `docker.io/library/busybox`. */
export const refName = (r: NamedRef): string => `${r.domain}/${r.path}`;

/** reference.String(): the fully qualified form docker prints after a pull. */
export function refString(r: NamedRef): string {
  return `${refName(r)}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** FamiliarName: `docker.io/library/busybox` -> `busybox`, `docker.io/me/app` -> `me/app`. */
export function familiarName(r: NamedRef): string {
  if (r.domain !== DEFAULT_DOMAIN) return refName(r);
  const rest = r.path.startsWith(OFFICIAL_PREFIX) ? r.path.slice(OFFICIAL_PREFIX.length) : undefined;
  return rest !== undefined && !rest.includes('/') ? rest : r.path;
}

/** FamiliarString: the name as users type it, with its tag and digest. */
export function familiarString(r: NamedRef): string {
  return `${familiarName(r)}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

export const isNameOnly = (r: NamedRef): boolean => !r.tag && !r.digest;

/** TagNameOnly: a bare name gets `latest`. */
export const withDefaultTag = (r: NamedRef): NamedRef => (isNameOnly(r) ? { ...r, tag: 'latest' } : r);

/** What the API's `tag` query carries for a pull: the digest if any, else the tag (latest by default). */
export const apiTag = (r: NamedRef): string => r.digest ?? r.tag ?? 'latest';
