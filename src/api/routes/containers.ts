import { PassThrough } from 'node:stream';
import type { Daemon } from '../../daemon/index.js';
import type { ContainerCreateRequest, ContainerConfig, ContainerPathStat, ContainerUpdateRequest, EndpointSettings } from '../../types/index.js';
import { InvalidArgumentError } from '../../util/index.js';
import type { Router } from '../router.js';
import { validateShape, CREATE_CONTAINER, CONTAINER_CONFIG } from '../validate.js';
import { concatenatesFrames, frame, logPayload, MULTIPLEXED_STREAM, RAW_STREAM } from '../stream.js';
import { hijackForAttach } from './attach.js';
import { archivePath, changesParam, nsToDate, parseFilters, parseTimestampNs } from '../query.js';

const pathStatHeader = (stat: ContainerPathStat) => ({ 'X-Docker-Container-Path-Stat': Buffer.from(JSON.stringify(stat)).toString('base64') });

export function containerRoutes(r: Router, d: Daemon): void {
  const c = d.containers;

  r.add('POST', '/containers/create', async (ctx) => {
    const body = await ctx.json<ContainerCreateRequest>();
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new InvalidArgumentError('config cannot be empty in order to create a container');
    validateShape(body, CREATE_CONTAINER);
    // StartInterval came with API 1.44; older clients' values are ignored, as by dockerd.
    if (ctx.version < 1.44 && body.Healthcheck) body.Healthcheck.StartInterval = 0;
    const macWarning = migrateMacAddress(body, ctx.version);
    const res = await c.create(body, ctx.str('name') || undefined);
    ctx.send(201, macWarning ? { ...res, Warnings: [...res.Warnings, macWarning] } : res);
  });

  r.add('GET', '/containers/json', async (ctx) => {
    const list = await c.list({
      all: ctx.bool('all'),
      limit: ctx.int('limit'),
      size: ctx.bool('size'),
      filters: parseFilters(ctx.str('filters')),
    });
    ctx.send(200, list);
  });

  r.add('POST', '/containers/prune', async (ctx) => ctx.send(200, await c.prune(parseFilters(ctx.str('filters')))));

  r.add('GET', '/containers/{id}/json', async (ctx) => ctx.send(200, await c.inspect(ctx.params.id, { size: ctx.bool('size') })));

  r.add('GET', '/containers/{id}/top', async (ctx) => ctx.send(200, await c.top(ctx.params.id, ctx.str('ps_args') || undefined)));

  r.add('GET', '/containers/{id}/stats', async (ctx) => {
    const stream = ctx.bool('stream', true);
    const oneShot = ctx.bool('one-shot');
    if (oneShot && stream) throw new InvalidArgumentError('cannot have stream=true and one-shot=true');
    const abort = new AbortController();
    const samples = c.stats(ctx.params.id, { stream, oneShot, signal: abort.signal });
    // The first sample decides the status: an unknown container is a 404 before any header goes out.
    const first = await samples.next();
    const out = ctx.stream(200, 'application/json');
    void ctx.clientGone().then(() => abort.abort());
    try {
      if (!first.done) out.write(JSON.stringify(first.value) + '\n');
      for await (const s of samples) out.write(JSON.stringify(s) + '\n');
    } finally {
      abort.abort();
      out.end();
    }
  });

  r.add('POST', '/containers/{id}/update', async (ctx) => {
    const body = (await ctx.json<ContainerUpdateRequest>()) ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) throw new InvalidArgumentError('invalid update request: a JSON object is required');
    ctx.send(200, await c.update(ctx.params.id, body));
  });

  r.add('GET', '/containers/{id}/changes', async (ctx) => {
    const changes = await c.changes(ctx.params.id);
    ctx.send(200, changes.length ? changes : null);
  });

  r.add('GET', '/containers/{id}/export', async (ctx) => {
    const tar = await c.export(ctx.params.id);
    const out = ctx.stream(200, 'application/x-tar');
    tar.pipe(out as NodeJS.WritableStream);
    void ctx.clientGone().then(() => tar.destroy());
  });

  // HEAD before GET: the router answers a HEAD with the first GET route of the same path otherwise.
  r.add('HEAD', '/containers/{id}/archive', async (ctx) => {
    ctx.send(200, undefined, pathStatHeader(await c.statPath(ctx.params.id, archivePath(ctx.query))));
  });

  r.add('GET', '/containers/{id}/archive', async (ctx) => {
    const { stat, tar } = await c.archivePath(ctx.params.id, archivePath(ctx.query));
    const out = ctx.stream(200, 'application/x-tar', pathStatHeader(stat));
    tar.pipe(out as NodeJS.WritableStream);
    // Headers are out: a failure mid-archive can only cut the body short, which the client sees as a broken tar.
    tar.once('error', () => (out as unknown as { destroy(): void }).destroy());
    void ctx.clientGone().then(() => tar.destroy());
  });

  r.add('PUT', '/containers/{id}/archive', async (ctx) => {
    const path = archivePath(ctx.query);
    // The extraction may stop early (a bad entry); the rest of the upload is then drained, not
    // left to close the connection before the client has read the error.
    const body = new PassThrough();
    ctx.req.pipe(body);
    try {
      await c.extractToDir(ctx.params.id, path, body, { noOverwriteDirNonDir: ctx.bool('noOverwriteDirNonDir'), copyUIDGID: ctx.bool('copyUIDGID') });
    } catch (err) {
      ctx.req.unpipe(body);
      ctx.req.resume();
      throw err;
    }
    ctx.send(200);
  });

  r.add('GET', '/containers/{id}/logs', async (ctx) => {
    const stdout = ctx.bool('stdout');
    const stderr = ctx.bool('stderr');
    if (!stdout && !stderr) throw new InvalidArgumentError('Bad parameters: you must choose at least one stream');
    // Docker documents that a negative or non-integer tail means "all".
    const tailRaw = ctx.str('tail') ?? '';
    const tail = /^\d+$/.test(tailRaw) ? Number(tailRaw) : -1;
    const abort = new AbortController();
    const { tty, entries } = c.logs(ctx.params.id, {
      follow: ctx.bool('follow'),
      stdout,
      stderr,
      since: nsToDate(parseTimestampNs(ctx.str('since'))),
      until: nsToDate(parseTimestampNs(ctx.str('until'))),
      tail,
      signal: abort.signal,
    });
    const timestamps = ctx.bool('timestamps');
    const merge = concatenatesFrames(ctx.req.headers['user-agent']);
    const out = ctx.stream(200, tty ? RAW_STREAM : MULTIPLEXED_STREAM);
    void ctx.clientGone().then(() => abort.abort());
    try {
      for await (const batch of entries) {
        const ok = out.write(logPayload(batch, { tty, timestamps, merge }));
        if (!ok) await new Promise((res) => (out as NodeJS.WritableStream).once('drain', res));
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    } finally {
      out.end();
    }
  });

  r.add('POST', '/containers/{id}/resize', async (ctx) => {
    const h = ctx.int('h');
    const w = ctx.int('w');
    if (h === undefined || w === undefined || h < 0 || w < 0) throw new InvalidArgumentError('invalid resize parameters: h and w are required');
    await c.resize(ctx.params.id, h, w);
    ctx.send(200);
  });

  r.add('POST', '/containers/{id}/start', async (ctx) => {
    await c.start(ctx.params.id);
    ctx.send(204);
  });

  r.add('POST', '/containers/{id}/stop', async (ctx) => {
    await c.stop(ctx.params.id, { signal: ctx.str('signal') || undefined, timeout: ctx.int('t') });
    ctx.send(204);
  });

  r.add('POST', '/containers/{id}/restart', async (ctx) => {
    await c.restart(ctx.params.id, { signal: ctx.str('signal') || undefined, timeout: ctx.int('t') });
    ctx.send(204);
  });

  r.add('POST', '/containers/{id}/kill', async (ctx) => {
    await c.kill(ctx.params.id, ctx.str('signal') || 'SIGKILL');
    ctx.send(204);
  });

  r.add('POST', '/containers/{id}/pause', async (ctx) => {
    await c.pause(ctx.params.id);
    ctx.send(204);
  });

  r.add('POST', '/containers/{id}/unpause', async (ctx) => {
    await c.unpause(ctx.params.id);
    ctx.send(204);
  });

  r.add('POST', '/containers/{id}/rename', async (ctx) => {
    const name = ctx.str('name');
    if (!name) throw new InvalidArgumentError('Neither old nor new names may be empty');
    await c.rename(ctx.params.id, name);
    ctx.send(204);
  });

  r.add('POST', '/containers/{id}/wait', async (ctx) => {
    const condition = (ctx.str('condition') || 'not-running') as 'not-running' | 'next-exit' | 'removed';
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw new InvalidArgumentError(`invalid condition: "${condition}"`);
    const code = c.wait(ctx.params.id, condition);
    // Headers go out at once so a client knows the wait is registered before it starts the container.
    const out = ctx.stream(200, 'application/json');
    out.write(JSON.stringify({ StatusCode: await code, Error: null }) + '\n');
    out.end();
  });

  // A link's name has a slash in it (`parent/alias`), as moby's `{name:.*}` allows.
  r.add('DELETE', '/containers/{id*}', async (ctx) => {
    if (ctx.bool('link')) await c.removeLink(ctx.params.id);
    else await c.remove(ctx.params.id, { force: ctx.bool('force'), volumes: ctx.bool('v') });
    ctx.send(204);
  });

  r.add('POST', '/containers/{id}/attach', async (ctx) => {
    const id = c.resolveId(ctx.params.id);
    const tty = c.isTty(id);
    const stdin = ctx.bool('stdin');
    const { io, conn } = hijackForAttach(ctx, tty, stdin);
    try {
      await c.attach(
        id,
        {
          stdin,
          stdout: ctx.bool('stdout'),
          stderr: ctx.bool('stderr'),
          logs: ctx.bool('logs'),
          stream: ctx.bool('stream'),
          detachKeys: ctx.str('detachKeys') || undefined,
        },
        io,
      );
    } finally {
      conn.end();
    }
  });

  r.add('POST', '/commit', async (ctx) => {
    const container = ctx.str('container');
    if (!container) throw new InvalidArgumentError('No container specified');
    const config = await ctx.json<ContainerConfig>();
    if (config) validateShape(config, CONTAINER_CONFIG);
    const changes = changesParam(ctx.query);
    const id = await c.commit(container, {
      repo: ctx.str('repo') || undefined,
      tag: ctx.str('tag') || undefined,
      comment: ctx.str('comment') || undefined,
      author: ctx.str('author') || undefined,
      pause: ctx.bool('pause', true),
      changes,
      config: config ?? undefined,
    });
    ctx.send(201, { Id: id });
  });
}

