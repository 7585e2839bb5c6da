export * from './errors.js';
export * from './digest.js';
export * from './ids.js';
export * from './atomic.js';
export * from './mount.js';
export * from './safejoin.js';
export * from './spawn.js';
export * from './logger.js';
