import type { Daemon } from '../../daemon/index.js';
import type { Router } from '../router.js';
import type { Context } from '../context.js';
import { parseFilters, parseTimestampNs } from '../query.js';
import { InvalidArgumentError, UnavailableError } from '../../util/index.js';
import type { AuthConfig } from '../../types/index.js';

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
  r.add('POST', '/auth', async (ctx) => {
    const body = await ctx.json<AuthConfig>();
    if (!body || typeof body !== 'object') throw new InvalidArgumentError('the body must be an AuthConfig object');
    ctx.send(200, await d.images.login(body));
  });

  // wharf has no swarm mode; it answers as a dockerd that never joined one (503), which clients
  // such as docker-py's leave_swarm(force=True) and `docker node ls` expect.
  const notManager = () => {
    throw new UnavailableError('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.');
  };
  for (const path of ['/swarm', '/swarm/unlockkey', '/nodes', '/services', '/tasks', '/secrets', '/configs']) r.add('GET', path, notManager);
  r.add('POST', '/swarm/leave', () => {
    throw new UnavailableError('This node is not part of a swarm');
  });

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
}
