import { posix } from 'node:path';
import { InvalidArgumentError, errorMessage, parseGoDuration } from '../util/index.js';
import type { ContainerConfig, HealthConfig } from '../types/index.js';

/** The Dockerfile instructions that `docker commit/import --change` accepts. */
const SUPPORTED = new Set(['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'HEALTHCHECK', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR']);

const HEALTH_FLAGS = { interval: 'Interval', timeout: 'Timeout', 'start-period': 'StartPeriod', 'start-interval': 'StartInterval' } as const;

/** `HEALTHCHECK [--interval=D --timeout=D --start-period=D --start-interval=D --retries=N] CMD ...` or `HEALTHCHECK NONE`. */
function healthcheck(rest: string): HealthConfig {
  let t = rest.trim();
  const flags = new Map<string, string>();
  const flag = /^--(\S+?)(?:=(\S*))?(?:\s+|$)/;
  for (let m = flag.exec(t); m; m = flag.exec(t)) {
    const [, name, value] = m;
    if (name !== 'retries' && !Object.hasOwn(HEALTH_FLAGS, name)) throw new InvalidArgumentError(`Unknown flag: ${name}`);
    if (value === undefined) throw new InvalidArgumentError(`Missing a value on flag: ${name}`);
    flags.set(name, value);
    t = t.slice(m[0].length);
  }
  if (!t) throw new InvalidArgumentError('HEALTHCHECK requires at least one argument');
  const m = /^(\S+)\s*(.*)$/s.exec(t)!;
  const type = m[1].toUpperCase();
  if (type === 'NONE') {
    if (m[2]) throw new InvalidArgumentError('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (type !== 'CMD') throw new InvalidArgumentError(`Unknown type ${JSON.stringify(type)} in HEALTHCHECK (try CMD)`);
  if (!m[2].trim()) throw new InvalidArgumentError('Missing command after HEALTHCHECK CMD');
  const json = jsonForm(m[2]);
  const h: HealthConfig = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', m[2].trim()] };
  for (const [name, field] of Object.entries(HEALTH_FLAGS)) {
    const v = flags.get(name);
    if (!v) continue;
    let ns: number;
    try {
      ns = parseGoDuration(v);
    } catch (err) {
      throw new InvalidArgumentError(errorMessage(err), { cause: err });
    }
    if (ns < 0) throw new InvalidArgumentError(`Interval ${JSON.stringify(name)} cannot be negative`);
    if (ns > 0 && ns < 1e6) throw new InvalidArgumentError(`Interval ${JSON.stringify(name)} cannot be less than 1ms`);
    if (ns > 0) h[field] = ns;
  }
  const retries = flags.get('retries');
  if (retries) {
    if (!/^[-+]?\d+$/.test(retries)) throw new InvalidArgumentError(`strconv.ParseInt: parsing ${JSON.stringify(retries)}: invalid syntax`);
    const n = Number(retries);
    if (n < 0) throw new InvalidArgumentError(`--retries cannot be negative (${n})`);
    if (n > 0) h.Retries = n;
  }
  return h;
}

/** The JSON array form of a command, or undefined when `rest` is not one (then it is the shell form). */
function jsonForm(rest: string): string[] | undefined {
  const t = rest.trim();
  if (!t.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(t) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // Not JSON after all: Docker falls back to the shell form.
  }
  return undefined;
}

/** JSON array form, or the shell form wrapped in /bin/sh -c, as a Dockerfile does. */
function commandForm(rest: string): string[] {
  return jsonForm(rest) ?? ['/bin/sh', '-c', rest.trim()];
}

/** Splits shell-style words, honouring quotes and backslashes the way the Dockerfile parser does. */
function words(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += ch;
      continue;
    }
    if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '\\' && i + 1 < s.length) cur += s[++i];
    else cur += ch;
  }
  if (quote) throw new InvalidArgumentError(`unmatched quote in "${s}"`);
  if (inWord) out.push(cur);
  return out;
}

/** `KEY=v K2="x y"`, or the legacy `KEY value with spaces` when the first word has no `=`. */
function keyValues(op: string, rest: string): [string, string][] {
  const t = rest.trim();
  const first = /^\S*/.exec(t)![0];
  if (!first) throw new InvalidArgumentError(`${op} requires at least one argument`);
  if (!first.includes('=')) {
    const m = /^(\S+)\s+(.*)$/s.exec(t);
    if (!m) throw new InvalidArgumentError(`${op} must have two arguments`);
    return [[m[1], m[2].trim()]];
  }
  return words(t).map((w) => {
    const i = w.indexOf('=');
    if (i <= 0) throw new InvalidArgumentError(`${op} names can not be blank`);
    return [w.slice(0, i), w.slice(i + 1)];
  });
}

