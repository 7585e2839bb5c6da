export * from './types.js';
export * from './reference.js';
export { applyChanges } from './changes.js';
export { busyboxLayer, busyboxConfig } from './busybox.js';
