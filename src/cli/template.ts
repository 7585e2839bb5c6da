/**
 * A Go text/template subset, enough for docker's --format: fields and methods, pipelines,
 * variables, if/else if/else, range, with, comparison and logic, and docker's template
 * functions (json, join, split, upper, lower, title, truncate, pad, println, printf, len, index).
 */

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipeline }
  | { kind: 'if' | 'with'; branches: { pipe: Pipeline; body: Node[] }[]; otherwise: Node[] }
  | { kind: 'range'; pipe: Pipeline; vars: string[]; body: Node[]; otherwise: Node[] };

interface Pipeline {
  decl?: string[];
  cmds: Arg[][];
}

type Arg =
  | { t: 'field'; base: 'dot' | string; path: string[] }
  | { t: 'str'; v: string }
  | { t: 'num'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'nil' }
  | { t: 'ident'; name: string }
  | { t: 'sub'; pipe: Pipeline };

export class TemplateError extends Error {}

function tokenizeAction(src: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === '`') {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === '\\' && c === '"' ? 2 : 1;
      out.push(src.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if (c === '(' || c === ')' || c === '|') {
      out.push(c);
      i++;
      continue;
    }
    if (src.startsWith(':=', i)) {
      out.push(':=');
      i += 2;
      continue;
    }
    if (c === '=' || c === ',') {
      out.push(c);
      i++;
      continue;
    }
    let j = i;
    while (j < src.length && !/[\s()|,]/.test(src[j]) && !src.startsWith(':=', j) && !(src[j] === '=' && j > i)) j++;
    out.push(src.slice(i, j));
    i = j;
  }
  return out;
}

function parsePipeline(tokens: string[]): Pipeline {
  let pos = 0;
  const pipe: Pipeline = { cmds: [] };
  // `$x := ...` or `$i, $v := ...`
  const assign = tokens.indexOf(':=');
  if (assign > 0 && tokens.slice(0, assign).every((t) => t.startsWith('$') || t === ',')) {
    pipe.decl = tokens.slice(0, assign).filter((t) => t !== ',');
    pos = assign + 1;
  }
  const parseArgs = (stop: string | undefined): Arg[][] => {
    const cmds: Arg[][] = [[]];
    while (pos < tokens.length) {
      const tok = tokens[pos];
      if (tok === stop) return cmds;
      pos++;
      if (tok === '|') {
        cmds.push([]);
        continue;
      }
      if (tok === '(') {
        const inner = parseArgs(')');
        pos++; // ')'
        cmds[cmds.length - 1].push({ t: 'sub', pipe: { cmds: inner } });
        continue;
      }
      cmds[cmds.length - 1].push(parseArg(tok));
    }
    if (stop) throw new TemplateError(`unclosed left paren`);
    return cmds;
  };
  pipe.cmds = parseArgs(undefined).filter((c) => c.length > 0);
  return pipe;
}

function parseArg(tok: string): Arg {
  if (tok.startsWith('"')) return { t: 'str', v: JSON.parse(tok) as string };
  if (tok.startsWith('`')) return { t: 'str', v: tok.slice(1, -1) };
  if (/^-?\d+(\.\d+)?$/.test(tok)) return { t: 'num', v: Number(tok) };
  if (tok === 'true' || tok === 'false') return { t: 'bool', v: tok === 'true' };
  if (tok === 'nil') return { t: 'nil' };
  if (tok === '.') return { t: 'field', base: 'dot', path: [] };
  if (tok.startsWith('.')) return { t: 'field', base: 'dot', path: tok.split('.').filter(Boolean) };
  if (tok.startsWith('$')) {
    const [v, ...path] = tok.split('.');
    return { t: 'field', base: v, path };
  }
  return { t: 'ident', name: tok };
}

