/** Human-readable values printed the way docker's go-units and Go's time package print them. */
import { humanDuration } from '../../util/index.js';

/** "5 seconds ago" for a Unix time in seconds. */
export function ago(epochSeconds: number, now = Date.now()): string {
  return `${humanDuration(now - epochSeconds * 1000)} ago`;
}

/** Go's %.<p>g: shortest of fixed/exponent with `p` significant digits, trailing zeros dropped. */
export function formatG(v: number, precision: number): string {
  const s = v.toPrecision(precision);
  const [mant, exp] = s.split('e');
  const trimmed = mant.includes('.') ? mant.replace(/\.?0+$/, '') : mant;
  if (exp === undefined) return trimmed;
  const sign = exp.startsWith('-') ? '-' : '+';
  return `${trimmed}e${sign}${exp.replace(/^[-+]/, '').padStart(2, '0')}`;
}

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function sizeAndUnit(size: number, base: number, units: string[]): [number, string] {
  let i = 0;
  let v = size;
  while (v >= base && i < units.length - 1) {
    v /= base;
    i++;
  }
  return [v, units[i]];
}

/** go-units HumanSizeWithPrecision(size, 3): decimal units, "4.26MB", "1.2kB", "0B". */
export function humanSize(bytes: number, precision = 3): string {
  const [v, unit] = sizeAndUnit(bytes, 1000, DECIMAL_UNITS);
  return `${formatG(v, precision)}${unit}`;
}

/** go-units BytesSize: binary units with two decimals at most, "1.5GiB". */
export function bytesSize(bytes: number): string {
  const [v, unit] = sizeAndUnit(bytes, 1024, BINARY_UNITS);
  return `${formatG(v, 4)}${unit}`;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/**
 * One formatter per time zone: building an Intl.DateTimeFormat is costly and `ps` calls goTime
 * for every row. Keyed by TZ because a formatter keeps the zone it was built in.
 */
const zoneFormats = new Map<string, Intl.DateTimeFormat>();
function zoneNameFormat(): Intl.DateTimeFormat {
  const tz = process.env.TZ ?? '';
  let f = zoneFormats.get(tz);
  if (!f) zoneFormats.set(tz, (f = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })));
  return f;
}

function zone(d: Date): { offset: string; name: string } {
  const mins = -d.getTimezoneOffset();
  const sign = mins < 0 ? '-' : '+';
  const offset = `${sign}${pad2(Math.trunc(Math.abs(mins) / 60))}${pad2(Math.abs(mins) % 60)}`;
  if (mins === 0 && (process.env.TZ ?? 'UTC').replace(/^:/, '') in { UTC: 1, 'Etc/UTC': 1, '': 1 }) return { offset, name: 'UTC' };
  const part = zoneNameFormat().formatToParts(d).find((p) => p.type === 'timeZoneName')?.value;
  return { offset, name: part && /^[A-Z]{2,5}$/.test(part) ? part : mins === 0 ? 'UTC' : offset };
}

/** Go's time.Time String() in local time: "2024-05-01 10:00:00 +0000 UTC" (ps's CreatedAt). */
export function goTime(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const z = zone(d);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${z.offset} ${z.name}`;
}

/** RFC 3339 in local time, as Go's time.RFC3339 layout prints it ("Z" for UTC). */
export function rfc3339(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const mins = -d.getTimezoneOffset();
  const off = mins === 0 ? 'Z' : `${mins < 0 ? '-' : '+'}${pad2(Math.trunc(Math.abs(mins) / 60))}:${pad2(Math.abs(mins) % 60)}`;
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}${off}`;
}

/** docker's formatter.Ellipsis: cut to `max` characters, the last one being "…". */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  if (max <= 1) return chars.slice(0, max).join('');
  return chars.slice(0, max - 1).join('') + '…';
}
