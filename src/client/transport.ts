import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Duplex, type Readable } from 'node:stream';
import type { Socket } from 'node:net';
import { API_VERSION } from '../types/index.js';
import { apiErrorFrom, connectionError } from './errors.js';
import type { Endpoint } from './host.js';
import { readAll } from './stream.js';

export type QueryValue = string | number | boolean | string[] | undefined;
export type Query = Record<string, QueryValue>;

export interface RequestInit {
  query?: Query;
  /** A JSON body. */
  body?: unknown;
  /** A streamed body (tar archives); sent chunked. */
  input?: Readable;
  contentType?: string;
  headers?: Record<string, string>;
}

/** Docker's query encoding: booleans as 1/0, arrays as repeated keys, undefined left out. */
export function queryString(q: Query = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) p.append(k, x);
    else p.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** The version both sides speak: the server's, capped at ours. */
export function negotiateVersion(server: string | undefined, ours = API_VERSION): string {
  if (!server || !/^\d+\.\d+$/.test(server)) return ours;
  const [sMaj, sMin] = server.split('.').map(Number);
  const [oMaj, oMin] = ours.split('.').map(Number);
  return sMaj < oMaj || (sMaj === oMaj && sMin < oMin) ? server : ours;
}

/**
 * HTTP to the Engine API over a unix socket or TCP (optionally TLS): version negotiation on
 * first use, error mapping, streamed bodies and connection hijacking.
 */
export class Transport {
  readonly endpoint: Endpoint;
  readonly #base: RequestOptions;
  readonly #request: typeof httpRequest;
  #version?: Promise<string>;

  constructor(endpoint: Endpoint) {
    this.endpoint = endpoint;
    if (endpoint.kind === 'unix') {
      // No TLS name on a socket: an empty servername spares Node's agent deriving one, whose
      // first IPv6 check compiles a large regular expression (some milliseconds per command, #12).
      this.#base = { socketPath: endpoint.socketPath, servername: '', agent: new HttpAgent({ keepAlive: true }) } as RequestOptions;
      this.#request = httpRequest;
    } else if (endpoint.tls) {
      const t = endpoint.tls;
      // Loaded only here: TLS costs every other command some milliseconds of start-up (#12).
      const { Agent: HttpsAgent, request: httpsRequest } = process.getBuiltinModule('node:https');
      const agent = new HttpsAgent({ keepAlive: true, ca: t.ca, cert: t.cert, key: t.key, rejectUnauthorized: t.verify });
      this.#base = { host: endpoint.hostname, port: endpoint.port, agent };
      this.#request = httpsRequest as unknown as typeof httpRequest;
    } else {
      this.#base = { host: endpoint.hostname, port: endpoint.port, agent: new HttpAgent({ keepAlive: true }) };
      this.#request = httpRequest;
    }
  }

  get host(): string {
    return this.endpoint.host;
  }

  #send(method: string, path: string, headers: Record<string, string>, body?: Buffer | Readable): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = this.#request({ ...this.#base, method, path, headers: { Host: 'api.moby.localhost', 'User-Agent': 'wharf-cli', ...headers } }, resolve);
      // A failing request body (an unreadable archive) is not a connection problem: its error
      // is passed on as it is, not as "Cannot connect to the Docker daemon".
      let bodyError: Error | undefined;
      req.on('error', (err: NodeJS.ErrnoException) => reject(bodyError ?? connectionError(this.host, err)));
      if (body && !Buffer.isBuffer(body)) {
        body.on('error', (err) => {
          bodyError = err;
          req.destroy(err);
        });
        body.pipe(req);
      } else req.end(body);
    });
  }

  /** The negotiated version, asking GET /_ping once. */
  version(): Promise<string> {
    this.#version ??= this.#send('GET', '/_ping', {}).then((res) => {
      res.resume();
      const header = res.headers['api-version'];
      return negotiateVersion(Array.isArray(header) ? header[0] : header);
    });
    return this.#version;
  }

  async #path(path: string, query?: Query): Promise<string> {
    return `/v${await this.version()}${path}${queryString(query)}`;
  }

  #body(init: RequestInit): { headers: Record<string, string>; body?: Buffer | Readable } {
    const headers: Record<string, string> = { ...init.headers };
    if (init.input) {
      headers['Content-Type'] = init.contentType ?? 'application/x-tar';
      headers['Transfer-Encoding'] = 'chunked';
      return { headers, body: init.input };
    }
    if (init.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      return { headers, body: Buffer.from(JSON.stringify(init.body)) };
    }
    return { headers };
  }

  /** Sends a request; the response body is left to the caller. Non-2xx statuses throw ApiError. */
  async request(method: string, path: string, init: RequestInit = {}): Promise<IncomingMessage> {
    const { headers, body } = this.#body(init);
    const res = await this.#send(method, await this.#path(path, init.query), headers, body);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      // 304 (already started/stopped) is success for docker's CLI too.
      if (status === 304) return res;
      throw apiErrorFrom(status, (await readAll(res)).toString('utf8'), res.statusMessage);
    }
    return res;
  }

  /** A request whose JSON answer is returned (undefined for an empty body). */
  async json<T>(method: string, path: string, init: RequestInit = {}): Promise<T> {
    const text = (await readAll(await this.request(method, path, init))).toString('utf8');
    return (text.trim() ? JSON.parse(text) : undefined) as T;
  }

  /** A request whose answer is ignored. */
  async call(method: string, path: string, init: RequestInit = {}): Promise<void> {
    const res = await this.request(method, path, init);
    await readAll(res);
  }

  /**
   * POSTs with `Connection: Upgrade` / `Upgrade: tcp` and hands back the connection as a raw
   * two-way stream (attach, exec start). A 101 gives the socket (plus any bytes read past the
   * headers); a daemon that answers 200 instead streams in the response body, and our writes
   * still go to the socket.
   */
  async hijack(path: string, init: RequestInit = {}): Promise<Duplex> {
    const fullPath = await this.#path(path, init.query);
    const body = init.body === undefined ? undefined : Buffer.from(JSON.stringify(init.body));
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { Host: 'api.moby.localhost', 'User-Agent': 'wharf-cli', Connection: 'Upgrade', Upgrade: 'tcp' };
      if (body) headers['Content-Type'] = 'application/json';
      // A fresh connection: an upgraded socket must never go back to a keep-alive pool.
      const req = this.#request({ ...this.#base, agent: false, method: 'POST', path: fullPath, headers });
      req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
        if (head.length) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          readAll(res).then((b) => reject(apiErrorFrom(status, b.toString('utf8'), res.statusMessage)), reject);
          return;
        }
        resolve(responseDuplex(res));
      });
      req.on('error', (err: NodeJS.ErrnoException) => reject(connectionError(this.host, err)));
      req.end(body);
    });
  }
}

/** Reads from a response body, writes to its socket: a hijack the server did without 101. */
function responseDuplex(res: IncomingMessage): Duplex {
  const socket = res.socket;
  const d = new Duplex({
    read() {
      res.resume();
    },
    write(chunk, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end();
      cb();
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  res.on('data', (c: Buffer) => {
    if (!d.push(c)) res.pause();
  });
  res.once('end', () => d.push(null));
  res.once('error', (err) => d.destroy(err));
  return d;
}
