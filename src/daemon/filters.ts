import { InvalidArgumentError, parseGoDuration } from '../util/index.js';

export type Filters = Record<string, string[]>;

/**
 * A filter's time value (`until`) in epoch milliseconds: Unix seconds, RFC 3339, or a Go duration
 * back from now (`10m`, `1h30m`), which Docker rounds down to a whole second.
 */
export function parseFilterTime(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  if (v !== '0') {
    try {
      return Math.floor((Date.now() - parseGoDuration(v) / 1e6) / 1000) * 1000;
    } catch {
      // Not a duration: a point in time.
    }
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`failed to parse value as time or duration: ${JSON.stringify(v)}`);
  return t;
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

/**
 * Reject a filter key the caller does not know before matching anything: `matchesFilters` only
 * sees the keys when there is an object to match, and Docker refuses `--filter bogus=1` even on
 * an empty list.
 */
export function checkFilterKeys(filters: Filters, known: readonly string[]): void {
  for (const key of Object.keys(filters)) {
    if (!known.includes(key)) throw new InvalidArgumentError(`invalid filter '${key}'`);
  }
}

/** `label=key` or `label=key=value`. */
export function parseLabelFilter(v: string): (labels: Record<string, string>) => boolean {
  const eq = v.indexOf('=');
  if (eq < 0) return (labels) => v in labels;
  const key = v.slice(0, eq);
  const value = v.slice(eq + 1);
  return (labels) => labels[key] === value;
}
