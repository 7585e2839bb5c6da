/** A non-2xx answer from the daemon: its HTTP status and the daemon's own `message`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The daemon could not be reached at all (no socket, refused, unknown host). */
export class ConnectError extends Error {
  override readonly name = 'ConnectError';
  constructor(
    readonly host: string,
    options?: { cause?: unknown },
  ) {
    // docker's exact wording: scripts grep for it.
    super(`Cannot connect to the Docker daemon at ${host}. Is the docker daemon running?`, options);
  }
}

const CONNECT_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTDIR', 'EAI_AGAIN']);

/** Turns a socket-level failure into ConnectError; anything else passes through. */
export function connectionError(host: string, err: NodeJS.ErrnoException): Error {
  return CONNECT_CODES.has(err.code ?? '') ? new ConnectError(host, { cause: err }) : err;
}

/** Builds the ApiError for a response body: JSON `{"message": ...}` or plain text. */
export function apiErrorFrom(statusCode: number, body: string, statusText = ''): ApiError {
  let message = body.trim();
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // Not JSON (a proxy, an old daemon): keep the text as it came.
  }
  return new ApiError(statusCode, message || `${statusCode} ${statusText}`.trim());
}
