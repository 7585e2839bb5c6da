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
