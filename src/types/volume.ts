import type { VolumeSummary } from './system.js';

/** GET /volumes. */
export interface VolumeListResponse {
  Volumes: VolumeSummary[];
  Warnings: string[] | null;
}

/** POST /volumes/prune. */
export interface VolumePruneResponse {
  VolumesDeleted: string[] | null;
  SpaceReclaimed: number;
}
