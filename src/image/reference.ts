import { familiarName as familiarRepo, parseNormalizedNamed, splitDockerDomain } from '../util/index.js';

/** A parsed image reference in Docker's familiar form: `busybox:latest`, `me/app:1`, `host:5000/x@sha256:...`. */
export interface Reference {
  /** Repository as Docker shows it (docker.io/ and library/ stripped). */
  repo: string;
  tag?: string;
  digest?: string;
}

/**
 * Parses a reference the way Docker's ParseNormalizedNamed does, with its error texts;
 * the result is in familiar form (`busybox`, not `docker.io/library/busybox`).
 */
export function parseReference(ref: string): Reference {
  const r = parseNormalizedNamed(ref);
  return { repo: familiarRepo(r), tag: r.tag, digest: r.digest };
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
export const familiarName = (repo: string): string => familiarRepo(splitDockerDomain(repo));

/** The fully qualified name: `busybox` -> `docker.io/library/busybox`. */
export { fullName } from '../util/index.js';

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
