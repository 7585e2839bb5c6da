import { fullName, parseReference } from '../reference.js';

/** A repository in a registry, as the distribution API names it. */
export interface RemoteName {
  /** `docker.io` for Docker Hub (never `index.docker.io`), else `host[:port]` as written. */
  domain: string;
  /** `library/busybox`, `ides/gateway`. */
  path: string;
}

export interface RemoteRef extends RemoteName {
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
/** Where Docker Hub's distribution API is served (docker.io itself only redirects). */
export const DOCKER_HUB_REGISTRY = 'https://registry-1.docker.io';
const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/**
 * Parses a reference as Docker's ParseNormalizedNamed does (same rules and error texts as
 * parseReference): `busybox` -> docker.io, library/busybox; `127.0.0.1:5000/ides/gateway:1`.
 */
export function parseRemoteRef(ref: string): RemoteRef {
  const parsed = parseReference(ref);
  const full = fullName(parsed.repo);
  const slash = full.indexOf('/');
  const out: RemoteRef = { domain: full.slice(0, slash), path: full.slice(slash + 1) };
  if (parsed.tag !== undefined) out.tag = parsed.tag;
  if (parsed.digest !== undefined) out.digest = parsed.digest;
  return out;
}

/** The name as Docker shows and stores it: `busybox`, `me/app`, `127.0.0.1:5000/ides/gateway`. */
export function familiarRemote(name: RemoteName): string {
  if (name.domain !== DOCKER_HUB) return `${name.domain}/${name.path}`;
  const parts = name.path.split('/');
  return parts.length === 2 && parts[0] === 'library' ? parts[1] : name.path;
}

/**
 * The registry key of an AuthConfig's serveraddress or of a domain, as the docker CLI's config
 * and dockerd agree on it: `docker.io`, `index.docker.io`, `https://index.docker.io/v1/` all
 * mean Docker Hub; `http://h:5000/` means `h:5000`.
 */
export function registryHost(serverAddressOrDomain: string): string {
  let s = serverAddressOrDomain.trim();
  // dockerd's ConvertToHostname: only http and https schemes are stripped, then any path.
  const m = /^(https?):\/\//i.exec(s);
  if (m) s = s.slice(m[0].length);
  s = s.split('/')[0];
  if (s === '' || HUB_ALIASES.has(s.toLowerCase())) return DOCKER_HUB;
  return s;
}
