import { InvalidArgumentError } from '../util/index.js';

/** A parsed image reference in Docker's familiar form: `busybox:latest`, `me/app:1`, `host:5000/x@sha256:...`. */
export interface Reference {
  /** Repository as Docker shows it (docker.io/library/ stripped). */
  repo: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;

/** Parses a reference; throws Docker's `invalid reference format` errors. */
export function parseReference(ref: string): Reference {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new InvalidArgumentError('invalid reference format');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidArgumentError('invalid reference format');
  }
  if (!rest) throw new InvalidArgumentError('invalid reference format');
  const parts = rest.split('/');
  const hasDomain = parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost');
  if (hasDomain && !DOMAIN.test(parts[0])) throw new InvalidArgumentError('invalid reference format');
  for (const c of hasDomain ? parts.slice(1) : parts) {
    if (!COMPONENT.test(c)) {
      if (COMPONENT.test(c.toLowerCase())) throw new InvalidArgumentError(`invalid reference format: repository name (${rest}) must be lowercase`);
      throw new InvalidArgumentError('invalid reference format');
    }
  }
  return { repo: familiarName(rest), tag, digest };
}

/** `docker.io/library/busybox` -> `busybox`, `docker.io/me/app` -> `me/app`. */
export function familiarName(repo: string): string {
  let r = repo;
  if (r.startsWith('docker.io/')) r = r.slice('docker.io/'.length);
  else if (r.startsWith('index.docker.io/')) r = r.slice('index.docker.io/'.length);
  if (r.startsWith('library/') && r.split('/').length === 2) r = r.slice('library/'.length);
  return r;
}

/** The fully qualified name, as containerd's image-name annotation wants it. */
export function fullName(repo: string): string {
  const parts = repo.split('/');
  const hasDomain = parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost');
  if (hasDomain) return repo;
  return parts.length === 1 ? `docker.io/library/${repo}` : `docker.io/${repo}`;
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
