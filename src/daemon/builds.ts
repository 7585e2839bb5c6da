/**
 * Builds. There is no builder and so no build cache yet: prune and `system df` report none.
 * The builder replaces this implementation; the routes stay as they are.
 */
import type { BuildCachePruneResponse } from '../types/index.js';

export class BuildService {
  prune(_opts: { all: boolean }): BuildCachePruneResponse {
    return { CachesDeleted: null, SpaceReclaimed: 0 };
  }

  /** The build cache part of `system df`. */
  async usage(): Promise<unknown[]> {
    return [];
  }
}
