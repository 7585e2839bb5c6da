import type { Daemon } from '../../daemon/index.js';
import { parseFilters } from '../query.js';
import type { Router } from '../router.js';

/**
 * Create, connect, disconnect and remove are not served yet, so the router answers those with
 * 404 "page not found", which the docker CLI shows as is. GET /networks takes no filters yet.
 */
export function networkRoutes(r: Router, d: Daemon): void {
  r.add('GET', '/networks', (ctx) => ctx.send(200, d.networks.list()));
  r.add('GET', '/networks/{id}', (ctx) => ctx.send(200, d.networks.inspect(ctx.params.id)));
  r.add('POST', '/networks/prune', (ctx) => ctx.send(200, d.networks.prune(parseFilters(ctx.str('filters')))));
}
