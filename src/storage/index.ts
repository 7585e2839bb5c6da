export type { ActiveSnapshots, Change, ChangeKind, Diff, DiffOptions, LayerInfo, Layers, Snapshotter, SnapshotterFactory, Unpacked, Usage, View } from './snapshotter.js';
export { OverlaySnapshotter } from './overlay.js';
export { chainIds, chainIdOf } from './chain.js';
export { EMPTY_LAYER_DIFF_ID } from './diff.js';
export { applyLayer, cleanEntryPath, WHITEOUT_PREFIX, OPAQUE_WHITEOUT, OVERLAY_OPAQUE_XATTR, type ApplyResult } from './apply.js';
export { applyLayerOffThread, serveLayerJobs } from './apply-worker.js';
export { packDir, isWhiteout, isOpaque } from './pack.js';
