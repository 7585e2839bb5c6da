import { WharfError, CommandInvokeError } from '../util/index.js';

/**
 * A request body over wharfd's limit. Raised by the API edge itself (the limit is the edge's),
 * so it is not one of util's kinds; the body has been drained, so the 413 reaches the client.
 */
export class PayloadTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body too large: the limit is ${limit / (1024 * 1024)} MiB`);
    this.name = 'PayloadTooLargeError';
  }
}

/** The one place that turns error kinds into HTTP statuses (Docker's mapping). */
export function httpStatus(err: unknown): number {
  if (err instanceof PayloadTooLargeError) return 413;
  if (err instanceof CommandInvokeError) return err.exitCode === 127 ? 404 : 400;
  if (err instanceof SyntaxError) return 400;
  if (!(err instanceof WharfError)) return 500;
  switch (err.code) {
    case 'WHARF_NOT_FOUND':
      return 404;
    case 'WHARF_CONFLICT':
      return 409;
    case 'WHARF_INVALID_ARGUMENT':
      return 400;
    case 'WHARF_NOT_MODIFIED':
      return 304;
    case 'WHARF_FORBIDDEN':
      return 403;
    case 'WHARF_UNAUTHORIZED':
      return 401;
    case 'WHARF_NOT_IMPLEMENTED':
      return 501;
    case 'WHARF_UNAVAILABLE':
      return 503;
    default:
      return 500;
  }
}

export function errorBody(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return JSON.stringify({ message }) + '\n';
}
