import { WharfError, CommandInvokeError } from '../util/index.js';

/** The one place that turns error kinds into HTTP statuses (Docker's mapping). */
export function httpStatus(err: unknown): number {
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
