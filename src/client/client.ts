import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import { API_VERSION } from '../api/types/index.js';

export const DEFAULT_HOST = 'unix:///run/wharf/wharf.sock';

export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  verify: boolean;
}

/** A daemon error response: the status and the daemon's message. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The daemon could not be reached at all. */
export class ConnectError extends Error {}

type Query = Record<string, string | number | boolean | string[] | undefined>;

function queryString(q: Query = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) p.append(k, x);
    else p.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** The Engine API over a unix socket or TCP (with TLS when asked), speaking the newest version both sides know. */
export class Client {
  readonly host: string;
  readonly #base: RequestOptions;
  readonly #tls?: TlsOptions;
  #version?: string;

  constructor(host: string = DEFAULT_HOST, tls?: TlsOptions) {
    this.host = host;
    this.#tls = tls;
    if (host.startsWith('unix://')) this.#base = { socketPath: host.slice('unix://'.length) };
    else if (host.startsWith('tcp://') || host.startsWith('http://') || host.startsWith('https://')) {
      const u = new URL(host.replace(/^tcp:/, tls ? 'https:' : 'http:'));
      this.#base = { host: u.hostname, port: Number(u.port) || (tls ? 2376 : 2375) };
      if (tls) {
        Object.assign(this.#base, {
          ca: tls.ca ? readFileSync(tls.ca) : undefined,
          cert: tls.cert ? readFileSync(tls.cert) : undefined,
          key: tls.key ? readFileSync(tls.key) : undefined,
          rejectUnauthorized: tls.verify,
        });
      }
    } else throw new Error(`invalid daemon host "${host}": use unix:///path or tcp://host:port`);
  }

  /** Reads DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH like the docker CLI. */
  static fromEnv(opts: { host?: string; tls?: boolean; tlsverify?: boolean; tlscacert?: string; tlscert?: string; tlskey?: string }, env = process.env): Client {
    const host = opts.host ?? env.DOCKER_HOST ?? DEFAULT_HOST;
    const verify = opts.tlsverify ?? (env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== '');
    const certDir = env.DOCKER_CERT_PATH;
    const useTls = verify || opts.tls || Boolean(opts.tlscacert);
    const tls = useTls
      ? {
          verify,
          ca: opts.tlscacert ?? (certDir ? join(certDir, 'ca.pem') : undefined),
          cert: opts.tlscert ?? (certDir ? join(certDir, 'cert.pem') : undefined),
          key: opts.tlskey ?? (certDir ? join(certDir, 'key.pem') : undefined),
        }
      : undefined;
    return new Client(host, tls);
  }

  #send(method: string, path: string, headers: Record<string, string>, body?: Buffer | Readable): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = (this.#tls ? httpsRequest : httpRequest)({ ...this.#base, method, path, headers: { Host: 'docker', ...headers } }, resolve);
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTFOUND', 'EHOSTUNREACH'].includes(err.code ?? '')) {
          reject(new ConnectError(`Cannot connect to the Docker daemon at ${this.host}. Is the docker daemon running?`));
        } else reject(err);
      });
      if (body && !Buffer.isBuffer(body)) body.pipe(req);
      else req.end(body);
    });
  }

  async #prefix(): Promise<string> {
    if (!this.#version) {
      const res = await this.#send('GET', '/_ping', {});
      res.resume();
      const server = String(res.headers['api-version'] ?? API_VERSION);
      this.#version = Number(server) < Number(API_VERSION) ? server : API_VERSION;
    }
    return `/v${this.#version}`;
  }

  /** A request whose response streams; non-2xx statuses become ApiError. */
  async stream(method: string, path: string, opts: { query?: Query; body?: unknown; input?: Readable; contentType?: string } = {}): Promise<IncomingMessage> {
    const headers: Record<string, string> = {};
    let body: Buffer | Readable | undefined;
    if (opts.input) {
      body = opts.input;
      headers['Content-Type'] = opts.contentType ?? 'application/x-tar';
      headers['Transfer-Encoding'] = 'chunked';
    } else if (opts.body !== undefined) {
      body = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = 'application/json';
    }
    const res = await this.#send(method, `${await this.#prefix()}${path}${queryString(opts.query)}`, headers, body);
    const status = res.statusCode ?? 0;
    if (status >= 400) throw await errorFrom(res);
    return res;
  }

  async json<T>(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    const res = await this.stream(method, path, opts);
    const text = (await readAll(res)).toString('utf8');
    return (text.trim() ? JSON.parse(text) : undefined) as T;
  }

  async call(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<void> {
    (await this.stream(method, path, opts)).resume();
  }

  /** POST that takes over the connection for a raw two-way stream (attach, exec start). */
  async hijack(path: string, opts: { query?: Query; body?: unknown } = {}): Promise<Duplex> {
    const prefix = await this.#prefix();
    const body = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { Host: 'docker', Connection: 'Upgrade', Upgrade: 'tcp' };
      if (body) headers['Content-Type'] = 'application/json';
      const req = (this.#tls ? httpsRequest : httpRequest)({ ...this.#base, method: 'POST', path: `${prefix}${path}${queryString(opts.query)}`, headers });
      req.on('upgrade', (_res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', (res) => {
        if ((res.statusCode ?? 0) >= 400) errorFrom(res).then(reject, reject);
        else resolve(res.socket);
      });
      req.on('error', (err: NodeJS.ErrnoException) =>
        reject(['ENOENT', 'ECONNREFUSED'].includes(err.code ?? '') ? new ConnectError(`Cannot connect to the Docker daemon at ${this.host}. Is the docker daemon running?`) : err),
      );
      req.end(body);
    });
  }
}

export async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function errorFrom(res: IncomingMessage): Promise<ApiError> {
  const text = (await readAll(res)).toString('utf8');
  let message = text.trim();
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? message;
  } catch {
    // Not JSON: keep the text.
  }
  return new ApiError(res.statusCode ?? 500, message || `${res.statusCode} ${res.statusMessage}`);
}
