import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { PassThrough } from 'node:stream';
import { InvalidArgumentError } from '../util/index.js';
import { API_VERSION } from '../types/index.js';
import { PayloadTooLargeError } from './errors.js';
import { boolParam, intParam, strParam } from './query.js';

const MAX_JSON_BODY = 16 * 1024 * 1024;
/**
 * How much of a body over the limit is read and dropped so the 413 can be answered: a client
 * that writes its whole body before it reads (most do) would otherwise see the connection reset.
 * Beyond this the connection is closed without an answer.
 */
const MAX_DISCARD = 1024 * 1024 * 1024;

/**
 * The body, at most `limit` bytes; a longer one is drained (up to MAX_DISCARD) and refused with
 * PayloadTooLargeError. Listeners, not `for await`: leaving an async iterator early destroys the
 * socket before the answer is written.
 */
function readLimited(req: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
      else if (size > MAX_DISCARD) {
        req.off('data', onData);
        req.destroy();
        reject(new PayloadTooLargeError(limit));
      } else chunks.length = 0;
    };
    req.on('data', onData);
    req.once('end', () => (size > limit ? reject(new PayloadTooLargeError(limit)) : resolve(Buffer.concat(chunks))));
    req.once('error', reject);
  });
}

export const COMMON_HEADERS: Record<string, string> = {
  'Api-Version': API_VERSION,
  'Docker-Experimental': 'false',
  Ostype: 'linux',
  Server: 'wharf (linux)',
};

/** A raw two-way byte stream taken over from an HTTP request (attach, exec start). */
export interface Hijacked {
  input: Readable;
  write(data: Buffer): void;
  end(): void;
  /** Resolves when the client disconnected. */
  gone: Promise<void>;
}

/** What a route handler sees of one request. */
export class Context {
  readonly query: URLSearchParams;
  /** The API version the client asked for, as a number (1.47). */
  readonly version: number;
  params: Record<string, string> = {};
  #res?: ServerResponse;
  #socket?: Duplex;
  #head?: Buffer;
  #responded = false;

  constructor(
    readonly req: IncomingMessage,
    readonly path: string,
    query: URLSearchParams,
    version: number,
    target: { res: ServerResponse } | { socket: Duplex; head: Buffer },
  ) {
    this.query = query;
    this.version = version;
    if ('res' in target) this.#res = target.res;
    else {
      this.#socket = target.socket;
      this.#head = target.head;
    }
  }

  get responded(): boolean {
    return this.#responded;
  }

  // The query readers every handler uses, kept on the context for brevity; query.ts holds them.
  bool(name: string, dflt = false): boolean {
    return boolParam(this.query, name, dflt);
  }

  int(name: string): number | undefined {
    return intParam(this.query, name);
  }

  str(name: string): string | undefined {
    return strParam(this.query, name);
  }

  /** Parse a JSON body; an empty body is `undefined`. */
  async json<T>(): Promise<T | undefined> {
    let text: string;
    if (this.#socket) {
      text = (await this.#upgradeBody()).toString('utf8').trim();
    } else {
      text = (await readLimited(this.req, MAX_JSON_BODY)).toString('utf8').trim();
    }
    if (text === '') return undefined;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new InvalidArgumentError(`invalid JSON: ${(err as Error).message}`);
    }
  }

