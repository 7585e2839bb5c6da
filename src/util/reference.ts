/*
 * Image references as Docker reads them (distribution/reference's ParseNormalizedNamed), with
 * its error texts: the CLI refuses a name before the daemon is asked, the daemon refuses the
 * same names with the same words, and both agree on which part is the registry.
 */
import { InvalidArgumentError } from './errors.js';

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

/** A repository in a registry, as the distribution API names it: `docker.io` + `library/busybox`. */
export interface RepoName {
  domain: string;
  path: string;
}

/** A normalized named reference, with a tag and/or a digest. */
export interface NamedRef extends RepoName {
  tag?: string;
  digest?: string;
}

/** go-digest's Parse, with its messages. */
function checkDigest(d: string): void {
  const i = d.indexOf(':');
  const len = DIGEST_HEX[d.slice(0, i)];
  const hex = d.slice(i + 1);
  if (len === undefined) throw new InvalidArgumentError('unsupported digest algorithm');
  if (hex.length !== len) throw new InvalidArgumentError('invalid checksum digest length');
  if (!/^[a-f0-9]+$/.test(hex)) throw new InvalidArgumentError('invalid checksum digest format');
}

/**
 * Docker's splitDockerDomain: the first component names a registry when it has a dot or a port,
 * is `localhost`, or has capitals (repository paths never do); otherwise it is Docker Hub, and a
 * one-component name is an official image under `library/`.
 */
export function splitDockerDomain(name: string): RepoName {
  const i = name.indexOf('/');
  if (i < 0) return { domain: DEFAULT_DOMAIN, path: OFFICIAL_PREFIX + name };
  const first = name.slice(0, i);
  const rest = name.slice(i + 1);
  let domain = DEFAULT_DOMAIN;
  let path = name;
  if (first === LEGACY_DEFAULT_DOMAIN) path = rest;
  else if (first === 'localhost' || /[.:]/.test(first) || first.toLowerCase() !== first) [domain, path] = [first, rest];
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_PREFIX + path;
  return { domain, path };
}

/**
 * ParseNormalizedNamed: `busybox` -> docker.io, library/busybox. Throws InvalidArgumentError
 * with Docker's text ("invalid reference format", ...).
 */
export function parseNormalizedNamed(s: string): NamedRef {
  if (FULL_ID.test(s)) throw new InvalidArgumentError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  const { domain, path: remainder } = splitDockerDomain(s);
  const colon = remainder.indexOf(':');
  const remote = colon >= 0 ? remainder.slice(0, colon) : remainder;
  if (remote.toLowerCase() !== remote) throw new InvalidArgumentError(`invalid reference format: repository name (${remote}) must be lowercase`);
  const full = `${domain}/${remainder}`;
  const m = REFERENCE.exec(full);
  if (!m) {
    if (REFERENCE.test(full.toLowerCase())) throw new InvalidArgumentError('repository name must be lowercase');
    throw new InvalidArgumentError('invalid reference format');
  }
  const name = ANCHORED_NAME.exec(m[1])!;
  if (name[2].length > MAX_NAME) throw new InvalidArgumentError(`repository name must not be more than ${MAX_NAME} characters`);
  if (m[3]) checkDigest(m[3]);
  return { domain: name[1] ?? '', path: name[2], tag: m[2] || undefined, digest: m[3] || undefined };
}

/** The repository as the distribution API names it: `docker.io/library/busybox`. */
export const refName = (r: RepoName): string => `${r.domain}/${r.path}`;

/** The fully qualified name of a repository as written: `busybox` -> `docker.io/library/busybox`. */
export const fullName = (name: string): string => refName(splitDockerDomain(name));

/** reference.String(): the fully qualified form docker prints after a pull. */
export function refString(r: NamedRef): string {
  return `${refName(r)}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** FamiliarName: `docker.io/library/busybox` -> `busybox`, `docker.io/me/app` -> `me/app`. */
export function familiarName(r: RepoName): string {
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
