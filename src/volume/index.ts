export { parseBind, bindMounts, tmpfsMount, containerMounts, bindSourcesToCreate, validateMounts, mountPoints, type ParsedBind } from './mounts.js';
