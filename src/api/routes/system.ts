import type { Daemon } from '../../daemon/index.js';
import { checkFilterKeys } from '../../daemon/index.js';
import type { Router } from '../router.js';
import type { Context } from '../context.js';
import { parseFilters, parseTimestampNs } from '../query.js';

export function systemRoutes(r: Router, d: Daemon): void {
  const ping = (ctx: Context) =>
    ctx.send(200, ctx.req.method === 'HEAD' ? undefined : 'OK', {
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      'Content-Type': 'text/plain; charset=utf-8',
      'Builder-Version': '1',
    });
  r.add('GET', '/_ping', ping);
  r.add('HEAD', '/_ping', ping);
  r.add('GET', '/version', async (ctx) => ctx.send(200, await d.system.version()));
  r.add('GET', '/info', async (ctx) => ctx.send(200, await d.system.info()));
  r.add('GET', '/system/df', async (ctx) => ctx.send(200, await d.system.df()));

  r.add('GET', '/events', (ctx) => {
    const filters = parseFilters(ctx.str('filters'));
    const sinceNs = parseTimestampNs(ctx.str('since'));
    const untilNs = parseTimestampNs(ctx.str('until'));
    const out = ctx.stream(200, 'application/json');
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    if (untilNs !== undefined && untilNs <= nowNs) {
      for (const e of d.events.replay(sinceNs, untilNs, filters)) out.write(JSON.stringify(e) + '\n');
      out.end();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const unsubscribe = d.events.subscribe((e) => out.write(JSON.stringify(e) + '\n'), { sinceNs, filters });
    const finish = () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
      out.end();
    };
    if (untilNs !== undefined) timer = setTimeout(finish, Number((untilNs - nowNs) / 1_000_000n));
    void ctx.clientGone().then(finish);
  });

  // Parts of `docker system prune` that belong to later subsystems: nothing to prune yet, but a
  // filter Docker would refuse is refused here too, so `system prune` fails the same way.
  const checkFilters = (ctx: Context, known: string[]) => checkFilterKeys(parseFilters(ctx.str('filters')), known);
  r.add('POST', '/networks/prune', (ctx) => {
    checkFilters(ctx, ['until', 'label', 'label!']);
    ctx.send(200, { NetworksDeleted: null });
  });
  r.add('POST', '/volumes/prune', (ctx) => {
    checkFilters(ctx, ['label', 'label!', 'all']);
    ctx.send(200, { VolumesDeleted: null, SpaceReclaimed: 0 });
  });
  r.add('POST', '/build/prune', (ctx) => ctx.send(200, { CachesDeleted: null, SpaceReclaimed: 0 }));
  r.add('GET', '/volumes', (ctx) => ctx.send(200, { Volumes: [], Warnings: null }));
  r.add('GET', '/networks', (ctx) =>
    ctx.send(200, [
      { Name: 'none', Id: 'none', Created: '0001-01-01T00:00:00Z', Scope: 'local', Driver: 'null', EnableIPv6: false, IPAM: { Driver: 'default', Options: null, Config: [] }, Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false, Containers: {}, Options: {}, Labels: {} },
      { Name: 'host', Id: 'host', Created: '0001-01-01T00:00:00Z', Scope: 'local', Driver: 'host', EnableIPv6: false, IPAM: { Driver: 'default', Options: null, Config: [] }, Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false, Containers: {}, Options: {}, Labels: {} },
    ]),
  );
}
