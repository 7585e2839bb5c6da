/**
 * Volumes and mounts. Today a container's mounts are host binds and tmpfs only, and there is
 * no volume store yet, so the listings are empty. Named volumes replace this implementation
 * behind the same port; the routes stay as they are.
 */
import { mkdir } from 'node:fs/promises';
import type { ContainerConfig, HostConfig, VolumeListResponse, VolumePruneResponse, VolumeSummary } from '../types/index.js';
import type { Mount } from '../util/index.js';
import { bindSourcesToCreate, containerMounts } from '../volume/index.js';
import type { VolumePort } from './containers/ports.js';
import { checkFilterKeys, type Filters } from './filters.js';

/** The filters `docker volume prune` may send; Docker refuses others even when there is nothing to prune. */
const PRUNE_FILTERS = ['label', 'label!', 'all'];

export class VolumeService implements VolumePort {
  async setup(_containerId: string, hostConfig: HostConfig, _config: ContainerConfig): Promise<Mount[]> {
    const mounts = containerMounts(hostConfig);
    // Docker creates a missing source directory for `-v /path:/dst`, never for `--mount`.
    for (const source of bindSourcesToCreate(hostConfig)) await mkdir(source, { recursive: true });
    return mounts;
  }

  /** Binds and tmpfs leave nothing on the host to undo: the runtime's mounts go with its namespace. */
  async release(_containerId: string): Promise<void> {}

  list(): VolumeListResponse {
    return { Volumes: [], Warnings: null };
  }

  prune(filters: Filters): VolumePruneResponse {
    checkFilterKeys(filters, PRUNE_FILTERS);
    return { VolumesDeleted: null, SpaceReclaimed: 0 };
  }

  /** The volumes part of `system df`. */
  async usage(): Promise<VolumeSummary[]> {
    return [];
  }
}
