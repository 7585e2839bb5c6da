import type { Daemon } from '../../daemon/index.js';
import type { Router } from '../router.js';

/**
 * POST /build is not served yet (404 "page not found"). Prune's filters are not read, not even
 * checked: with no build cache there is nothing they could select.
 */
export function buildRoutes(r: Router, d: Daemon): void {
  r.add('POST', '/build/prune', (ctx) => ctx.send(200, d.builds.prune({ all: ctx.bool('all') })));
}
