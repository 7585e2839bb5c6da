/**
 * Image-config semantics of the classic builder's instructions, and the Go formatting its
 * history lines use (`%q`, `%v`, `%+v` of Go values), so `docker history` reads the same.
 */
import { InvalidArgumentError, formatGoDuration, parseGoDuration, errorMessage } from '../util/index.js';
import type { ContainerConfig, HealthConfig } from '../types/index.js';
import type { HealthcheckInstruction } from './instructions.js';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The config as Go's container.Config marshals it: fields without `omitempty` are always
 * present (zero values and nulls), so an inspect of a wharf-built image has Docker's keys.
 */
export function fullConfig(c: ContainerConfig): ContainerConfig {
  const out: ContainerConfig = {
    Hostname: c.Hostname ?? '',
    Domainname: c.Domainname ?? '',
    User: c.User ?? '',
    AttachStdin: c.AttachStdin ?? false,
    AttachStdout: c.AttachStdout ?? false,
    AttachStderr: c.AttachStderr ?? false,
  };
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length) out.ExposedPorts = c.ExposedPorts;
  out.Tty = c.Tty ?? false;
  out.OpenStdin = c.OpenStdin ?? false;
  out.StdinOnce = c.StdinOnce ?? false;
  out.Env = c.Env && c.Env.length ? c.Env : null;
  out.Cmd = c.Cmd ?? null;
  if (c.Healthcheck) out.Healthcheck = c.Healthcheck;
  if (c.ArgsEscaped) out.ArgsEscaped = c.ArgsEscaped;
  out.Image = c.Image ?? '';
  out.Volumes = c.Volumes && Object.keys(c.Volumes).length ? c.Volumes : null;
  out.WorkingDir = c.WorkingDir ?? '';
  out.Entrypoint = c.Entrypoint ?? null;
  if (c.NetworkDisabled) out.NetworkDisabled = c.NetworkDisabled;
  if (c.MacAddress) out.MacAddress = c.MacAddress;
  out.OnBuild = c.OnBuild && c.OnBuild.length ? c.OnBuild : null;
  out.Labels = c.Labels && Object.keys(c.Labels).length ? c.Labels : null;
  if (c.StopSignal) out.StopSignal = c.StopSignal;
  if (c.StopTimeout != null) out.StopTimeout = c.StopTimeout;
  if (c.Shell && c.Shell.length) out.Shell = c.Shell;
  return out;
}

/** A deep enough copy that a step's changes never reach the base's config. */
export function cloneConfig(c: ContainerConfig): ContainerConfig {
  return structuredClone(c);
}

/** beginStage: the base's config with a default PATH and stdin closed, as moby starts a stage. */
export function stageConfig(base: ContainerConfig | undefined): ContainerConfig {
  const c = cloneConfig(base ?? {});
  if (!c.Env || c.Env.length === 0) c.Env = [DEFAULT_PATH];
  c.OpenStdin = false;
  c.StdinOnce = false;
  return c;
}

/** ENV: replace the variable of the same name in place, else append. */
export function setEnv(env: string[], key: string, value: string): string[] {
  const out = [...env];
  const i = out.findIndex((e) => e.split('=', 1)[0] === key);
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

export function envLookup(env: readonly string[] | null | undefined, key: string): string | undefined {
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    if ((i < 0 ? e : e.slice(0, i)) === key) return i < 0 ? '' : e.slice(i + 1);
  }
  return undefined;
}

/** Go's `%q` of a []string: `["sh" "-c" "echo hi"]`. */
export function goQuoteList(list: readonly string[] | null | undefined): string {
  return `[${(list ?? []).map((s) => JSON.stringify(s)).join(' ')}]`;
}

/** Go's `%v` of a []string: `[/bin/sh -c]`. */
export function goList(list: readonly string[] | null | undefined): string {
  return `[${(list ?? []).join(' ')}]`;
}

/** Go's `%q` of a rune (strconv.QuoteRune), which is what `%q` prints for an int. */
function goQuoteRune(n: number): string {
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 39: "\\'", 92: '\\\\' };
  if (named[n]) return `'${named[n]}'`;
  if (n >= 0x20 && n < 0x7f) return `'${String.fromCodePoint(n)}'`;
  if (n < 0x80 && n >= 0) return `'\\x${n.toString(16).padStart(2, '0')}'`;
  if (n > 0x10ffff || n < 0) return "'\\ufffd'";
  return n > 0xffff ? `'\\U${n.toString(16).padStart(8, '0')}'` : `'\\u${n.toString(16).padStart(4, '0')}'`;
}

/**
 * Go's `%q` of a *HealthConfig, as the classic builder (20.10) writes HEALTHCHECK's history:
 * `&{["CMD-SHELL" "curl x"] "30s" "0s" "0s" '\x03'}` (durations quoted, retries as a rune).
 */