/** `80`, `53/udp`, `8000-8002/tcp` -> Docker's `port/proto` keys. */
function exposedPorts(spec: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  if (!m) throw new InvalidArgumentError(`invalid containerPort: ${spec}`);
  const lo = Number(m[1]);
  const hi = m[2] ? Number(m[2]) : lo;
  const proto = (m[3] ?? 'tcp').toLowerCase();
  if (lo < 1 || hi > 65535 || hi < lo) throw new InvalidArgumentError(`invalid range specified for container port: ${spec}`);
  const out: string[] = [];
  for (let p = lo; p <= hi; p++) out.push(`${p}/${proto}`);
  return out;
}

/** Joins the changes into lines, as Docker does by parsing them as one Dockerfile (continuations included). */
function lines(changes: string[]): string[] {
  const out: string[] = [];
  let pending = '';
  for (const raw of changes.join('\n').split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!pending && /^\s*(#|$)/.test(line)) continue;
    if (/\\\s*$/.test(line)) {
      pending += line.replace(/\\\s*$/, '');
      continue;
    }
    out.push(pending + line);
    pending = '';
  }
  if (pending.trim()) out.push(pending);
  return out;
}

/** Applies `docker commit/import --change` instructions to a container config, returning a new one. */
export function applyChanges(config: ContainerConfig, changes: string[]): ContainerConfig {
  const c: ContainerConfig = { ...config };
  for (const line of lines(changes)) {
    const m = /^\s*(\S+)\s*(.*)$/s.exec(line)!;
    const op = m[1].toUpperCase();
    const rest = m[2].trim();
    if (!SUPPORTED.has(op)) throw new InvalidArgumentError(`${m[1].toLowerCase()} is not a valid change command`);
    switch (op) {
      case 'CMD':
        c.Cmd = commandForm(rest);
        break;
      case 'ENTRYPOINT':
        c.Entrypoint = commandForm(rest);
        break;
      case 'ENV': {
        const env = [...(c.Env ?? [])];
        for (const [k, v] of keyValues('ENV', rest)) {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        c.Env = env;
        break;
      }
      case 'LABEL':
        c.Labels = { ...(c.Labels ?? {}) };
        for (const [k, v] of keyValues('LABEL', rest)) c.Labels[k] = v;
        break;
      case 'EXPOSE':
        if (!rest) throw new InvalidArgumentError('EXPOSE requires at least one argument');
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const p of rest.split(/\s+/)) for (const key of exposedPorts(p)) c.ExposedPorts[key] = {};
        break;
      case 'VOLUME': {
        let list: string[];
        if (rest.startsWith('[')) {
          try {
            list = JSON.parse(rest) as string[];
            if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw new Error('not a list of strings');
          } catch {
            list = words(rest);
          }
        } else {
          list = words(rest);
        }
        if (!list.length || list.some((v) => !v.trim())) throw new InvalidArgumentError('VOLUME specified can not be an empty string');
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const v of list) c.Volumes[v] = {};
        break;
      }
      case 'USER':
        if (!rest) throw new InvalidArgumentError('USER requires exactly one argument');
        c.User = rest;
        break;
      case 'WORKDIR':
        if (!rest) throw new InvalidArgumentError('WORKDIR requires exactly one argument');
        // A relative WORKDIR continues from the previous one, as in a Dockerfile.
        c.WorkingDir = posix.join(posix.isAbsolute(rest) ? '/' : c.WorkingDir || '/', rest).replace(/(.)\/+$/, '$1');
        break;
      case 'HEALTHCHECK':
        c.Healthcheck = healthcheck(rest);
        break;
      case 'STOPSIGNAL':
        if (!rest) throw new InvalidArgumentError('STOPSIGNAL requires exactly one argument');
        c.StopSignal = rest;
        break;
      case 'ONBUILD': {
        const trigger = (/^\S*/.exec(rest)![0] ?? '').toUpperCase();
        if (!trigger) throw new InvalidArgumentError('ONBUILD requires at least one argument');
        if (trigger === 'ONBUILD') throw new InvalidArgumentError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if (trigger === 'FROM' || trigger === 'MAINTAINER') throw new InvalidArgumentError(`${trigger} isn't allowed as an ONBUILD trigger`);
        c.OnBuild = [...(c.OnBuild ?? []), rest];
        break;
      }
    }
  }
  return c;
}
