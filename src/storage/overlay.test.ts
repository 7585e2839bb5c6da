import { OverlaySnapshotter } from './overlay.js';
import { snapshotterSuite } from './snapshotter.suite.js';

snapshotterSuite('overlay', (root) => new OverlaySnapshotter(root), { skip: process.getuid?.() !== 0 && 'needs root for overlay mounts and whiteouts' });
