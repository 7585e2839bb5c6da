import type { Daemon } from '../../daemon/index.js';
import type { EndpointSettings, NetworkCreateRequest } from '../../types/index.js';
import { parseFilters } from '../query.js';
import type { Router } from '../router.js';

/** GET /networks takes no filters yet. */
export function networkRoutes(r: Router, d: Daemon): void {
  r.add('GET', '/networks', (ctx) => ctx.send(200, d.networks.list(parseFilters(ctx.str('filters')))));
  r.add('GET', '/networks/{id}', (ctx) => ctx.send(200, d.networks.inspect(ctx.params.id)));
  r.add('POST', '/networks/create', async (ctx) => ctx.send(201, await d.networks.create((await ctx.json<NetworkCreateRequest>()) ?? { Name: '' })));
  r.add('POST', '/networks/prune', async (ctx) => ctx.send(200, await d.networks.prune(parseFilters(ctx.str('filters')))));
  r.add('DELETE', '/networks/{id}', async (ctx) => {
    await d.networks.remove(ctx.params.id);
    ctx.send(204);
  });
  r.add('POST', '/networks/{id}/connect', async (ctx) => {
    const body = (await ctx.json<{ Container?: string; EndpointConfig?: EndpointSettings }>()) ?? {};
    await d.containers.connectNetwork(body.Container ?? '', ctx.params.id, body.EndpointConfig ?? undefined);
    ctx.send(200);
  });
  r.add('POST', '/networks/{id}/disconnect', async (ctx) => {
    const body = (await ctx.json<{ Container?: string; Force?: boolean }>()) ?? {};
    await d.containers.disconnectNetwork(body.Container ?? '', ctx.params.id, body.Force ?? false);
    ctx.send(200);
  });
}
