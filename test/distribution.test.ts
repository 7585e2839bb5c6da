/**
 * The distribution client (src/image/distribution) against real registries on loopback:
 * Debian's docker-registry (plain, htpasswd, TLS), a forward/CONNECT proxy and mirrors made by
 * the test, and a small fake registry with a token server for the Bearer flow.
 */
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { MEDIA_TYPES } from '../src/image/index.js';
import { Registries, RegistryError, decompressLayer, parseRemoteRef, type RegistryOptions, type Repository } from '../src/image/distribution/index.js';
import { startRegistryPeer, type RegistryPeer } from './registry-peer.js';

const NO_CERTS = join(tmpdir(), 'wharf-no-certs.d');
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function registries(opts: Partial<RegistryOptions> = {}): Registries {
  const r = new Registries({ mirrors: [], insecure: [], certsDir: NO_CERTS, env: {}, ...opts });
  after(() => r.close());
  return r;
}

async function peer(opts: Parameters<typeof startRegistryPeer>[0] = {}): Promise<RegistryPeer> {
  const p = await startRegistryPeer(opts);
  after(() => p.stop());
  return p;
}

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface PushedImage {
  layer: Buffer;
  layerDigest: string;
  manifest: Buffer;
  manifestDigest: string;
}

/** Pushes a one-layer OCI image (gzip layer, config, manifest) under `tag`. */
async function pushImage(repo: Repository, tag: string, layerBytes = 300_000): Promise<PushedImage> {
  const layer = gzipSync(randomBytes(layerBytes));
  const layerDigest = sha(layer);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  assert.equal(await repo.pushBlob(Readable.from([layer.subarray(0, 1000), layer.subarray(1000)]), () => layerDigest), layerDigest);
  await repo.pushBlob(Readable.from([config]), () => sha(config));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config: { mediaType: MEDIA_TYPES.config, digest: sha(config), size: config.length },
      layers: [{ mediaType: MEDIA_TYPES.layerGzip, digest: layerDigest, size: layer.length }],
    }),
  );
  const manifestDigest = await repo.putManifest(tag, MEDIA_TYPES.manifest, manifest);
  assert.equal(manifestDigest, sha(manifest));
  return { layer, layerDigest, manifest, manifestDigest };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * A forward (absolute-URI) and CONNECT proxy that resolves `registry.test` to 127.0.0.1 and
 * refuses every other name with 403; it records what it was asked for.
 */
