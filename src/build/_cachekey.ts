/**
 * The step cache's key: what the classic builder's cache probe compares (the parent image and
 * the container config with the step's command in it) plus what only the step knows (the copy
 * digest, RUN's environment, network and mounts), hashed from a canonical JSON form.
 */
import { createHash } from 'node:crypto';

export interface CacheKeyParts {
  /** The parent image's ID; '' for scratch. */
  parent: string;
  createdBy: string;
  /** The config the step's image will carry. */
  config: unknown;
  /** COPY/ADD: planCopy's digest. */
  copyDigest?: string;
  run?: { env: string[]; network: string; user: string; workdir: string; mounts: unknown[]; extraHosts: string[] };
  author?: string;
  platform: string;
  /** SOURCE_DATE_EPOCH: it sets the image's times and caps its layer's mtimes, so a build without it is no hit. */
  sourceDateEpoch?: number;
}

/** JSON with object keys sorted, so equal values give equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

export function cacheKey(parts: CacheKeyParts): string {
  return 'sha256:' + createHash('sha256').update('wharf-build-cache-v1\n').update(canonicalJson(parts)).digest('hex');
}
