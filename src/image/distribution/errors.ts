import { WharfError } from '../../util/index.js';

/**
 * An error a registry answered, or a failure to reach it. `errorCode` is the distribution spec's
 * (`MANIFEST_UNKNOWN`, `UNAUTHORIZED`, `DENIED`, `NAME_UNKNOWN`, `BLOB_UNKNOWN`, ...) when the
 * registry gave one; `status` the HTTP status (0 when no answer came). The message reads like
 * dockerd's (`manifest unknown: manifest unknown`, `Get "https://h/v2/": http: server gave HTTP
 * response to HTTPS client`), so the daemon can quote it.
 */
export class RegistryError extends WharfError {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The registry's default message of each code (docker/distribution's descriptors): an error
 * that only repeats it prints as the bare code, as dockerd does.
 */
const DEFAULT_MESSAGES: Record<string, string> = {
  BLOB_UNKNOWN: 'blob unknown to registry',
  BLOB_UPLOAD_INVALID: 'blob upload invalid',
  BLOB_UPLOAD_UNKNOWN: 'blob upload unknown to registry',
  DIGEST_INVALID: 'provided digest did not match uploaded content',
  MANIFEST_BLOB_UNKNOWN: 'blob unknown to registry',
  MANIFEST_INVALID: 'manifest invalid',
  MANIFEST_UNKNOWN: 'manifest unknown',
  MANIFEST_UNVERIFIED: 'manifest failed signature verification',
  NAME_INVALID: 'invalid repository name',
  NAME_UNKNOWN: 'repository name not known to registry',
  SIZE_INVALID: 'provided length did not match content length',
  TAG_INVALID: 'manifest tag did not match URI',
  UNAUTHORIZED: 'authentication required',
  DENIED: 'requested access to the resource is denied',
  UNSUPPORTED: 'The operation is unsupported.',
  TOOMANYREQUESTS: 'too many requests',
  UNKNOWN: 'unknown error',
  UNAVAILABLE: 'service unavailable',
};

export interface ErrcodeEntry {
  code: string;
  message?: string;
  /** Set when the entry came from a JSON `errors` body without a `detail`. */
  bare?: boolean;
  /** Not an errcode at all (an unreadable body): printed as the message alone. */
  raw?: boolean;
}

/** One registry error as docker/distribution's errcode prints it: `manifest unknown: manifest unknown`. */
export function errcodeText(e: ErrcodeEntry): string {
  if (e.raw) return e.message ?? '';
  const code = DEFAULT_MESSAGES[e.code] !== undefined ? e.code : 'UNKNOWN';
  const name = code.toLowerCase().replace(/_/g, ' ');
  // distribution decodes an entry that only repeats its code's message into the bare code.
  if (e.bare && (!e.message || e.message === DEFAULT_MESSAGES[code])) return name;
  return `${name}: ${e.message ?? ''}`;
}

/** Several errors print as distribution's errcode.Errors does. */
export function errcodesText(errors: ErrcodeEntry[]): string {
  if (errors.length === 1) return errcodeText(errors[0]);
  return `errors:\n${errors.map((e) => errcodeText(e) + '\n').join('')}`;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  408: 'Request Timeout', 409: 'Conflict', 413: 'Request Entity Too Large', 416: 'Requested Range Not Satisfiable',
  429: 'Too Many Requests', 500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway',
  503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** Go's `resp.Status` for a code: `401 Unauthorized`. */
export function statusLine(status: number): string {
  const text = STATUS_TEXT[status];
  return text ? `${status} ${text}` : String(status);
}

/**
 * The RegistryError for an unsuccessful answer, as docker/distribution's HandleErrorResponse
 * reads it: OAuth errors of a Bearer challenge first, then the JSON `errors` body, then the
 * status alone.
 */
export function responseError(status: number, contentType: string | undefined, body: string, bearerError?: { error?: string; error_description?: string }): RegistryError {
  if (status < 400 || status >= 500) return new RegistryError(`received unexpected HTTP status: ${statusLine(status)}`, status);
  const list: ErrcodeEntry[] = [];
  if (bearerError?.error === 'invalid_token' || bearerError?.error === 'insufficient_scope') {
    const code = bearerError.error === 'invalid_token' ? 'UNAUTHORIZED' : 'DENIED';
    list.push({ code, message: bearerError.error_description || DEFAULT_MESSAGES[code] });
  }
  list.push(...parseErrorBody(status, contentType, body));
  return new RegistryError(errcodesText(list), status, list[0]?.code);
}

function byStatus(status: number, details: string): ErrcodeEntry {
  const code = status === 401 ? 'UNAUTHORIZED' : status === 403 ? 'DENIED' : status === 429 ? 'TOOMANYREQUESTS' : 'UNKNOWN';
  return { code, message: details };
}

function parseErrorBody(status: number, contentType: string | undefined, body: string): ErrcodeEntry[] {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json' && type !== 'application/vnd.api+json') return [byStatus(status, body)];
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [status === 401 ? { code: 'UNAUTHORIZED', message: DEFAULT_MESSAGES.UNAUTHORIZED } : { code: 'UNKNOWN', message: `error parsing HTTP ${status} response body: invalid JSON: ${JSON.stringify(body)}`, raw: true }];
  }
  const obj = (parsed ?? {}) as { details?: unknown; errors?: unknown };
  // Docker Hub's token server answers `{"details": "incorrect username or password"}`.
  if (typeof obj.details === 'string' && obj.details !== '') return [byStatus(status, obj.details)];
  const errors = Array.isArray(obj.errors) ? obj.errors : [];
  const out: ErrcodeEntry[] = [];
  for (const e of errors) {
    if (typeof e !== 'object' || e === null) continue;
    const { code, message, detail } = e as { code?: unknown; message?: unknown; detail?: unknown };
    out.push({ code: typeof code === 'string' ? code : 'UNKNOWN', message: typeof message === 'string' ? message : undefined, bare: detail == null });
  }
  if (out.length === 0) {
    if (status === 401) return [{ code: 'UNAUTHORIZED', message: DEFAULT_MESSAGES.UNAUTHORIZED }];
    return [{ code: 'UNKNOWN', message: `error parsing HTTP ${status} response body: no error details found in HTTP response body: ${JSON.stringify(body)}`, raw: true }];
  }
  return out;
}

