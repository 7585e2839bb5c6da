import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import type { Dispatcher } from 'undici';
import { isErrno } from '../../util/index.js';
import { ProxyConfig } from './proxy.js';
import { transportError } from './errors.js';

/** How long a TCP connect and TLS handshake may take (Go's dialer uses 30 s too). */
export const CONNECT_TIMEOUT_MS = 30_000;
/** Time to wait for response headers once the request is sent. */
export const HEADERS_TIMEOUT_MS = 120_000;
/** A body that sends nothing for this long is given up on; a slow but moving one never is. */
export const STALL_TIMEOUT_MS = 120_000;

/** TLS settings of one registry: from certs.d, or unverified for an insecure one. */
export interface TlsProfile {
  insecure: boolean;
  /** Extra CA certificates (PEM), trusted together with the system's. */
  ca: string[];
  cert?: string[];
  key?: string[];
}

const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/ca-bundle.pem', '/etc/ssl/cert.pem'];
let systemCa: string[] | undefined;

/** The system's trust store, as Go's x509.SystemCertPool reads it; Node's bundled roots when none. */
function systemCertificates(): string[] {
  if (systemCa) return systemCa;
  for (const f of SYSTEM_BUNDLES) {
    if (!existsSync(f)) continue;
    try {
      systemCa = [readFileSync(f, 'utf8')];
      return systemCa;
    } catch {
      // try the next location
    }
  }
  systemCa = [...rootCertificates];
  return systemCa;
}

/**
 * Reads `<certsDir>/<hostPort>/` by the certs.d convention dockerd follows: every `*.crt` is a
 * CA, every `*.cert` a client certificate whose key is the `*.key` of the same name.
 */
export async function readCertsDir(certsDir: string, hostPort: string): Promise<Pick<TlsProfile, 'ca' | 'cert' | 'key'>> {
  const dir = join(certsDir, hostPort);
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return { ca: [] };
    throw err;
  }
  const ca: string[] = [];
  const cert: string[] = [];
  const key: string[] = [];
  const set = new Set(names);
  for (const n of names) {
    if (n.endsWith('.crt')) ca.push(await readFile(join(dir, n), 'utf8'));
    else if (n.endsWith('.cert')) {
      const keyName = n.slice(0, -'.cert'.length) + '.key';
      if (!set.has(keyName)) throw new Error(`missing key ${keyName} for client certificate ${n}. CA certificates must use the extension .crt`);
      cert.push(await readFile(join(dir, n), 'utf8'));
      key.push(await readFile(join(dir, keyName), 'utf8'));
    } else if (n.endsWith('.key')) {
      const certName = n.slice(0, -'.key'.length) + '.cert';
      if (!set.has(certName)) throw new Error(`missing client certificate ${certName} for key ${n}`);
    }
  }
  return cert.length ? { ca, cert, key } : { ca };
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  url: URL;
}

export interface SendOptions {
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  signal?: AbortSignal;
}

/** First value of a header. */
export function header(h: HttpResponse['headers'], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads a (small) body whole; refuses more than `limit` bytes. */
export async function readBody(body: Readable, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    const b = c as Buffer;
    n += b.length;
    if (n > limit) {
      body.destroy();
      return undefined;
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** A body read for an error message: at most 64 KiB, never failing. */
export async function readErrorBody(body: Readable): Promise<string> {
  try {
    const b = await readBody(body, 64 * 1024);
    return b ? b.toString('utf8') : '';
  } catch {
    return '';
  }
}

/** Discards a body so its connection returns to the pool. */
export function drain(body: Readable): void {
  body.on('error', () => {});
  body.resume();
}

type Undici = typeof import('undici');
let undici: Promise<Undici> | undefined;

/** undici is loaded by the first registry request: a daemon that never pulls or pushes holds none of its code. */
function loadUndici(): Promise<Undici> {
  undici ??= import('undici');
  return undici;
}

/**
 * The HTTP side of the distribution client: one undici dispatcher per TLS profile and proxy,
 * kept for the life of the Registries, so connections to a registry are reused across pulls.
 */
export class Transport {
  readonly #dispatchers = new Map<string, Dispatcher>();
  readonly #proxy: ProxyConfig;
  readonly #userAgent: string;

  constructor(env: NodeJS.ProcessEnv, userAgent: string) {
    this.#proxy = new ProxyConfig(env);
    this.#userAgent = userAgent;
  }

  async dispatcher(url: URL, tls: TlsProfile): Promise<Dispatcher> {
    const { Agent, ProxyAgent } = await loadUndici();
    const proxy = this.#proxy.proxyFor(url);
    const tlsKey = createHash('sha256').update(JSON.stringify([tls.insecure, tls.ca, tls.cert ?? [], tls.key ?? []])).digest('hex');
    const key = `${proxy ?? 'direct'}|${tlsKey}`;
    let d = this.#dispatchers.get(key);
    if (d) return d;
    const connect = {
      timeout: CONNECT_TIMEOUT_MS,
      rejectUnauthorized: !tls.insecure,
      ca: tls.insecure ? undefined : [...systemCertificates(), ...tls.ca],
      cert: tls.cert,
      key: tls.key,
    };
    const common = { headersTimeout: HEADERS_TIMEOUT_MS, bodyTimeout: STALL_TIMEOUT_MS };
    if (!proxy) d = new Agent({ ...common, connect });
    else {
      // Like Go: plain http through an http proxy is forwarded (absolute URI), https tunnels with CONNECT.
      // ProxyAgent also speaks socks5:// (ALL_PROXY).
      d = new ProxyAgent({ ...common, uri: proxy, proxyTunnel: false, requestTls: connect, proxyTls: { timeout: CONNECT_TIMEOUT_MS, ca: systemCertificates() } });
    }
    this.#dispatchers.set(key, d);
    return d;
  }

  /** One HTTP exchange. Failing to get an answer throws a RegistryError worded like Go's. */
  async send(method: string, url: URL, tls: TlsProfile, opts: SendOptions = {}): Promise<HttpResponse> {
    const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...opts.headers };
    try {
      const { request } = await loadUndici();
      const res = await request(url, {
        method: method as Dispatcher.HttpMethod,
        headers,
        body: opts.body,
        signal: opts.signal,
        dispatcher: await this.dispatcher(url, tls),
      });
      return { status: res.statusCode, headers: res.headers, body: res.body, url };
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? err;
      throw transportError(method, url, err);
    }
  }

  async close(): Promise<void> {
    const all = [...this.#dispatchers.values()];
    this.#dispatchers.clear();
    await Promise.all(all.map((d) => d.close().catch(() => d.destroy())));
  }
}