export function goHealth(h: HealthConfig): string {
  const d = (ns: number | undefined) => JSON.stringify(formatGoDuration(ns ?? 0));
  const si = h.StartInterval ? ` ${d(h.StartInterval)}` : '';
  return `&{${goQuoteList(h.Test)} ${d(h.Interval)} ${d(h.Timeout)} ${d(h.StartPeriod)}${si} ${goQuoteRune(h.Retries ?? 0)}}`;
}

function duration(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  let ns: number;
  try {
    ns = parseGoDuration(v);
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err), { cause: err });
  }
  if (ns < 0) throw new InvalidArgumentError(`Interval "${name}" cannot be negative`);
  if (ns > 0 && ns < 1e6) throw new InvalidArgumentError(`Interval "${name}" cannot be less than 1ms`);
  return ns || undefined;
}

/** HEALTHCHECK to the config's HealthConfig: durations in ns, NONE as `["NONE"]`, shell form as CMD-SHELL. */
export function healthConfig(h: HealthcheckInstruction, shell: readonly string[]): HealthConfig {
  void shell; // CMD-SHELL is run by the container's default shell, not the Dockerfile's SHELL (as Docker).
  if (h.none || !h.command) return { Test: ['NONE'] };
  const test = h.command.form === 'json' ? ['CMD', ...h.command.args] : ['CMD-SHELL', h.command.text];
  const out: HealthConfig = { Test: test };
  const interval = duration('interval', h.interval);
  const timeout = duration('timeout', h.timeout);
  const startPeriod = duration('start-period', h.startPeriod);
  const startInterval = duration('start-interval', h.startInterval);
  if (interval) out.Interval = interval;
  if (timeout) out.Timeout = timeout;
  if (startPeriod) out.StartPeriod = startPeriod;
  if (startInterval) out.StartInterval = startInterval;
  if (h.retries !== undefined) {
    if (h.retries < 0) throw new InvalidArgumentError(`--retries cannot be negative (${h.retries})`);
    if (h.retries > 0) out.Retries = h.retries;
  }
  return out;
}

/** EXPOSE's words to ExposedPorts keys: `80` -> `80/tcp`, `7000-7002/udp` -> three keys. */
export function exposedPorts(words: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of words) {
    // `ip:host:container` is accepted by nat.ParsePortSpec; only the container part is exposed.
    const part = raw.slice(raw.lastIndexOf(':') + 1);
    const slash = part.indexOf('/');
    const portText = slash < 0 ? part : part.slice(0, slash);
    const proto = (slash < 0 ? 'tcp' : part.slice(slash + 1)).toLowerCase();
    if (!portText) throw new InvalidArgumentError(`no port specified: ${raw}<empty>`);
    if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new InvalidArgumentError(`invalid proto: ${proto}`);
    const m = /^(\d+)(?:-(\d+))?$/.exec(portText);
    if (!m) throw new InvalidArgumentError(`invalid containerPort: ${portText}`);
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    if (start > 65535 || end > 65535) throw new InvalidArgumentError(`invalid containerPort: ${portText}`);
    if (end < start) throw new InvalidArgumentError(`invalid range specified for container port: ${portText}`);
    for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  }
  return out;
}

const SIGNALS = new Set([
  'ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL', 'PROF',
  'PWR', 'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1', 'USR2', 'VTALRM',
  'WINCH', 'XCPU', 'XFSZ',
]);

/** moby/sys/signal.ParseSignal's acceptance, with its error text. */
export function checkSignal(s: string): void {
  if (/^\d+$/.test(s)) {
    if (Number(s) === 0) throw new InvalidArgumentError(`Invalid signal: ${s}`);
    return;
  }
  const name = s.toUpperCase().replace(/^SIG/, '');
  if (SIGNALS.has(name) || /^RTMIN(\+\d+)?$|^RTMAX(-\d+)?$/.test(name)) return;
  throw new InvalidArgumentError(`Invalid signal: ${s}`);
}

/** normalizeWorkdir: relative to the previous WORKDIR, cleaned. */
export function normalizeWorkdir(current: string, requested: string): string {
  if (!requested) throw new InvalidArgumentError('cannot normalize nothing');
  const abs = requested.startsWith('/') ? requested : `/${current}/${requested}`;
  const parts: string[] = [];
  for (const p of abs.split('/')) {
    if (!p || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return '/' + parts.join('/');
}

/** The platforms this builder can produce. */
export function checkPlatform(p: string | undefined, what: string): void {
  if (!p) return;
  const norm = p.toLowerCase();
  if (['linux/amd64', 'linux/x86_64', 'linux/amd64/v1', 'linux', 'amd64', 'x86_64'].includes(norm)) return;
  throw new InvalidArgumentError(`${what} "${p}" is not supported: wharf builds linux/amd64 images only`);
}