/** `Get`, `Head`, `Post`: how Go's url.Error names the operation. */
function goOp(method: string): string {
  return method.charAt(0).toUpperCase() + method.slice(1).toLowerCase();
}

const UNKNOWN_AUTHORITY = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE',
]);

/** Whether the failure says that the server speaks plain HTTP where TLS was tried. */
export function isPlainHttpAnswer(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException | undefined;
  const text = `${e?.code ?? ''} ${e?.message ?? ''}`;
  return /WRONG_VERSION_NUMBER|wrong version number|packet length too long|http request/i.test(text);
}

function hostPort(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return `${url.hostname}:${port}`;
}

/**
 * What went wrong on the way to a registry, worded as Go's net/http and crypto/tls word it
 * (dockerd's messages are those).
 */
export function transportDetail(err: unknown, url: URL): string {
  const e = (err ?? {}) as NodeJS.ErrnoException & { address?: string; port?: number; host?: string; cert?: { subjectaltname?: string } };
  const addr = e.address !== undefined && e.port !== undefined ? (e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`) : hostPort(url);
  const code = e.code ?? '';
  if (e.name === 'AbortError' || code === 'ABORT_ERR' || code === 'UND_ERR_ABORTED') return 'context canceled';
  if (isPlainHttpAnswer(err)) return 'http: server gave HTTP response to HTTPS client';
  if (UNKNOWN_AUTHORITY.has(code)) return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = (e.cert?.subjectaltname ?? '').split(',').map((s) => s.trim().replace(/^(DNS|IP Address):/, '')).filter(Boolean);
    return `tls: failed to verify certificate: x509: certificate is valid for ${names.join(', ') || 'other names'}, not ${e.host ?? url.hostname}`;
  }
  switch (code) {
    case 'ECONNREFUSED':
      return `dial tcp ${addr}: connect: connection refused`;
    case 'EHOSTUNREACH':
      return `dial tcp ${addr}: connect: no route to host`;
    case 'ENETUNREACH':
      return `dial tcp ${addr}: connect: network is unreachable`;
    case 'ENOTFOUND':
      return `dial tcp: lookup ${url.hostname}: no such host`;
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${url.hostname}: Temporary failure in name resolution`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `dial tcp ${addr}: i/o timeout`;
    case 'ECONNRESET':
      return 'read: connection reset by peer';
    case 'EPIPE':
      return 'write: broken pipe';
    case 'UND_ERR_SOCKET':
      return 'EOF';
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'net/http: timeout awaiting response headers';
    case 'UND_ERR_BODY_TIMEOUT':
      return 'net/http: the registry stopped sending data (stall timeout)';
  }
  return e.message || String(err);
}

/** `Get "https://h/v2/": dial tcp h:443: connect: connection refused`, status 0. */
export function transportError(method: string, url: URL, err: unknown): RegistryError {
  return new RegistryError(`${goOp(method)} "${url.href}": ${transportDetail(err, url)}`, 0, undefined, { cause: err });
}

/** An error met while authorizing a request is reported, as Go's client does, against that request. */
export function wrapForRequest(method: string, url: URL, err: RegistryError): RegistryError {
  if (err.message.startsWith(`${goOp(method)} "`)) return err;
  return new RegistryError(`${goOp(method)} "${url.href}": ${err.message}`, err.status, err.errorCode, { cause: err });
}
