/**
 * The Dockerfile parser: text in, instructions out (pure; no file system). Owner: the parser.
 * Directives, `escape`, continuations, comments, heredocs, JSON and shell forms, as BuildKit's
 * frontend/dockerfile/parser reads them, then the typed instructions of its instructions package.
 */
import { DockerfileError } from './errors.js';
import { argsOf, heredocsFromLine, parseHeredocWord, splitCommand, SyntaxProblem, withSuggestion, type Args } from './_syntax.js';
import { parseRunMount } from './_mount.js';
import type {
  ArgInstruction,
  CommandForm,
  CopyInstruction,
  Dockerfile,
  Flag,
  Heredoc,
  Instruction,
  Located,
  ParsedDockerfile,
  RawInstruction,
  RunInstruction,
  SourceRange,
  Stage,
} from './instructions.js';

export { parseRunMount } from './_mount.js';

const validDirectives = new Set(['syntax', 'escape', 'check']);
const heredocKeywords = new Set(['run', 'copy', 'add']);
const directiveRe = /^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/u;

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function continuationRegex(escape: string): RegExp {
  const e = escape === '`' ? '`' : '\\\\';
  // The escape as the last non-blank character continues the line, unless it is itself escaped.
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`, 'u');
}

const isComment = (line: string): boolean => line.replace(/^\s+/u, '').startsWith('#');
const trimNewline = (line: string): string => line.replace(/[\r\n]+$/u, '');

/** Splits the text into raw instructions. Throws DockerfileError (with the line) on bad syntax. */
export function parseDockerfile(text: string): Dockerfile {
  const lines = text.match(/[^\n]*\n|[^\n]+$/gu) ?? [];
  if (lines.length > 0) lines[0] = lines[0]!.replace(/^\ufeff/u, '');
  const directives: Record<string, string> = {};
  let escape = '\\';
  let contRe = continuationRegex(escape);
  let directivesDone = false;
  const warnings: string[] = [];
  const instructions: RawInstruction[] = [];
  let i = 0;
  let current = 0;

  // Parser directives are only read in the leading comment block; anything else ends it.
  const directive = (line: string, lineNo: number): void => {
    if (directivesDone) return;
    if (!line.startsWith('#')) {
      directivesDone = true;
      return;
    }
    const m = directiveRe.exec(line.slice(1).replace(/^\s+/u, ''));
    const key = m?.[1]?.toLowerCase();
    if (!m || !key || !validDirectives.has(key)) {
      directivesDone = true;
      return;
    }
    const range = { startLine: lineNo, endLine: lineNo };
    if (key in directives) throw new DockerfileError(`only one ${key} parser directive can be used`, range);
    const value = m[2]!;
    if (key === 'escape') {
      if (value !== '`' && value !== '\\') throw new DockerfileError(`invalid escape token '${value}' does not match \` or \\`, range);
      escape = value;
      contRe = continuationRegex(escape);
    }
    directives[key] = value;
  };
  const trimContinuation = (line: string): [string, boolean] =>
    contRe.test(line) ? [line.replace(contRe, (_m, c: string | undefined) => c ?? ''), false] : [line, true];

  while (i < lines.length) {
    let first = trimNewline(lines[i++]!).replace(/^\s+/u, '');
    current++;
    directive(first, current);
    if (isComment(first)) first = '';
    const startLine = current;
    let [buf, ended] = trimContinuation(first);
    if (ended && buf.length === 0) continue;
    let emptyContinuation = false;
    while (!ended && i < lines.length) {
      const rawLine = lines[i++]!;
      current++;
      const l = trimNewline(rawLine);
      directive(l, current);
      // A comment inside a continuation is dropped, and does not end it.
      if (isComment(rawLine)) continue;
      if (l.trim() === '') {
        emptyContinuation = true;
        continue;
      }
      let part: string;
      [part, ended] = trimContinuation(l);
      buf += part;
    }
    const line = buf;
    if (emptyContinuation) warnings.push(`Empty continuation line found in: ${line}`);

    let cmd: ReturnType<typeof splitCommand>;
    let parsed: Args;
    try {
      cmd = splitCommand(line, escape);
      parsed = argsOf(cmd.cmd.toLowerCase(), cmd.rest, escape);
    } catch (err) {
      if (err instanceof SyntaxProblem) throw new DockerfileError(err.message, { startLine, endLine: current });
      throw err;
    }
    const keyword = cmd.cmd.toLowerCase();
    // ONBUILD RUN <<EOF: the trigger decides whether heredocs apply.
    const target = keyword === 'onbuild' && parsed.sub ? { kw: parsed.sub.cmd.toLowerCase(), json: parsed.sub.parsed.json } : { kw: keyword, json: parsed.json };
    const heredocs: Heredoc[] = [];
    if (heredocKeywords.has(target.kw) && !target.json && line.includes('<<')) {
      for (const h of heredocsFromLine(line)) {
        let content = '';
        let terminated = false;
        while (i < lines.length) {
          const rawLine = lines[i++]!;
          current++;
          let candidate = trimNewline(rawLine);
          if (h.chomp) candidate = candidate.replace(/^\t+/u, '');
          if (candidate === h.name) {
            terminated = true;
            break;
          }
          content += rawLine;
        }
        if (!terminated) throw new DockerfileError('unterminated heredoc', { startLine, endLine: current });
        if (h.chomp) content = content.replace(/^\t+/gmu, '');
        heredocs.push({ name: h.name, content, quoted: !h.expand, chomp: h.chomp });
      }
    }
    const raw: RawInstruction = {
      keyword,
      flags: cmd.flags,
      rest: cmd.rest,
      heredocs,
      original: line,
      range: { startLine, endLine: current },
    };
    if (parsed.json && keyword !== 'healthcheck') raw.json = parsed.args;
    instructions.push(raw);
  }
  if (instructions.length === 0) throw new DockerfileError('file with no instructions');
  return { directives, escape, instructions, warnings };
}

