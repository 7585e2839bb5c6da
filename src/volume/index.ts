export { parseBind, bindMounts, tmpfsMount, tmpfsMounts, sortMounts, containerMounts, bindSourcesToCreate, validateMounts, mountPoints, type ParsedBind } from './mounts.js';
export { parseVolumeSpec, parseVolumesFrom, planMounts, plannedRuntimeMount, plannedMountPoint, mountDepth, type PlannedMount } from './plan.js';
export { VolumeStore, ANONYMOUS_LABEL, hasMountOptions, checkVolumeName, checkVolumeOptions, type VolumeRecord, type CreateVolumeOptions } from './store.js';
export { copyUp } from './copyup.js';
