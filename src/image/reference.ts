import { InvalidArgumentError } from '../util/index.js';

/** A parsed image reference in Docker's familiar form: `busybox:latest`, `me/app:1`, `host:5000/x@sha256:...`. */
export interface Reference {
  /** Repository as Docker shows it (docker.io/ and library/ stripped). */
  repo: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;
const FULL_ID = /^[a-f0-9]{64}$/;
const MAX_NAME = 255;

const INVALID = 'invalid reference format';

/**
 * Docker's rule for whether the first path component names a registry: it has a dot or a port,
 * is `localhost`, or has capitals (repository paths never do).
 */
function splitDomain(name: string): { domain?: string; path: string } {
  const i = name.indexOf('/');
  if (i < 0) return { path: name };
  const first = name.slice(0, i);
  if (!first.includes('.') && !first.includes(':') && first !== 'localhost' && first.toLowerCase() === first) return { path: name };
  return { domain: first, path: name.slice(i + 1) };
}

/**
 * Parses a reference the way Docker's ParseNormalizedNamed does, with its error texts;
 * the result is in familiar form (`busybox`, not `docker.io/library/busybox`).
 */
export function parseReference(ref: string): Reference {
  if (FULL_ID.test(ref)) throw new InvalidArgumentError(`invalid repository name (${ref}), cannot specify 64-byte hexadecimal strings`);
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const { domain, path } = splitDomain(rest);
  // Docker checks case before anything else, on the name as it would be pulled.
  const remote = path.split(':')[0];
  const remoteName = !domain && !remote.includes('/') ? `library/${remote}` : remote;
  if (remoteName.toLowerCase() !== remoteName) throw new InvalidArgumentError(`${INVALID}: repository name (${remoteName}) must be lowercase`);
  if (digest !== undefined && !/^sha256:[a-f0-9]{64}$/.test(digest)) throw new InvalidArgumentError(INVALID);

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidArgumentError(INVALID);
  }
  if (!rest) throw new InvalidArgumentError(INVALID);
  const parts = rest.split('/');
  const hasDomain = domain !== undefined;
  if (hasDomain && !DOMAIN.test(parts[0])) throw new InvalidArgumentError(INVALID);
  for (const c of hasDomain ? parts.slice(1) : parts) if (!COMPONENT.test(c)) throw new InvalidArgumentError(INVALID);
  if (hasDomain && parts.length < 2) throw new InvalidArgumentError(INVALID);
  if (rest.length > MAX_NAME) throw new InvalidArgumentError(`repository name must not be more than ${MAX_NAME} characters`);
  return { repo: familiarName(rest), tag, digest };
}

/** The reference, or undefined when `ref` is not a valid name (it may still be an ID). */
export function tryParseReference(ref: string): Reference | undefined {
  try {
    return parseReference(ref);
  } catch {
    return undefined;
  }
}

/** `docker.io/library/busybox` -> `busybox`, `docker.io/me/app` -> `me/app`. */
export function familiarName(repo: string): string {
  let r = repo;
  if (r.startsWith('docker.io/')) r = r.slice('docker.io/'.length);
  else if (r.startsWith('index.docker.io/')) r = r.slice('index.docker.io/'.length);
  if (r.startsWith('library/') && r.split('/').length === 2) r = r.slice('library/'.length);
  return r;
}

/** The fully qualified name: `busybox` -> `docker.io/library/busybox`. */
export function fullName(repo: string): string {
  if (splitDomain(repo).domain !== undefined) return repo;
  return repo.includes('/') ? `docker.io/${repo}` : `docker.io/library/${repo}`;
}

/** `name:tag` with the default tag filled in. */
export function tagged(ref: Reference): string {
  return `${ref.repo}:${ref.tag ?? 'latest'}`;
}

/** Splits a stored `repo:tag` into its parts. */
export function splitTag(repoTag: string): { repo: string; tag: string } {
  const i = repoTag.lastIndexOf(':');
  return { repo: repoTag.slice(0, i), tag: repoTag.slice(i + 1) };
}

/** Whether `ref` names the image by (a prefix of) its ID rather than by a name, as Docker decides it. */
export function isIdPrefix(imageId: string, ref: string): boolean {
  if (!ref) return false;
  const hex = imageId.replace(/^sha256:/, '');
  return imageId.startsWith(ref) || hex.startsWith(ref);
}

/**
 * Finds the one ID that `ref` abbreviates: `<hex prefix>` or `sha256:<hex prefix>`.
 * Returns undefined when none or several match.
 */
export function matchIdPrefix(ids: Iterable<string>, ref: string): string | undefined {
  const h = ref.startsWith('sha256:') ? ref.slice(7) : ref;
  if (!/^[a-f0-9]+$/.test(h)) return undefined;
  let found: string | undefined;
  for (const id of ids) {
    if (!id.replace(/^sha256:/, '').startsWith(h)) continue;
    if (found !== undefined) return undefined;
    found = id;
  }
  return found;
}
