export * from './types.js';
export * from './reference.js';
export { applyChanges } from './changes.js';
export { busyboxLayer, busyboxConfig } from './busybox.js';
export { ContentStore } from './store.js';
export { hasher, maybeGunzip } from './stream.js';
export { extractArchive, readArchiveImages, writeArchive, type ArchiveImage, type SaveImage } from './archive.js';
export { DEFAULT_DEBIAN_MIRROR, debianConfig, debianRecipe, debianSourceLines, mmdebstrapArgs, runMmdebstrap, type DebianBuild, type DebianRecipe, type DebianSources } from './debian.js';
export * from './distribution/index.js';
