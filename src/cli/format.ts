import { compile, type Template } from './template.js';

/** go-units HumanDuration: "Less than a second", "3 minutes", "About an hour", "2 years". */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(ms / 60000);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(ms / 3600000);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

export function ago(epochSeconds: number): string {
  return `${humanDuration(Date.now() - epochSeconds * 1000)} ago`;
}

/** go-units HumanSizeWithPrecision(size, 3): decimal units, three significant digits. */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

/** Go's time.Time String() layout, which docker prints for CreatedAt. */
export function goTime(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000 UTC`;
}

/** Aligns tab-separated cells like Go's tabwriter as docker configures it (min width 10, padding 3). */
export function tabulate(lines: string[]): string {
  const rows = lines.map((l) => l.split('\t'));
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(Math.max(10, widths[i] + 3) - [...c].length))).join('').replace(/\s+$/, ''))
    .map((l) => l + '\n')
    .join('');
}

/**
 * Renders rows with docker's --format rules: `table` adds headers and alignment, `json` is one
 * JSON object per line, anything else is a Go template per row.
 */
export function render(format: string, rows: object[], headers: Record<string, string>): string {
  let f = format;
  if (f === 'json') return rows.map((r) => JSON.stringify(r) + '\n').join('');
  const table = f.startsWith('table');
  if (table) f = f.slice(5).trimStart();
  f = f.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  const t: Template = compile(f);
  const lines = rows.map((r) => t.execute(r));
  if (!table) return lines.map((l) => l + '\n').join('');
  const head = t.execute(new Proxy({}, { get: (_o, k) => headers[String(k)] ?? String(k).toUpperCase() }));
  return tabulate([head, ...lines]);
}