// ------------------------------------------------------------------ flags

type FlagKind = 'bool' | 'string' | 'strings';

/** BuildKit's BFlags: the flags an instruction accepts, checked against those written. */
class Flags {
  readonly values = new Map<string, string>();
  readonly lists = new Map<string, string[]>();
  readonly used = new Set<string>();
  constructor(
    private readonly given: Flag[],
    private readonly kinds: Record<string, FlagKind>,
  ) {}

  parse(): this {
    for (const f of this.given) {
      const written = `--${f.name}`;
      const kind = Object.prototype.hasOwnProperty.call(this.kinds, f.name) ? this.kinds[f.name] : undefined;
      if (!kind) throw new SyntaxProblem(withSuggestion(`unknown flag: ${written}`, f.name, Object.keys(this.kinds), true));
      if (this.used.has(f.name) && kind !== 'strings') throw new SyntaxProblem(`duplicate flag specified: ${written}`);
      this.used.add(f.name);
      const hasValue = f.hasValue !== false;
      if (kind === 'bool') {
        if (hasValue && f.value === '') throw new SyntaxProblem(`missing a value on flag: ${written}`);
        const v = hasValue ? f.value.toLowerCase() : 'true';
        if (v !== 'true' && v !== 'false') throw new SyntaxProblem(`expecting boolean value for flag ${written}, not: ${f.value}`);
        this.values.set(f.name, v);
      } else {
        if (!hasValue) throw new SyntaxProblem(`missing a value on flag: ${written}`);
        if (kind === 'string') this.values.set(f.name, f.value);
        else this.lists.set(f.name, [...(this.lists.get(f.name) ?? []), f.value]);
      }
    }
    return this;
  }
  str(name: string): string | undefined {
    const v = this.values.get(name);
    return v === '' ? undefined : v;
  }
  bool(name: string): boolean {
    return this.values.get(name) === 'true';
  }
}

// ------------------------------------------------------------------ typed instructions

const allInstructions = ['add', 'arg', 'cmd', 'copy', 'entrypoint', 'env', 'expose', 'from', 'healthcheck', 'label', 'maintainer', 'onbuild', 'run', 'shell', 'stopsignal', 'user', 'volume', 'workdir'];

