import { InvalidArgumentError } from '../util/index.js';

export type Filters = Record<string, string[]>;

/** A filter's time value (`until`): RFC 3339, Unix seconds, or a duration back from now (10m, 2h). */
export function parseFilterTime(key: string, v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const d = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(v);
  if (d) return Date.now() - Number(d[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[d[2] as 's' | 'm' | 'h'];
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`invalid filter '${key}=${v}'`);
  return t;
}

/**
 * Parse the `filters` query parameter: `{"status":["running"]}` or the pre-1.22 form
 * `{"status":{"running":true}}`. Unknown keys are rejected by the caller's `matchesFilters`.
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

/**
 * Docker's filter semantics: within one key any value may match (OR), across keys all must (AND).
 * A key the caller did not list is an error, with Docker's text.
 */
export function matchesFilters(filters: Filters, tests: Record<string, (value: string, index: number) => boolean>): boolean {
  for (const [key, values] of Object.entries(filters)) {
    const test = tests[key];
    if (!test) throw new InvalidArgumentError(`invalid filter '${key}'`);
    if (values.length === 0) continue;
    if (!values.some((v, i) => test(v, i))) return false;
  }
  return true;
}

/** `label=key` or `label=key=value`. */
export function parseLabelFilter(v: string): (labels: Record<string, string>) => boolean {
  const eq = v.indexOf('=');
  if (eq < 0) return (labels) => v in labels;
  const key = v.slice(0, eq);
  const value = v.slice(eq + 1);
  return (labels) => labels[key] === value;
}