async function startProxy(): Promise<{ url: string; seen: string[]; stop(): Promise<void> }> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const target = (host: string) => (host === 'registry.test' ? '127.0.0.1' : undefined);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/');
    seen.push(`${req.method} ${url.host}`);
    const ip = target(url.hostname);
    if (!ip) {
      res.writeHead(403).end('not for this proxy');
      return;
    }
    const up = httpRequest({ host: ip, port: url.port || 80, method: req.method, path: url.pathname + url.search, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    seen.push(`CONNECT ${req.url}`);
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    const [host, port] = (req.url ?? '').split(':');
    const ip = target(host);
    if (!ip) {
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const up = netConnect(Number(port), ip, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    up.on('error', () => client.destroy());
  });
  const port = await listen(server);
  const stop = async () => {
    for (const s of sockets) s.destroy();
    await closeServer(server);
  };
  after(stop);
  return { url: `http://127.0.0.1:${port}`, seen, stop };
}

describe('docker-registry over plain HTTP on loopback (insecure by default)', () => {
  test('push then pull: blobs, manifest by tag and by digest, ranges, tags, mounts', async () => {
    const p = await peer();
    const regs = registries();
    const repo = regs.repository(parseRemoteRef(`${p.host}/ides/gateway:1`), undefined, ['pull', 'push']);
    const progress: number[] = [];
    const big = randomBytes(5 * 1024 * 1024 + 17);
    assert.equal(await repo.statBlob(sha(big)), undefined);
    assert.equal(await repo.pushBlob(Readable.from([big]), () => sha(big), { onProgress: (n) => progress.push(n) }), sha(big));
    assert.equal(progress.at(-1), big.length);
    assert.equal(await repo.statBlob(sha(big)), big.length);

    const img = await pushImage(repo, '1');
    const byTag = await repo.getManifest('1');
    assert.equal(byTag.digest, img.manifestDigest);
    assert.equal(byTag.mediaType, MEDIA_TYPES.manifest);
    assert.deepEqual(byTag.bytes, img.manifest);
    assert.deepEqual((await repo.getManifest(img.manifestDigest)).bytes, img.manifest);

    const whole = await repo.getBlob(img.layerDigest);
    assert.equal(whole.size, img.layer.length);
    assert.deepEqual(await collect(whole.body), img.layer);
    const rest = await repo.getBlob(img.layerDigest, { offset: 1234 });
    assert.equal(rest.size, img.layer.length);
    assert.deepEqual(await collect(rest.body), img.layer.subarray(1234));
    assert.equal((await collect(decompressLayer((await repo.getBlob(img.layerDigest)).body, MEDIA_TYPES.layerGzip))).length, 300_000);

    await pushImage(repo, '2');
    assert.deepEqual((await repo.tags()).sort(), ['1', '2']);

    const other = regs.repository(parseRemoteRef(`${p.host}/ides/other`), undefined, ['pull', 'push']);
    assert.equal(await other.mountBlob(img.layerDigest, 'ides/gateway'), true);
    assert.equal(await other.statBlob(img.layerDigest), img.layer.length);
    assert.equal(await other.mountBlob(sha(Buffer.from('never pushed')), 'ides/gateway'), false);
  });

  test("registry errors and unreachable registries read like dockerd's", async () => {
    const p = await peer();
    const regs = registries();
    const repo = regs.repository(parseRemoteRef(`${p.host}/a/b`), undefined, ['pull']);
    await assert.rejects(repo.getManifest('nope'), (err: RegistryError) => {
      assert.ok(err instanceof RegistryError);
      assert.equal(err.status, 404);
      assert.match(err.errorCode ?? '', /^(MANIFEST_UNKNOWN|NAME_UNKNOWN)$/);
      assert.match(err.message, /^(manifest unknown: manifest unknown|name unknown: repository name not known to registry)$/);
      return true;
    });
    await assert.rejects(repo.getBlob(sha(Buffer.from('x'))), { message: 'unknown blob', errorCode: 'BLOB_UNKNOWN', status: 404 });
    assert.deepEqual(await repo.statBlob(sha(Buffer.from('x'))), undefined);
    await assert.rejects(repo.getManifest(sha(Buffer.from('x'))), { status: 404 });

    // A stopped registry: https is tried first, then plain http (loopback is insecure).
    const port = p.port;
    await p.stop();
    await assert.rejects(regs.repository(parseRemoteRef(`127.0.0.1:${port}/a/b`), undefined, ['pull']).getManifest('latest'), {
      message: `Get "http://127.0.0.1:${port}/v2/": dial tcp 127.0.0.1:${port}: connect: connection refused`,
      status: 0,
    });
  });

  test('a failing source stream fails the push with its own error and cancels the upload', async () => {
    const p = await peer();
    const repo = registries().repository(parseRemoteRef(`${p.host}/x/y`), undefined, ['pull', 'push']);
    const body = new Readable({ read() {} });
    body.push(randomBytes(100_000));
    setTimeout(() => body.destroy(new Error('disk read failed')), 100);
    await assert.rejects(repo.pushBlob(body, () => 'sha256:' + '0'.repeat(64)), /disk read failed/);
  });
});

describe('docker-registry with htpasswd (Basic, no token server)', () => {
  test('anonymous is refused; credentials pull and push; login checks them', async () => {
    const p = await peer({ htpasswd: { user: 'alice', pass: 's3cret' } });
    const regs = registries();
    const name = parseRemoteRef(`${p.host}/team/app`);
    await assert.rejects(regs.repository(name, undefined, ['pull']).getManifest('latest'), {
      message: 'unauthorized: authentication required',
      status: 401,
      errorCode: 'UNAUTHORIZED',
    });
    const auth = { username: 'alice', password: 's3cret', serveraddress: p.host };
    const repo = regs.repository(name, auth, ['pull', 'push']);
    const img = await pushImage(repo, 'v1');
    assert.equal((await regs.repository(name, auth, ['pull']).getManifest('v1')).digest, img.manifestDigest);
    await assert.rejects(regs.repository(name, { username: 'alice', password: 'wrong' }, ['pull']).getManifest('v1'), { status: 401, errorCode: 'UNAUTHORIZED' });

    assert.deepEqual(await regs.login(auth), { Status: 'Login Succeeded', IdentityToken: '' });
    assert.deepEqual(await regs.login({ ...auth, serveraddress: `http://${p.host}/` }), { Status: 'Login Succeeded', IdentityToken: '' });
    await assert.rejects(regs.login({ ...auth, password: 'wrong' }), {
      message: `login attempt to http://${p.host}/v2/ failed with status: 401 Unauthorized`,
      status: 401,
    });
  });
});

describe('TLS, certs.d and proxies (registry.test reached through the test proxy)', () => {
  test('a certs.d CA makes TLS verify; without it the registry is refused with a clear error', async () => {
    const p = await peer({ tls: true });
    const proxy = await startProxy();
    const host = `registry.test:${p.port}`;
    const env = { HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url };
    const trusted = registries({ certsDir: p.certsDir!, env });
    const repo = trusted.repository(parseRemoteRef(`${host}/secure/app`), undefined, ['pull', 'push']);
    const img = await pushImage(repo, 'v1');
    assert.equal((await repo.getManifest('v1')).digest, img.manifestDigest);
    assert.ok(proxy.seen.includes(`CONNECT ${host}`), proxy.seen.join(', '));
    assert.ok(!proxy.seen.some((s) => s.startsWith('GET ')), 'https never goes to the proxy as plain requests');

    const untrusted = registries({ env });
    await assert.rejects(untrusted.repository(parseRemoteRef(`${host}/secure/app`), undefined, ['pull']).getManifest('v1'), {
      message: `Get "https://${host}/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority`,
      status: 0,
    });
    // Listed as insecure: TLS without verification.
    const insecure = registries({ env, insecure: [host] });
    assert.equal((await insecure.repository(parseRemoteRef(`${host}/secure/app`), undefined, ['pull']).getManifest('v1')).digest, img.manifestDigest);
  });

  test('a plain HTTP registry that is not insecure is refused as dockerd refuses it; listed, it is used over the forward proxy', async () => {
    const p = await peer();
    const proxy = await startProxy();
    const host = `registry.test:${p.port}`;
    const env = { HTTPS_PROXY: proxy.url, http_proxy: proxy.url };
    await assert.rejects(registries({ env }).repository(parseRemoteRef(`${host}/a/b`), undefined, ['pull']).getManifest('x'), {
      message: `Get "https://${host}/v2/": http: server gave HTTP response to HTTPS client`,
    });
    const regs = registries({ env, insecure: ['10.99.0.0/16', host] });
    const repo = regs.repository(parseRemoteRef(`${host}/a/b`), undefined, ['pull', 'push']);
    const img = await pushImage(repo, 'x');
    assert.equal((await repo.getManifest('x')).digest, img.manifestDigest);
    assert.ok(proxy.seen.includes(`GET ${host}`), proxy.seen.join(', '));
  });

  test('NO_PROXY keeps a name off the proxy; loopback never uses it', async () => {
    const p = await peer();
    const proxy = await startProxy();
    const env = { HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url, NO_PROXY: 'example.org,.test' };
    const regs = registries({ env, insecure: [`registry.test:${p.port}`] });
    await assert.rejects(regs.repository(parseRemoteRef(`registry.test:${p.port}/a/b`), undefined, ['pull']).getManifest('x'), /lookup registry\.test/);
    const repo = regs.repository(parseRemoteRef(`${p.host}/a/b`), undefined, ['pull', 'push']);
    await pushImage(repo, 'x');
    assert.equal(proxy.seen.length, 0, proxy.seen.join(', '));
  });
});

describe('mirrors (docker.io names only)', () => {
  test('the first mirror is down, the second serves; pushes never go to mirrors', async () => {
    const down = await peer();
    const downUrl = down.url;
    await down.stop();
    const mirror = await peer();
    const seed = registries().repository({ domain: mirror.host, path: 'library/busybox' }, undefined, ['pull', 'push']);
    const img = await pushImage(seed, 'latest');

    const proxy = await startProxy();
    const regs = registries({ mirrors: [downUrl, `${mirror.url}/`], env: { HTTPS_PROXY: proxy.url } });
    const hub = regs.repository(parseRemoteRef('busybox'), undefined, ['pull']);
    const m = await hub.getManifest('latest');
    assert.equal(m.digest, img.manifestDigest);
    assert.deepEqual(await collect((await hub.getBlob(img.layerDigest)).body), img.layer);
    assert.deepEqual(await hub.tags(), ['latest']);
    assert.equal(proxy.seen.length, 0, 'Docker Hub itself was not needed');

    // A push client asks Docker Hub (here: refused by the proxy), never a mirror.
    const pusher = regs.repository(parseRemoteRef('busybox'), undefined, ['pull', 'push']);
    await assert.rejects(pusher.statBlob(img.layerDigest), (err: RegistryError) => {
      assert.match(err.message, /^Head "https:\/\/registry-1\.docker\.io\/v2\/|^Get "https:\/\/registry-1\.docker\.io\/v2\/"/);
      return true;
    });
    assert.ok(proxy.seen.includes('CONNECT registry-1.docker.io:443'), proxy.seen.join(', '));
    await assert.rejects(regs.repository(parseRemoteRef(`${mirror.host}/library/busybox`), undefined, ['pull']).getManifest('nope'), { status: 404 });
  });
});

/**
 * A registry with a token server, in this process: /v2/ challenges with Bearer, /token hands
 * out tokens (Basic creds or a refresh token), and the API accepts a token only for its scope.
 */
async function startFakeRegistry() {
  const log: { method: string; path: string; auth?: string; body?: string }[] = [];
  const tokens = new Map<string, string>(); // token -> scope
  let issued = 0;
  const users: Record<string, string> = { bob: 'pw' };
  const blob = randomBytes(50_000);
  const blobDigest = sha(blob);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest, config: {}, layers: [] }));
  const tagsAll = Array.from({ length: 7 }, (_, i) => `t${i}`);
  let port = 0;
  let cdnPort = 0;
  const realm = () => `http://127.0.0.1:${port}/token`;
  const challenge = (res: ServerResponse, scope?: string, error?: string) => {
    let v = `Bearer realm="${realm()}",service="fake-registry"`;
    if (scope) v += `,scope="${scope}"`;
    if (error) v += `,error="${error}"`;
    res.writeHead(401, { 'www-authenticate': v, 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] }));
  };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    log.push({ method: req.method ?? '', path: url.pathname + url.search, auth: req.headers.authorization, body: Buffer.concat(chunks).toString() });
    if (url.pathname === '/token') {
      let account: string | undefined;
      let scopes: string[];
      if (req.method === 'POST') {
        const form = new URLSearchParams(Buffer.concat(chunks).toString());
        if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== 'refresh-bob') {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"invalid refresh token"}');
          return;
        }
        account = 'bob';
        scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      } else {
        const basic = req.headers.authorization?.replace(/^Basic /, '');
        if (basic) {
          const [u, p] = Buffer.from(basic, 'base64').toString().split(':');
          if (users[u] !== p) {
            res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"incorrect username or password"}');
            return;
          }
          account = u;
        }
        scopes = url.searchParams.getAll('scope');
      }
      const token = `tok${++issued}`;
      tokens.set(token, `${account ?? 'anon'} ${scopes.join(' ')}`);
      const body: Record<string, unknown> = { token, expires_in: 300 };
      if (req.method === 'POST') body.access_token = token;
      if (url.searchParams.get('offline_token') === 'true' && account) body.refresh_token = `refresh-${account}`;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    const bearer = req.headers.authorization?.replace(/^Bearer /, '');
    const granted = bearer ? tokens.get(bearer) ?? (bearer === 'static-registry-token' ? 'bob repository:private/app:pull' : undefined) : undefined;
    if (url.pathname === '/v2/') {
      if (!granted) return challenge(res);
      res.writeHead(200).end('{}');
      return;
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs|tags)\/(.+)$/.exec(url.pathname);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    const [, path, kind, ref] = m;
    const need = `repository:${path}:pull`;
    if (!granted || !granted.split(' ').some((s) => s === need || s === `repository:${path}:pull,push`)) return challenge(res, need, granted ? 'insufficient_scope' : undefined);
    if (path === 'private/app' && !granted.startsWith('bob ')) {
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'DENIED', message: 'requested access to the resource is denied', detail: {} }] }));
      return;
    }
    if (kind === 'manifests') {
      let body = manifest;
      let digest = sha(manifest);
      if (ref === 'lying') digest = sha(Buffer.from('something else'));
      if (ref === 'huge') body = Buffer.alloc(5 * 1024 * 1024, 0x20);
      if (ref.startsWith('sha256:') && ref !== sha(manifest)) body = Buffer.from('{"schemaVersion":2}');
      res.writeHead(200, { 'content-type': ref === 'plainjson' ? 'application/json' : MEDIA_TYPES.dockerManifest, 'docker-content-digest': digest, 'content-length': body.length });
      res.end(body);
      return;
    }
    if (kind === 'tags') {
      const n = 3;
      const last = url.searchParams.get('last');
      const start = last ? tagsAll.indexOf(last) + 1 : 0;
      const page = tagsAll.slice(start, start + n);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (start + n < tagsAll.length) headers.link = `</v2/${path}/tags/list?n=${n}&last=${page.at(-1)}>; rel="next"`;
      res.writeHead(200, headers).end(JSON.stringify({ name: path, tags: page }));
      return;
    }
    if (kind === 'blobs' && ref === blobDigest) {
      // Blobs live on a "CDN" (another origin) behind a redirect.
      res.writeHead(307, { location: `http://127.0.0.1:${cdnPort}/cdn/${blobDigest}` }).end();
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry', detail: ref }] }));
  });
  // The CDN ignores Range on purpose: the client must skip what it already has.
  const cdn = createServer((req, res) => {
    log.push({ method: req.method ?? '', path: `cdn:${req.url}`, auth: req.headers.authorization });
    res.writeHead(200, { 'content-length': blob.length }).end(req.method === 'HEAD' ? undefined : blob);
  });
  port = await listen(server);
  cdnPort = await listen(cdn);
  const stop = async () => {
    await closeServer(server);
    await closeServer(cdn);
  };
  after(stop);
  return { host: `127.0.0.1:${port}`, log, blob, blobDigest, manifest, tagsAll, tokenRequests: () => log.filter((l) => l.path.startsWith('/token')), stop };
}