const atLeastOne = (c: string): SyntaxProblem => new SyntaxProblem(`${c} requires at least one argument`);
const exactlyOne = (c: string): SyntaxProblem => new SyntaxProblem(`${c} requires exactly one argument`);
const noDestination = (c: string): SyntaxProblem =>
  new SyntaxProblem(`${c} requires at least two arguments, but only one was provided. Destination could not be determined`);

const validStageName = /^[a-z][a-z0-9-_.]*$/u;

function commandForm(a: Args): CommandForm {
  return a.json ? { form: 'json', args: a.args } : { form: 'shell', text: a.args.join(' ') };
}

/** Go's time.ParseDuration, for validating HEALTHCHECK durations; returns nanoseconds. */
function parseGoDuration(s: string): number {
  const orig = s;
  const bad = (): SyntaxProblem => new SyntaxProblem(`time: invalid duration ${JSON.stringify(orig)}`);
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw bad();
  const units: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  // Escaped: a character past U+00FF in a regex literal reaches the bundles as is, and then V8
  // holds the whole bundle's source (1 MB) as a two-byte string.
  const re = /^(\d*)(?:\.(\d*))?([a-z\u00b5\u03bc]+)/u;
  while (s !== '') {
    const m = re.exec(s);
    if (!m || (m[1] === '' && (m[2] ?? '') === '')) throw bad();
    const unit = units[m[3]!];
    if (unit === undefined) throw new SyntaxProblem(`time: unknown unit ${JSON.stringify(m[3])} in duration ${JSON.stringify(orig)}`);
    total += Number(`${m[1] || '0'}.${m[2] ?? '0'}`) * unit;
    s = s.slice(m[0].length);
  }
  return neg ? -total : total;
}

function interval(flags: Flags, name: string): string | undefined {
  const v = flags.str(name);
  if (v === undefined) return undefined;
  const d = parseGoDuration(v);
  if (d === 0) return undefined;
  if (d < 1e6) throw new SyntaxProblem(`Interval ${JSON.stringify(name)} cannot be less than 1ms`);
  return v;
}

