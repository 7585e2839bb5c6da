import type { VolumeSummary } from './system.js';

/** A volume as GET /volumes/{name} and POST /volumes/create answer it. */
export type Volume = VolumeSummary;

/** POST /volumes/create. */
export interface VolumeCreateRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

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
