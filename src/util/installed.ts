import { fileURLToPath } from 'node:url';

/**
 * The files of the installation that wharfd loads or runs, found from this module's own place.
 * It compiles to dist/src/util, the same depth as the daemon's bundle (dist/src/cmd/
 * wharfd.bundle.cjs, whose import.meta.url is its own file), so the paths hold for both.
 */
const installed = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

/** The native addon, built by `npm run build` into native/build. */
export const NATIVE_ADDON_PATH = installed('../../../native/build/Release/wharf_native.node');
/** The setns helper of attached execs, built beside the addon. */
export const NSEXEC_PATH = installed('../../../native/build/Release/wharf-nsexec');
/** The worker thread that layers are extracted on (its bundle, see scripts/bundle.js). */
export const LAYER_WORKER_PATH = installed('../cmd/wharf-layer.bundle.cjs');
/** The worker that makes the default image on a new data root (its bundle, see scripts/bundle.js). */
export const DEFAULT_IMAGE_WORKER_PATH = installed('../cmd/wharf-default-image.bundle.cjs');