function typed(raw: RawInstruction, escape: string): Instruction {
  const kw = raw.keyword;
  const a = argsOf(kw, raw.rest, escape);
  const args = a.args;
  const flags = (kinds: Record<string, FlagKind>): Flags => new Flags(raw.flags, kinds).parse();
  switch (kw) {
    case 'from': {
      let alias: string | undefined;
      if (args.length === 3 && args[1]!.toLowerCase() === 'as') {
        alias = args[2]!.toLowerCase();
        if (!validStageName.test(alias)) {
          throw new SyntaxProblem(`invalid name for build stage: ${JSON.stringify(args[2])}, name can't start with a number or contain symbols`);
        }
      } else if (args.length !== 1) {
        throw new SyntaxProblem('FROM requires either one or three arguments');
      }
      const f = flags({ platform: 'string' });
      const out: Instruction = { kind: 'from', image: args[0]! };
      if (alias) out.alias = alias;
      const platform = f.str('platform');
      if (platform !== undefined) out.platform = platform;
      return out;
    }
    case 'run': {
      const f = flags({ mount: 'strings', network: 'string' });
      const network = f.values.get('network');
      if (network !== undefined && !['default', 'none', 'host'].includes(network)) {
        throw new SyntaxProblem(`invalid network mode ${JSON.stringify(network)}`);
      }
      const mounts = (f.lists.get('mount') ?? []).map((m) => parseRunMount(m, (s) => s));
      let command = commandForm(a);
      let heredocs = raw.heredocs;
      if (heredocs.length > 0 && command.form === 'shell') {
        if (parseHeredocWord(command.text)) {
          // `RUN <<EOF`: the body is the script (BuildKit runs it with the shell, or as a file when it has a #!).
          command = { form: 'shell', text: heredocs[0]!.content };
          heredocs = heredocs.slice(1);
        } else {
          // `RUN cat <<A <<B`: the shell reads the heredocs, so the command is rebuilt with them.
          command = { form: 'shell', text: command.text + heredocs.map((h) => `\n${h.content}${h.name}`).join('') };
        }
      }
      const out: RunInstruction = { kind: 'run', command, mounts, heredocs };
      if (network !== undefined) out.network = network;
      return out;
    }
    case 'copy':
    case 'add': {
      const upper = kw.toUpperCase();
      if (args.length < 2) throw noDestination(upper);
      const f =
        kw === 'copy'
          ? flags({ chown: 'string', from: 'string', chmod: 'string', link: 'bool', exclude: 'strings', parents: 'bool' })
          : flags({ chown: 'string', chmod: 'string', link: 'bool', 'keep-git-dir': 'bool', checksum: 'string', unpack: 'bool', exclude: 'strings' });
      const dest = args[args.length - 1]!;
      if (!a.json && parseHeredocWord(dest)) throw new SyntaxProblem(`${upper} cannot accept a heredoc as a destination`);
      const byName = new Map(raw.heredocs.map((h) => [h.name, h]));
      const sources: string[] = [];
      const heredocs: Heredoc[] = [];
      for (const src of args.slice(0, -1)) {
        const h = a.json ? undefined : parseHeredocWord(src);
        if (h) {
          const body = byName.get(h.name)?.content ?? '';
          heredocs.push({ name: h.name, content: h.chomp ? body.replace(/^\t+/gmu, '') : body, quoted: !h.expand, chomp: h.chomp });
        } else {
          sources.push(src);
        }
      }
      const out: CopyInstruction = {
        kind: kw,
        sources,
        dest,
        heredocs,
        link: f.bool('link'),
        exclude: f.lists.get('exclude') ?? [],
        parents: f.bool('parents'),
      };
      const from = f.str('from');
      if (from !== undefined) out.from = from;
      const chown = f.str('chown');
      if (chown !== undefined) out.chown = chown;
      const chmod = f.str('chmod');
      if (chmod !== undefined) out.chmod = chmod;
      const checksum = f.str('checksum');
      if (checksum !== undefined) out.checksum = checksum;
      if (f.used.has('keep-git-dir')) out.keepGitDir = f.bool('keep-git-dir');
      if (f.used.has('unpack')) out.unpack = f.bool('unpack');
      return out;
    }
    case 'cmd':
    case 'entrypoint':
      flags({});
      return { kind: kw, command: commandForm(a) };
    case 'env':
    case 'label': {
      flags({});
      const upper = kw.toUpperCase();
      const pairs = a.pairs ?? [];
      if (pairs.length === 0) throw atLeastOne(upper);
      if (pairs.some((p) => p.key === '')) throw new SyntaxProblem(`${upper} names can not be blank`);
      return { kind: kw, pairs };
    }
    case 'arg': {
      if (args.length === 0) throw atLeastOne('ARG');
      const out: ArgInstruction = {
        kind: 'arg',
        args: args.map((w) => {
          const eq = w.indexOf('=');
          if (eq < 0) return { name: w };
          if (eq === 0) throw new SyntaxProblem('ARG names can not be blank');
          return { name: w.slice(0, eq), default: w.slice(eq + 1) };
        }),
      };
      flags({});
      return out;
    }
    case 'workdir':
    case 'user':
    case 'maintainer':
    case 'stopsignal': {
      if (args.length !== 1) throw exactlyOne(kw.toUpperCase());
      // BuildKit does not check STOPSIGNAL's flags.
      if (kw !== 'stopsignal') flags({});
      return { kind: kw, value: args[0]! };
    }
    case 'expose': {
      if (args.length === 0) throw atLeastOne('EXPOSE');
      flags({});
      return { kind: 'expose', values: args };
    }
    case 'volume': {
      if (args.length === 0) throw atLeastOne('VOLUME');
      flags({});
      const values = args.map((v) => v.trim());
      if (values.some((v) => v === '')) throw new SyntaxProblem('VOLUME specified can not be an empty string');
      return { kind: 'volume', values };
    }
    case 'shell': {
      flags({});
      if (args.length === 0) throw atLeastOne('SHELL');
      if (!a.json) throw new SyntaxProblem('SHELL requires the arguments to be in JSON form');
      return { kind: 'shell', shell: args };
    }
    case 'healthcheck': {
      if (args.length === 0) throw atLeastOne('HEALTHCHECK');
      const typ = args[0]!.toUpperCase();
      const rest = args.slice(1);
      if (typ === 'NONE') {
        if (rest.length !== 0) throw new SyntaxProblem('HEALTHCHECK NONE takes no arguments');
        return { kind: 'healthcheck', none: true };
      }
      const f = flags({ interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' });
      if (typ !== 'CMD') throw new SyntaxProblem(`Unknown type ${JSON.stringify(typ)} in HEALTHCHECK (try CMD)`);
      if (rest.length === 0) throw new SyntaxProblem('Missing command after HEALTHCHECK CMD');
      const out: Instruction = { kind: 'healthcheck', none: false, command: commandForm({ args: rest, json: a.json }) };
      const iv = interval(f, 'interval');
      if (iv !== undefined) out.interval = iv;
      const to = interval(f, 'timeout');
      if (to !== undefined) out.timeout = to;
      const sp = interval(f, 'start-period');
      if (sp !== undefined) out.startPeriod = sp;
      const si = interval(f, 'start-interval');
      if (si !== undefined) out.startInterval = si;
      const r = f.str('retries');
      if (r !== undefined) {
        if (!/^[+-]?\d+$/u.test(r) || Math.abs(Number(r)) > 2 ** 31 - 1) {
          throw new SyntaxProblem(`strconv.ParseInt: parsing ${JSON.stringify(r)}: ${/^[+-]?\d+$/u.test(r) ? 'value out of range' : 'invalid syntax'}`);
        }
        const n = Number(r);
        if (n < 0) throw new SyntaxProblem(`--retries cannot be negative (${n})`);
        out.retries = n;
      }
      return out;
    }
    case 'onbuild': {
      if (args.length === 0) throw atLeastOne('ONBUILD');
      flags({});
      const trigger = args[0]!.trim().toUpperCase();
      if (trigger === 'ONBUILD') throw new SyntaxProblem('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (trigger === 'MAINTAINER' || trigger === 'FROM') throw new SyntaxProblem(`${trigger} isn't allowed as an ONBUILD trigger`);
      let expr = raw.original.replace(/^\s*ONBUILD\s*/iu, '');
      for (const h of raw.heredocs) expr += `\n${h.content}${h.name}`;
      return { kind: 'onbuild', trigger: expr };
    }
    default: {
      const written = raw.original.trim().split(/[\t\v\f\r ]+/u)[0] ?? raw.keyword;
      throw new SyntaxProblem(withSuggestion(`unknown instruction: ${written}`, written, allInstructions.map((x) => x.toUpperCase()), false));
    }
  }
}

/**
 * Types each instruction (flags checked per instruction, forms decided) and groups them into
 * stages. Throws DockerfileError for unknown instructions, bad flags, or no FROM.
 */
export function toStages(file: Dockerfile): ParsedDockerfile {
  const metaArgs: Located<ArgInstruction>[] = [];
  const stages: Stage[] = [];
  for (const raw of file.instructions) {
    const range: SourceRange = raw.range;
    let ins: Instruction;
    try {
      ins = typed(raw, file.escape);
    } catch (err) {
      if (err instanceof SyntaxProblem) throw new DockerfileError(err.message, range);
      if (err instanceof DockerfileError) throw err;
      throw new DockerfileError(reasonOf(err), range);
    }
    const located = { ...ins, raw } as Located;
    if (located.kind === 'from') {
      stages.push({ index: stages.length, from: located as Located<typeof located & { kind: 'from' }>, steps: [] });
      continue;
    }
    if (stages.length === 0) {
      if (located.kind === 'arg') {
        metaArgs.push(located as Located<ArgInstruction>);
        continue;
      }
      throw new DockerfileError('no build stage in current context', range);
    }
    stages[stages.length - 1]!.steps.push(located);
  }
  // BuildKit finds this when converting; here it is found before any work starts.
  if (stages.length === 0) throw new DockerfileError('dockerfile contains no stages to build');
  return { directives: file.directives, escape: file.escape, metaArgs, stages, warnings: file.warnings };
}

/** Both steps: what the builder calls. */
export function parse(text: string): ParsedDockerfile {
  return toStages(parseDockerfile(text));
}