describe('Bearer token flow against a fake registry', () => {
  test('anonymous tokens per scope, cached; redirects drop Authorization; Range ignored is handled; Link pagination', async () => {
    const f = await startFakeRegistry();
    const regs = registries();
    const repo = regs.repository(parseRemoteRef(`${f.host}/public/app`), undefined, ['pull']);
    const m = await repo.getManifest('latest');
    assert.equal(m.digest, sha(f.manifest));
    assert.equal(m.mediaType, MEDIA_TYPES.dockerManifest);
    await repo.getManifest('latest');
    const tokenReqs = f.tokenRequests();
    assert.equal(tokenReqs.length, 1, 'the token is cached');
    const q = new URL(tokenReqs[0].path, 'http://x').searchParams;
    assert.equal(q.get('service'), 'fake-registry');
    assert.deepEqual(q.getAll('scope'), ['repository:public/app:pull']);
    assert.equal(tokenReqs[0].auth, undefined);

    const b = await repo.getBlob(f.blobDigest, { offset: 1000 });
    assert.deepEqual(await collect(b.body), f.blob.subarray(1000));
    assert.equal(b.size, f.blob.length);
    const cdnReq = f.log.find((l) => l.path.startsWith('cdn:'));
    assert.ok(cdnReq);
    assert.equal(cdnReq.auth, undefined, 'no registry token sent to another origin');
    assert.equal(await repo.statBlob(f.blobDigest), f.blob.length);

    assert.deepEqual(await repo.tags(), f.tagsAll);
    assert.equal((await repo.getManifest('plainjson')).mediaType, MEDIA_TYPES.dockerManifest);

    // Another scope, another token.
    await regs.repository(parseRemoteRef(`${f.host}/public/other`), undefined, ['pull']).getManifest('latest');
    assert.equal(f.tokenRequests().length, 2);
  });

  test('manifests are verified and bounded', async () => {
    const f = await startFakeRegistry();
    const repo = registries().repository(parseRemoteRef(`${f.host}/public/app`), undefined, ['pull']);
    await assert.rejects(repo.getManifest('lying'), /^RegistryError: manifest verification failed for digest sha256:/);
    const wrong = sha(Buffer.from('not the manifest'));
    await assert.rejects(repo.getManifest(wrong), { message: `manifest verification failed for digest ${wrong}` });
    await assert.rejects(repo.getManifest('huge'), /more than the 4194304 bytes allowed/);
    await assert.rejects(repo.getBlob(sha(Buffer.from('nope'))), { errorCode: 'BLOB_UNKNOWN' });
  });

  test('credentials: Basic at the token server, login with an identity token, refresh-token grant, registrytoken as is', async () => {
    const f = await startFakeRegistry();
    const regs = registries();
    const name = parseRemoteRef(`${f.host}/private/app`);
    await assert.rejects(regs.repository(name, undefined, ['pull']).getManifest('latest'), { errorCode: 'DENIED', status: 403 });
    await assert.rejects(regs.repository(name, { username: 'bob', password: 'bad' }, ['pull']).getManifest('latest'), {
      message: `Get "http://${f.host}/v2/private/app/manifests/latest": unauthorized: incorrect username or password`,
      status: 401,
    });
    assert.equal((await regs.repository(name, { username: 'bob', password: 'pw' }, ['pull']).getManifest('latest')).digest, sha(f.manifest));
    const withBasic = f.tokenRequests().at(-1)!;
    assert.equal(withBasic.auth, `Basic ${Buffer.from('bob:pw').toString('base64')}`);
    assert.equal(new URL(withBasic.path, 'http://x').searchParams.get('account'), 'bob');

    const login = await regs.login({ username: 'bob', password: 'pw', serveraddress: f.host });
    assert.deepEqual(login, { Status: 'Login Succeeded', IdentityToken: 'refresh-bob' });
    const loginReq = f.tokenRequests().at(-1)!;
    const lq = new URL(loginReq.path, 'http://x').searchParams;
    assert.equal(lq.get('offline_token'), 'true');
    assert.equal(lq.get('client_id'), 'docker');
    await assert.rejects(regs.login({ username: 'bob', password: 'nope', serveraddress: `http://${f.host}` }), {
      message: `Get "http://${f.host}/v2/": unauthorized: incorrect username or password`,
      status: 401,
    });

    const viaRefresh = regs.repository(name, { identitytoken: 'refresh-bob' }, ['pull']);
    assert.equal((await viaRefresh.getManifest('latest')).digest, sha(f.manifest));
    const post = f.tokenRequests().at(-1)!;
    assert.equal(post.method, 'POST');
    const form = new URLSearchParams(post.body);
    assert.equal(form.get('grant_type'), 'refresh_token');
    assert.equal(form.get('client_id'), 'docker');
    assert.equal(form.get('scope'), 'repository:private/app:pull');

    const before = f.tokenRequests().length;
    const withToken = regs.repository(name, { registrytoken: 'static-registry-token' }, ['pull']);
    assert.equal((await withToken.getManifest('latest')).digest, sha(f.manifest));
    assert.equal(f.tokenRequests().length, before, 'a registry token is used as is');
  });

  test('a mount asks for the source repository too', async () => {
    const f = await startFakeRegistry();
    const repo = registries().repository(parseRemoteRef(`${f.host}/public/app`), undefined, ['pull', 'push']);
    await repo.mountBlob(f.blobDigest, 'public/base').catch(() => undefined);
    const scopes = f.tokenRequests().flatMap((r) => new URL(r.path, 'http://x').searchParams.getAll('scope'));
    assert.ok(scopes.includes('repository:public/app:pull,push'), scopes.join(' '));
    assert.ok(scopes.includes('repository:public/base:pull'), scopes.join(' '));
  });
});

test('certs.d with a client certificate and no key is an error naming the files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-certsd-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(join(dir, 'registry.test:5000'));
  writeFileSync(join(dir, 'registry.test:5000', 'client.cert'), 'x');
  const regs = registries({ certsDir: dir });
  await assert.rejects(regs.repository(parseRemoteRef('registry.test:5000/a/b'), undefined, ['pull']).getManifest('x'), {
    message: 'missing key client.key for client certificate client.cert. CA certificates must use the extension .crt',
  });
});
