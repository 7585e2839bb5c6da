export * from './types.js';
export { Runtime, cgroupV2, type RuntimeOptions } from './runtime.js';
export { generateSpec, capabilities, parseDeviceCgroupRule, DEFAULT_CAPS, ALL_CAPS, INIT_PATH_IN_CONTAINER, type OciSpec } from './oci.js';
export { readLogs, rotateLog, parseLogTime, type ReadLogsOptions } from './logs.js';
export { parseSecurityOpt } from './seccomp.js';
export { blkioStats, cgroupSupport, emptyCpuStats, type CgroupSample, type CgroupSupport, type RealtimeBudget } from './cgroups.js';