/**
 * The container-wide `MacAddress` (deprecated in API 1.44, what docker-py's `mac_address=` and
 * `docker run --mac-address` with older CLIs send) moves to the endpoint of the container's
 * main network, as moby's router does (handleMACAddressBC); the endpoint's address is what the
 * network service assigns. Returns the deprecation warning Docker adds for 1.44+ clients.
 */
export function migrateMacAddress(body: ContainerCreateRequest, version: number): string | undefined {
  const mac = body.MacAddress;
  const eps = body.NetworkingConfig?.EndpointsConfig;
  if (!mac) {
    // Before 1.44 an endpoint's own MacAddress did not exist; an old client's is not honoured.
    if (version < 1.44) for (const ep of Object.values(eps ?? {})) if (ep) delete ep.MacAddress;
    return undefined;
  }
  const given = body.HostConfig?.NetworkMode ?? '';
  const mode = given === '' || given === 'default' ? 'bridge' : given;
  const privateMode = mode === 'host' || mode === 'none' || mode.startsWith('container:');
  if (privateMode) {
    if (version < 1.44) throw new InvalidArgumentError('conflicting options: mac-address and the network mode');
  } else {
    let ep: EndpointSettings | undefined;
    const entries = Object.entries(eps ?? {});
    if (entries.length === 0) {
      ep = {};
      body.NetworkingConfig = { ...(body.NetworkingConfig ?? {}), EndpointsConfig: { [mode]: ep } };
    } else if (version < 1.44) {
      ep = entries[0][1] ?? undefined;
    } else {
      ep = eps?.[mode] ?? undefined;
      if (!ep) throw new InvalidArgumentError('unable to migrate container-wide MAC address to a specific network: HostConfig.NetworkMode must match the identity of a network in NetworkSettings.Networks');
    }
    if (ep) {
      if (version < 1.44 || !ep.MacAddress) ep.MacAddress = mac;
      else if (ep.MacAddress.toLowerCase() !== mac.toLowerCase()) {
        throw new InvalidArgumentError('the container-wide MAC address must match the endpoint-specific MAC address for the main network, or be left empty');
      }
    }
  }
  return version >= 1.44 ? 'The container-wide MacAddress field is now deprecated. It should be specified in EndpointsConfig instead.' : undefined;
}
