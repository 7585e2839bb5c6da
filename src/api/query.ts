import type { Filters } from '../daemon/index.js';
import { InvalidArgumentError } from '../util/index.js';

/*
 * Reading the Engine API's query parameters: every handler's strings, booleans and numbers, the
 * `filters` JSON, timestamps and the archive path, with Docker's readings and error texts. What
 * a filter key means is the daemon's business (daemon/filters.ts); turning the HTTP form into a
 * `Filters` object is this module's.
 */

export function strParam(q: URLSearchParams, name: string): string | undefined {
  const v = q.get(name);
  return v === null ? undefined : v;
}

/** Docker's reading of a boolean: absent is the default; '', '0', 'false' and 'no' are false. */
export function boolParam(q: URLSearchParams, name: string, dflt = false): boolean {
  const v = q.get(name);
  if (v === null) return dflt;
  return !(v === '' || v === '0' || v.toLowerCase() === 'false' || v.toLowerCase() === 'no');
}

export function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`invalid value for ${name}: ${v}`);
  return n;
}

/**
 * Parse the `filters` query parameter: `{"status":["running"]}` or the pre-1.22 form
 * `{"status":{"running":true}}`. Unknown keys are rejected by the service that matches them.
 */
export function parseFilters(raw: string | undefined | null): Filters {
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new InvalidArgumentError(`invalid filter: ${raw}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError(`invalid filter: ${raw}`);
  const out: Filters = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k] = v.map(String);
    else if (v && typeof v === 'object') out[k] = Object.entries(v as Record<string, unknown>).filter(([, on]) => on).map(([x]) => x);
    else throw new InvalidArgumentError(`invalid filter: ${raw}`);
  }
  return out;
}

/** Docker's timestamp query values (`since`, `until`): unix seconds with optional fraction, or RFC 3339. */
export function parseTimestampNs(v: string | undefined): bigint | undefined {
  if (v === undefined || v === '') return undefined;
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(v);
  if (m) return BigInt(m[1]) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`invalid timestamp: ${v}`);
  return BigInt(t) * 1_000_000n;
}

/** A `parseTimestampNs` value as a Date, to the millisecond. */
export function nsToDate(ns: bigint | undefined): Date | undefined {
  return ns === undefined ? undefined : new Date(Number(ns / 1_000_000n));
}

/** The `path` query of the archive endpoints; Docker's own wording when it is missing. */
export function archivePath(q: URLSearchParams): string {
  const path = q.get('path');
  if (!path) throw new InvalidArgumentError('bad parameter: pathcannot be empty');
  return path;
}

/** The `changes` of commit and import: repeated parameters, each possibly several lines; blank lines dropped. */
export function changesParam(q: URLSearchParams): string[] {
  return q.getAll('changes').flatMap((s) => s.split('\n')).filter((s) => s.trim() !== '');
}
