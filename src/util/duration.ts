/**
 * go-units HumanDuration, which docker uses for every "ago", "Up …" and "Exited … ago" text:
 * "Less than a second", "3 minutes", "About an hour", "2 years". Both the daemon (ps status)
 * and the CLI (CREATED columns) print it, so the two must not drift apart.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  // Go: int(d.Hours()) / 24 / 365, whole hours first.
  return `${Math.floor(Math.floor(ms / 3_600_000) / 24 / 365)} years`;
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/**
 * Go's time.ParseDuration, in nanoseconds: `300ms`, `-1.5h`, `2h45m`, or `0`. Docker takes
 * durations in this syntax (HEALTHCHECK --interval, `until` filters), with Go's error texts.
 */
export function parseGoDuration(s: string): number {
  const invalid = () => new SyntaxError(`time: invalid duration ${JSON.stringify(s)}`);
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalid();
  let total = 0;
  while (rest !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(rest)!;
    if (m[0] === '' || m[0] === '.') throw invalid();
    rest = rest.slice(m[0].length);
    const unit = /^[^\d.]*/.exec(rest)![0];
    if (unit === '') throw new SyntaxError(`time: missing unit in duration ${JSON.stringify(s)}`);
    const scale = UNIT_NS[unit];
    if (scale === undefined) throw new SyntaxError(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(s)}`);
    rest = rest.slice(unit.length);
    total += Number(`${m[1] || '0'}.${m[2] || '0'}`) * scale;
  }
  return sign * Math.round(total);
}

/**
 * Go's time.Duration.String for a duration in nanoseconds: `200ms`, `1.5s`, `2m0s`, `1h0m0s`,
 * `0s`. Docker prints durations this way in messages ("Health check exceeded timeout (1s)").
 */
export function formatGoDuration(ns: number): string {
  ns = Math.round(ns);
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  let n = Math.abs(ns);
  const frac = (v: number, digits: number) => {
    const s = String(v).padStart(digits, '0').replace(/0+$/, '');
    return s ? `.${s}` : '';
  };
  if (n < 1e3) return `${sign}${n}ns`;
  if (n < 1e6) return `${sign}${Math.floor(n / 1e3)}${frac(n % 1e3, 3)}µs`;
  if (n < 1e9) return `${sign}${Math.floor(n / 1e6)}${frac(n % 1e6, 6)}ms`;
  const h = Math.floor(n / 3600e9);
  n -= h * 3600e9;
  const m = Math.floor(n / 60e9);
  n -= m * 60e9;
  const s = `${Math.floor(n / 1e9)}${frac(n % 1e9, 9)}s`;
  if (h > 0) return `${sign}${h}h${m}m${s}`;
  if (m > 0) return `${sign}${m}m${s}`;
  return `${sign}${s}`;
}