/** Splits the source into text and actions, applying `{{-` and `-}}` trimming. */
function lex(src: string): ({ text: string } | { action: string })[] {
  const out: ({ text: string } | { action: string })[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push({ text: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    let start = open + 2;
    if (src[start] === '-' && /\s/.test(src[start + 1] ?? '')) {
      text = text.replace(/\s+$/, '');
      start++;
    }
    if (text) out.push({ text });
    const close = src.indexOf('}}', start);
    if (close < 0) throw new TemplateError('unclosed action');
    let body = src.slice(start, close);
    let next = close + 2;
    if (/\s-$/.test(body)) {
      body = body.slice(0, -1);
      while (next < src.length && /\s/.test(src[next])) next++;
    }
    out.push({ action: body.trim() });
    i = next;
  }
  return out;
}

function parse(src: string): Node[] {
  const items = lex(src);
  let pos = 0;
  const parseList = (terminators: string[]): { nodes: Node[]; end: string } => {
    const nodes: Node[] = [];
    while (pos < items.length) {
      const it = items[pos++];
      if ('text' in it) {
        nodes.push({ kind: 'text', text: it.text });
        continue;
      }
      const a = it.action;
      if (a.startsWith('/*')) continue;
      const word = a.split(/\s+/)[0];
      if (terminators.includes(word) || (word === 'else' && terminators.includes('else'))) return { nodes, end: a };
      if (word === 'if' || word === 'with') {
        const node: Node = { kind: word, branches: [], otherwise: [] };
        let cond = a.slice(word.length);
        for (;;) {
          const body = parseList(['end', 'else']);
          node.branches.push({ pipe: parsePipeline(tokenizeAction(cond)), body: body.nodes });
          if (body.end === 'end') break;
          const rest = body.end.slice(4).trim();
          if (rest.startsWith('if ') || rest.startsWith('with ')) {
            cond = rest.slice(rest.indexOf(' '));
            continue;
          }
          node.otherwise = parseList(['end']).nodes;
          break;
        }
        nodes.push(node);
      } else if (word === 'range') {
        const pipe = parsePipeline(tokenizeAction(a.slice(5)));
        const body = parseList(['end', 'else']);
        const otherwise = body.end === 'end' ? [] : parseList(['end']).nodes;
        nodes.push({ kind: 'range', pipe, vars: pipe.decl ?? [], body: body.nodes, otherwise });
      } else if (word === 'end' || word === 'else') {
        throw new TemplateError(`unexpected {{${word}}}`);
      } else {
        nodes.push({ kind: 'action', pipe: parsePipeline(tokenizeAction(a)) });
      }
    }
    if (terminators.length) throw new TemplateError('unexpected EOF');
    return { nodes, end: '' };
  };
  return parseList([]).nodes;
}

/** Go's default formatting of a value (%v). */
export function goString(v: unknown): string {
  if (v === undefined || v === null) return '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return `map[${entries.map(([k, x]) => `${k}:${goString(x)}`).join(' ')}]`;
  }
  return String(v);
}

function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

function sprintf(fmt: string, args: unknown[]): string {
  let i = 0;
  return fmt.replace(/%([-+ 0#]*)(\d*)(?:\.(\d+))?([vsdqfxXtT%])/g, (_m, flags: string, width: string, prec: string, verb: string) => {
    if (verb === '%') return '%';
    const a = args[i++];
    let s: string;
    switch (verb) {
      case 'd':
        s = String(Math.trunc(Number(a)));
        break;
      case 'f':
        s = Number(a).toFixed(prec ? Number(prec) : 6);
        break;
      case 'q':
        s = JSON.stringify(goString(a));
        break;
      case 'x':
        s = typeof a === 'number' ? a.toString(16) : Buffer.from(goString(a)).toString('hex');
        break;
      case 'X':
        s = (typeof a === 'number' ? a.toString(16) : Buffer.from(goString(a)).toString('hex')).toUpperCase();
        break;
      case 't':
        s = String(Boolean(a));
        break;
      default:
        s = goString(a);
        if (prec) s = s.slice(0, Number(prec));
    }
    const w = Number(width || 0);
    if (s.length < w) s = flags.includes('-') ? s.padEnd(w) : s.padStart(w, flags.includes('0') && verb !== 's' ? '0' : ' ');
    return s;
  });
}

function cmpArgs(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

const FUNCS: Record<string, (...args: unknown[]) => unknown> = {
  json: (v) => JSON.stringify(v ?? null),
  join: (list, sep) => (Array.isArray(list) ? list.map(goString).join(String(sep)) : goString(list)),
  split: (s, sep) => String(s).split(String(sep)),
  upper: (s) => goString(s).toUpperCase(),
  lower: (s) => goString(s).toLowerCase(),
  title: (s) => goString(s).replace(/\b\w/g, (c) => c.toUpperCase()),
  truncate: (s, n) => goString(s).slice(0, Number(n)),
  pad: (s, l, r) => ' '.repeat(Number(l)) + goString(s) + ' '.repeat(Number(r)),
  len: (v) => (Array.isArray(v) || typeof v === 'string' ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0),
  index: (v, ...keys) => keys.reduce<unknown>((o, k) => (o == null ? undefined : (o as Record<string, unknown>)[String(k)]), v),
  println: (...a) => a.map(goString).join(' ') + '\n',
  print: (...a) => a.map(goString).join(''),
  printf: (fmt, ...a) => sprintf(String(fmt), a),
  eq: (a, ...bs) => bs.some((b) => cmpArgs(a, b) === 0),
  ne: (a, b) => cmpArgs(a, b) !== 0,
  lt: (a, b) => cmpArgs(a, b) < 0,
  le: (a, b) => cmpArgs(a, b) <= 0,
  gt: (a, b) => cmpArgs(a, b) > 0,
  ge: (a, b) => cmpArgs(a, b) >= 0,
  not: (a) => !truthy(a),
  and: (...a) => a.find((x) => !truthy(x)) ?? a[a.length - 1],
  or: (...a) => a.find((x) => truthy(x)) ?? a[a.length - 1],
};

function lookup(base: unknown, path: string[], args: unknown[]): unknown {
  let v = base;
  for (let i = 0; i < path.length; i++) {
    if (v === undefined || v === null) return undefined;
    const next = (v as Record<string, unknown>)[path[i]];
    // Methods (like .Label "key") take the command's arguments when they come last.
    v = typeof next === 'function' ? (next as (...a: unknown[]) => unknown).apply(v, i === path.length - 1 ? args : []) : next;
  }
  return v;
}

class Scope {
  constructor(
    readonly dot: unknown,
    readonly vars: Map<string, unknown>,
  ) {}

  with(dot: unknown): Scope {
    return new Scope(dot, new Map(this.vars));
  }
}

function evalArg(a: Arg, s: Scope): unknown {
  switch (a.t) {
    case 'str':
    case 'num':
    case 'bool':
      return a.v;
    case 'nil':
      return null;
    case 'sub':
      return evalPipe(a.pipe, s);
    case 'ident': {
      const f = FUNCS[a.name];
      if (!f) throw new TemplateError(`function "${a.name}" not defined`);
      return f();
    }
    case 'field': {
      const base = a.base === 'dot' ? s.dot : s.vars.get(a.base);
      return lookup(base, a.path, []);
    }
  }
}

function evalCmd(cmd: Arg[], s: Scope, piped: unknown[]): unknown {
  const [head, ...rest] = cmd;
  if (head.t === 'ident') {
    const f = FUNCS[head.name];
    if (!f) throw new TemplateError(`function "${head.name}" not defined`);
    return f(...rest.map((r) => evalArg(r, s)), ...piped);
  }
  if (head.t === 'field' && (rest.length || piped.length)) {
    const base = head.base === 'dot' ? s.dot : s.vars.get(head.base);
    return lookup(base, head.path, [...rest.map((r) => evalArg(r, s)), ...piped]);
  }
  return evalArg(head, s);
}

function evalPipe(p: Pipeline, s: Scope): unknown {
  let v: unknown;
  p.cmds.forEach((cmd, i) => {
    v = evalCmd(cmd, s, i === 0 ? [] : [v]);
  });
  if (p.decl?.length === 1) s.vars.set(p.decl[0], v);
  return v;
}

function exec(nodes: Node[], s: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.kind) {
      case 'text':
        out.push(n.text);
        break;
      case 'action': {
        const v = evalPipe(n.pipe, s);
        if (!n.pipe.decl) out.push(goString(v));
        break;
      }
      case 'if':
      case 'with': {
        let done = false;
        for (const b of n.branches) {
          const v = evalPipe(b.pipe, s);
          if (truthy(v)) {
            exec(b.body, n.kind === 'with' ? s.with(v) : s, out);
            done = true;
            break;
          }
        }
        if (!done) exec(n.otherwise, s, out);
        break;
      }
      case 'range': {
        const v = evalPipe({ cmds: n.pipe.cmds }, s);
        const entries: [unknown, unknown][] = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : v && typeof v === 'object'
            ? Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))
            : [];
        if (!entries.length) exec(n.otherwise, s, out);
        for (const [k, x] of entries) {
          const inner = s.with(x);
          if (n.vars.length === 1) inner.vars.set(n.vars[0], x);
          if (n.vars.length === 2) {
            inner.vars.set(n.vars[0], k);
            inner.vars.set(n.vars[1], x);
          }
          exec(n.body, inner, out);
        }
        break;
      }
    }
  }
}

export interface Template {
  execute(data: unknown): string;
}

/** Compiles a template; throws TemplateError with Go-like messages for bad syntax. */
export function compile(src: string): Template {
  const nodes = parse(src);
  return {
    execute(data: unknown): string {
      const out: string[] = [];
      exec(nodes, new Scope(data, new Map([['$', data]])), out);
      return out.join('');
    },
  };
}
