import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Daemon } from '../daemon/index.js';
import { errorMessage, type Logger } from '../util/index.js';
import { API_VERSION, MIN_API_VERSION } from '../types/index.js';
import { Context } from './context.js';
import { Router } from './router.js';
import { errorBody, httpStatus } from './errors.js';
import { containerRoutes } from './routes/containers.js';
import { execRoutes } from './routes/exec.js';
import { imageRoutes } from './routes/images.js';
import { networkRoutes } from './routes/networks.js';
import { volumeRoutes } from './routes/volumes.js';
import { buildRoutes } from './routes/build.js';
import { systemRoutes } from './routes/system.js';

const VERSION_PREFIX = /^\/v(\d+\.\d+)(\/.*)$/;

export function buildRouter(daemon: Daemon): Router {
  const r = new Router();
  systemRoutes(r, daemon);
  containerRoutes(r, daemon);
  execRoutes(r, daemon);
  imageRoutes(r, daemon);
  networkRoutes(r, daemon);
  volumeRoutes(r, daemon);
  buildRoutes(r, daemon);
  return r;
}

function compareVersions(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am - bm || an - bn;
}

/** The Engine API as an http.Server; listeners (unix, TCP, TLS) are attached by the caller. */
export function createApiHandler(daemon: Daemon, logger: Logger) {
  const router = buildRouter(daemon);

  async function dispatch(req: IncomingMessage, target: { res: ServerResponse } | { socket: Duplex; head: Buffer }) {
    const url = new URL(req.url ?? '/', 'http://wharf');
    let path = url.pathname.replace(/\/+$/, '') || '/';
    let version = API_VERSION;
    const m = VERSION_PREFIX.exec(path);
    if (m) {
      version = m[1];
      path = m[2];
    }
    const ctx = new Context(req, path, url.searchParams, Number(version), target);
    const started = performance.now();
    try {
      if (compareVersions(version, API_VERSION) > 0) {
        return ctx.send(400, { message: `client version ${version} is too new. Maximum supported API version is ${API_VERSION}` });
      }
      if (compareVersions(version, MIN_API_VERSION) < 0) {
        return ctx.send(400, {
          message: `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
        });
      }
      const found = router.match(req.method ?? 'GET', path);
      if (found === undefined) return ctx.send(404, { message: 'page not found' });
      if (found === 'method') return ctx.send(405, { message: 'method not allowed' });
      ctx.params = found.params;
      await found.handler(ctx);
    } catch (err) {
      const status = httpStatus(err);
      if (status >= 500) logger.error('request failed', { method: req.method, path, error: errorMessage(err) });
      else logger.debug('request rejected', { method: req.method, path, status, error: errorMessage(err) });
      if (!ctx.responded) ctx.send(status, status === 304 ? undefined : { message: errorMessage(err) });
    } finally {
      logger.debug('request', { method: req.method, path: req.url, ms: Math.round((performance.now() - started) * 10) / 10 });
    }
  }

  return {
    request: (req: IncomingMessage, res: ServerResponse) => void dispatch(req, { res }),
    upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => {});
      void dispatch(req, { socket, head });
    },
  };
}

export function createApiServer(daemon: Daemon, logger: Logger): Server {
  const handler = createApiHandler(daemon, logger);
  // Half-open sockets matter: a client closes its write side when stdin ends and still reads output.
  const server = createServer({ allowHalfOpen: true } as never, handler.request);
  server.on('upgrade', handler.upgrade);
  server.keepAliveTimeout = 0;
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  return server;
}

export { errorBody };
