import { parsePlatform, type Daemon } from '../../daemon/index.js';
import type { AuthConfig, ProgressMessage } from '../../types/index.js';
import { InvalidArgumentError, NotImplementedError, errorMessage } from '../../util/index.js';
import type { Router } from '../router.js';
import type { Context } from '../context.js';
import { changesParam, parseFilters } from '../query.js';

/**
 * Stream JSON progress lines; a failure after the headers went out becomes an in-band error line.
 * With `plainEarlyErrors` the headers wait for the first line, so a failure before any progress
 * is a plain error response: Docker does that for create/import (a bad change, a non-tar body)
 * but not for load, whose errors are always in-band.
 */
async function progress(ctx: Context, fn: (emit: (m: ProgressMessage) => void) => Promise<void>, opts: { plainEarlyErrors?: boolean; goEscapes?: boolean } = {}): Promise<void> {
  let out: ReturnType<Context['stream']> | undefined;
  const start = () => (out ??= ctx.stream(200, 'application/json'));
  if (!opts.plainEarlyErrors) start();
  // Go's encoder escapes <, > and & (the `>` of a progress bar arrives as \u003e): pull and push
  // lines are byte for byte dockerd's.
  const encode = opts.goEscapes ? (m: ProgressMessage) => JSON.stringify(m).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) : (m: ProgressMessage) => JSON.stringify(m);
  const emit = (m: ProgressMessage) => start().write(encode(m) + '\n');
  try {
    await fn(emit);
  } catch (err) {
    if (!out) throw err;
    emit({ errorDetail: { message: errorMessage(err) }, error: errorMessage(err) });
  } finally {
    out?.end();
  }
  if (!out) start().end();
}

/**
 * X-Registry-Auth: base64url (or plain base64) JSON of an AuthConfig. Absent, empty, `{}` or
 * undecodable means anonymous, as dockerd ignores what it cannot decode.
 */
export function registryAuth(ctx: Context): AuthConfig | undefined {
  const h = ctx.req.headers['x-registry-auth'];
  const v = Array.isArray(h) ? h[0] : h;
  if (!v) return undefined;
  try {
    const doc = JSON.parse(Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as unknown;
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
    const a = doc as Record<string, unknown>;
    const out: AuthConfig = {};
    for (const k of ['username', 'password', 'email', 'serveraddress', 'identitytoken', 'registrytoken'] as const) if (typeof a[k] === 'string' && a[k]) out[k] = a[k] as string;
    return Object.keys(out).length ? out : undefined;
  } catch {
    return undefined;
  }
}

export function imageRoutes(r: Router, d: Daemon): void {
  const images = d.images;

  r.add('GET', '/images/json', (ctx) => {
    ctx.send(200, images.list({ all: ctx.bool('all'), filters: parseFilters(ctx.str('filters')), digests: ctx.bool('digests') }));
  });

  r.add('POST', '/images/create', async (ctx) => {
    const fromSrc = ctx.str('fromSrc');
    const fromImage = ctx.str('fromImage');
    if (fromSrc !== undefined) {
      if (fromSrc !== '-') throw new NotImplementedError('importing from a URL is not supported; download the file and import it from standard input');
      const changes = changesParam(ctx.query);
      await progress(ctx, async (emit) => {
        const id = await images.import(ctx.req, {
          repo: ctx.str('repo') || undefined,
          tag: ctx.str('tag') || undefined,
          changes,
          message: ctx.str('message') || undefined,
          platform: ctx.str('platform') || undefined,
        });
        emit({ status: id });
      }, { plainEarlyErrors: true });
      return;
    }
    if (fromImage) {
      const p = ctx.str('platform');
      const platform = p ? parsePlatform(p) : undefined;
      const auth = registryAuth(ctx);
      const gone = new AbortController();
      void ctx.clientGone().then(() => gone.abort(new Error('the client went away')));
      await progress(ctx, (emit) => images.pull(fromImage, ctx.str('tag') || undefined, emit, { platform, auth, signal: gone.signal }), { plainEarlyErrors: true, goEscapes: true });
      return;
    }
    throw new InvalidArgumentError('fromImage or fromSrc is required');
  });

  r.add('POST', '/images/load', async (ctx) => {
    const quiet = ctx.bool('quiet');
    await progress(ctx, async (emit) => {
      await images.load(ctx.req, (m) => {
        if (!quiet || m.stream) emit(m);
      });
    });
  });

  const save = (ctx: Context, refs: string[]) => {
    if (refs.length === 0) throw new InvalidArgumentError('no images specified');
    for (const ref of refs) images.get(ref);
    const tar = images.save(refs);
    const out = ctx.stream(200, 'application/x-tar');
    tar.on('error', () => (out as unknown as { destroy(): void }).destroy());
    tar.pipe(out as NodeJS.WritableStream);
  };
  r.add('GET', '/images/get', (ctx) => save(ctx, ctx.query.getAll('names')));
  r.add('POST', '/images/prune', async (ctx) => {
    const filters = parseFilters(ctx.str('filters'));
    const dangling = filters.dangling?.[0];
    delete filters.dangling;
    ctx.send(200, await images.prune({ all: dangling === 'false' || dangling === '0', filters }));
  });

  r.add('POST', '/images/{name*}/push', async (ctx) => {
    const auth = registryAuth(ctx);
    await progress(ctx, (emit) => images.push(ctx.params.name, ctx.str('tag') || undefined, emit, { auth }), { plainEarlyErrors: true, goEscapes: true });
  });
  r.add('GET', '/images/{name*}/json', (ctx) => {
    const img = images.inspect(ctx.params.name);
    // Container and ContainerConfig went in API 1.45, VirtualSize in 1.44; older clients still get them, as from dockerd.
    if (ctx.version >= 1.45) {
      delete img.Container;
      delete img.ContainerConfig;
    }
    ctx.send(200, ctx.version < 1.44 ? { ...img, VirtualSize: img.Size } : img);
  });
  r.add('GET', '/images/{name*}/history', (ctx) => ctx.send(200, images.history(ctx.params.name)));
  r.add('GET', '/images/{name*}/get', (ctx) => save(ctx, [ctx.params.name]));
  r.add('POST', '/images/{name*}/tag', async (ctx) => {
    const repo = ctx.str('repo');
    if (!repo) throw new InvalidArgumentError('repository name must have at least one component');
    await images.tag(ctx.params.name, repo, ctx.str('tag') || undefined);
    ctx.send(201);
  });
  r.add('DELETE', '/images/{name*}', async (ctx) => {
    ctx.send(200, await images.remove(ctx.params.name, { force: ctx.bool('force'), noPrune: ctx.bool('noprune') }));
  });
}
