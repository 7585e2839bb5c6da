/** POST /build/prune. */
export interface BuildCachePruneResponse {
  CachesDeleted: string[] | null;
  SpaceReclaimed: number;
}
