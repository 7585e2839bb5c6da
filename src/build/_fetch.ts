/**
 * ADD's URL sources: one GET, redirects followed, the body streamed to a file and hashed on the
 * way. The daemon's HTTP_PROXY / HTTPS_PROXY / NO_PROXY are honoured in their plain form
 * (`http://host:port` proxies; CONNECT for https).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { connect as tlsConnect } from 'node:tls';
import { InvalidArgumentError, errorMessage } from '../util/index.js';

export interface Fetched {
  /** `sha256:<hex>` of the body. */
  digest: string;
  size: number;
  lastModified?: Date;
  /** The URL after redirects: its path names the file. */
  finalUrl: URL;
}

const MAX_REDIRECTS = 10;
const env = (name: string) => process.env[name] ?? process.env[name.toLowerCase()];

/** The proxy for `url`, unless NO_PROXY lists its host (a name, `.suffix`, `*`, or host:port). */
export function proxyFor(url: URL): URL | undefined {
  const raw = url.protocol === 'https:' ? env('HTTPS_PROXY') : env('HTTP_PROXY');
  if (!raw) return undefined;
  const host = url.hostname.toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const e of (env('NO_PROXY') ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if (e === '*') return undefined;
    const [h, p] = e.includes(':') && !e.startsWith('[') ? e.split(':') : [e, undefined];
    if (p && p !== port) continue;
    const bare = h!.replace(/^\*?\./, '');
    if (host === bare || host.endsWith('.' + bare)) return undefined;
  }
  try {
    return new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    return undefined;
  }
}

function request(url: URL, signal?: AbortSignal): Promise<http.IncomingMessage> {
  const proxy = proxyFor(url);
  const headers: Record<string, string> = { 'User-Agent': 'wharf-builder' };
  if (proxy?.username) headers['Proxy-Authorization'] = `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`;
  return new Promise((resolve, reject) => {
    if (url.protocol === 'http:') {
      const req = proxy
        ? http.request({ host: proxy.hostname, port: proxy.port || 80, path: url.href, headers: { ...headers, Host: url.host }, signal }, resolve)
        : http.request(url, { headers, signal }, resolve);
      req.once('error', reject);
      req.end();
      return;
    }
    if (!proxy) {
      const req = https.request(url, { headers, signal }, resolve);
      req.once('error', reject);
      req.end();
      return;
    }
    const target = `${url.hostname}:${url.port || 443}`;
    const connectReq = http.request({ host: proxy.hostname, port: proxy.port || 80, method: 'CONNECT', path: target, headers: { ...headers, Host: target }, signal });
    connectReq.once('error', reject);
    connectReq.once('connect', (res, socket: Socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(new Error(`proxy ${proxy.host} refused CONNECT ${target}: ${res.statusCode}`));
        return;
      }
      const tls = tlsConnect({ socket, servername: url.hostname });
      const req = https.request(url, { headers, signal, createConnection: () => tls });
      req.once('error', reject);
      req.once('response', resolve);
      req.end();
    });
    connectReq.end();
  });
}

/** Downloads `url` to `file` (mode 0600). Errors carry Docker's `failed to GET <url> with status ...`. */
export async function download(url: string, file: string, signal?: AbortSignal): Promise<Fetched> {
  let cur: URL;
  try {
    cur = new URL(url);
  } catch {
    throw new InvalidArgumentError(`invalid URL "${url}"`);
  }
  for (let hops = 0; ; hops++) {
    let res: http.IncomingMessage;
    try {
      res = await request(cur, signal);
    } catch (err) {
      throw new InvalidArgumentError(`failed to GET ${url}: ${errorMessage(err)}`, { cause: err });
    }
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      if (hops >= MAX_REDIRECTS) throw new InvalidArgumentError(`failed to GET ${url}: stopped after ${MAX_REDIRECTS} redirects`);
      cur = new URL(res.headers.location, cur);
      continue;
    }
    if (status >= 400) {
      res.resume();
      throw new InvalidArgumentError(`failed to GET ${url} with status ${status} ${res.statusMessage ?? ''}`.trimEnd());
    }
    const hash = createHash('sha256');
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
    });
    try {
      await pipeline(res, createWriteStream(file, { flags: 'wx', mode: 0o600 }), { signal });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new InvalidArgumentError(`failed to GET ${url}: ${errorMessage(err)}`, { cause: err });
    }
    const lm = res.headers['last-modified'];
    const lastModified = lm ? new Date(lm) : undefined;
    return { digest: `sha256:${hash.digest('hex')}`, size, lastModified: lastModified && !isNaN(lastModified.getTime()) ? lastModified : undefined, finalUrl: cur };
  }
}
