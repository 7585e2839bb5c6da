import type { Daemon } from '../../daemon/index.js';
import type { VolumeCreateRequest } from '../../types/index.js';
import { parseFilters } from '../query.js';
import type { Router } from '../router.js';

/**
 * The Engine API's /volumes, plus two wharf extensions for backup and restore without a helper
 * container: GET /volumes/{name}/export (the content as a tar) and POST /volumes/{name}/import
 * (a tar body extracted into the volume, made when missing).
 */
export function volumeRoutes(r: Router, d: Daemon): void {
  r.add('GET', '/volumes', (ctx) => ctx.send(200, d.volumes.list(parseFilters(ctx.str('filters')))));
  r.add('POST', '/volumes/create', async (ctx) => ctx.send(201, await d.volumes.create((await ctx.json<VolumeCreateRequest>()) ?? {})));
  r.add('POST', '/volumes/prune', async (ctx) => {
    const filters = parseFilters(ctx.str('filters'));
    // Before API 1.42 prune took named volumes too; dockerd keeps that for older clients.
    if (ctx.version < 1.42) filters.all = ['true'];
    ctx.send(200, await d.volumes.prune(filters));
  });
  r.add('GET', '/volumes/{name}', (ctx) => ctx.send(200, d.volumes.inspect(ctx.params.name)));
  r.add('DELETE', '/volumes/{name}', async (ctx) => {
    await d.volumes.remove(ctx.params.name, { force: ctx.bool('force') });
    ctx.send(204);
  });
  r.add('GET', '/volumes/{name}/export', async (ctx) => {
    const tar = await d.volumes.export(ctx.params.name);
    const out = ctx.stream(200, 'application/x-tar');
    tar.pipe(out as NodeJS.WritableStream);
    void ctx.clientGone().then(() => tar.destroy());
  });
  r.add('POST', '/volumes/{name}/import', async (ctx) => {
    await d.volumes.import(ctx.params.name, ctx.req);
    ctx.send(204);
  });
}
