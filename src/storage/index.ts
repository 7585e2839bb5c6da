export { applyLayer, cleanEntryPath, WHITEOUT_PREFIX, OPAQUE_WHITEOUT, type ApplyResult } from './apply.js';
export { packDir, diskUsage, isWhiteout, isOpaque } from './pack.js';
export { mountOverlay, unmount, isMounted } from './overlay.js';
