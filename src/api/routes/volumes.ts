import type { Daemon } from '../../daemon/index.js';
import { parseFilters } from '../query.js';
import type { Router } from '../router.js';

/**
 * The rest of /volumes (inspect, create, remove) is not served yet, so the router answers
 * those with 404 "page not found". GET /volumes takes no filters yet: there is nothing to filter.
 */
export function volumeRoutes(r: Router, d: Daemon): void {
  r.add('GET', '/volumes', (ctx) => ctx.send(200, d.volumes.list()));
  r.add('POST', '/volumes/prune', (ctx) => ctx.send(200, d.volumes.prune(parseFilters(ctx.str('filters')))));
}
