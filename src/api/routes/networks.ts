import type { Daemon } from '../../daemon/index.js';
import { parseFilters } from '../query.js';
import type { Router } from '../router.js';

/**
 * The rest of /networks (inspect, create, connect, disconnect, remove) is not served yet, so
 * the router answers those with 404 "page not found", which the docker CLI shows as is.
 * GET /networks takes no filters yet: with only the predefined networks, it lists them all.
 */
export function networkRoutes(r: Router, d: Daemon): void {
  r.add('GET', '/networks', (ctx) => ctx.send(200, d.networks.list()));
  r.add('POST', '/networks/prune', (ctx) => ctx.send(200, d.networks.prune(parseFilters(ctx.str('filters')))));
}
