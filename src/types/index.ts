export type * from './container.js';
export type * from './exec.js';
export type * from './image.js';
export type * from './system.js';
export type * from './network.js';
export type * from './volume.js';
export type * from './build.js';

/** The API version wharf speaks natively and the oldest one it accepts. */
export const API_VERSION = '1.47';
export const MIN_API_VERSION = '1.24';
