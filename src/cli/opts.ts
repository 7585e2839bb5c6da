import { InvalidArgumentError } from 'commander';
import type { Filters } from '../client/index.js';
import { Exit } from './errors.js';

/** Commander accumulator for repeatable flags (-e A -e B). */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** `--filter k=v` list → docker's filters map; a value without `=` is docker's error. */
export function parseFilters(list: string[] = []): Filters | undefined {
  if (!list.length) return undefined;
  const f: Filters = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i < 0) throw new Exit(1, `bad format of filter (expected name=value)`);
    (f[kv.slice(0, i).trim().toLowerCase()] ??= []).push(kv.slice(i + 1));
  }
  return f;
}

/** Splits `repo[:tag]` where a `:` before the last `/` is a registry port, not a tag. */
export function splitRepoTag(ref: string): { repo: string; tag?: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { repo: ref.slice(0, at), tag: ref.slice(at + 1) };
  const i = ref.lastIndexOf(':');
  if (i > ref.lastIndexOf('/')) return { repo: ref.slice(0, i), tag: ref.slice(i + 1) };
  return { repo: ref };
}

/** Commander parser for an integer flag, with Go's strconv message on failure. */
export function intArg(v: string): number {
  if (!/^[-+]?\d+$/.test(v.trim())) throw new InvalidArgumentError(`strconv.ParseInt: parsing "${v}": invalid syntax`);
  return Number(v);
}

/** Commander parser for a float flag (--cpus). */
export function floatArg(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`strconv.ParseFloat: parsing "${v}": invalid syntax`);
  return n;
}

/** go-units RAMInBytes: "512m", "1g", "1.5GB", "100" → bytes (binary multiples, as docker). */
export function parseRamBytes(v: string): number {
  // docker's units.RAMInBytes: the number ends at the last digit, dot or space; what follows is
  // a suffix of b, or k/m/g/t/p with an optional b or ib, in any case.
  const end = Math.max(...[...'0123456789. '].map((c) => v.lastIndexOf(c)));
  if (end < 0) throw new Error(`invalid size: '${v}'`);
  const num = v[end] === ' ' ? v.slice(0, end) : v.slice(0, end + 1);
  const suffix = v.slice(end + 1).toLowerCase();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(num)) throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(num)}: invalid syntax`);
  const size = Number(num);
  if (size < 0) throw new Error(`invalid size: '${v}'`);
  const mult = suffix === '' || suffix === 'b' ? 1 : /^[kmgtp](b|ib)?$/.test(suffix) ? 1024 ** ('kmgtp'.indexOf(suffix[0]) + 1) : undefined;
  if (mult === undefined) throw new Error(`invalid suffix: '${suffix}'`);
  return Math.trunc(size * mult);
}

/** `k=v` → [k, v]; a bare `k` gives v = undefined. */
export function splitKeyValue(s: string): [string, string | undefined] {
  const i = s.indexOf('=');
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

/** Relative times (`10m`, `1h30m`, `2.5s`) become Unix seconds back from now; anything else goes to the daemon as is. */
export function timestampArg(v: string | undefined, now = Date.now()): string | undefined {
  if (!v) return undefined;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m; (m = re.exec(v)); ) {
    total += Number(m[1]) * { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 }[m[2] as 's'];
    matched = re.lastIndex;
  }
  if (matched !== v.length || !matched) return v;
  const t = now / 1000 - total;
  return Number.isInteger(t) ? String(t) : t.toFixed(9);
}

const FORMAT_TAIL = `'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template.
Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates`;

/** docker's description of --format for commands that print one object (inspect, version, info). */
export const FORMAT_HELP = `Format output using a custom template:\n${FORMAT_TAIL}`;

/** docker's description of --format for commands that print a table (ps, images, df). */
export const FORMAT_TABLE_HELP = `Format output using a custom template:
'table':            Print output in table format with column headers (default)
'table TEMPLATE':   Print output in table format using the given Go template
${FORMAT_TAIL}`;
