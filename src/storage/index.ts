export { applyLayer, cleanEntryPath, WHITEOUT_PREFIX, OPAQUE_WHITEOUT, OVERLAY_OPAQUE_XATTR, type ApplyResult } from './apply.js';
export { packDir, diskUsage, isWhiteout, isOpaque } from './pack.js';
export { mountOverlay, unmount, isMounted } from './overlay.js';
export { LayerStore, chainIds, chainIdOf, type LayerMeta } from './layers.js';
