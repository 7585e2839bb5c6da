/** The distribution spec's grammar for repository names, tags and digests in URLs. */

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
/** distribution's limit; also keeps a name well inside PATH_MAX as a directory path. */
export const MAX_NAME_LENGTH = 255;

/**
 * Whether `name` is a repository name. The grammar allows no `..`, no leading `/` and no empty
 * component, so a valid name is also a safe relative path under the store's root.
 */
export function isRepoName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_RE.test(name);
}

export function isTag(ref: string): boolean {
  return TAG_RE.test(ref);
}

/** Only sha256, the one algorithm wharf's content store hashes with. */
export function isRegistryDigest(ref: string): ref is `sha256:${string}` {
  return DIGEST_RE.test(ref);
}
