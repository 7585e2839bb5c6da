/**
 * Error kinds that cross layers. Lower layers throw these with context; only the API edge
 * (api/errors.ts) maps a kind to an HTTP status, and only the CLI maps it to an exit code.
 */
export type ErrorCode =
  | 'WHARF_NOT_FOUND'
  | 'WHARF_CONFLICT'
  | 'WHARF_INVALID_ARGUMENT'
  | 'WHARF_NOT_MODIFIED'
  | 'WHARF_UNAVAILABLE'
  | 'WHARF_FORBIDDEN'
  | 'WHARF_UNAUTHORIZED'
  | 'WHARF_NOT_IMPLEMENTED'
  | 'WHARF_INTERNAL';

export class WharfError extends Error {
  readonly code: ErrorCode = 'WHARF_INTERNAL';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class NotFoundError extends WharfError {
  override readonly code = 'WHARF_NOT_FOUND';
}
export class ConflictError extends WharfError {
  override readonly code = 'WHARF_CONFLICT';
}
export class InvalidArgumentError extends WharfError {
  override readonly code = 'WHARF_INVALID_ARGUMENT';
}
/** The request asked for a state the object is already in (HTTP 304 in Docker's API). */
export class NotModifiedError extends WharfError {
  override readonly code = 'WHARF_NOT_MODIFIED';
}
export class UnavailableError extends WharfError {
  override readonly code = 'WHARF_UNAVAILABLE';
}
export class ForbiddenError extends WharfError {
  override readonly code = 'WHARF_FORBIDDEN';
}
/** Credentials were missing or refused (a registry's 401, which dockerd passes on). */
export class UnauthorizedError extends WharfError {
  override readonly code = 'WHARF_UNAUTHORIZED';
}
export class NotImplementedError extends WharfError {
  override readonly code = 'WHARF_NOT_IMPLEMENTED';
}

/** A runtime could not start the container's command: maps to `docker run` exit codes 126/127. */
export class CommandInvokeError extends WharfError {
  override readonly code = 'WHARF_INVALID_ARGUMENT';
  constructor(
    message: string,
    readonly exitCode: 126 | 127,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Go's text for a failed system call's errno ("no such file or directory"), from Node's
 * "ENOENT: no such file or directory, open 'x'", where Docker's texts carry Go's (the docker
 * CLI reads some of them: "no such file or directory" makes `docker run` exit 127).
 */
export function goErrnoText(err: unknown): string {
  return errorMessage(err).replace(/^[A-Z0-9]+: /, '').replace(/, \w+ '.*'$/s, '');
}

// Failures of the host, not of what the client sent: they stay server errors (500) wherever
// bad input is otherwise reported as a 400.
const HOST_FAULTS = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EMFILE', 'ENFILE', 'ENOMEM']);

export function isHostFault(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as NodeJS.ErrnoException).code : undefined;
  return code !== undefined && HOST_FAULTS.has(code);
}

/** An error as it crosses to another process or thread: its kind (ErrorCode or errno name) and text. */
export interface WireError {
  code: string;
  message: string;
  syscall?: string;
  path?: string;
}

export function toWire(err: unknown): WireError {
  if (err instanceof WharfError) return { code: err.code, message: err.message };
  const e = typeof err === 'object' && err !== null ? (err as NodeJS.ErrnoException) : undefined;
  const code = typeof e?.code === 'string' ? e.code : 'WHARF_INTERNAL';
  return { code, message: errorMessage(err), ...(e?.syscall ? { syscall: e.syscall } : {}), ...(e?.path ? { path: e.path } : {}) };
}

const KINDS: Partial<Record<string, new (message: string) => WharfError>> = {
  WHARF_NOT_FOUND: NotFoundError,
  WHARF_CONFLICT: ConflictError,
  WHARF_INVALID_ARGUMENT: InvalidArgumentError,
  WHARF_NOT_MODIFIED: NotModifiedError,
  WHARF_UNAVAILABLE: UnavailableError,
  WHARF_FORBIDDEN: ForbiddenError,
  WHARF_UNAUTHORIZED: UnauthorizedError,
  WHARF_NOT_IMPLEMENTED: NotImplementedError,
};

/** The error again as the kind it was, so the API answers with the status Docker would. */
export function fromWire(w: WireError): Error {
  const Kind = KINDS[w.code];
  if (Kind) return new Kind(w.message);
  const err: NodeJS.ErrnoException = new Error(w.message);
  if (w.code !== 'WHARF_INTERNAL') err.code = w.code;
  if (w.syscall) err.syscall = w.syscall;
  if (w.path) err.path = w.path;
  return err;
}