  /**
   * The body of an Upgrade request: Node hands it over unparsed, at the start of the socket's data,
   * so take exactly Content-Length bytes and leave the rest for the hijacked stream.
   */
  async #upgradeBody(): Promise<Buffer> {
    const len = Number(this.req.headers['content-length'] ?? 0);
    if (!len) return Buffer.alloc(0);
    if (len > MAX_JSON_BODY) throw new PayloadTooLargeError(MAX_JSON_BODY);
    const sock = this.#socket!;
    let buf = this.#head ?? Buffer.alloc(0);
    while (buf.length < len) {
      const chunk = await new Promise<Buffer | null>((resolve) => {
        const done = (c: Buffer | null) => {
          sock.off('data', onData).off('end', onEnd).off('close', onEnd);
          sock.pause();
          resolve(c);
        };
        const onData = (c: Buffer) => done(c);
        const onEnd = () => done(null);
        sock.on('data', onData).once('end', onEnd).once('close', onEnd);
        sock.resume();
      });
      if (!chunk) throw new InvalidArgumentError('request body ended early');
      buf = Buffer.concat([buf, chunk]);
    }
    this.#head = buf.subarray(len);
    return buf.subarray(0, len);
  }

  #resOrFail(): ServerResponse {
    if (!this.#res) {
      // An Upgrade request that a non-hijacking route answers: write a plain HTTP response on the socket.
      throw new Error('no response object');
    }
    return this.#res;
  }

  send(status: number, body?: unknown, headers: Record<string, string> = {}): void {
    this.#responded = true;
    const payload = body === undefined ? '' : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) + '\n';
    const h: Record<string, string | number> = { ...COMMON_HEADERS, ...headers };
    if (body !== undefined && !h['Content-Type']) h['Content-Type'] = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
    if (this.#socket) {
      const lines = [`HTTP/1.1 ${status} ${statusText(status)}`];
      h['Content-Length'] = Buffer.byteLength(payload);
      h.Connection = 'close';
      for (const [k, v] of Object.entries(h)) lines.push(`${k}: ${v}`);
      this.#socket.end(lines.join('\r\n') + '\r\n\r\n' + payload);
      return;
    }
    const res = this.#resOrFail();
    const noBody = status === 304 || status === 204;
    // A whole answer has its length, as dockerd's have: clients such as docker-py take a chunked
    // answer to a streaming request (build, pull) for the stream and never look at its status.
    if (!noBody) h['Content-Length'] = Buffer.byteLength(payload);
    res.writeHead(status, h);
    res.end(noBody ? undefined : payload);
  }

  /** Start a streamed response (JSON lines, logs, tar): headers now, body as it comes. */
  stream(status: number, contentType: string, headers: Record<string, string> = {}): NodeJS.WritableStream & { flushHeaders?: () => void } {
    this.#responded = true;
    if (this.#socket) {
      const out = new PassThrough();
      const sock = this.#socket;
      sock.write(`HTTP/1.1 ${status} ${statusText(status)}\r\nContent-Type: ${contentType}\r\nConnection: close\r\n` + Object.entries({ ...COMMON_HEADERS, ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n');
      out.pipe(sock);
      return out;
    }
    const res = this.#resOrFail();
    res.writeHead(status, { ...COMMON_HEADERS, ...headers, 'Content-Type': contentType });
    res.flushHeaders();
    return res;
  }

  /** Resolves when the client closed the connection. */
  clientGone(): Promise<void> {
    const sock = this.#socket ?? this.#res?.socket ?? this.req.socket;
    return new Promise((resolve) => {
      if (!sock || sock.destroyed) return resolve();
      sock.once('close', () => resolve());
    });
  }

  /**
   * Take over the connection. With an `Upgrade: tcp` request this answers `101 UPGRADED` and hands
   * out the socket; otherwise (old clients) it answers 200 and streams on the response.
   */
  hijack(contentType: string): Hijacked {
    this.#responded = true;
    if (this.#socket) {
      const sock = this.#socket;
      sock.write(
        `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n` +
          Object.entries(COMMON_HEADERS).map(([k, v]) => `${k}: ${v}\r\n`).join('') +
          '\r\n',
      );
      if (this.#head && this.#head.length) sock.unshift(this.#head);
      return {
        input: sock,
        write: (d) => {
          if (!sock.destroyed && sock.writable) sock.write(d);
        },
        end: () => sock.end(),
        gone: new Promise((resolve) => sock.once('close', () => resolve())),
      };
    }
    const res = this.#resOrFail();
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': contentType });
    res.flushHeaders();
    return {
      input: this.req,
      write: (d) => {
        if (!res.writableEnded) res.write(d);
      },
      end: () => res.end(),
      gone: new Promise((resolve) => res.once('close', () => resolve())),
    };
  }
}

function statusText(status: number): string {
  return (
    {
      101: 'Switching Protocols',
      200: 'OK',
      201: 'Created',
      204: 'No Content',
      304: 'Not Modified',
      400: 'Bad Request',
      403: 'Forbidden',
      404: 'Not Found',
      409: 'Conflict',
      500: 'Internal Server Error',
      501: 'Not Implemented',
      503: 'Service Unavailable',
    }[status] ?? 'Unknown'
  );
}
