import { sha256 } from '../util/index.js';

/** OCI chain IDs for a list of diff IDs, bottom first. */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(chainIdOf(out.at(-1), d));
  return out;
}

/** The chain ID of the layer `diffId` on top of the layer `parent` (a chain ID). */
export function chainIdOf(parent: string | undefined, diffId: string): string {
  return parent ? sha256(`${parent} ${diffId}`) : diffId;
}
