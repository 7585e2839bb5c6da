import { createHash } from 'node:crypto';
import { InvalidArgumentError } from './errors.js';

/** An OCI digest string, `sha256:<64 hex>`. */
export type Digest = `sha256:${string}`;

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function sha256(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function isDigest(value: string): value is Digest {
  return DIGEST_RE.test(value);
}

export function parseDigest(value: string): Digest {
  if (!isDigest(value)) throw new InvalidArgumentError(`invalid digest "${value}": expected sha256:<64 hex characters>`);
  return value;
}

/** The hex part of a digest, as used for file names and short IDs. */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}
