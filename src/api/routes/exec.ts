import type { Daemon } from '../../daemon/index.js';
import type { ExecCreateRequest, ExecStartRequest } from '../../types/index.js';
import { InvalidArgumentError } from '../../util/index.js';
import type { Router } from '../router.js';
import { foldKeys, validateShape, EXEC_CREATE } from '../validate.js';
import { hijackForAttach } from './attach.js';

export function execRoutes(r: Router, d: Daemon): void {
  r.add('POST', '/containers/{id}/exec', async (ctx) => {
    const body = await ctx.json<ExecCreateRequest>();
    if (!body) throw new InvalidArgumentError('No exec command specified');
    foldKeys(body, EXEC_CREATE);
    validateShape(body, EXEC_CREATE);
    ctx.send(201, { Id: d.execs.create(ctx.params.id, body) });
  });

  r.add('POST', '/exec/{id}/start', async (ctx) => {
    const body = (await ctx.json<ExecStartRequest>()) ?? {};
    const id = ctx.params.id;
    const tty = body.Tty ?? d.execs.isTty(id);
    if (body.Detach) {
      await d.execs.start(id, body);
      return ctx.send(200);
    }
    const stdin = d.execs.inspect(id).OpenStdin;
    // Validate before hijacking so errors still reach the client as JSON.
    const { io, conn } = hijackForAttach(ctx, tty, stdin);
    try {
      const { done } = await d.execs.start(id, body, io);
      await done;
    } catch (err) {
      // The connection is already hijacked: report the failure in-band, on stdout like Docker
      // does, so `out=$(docker exec ...)` captures the same text under both engines.
      const msg = Buffer.from(`${err instanceof Error ? err.message : String(err)}\r\n`);
      io.write('stdout', msg);
    } finally {
      conn.end();
    }
  });

  r.add('POST', '/exec/{id}/resize', async (ctx) => {
    const h = ctx.int('h');
    const w = ctx.int('w');
    if (h === undefined || w === undefined) throw new InvalidArgumentError('invalid resize parameters: h and w are required');
    await d.execs.resize(ctx.params.id, h, w);
    ctx.send(200);
  });

  r.add('GET', '/exec/{id}/json', (ctx) => ctx.send(200, d.execs.inspect(ctx.params.id)));
}
