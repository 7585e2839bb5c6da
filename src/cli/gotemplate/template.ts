/**
 * Go's text/template, the subset docker's `--format` users write: fields and methods, variables
 * (`$x := …`, `$x = …`), pipelines, parenthesised sub-pipelines, if / else if / else, range
 * (with `$i, $v :=`, else, break, continue), with, comments, `{{-`/`-}}` trimming, Go's
 * built-in functions and docker's own (json, join, split, upper, lower, title, truncate, pad).
 */

/** A template that does not parse, or fails while executing (`phase`, as docker's messages say). */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  constructor(
    message: string,
    readonly phase: 'parse' | 'execute' = 'parse',
  ) {
    super(message);
  }
}

/**
 * Marks data that is a Go struct in docker, named by its type (`*formatter.ContainerContext`):
 * its fields are fixed, so a missing one is an error, where a map (inspect's data) gives
 * `<no value>`.
 */
export const GO_TYPE = Symbol('Go type');

// ---------------------------------------------------------------------------------------------
// Lexing

type Tok =
  | { k: 'field'; names: string[] } // .A.B (or a bare `.` with no names)
  | { k: 'var'; name: string; names: string[] } // $x.A.B
  | { k: 'ident'; name: string }
  | { k: 'str'; v: string }
  | { k: 'num'; v: number }
  | { k: 'bool'; v: boolean }
  | { k: 'nil' }
  | { k: 'punct'; v: '(' | ')' | '|' | ':=' | '=' | ',' }
  | { k: 'chain'; names: string[] }; // .A.B directly after `)`

type Item = { kind: 'text'; text: string } | { kind: 'action'; toks: Tok[]; line: number };

const SPACE = /[ \t\r\n]/;

function unquote(src: string, line: number): string {
  try {
    return JSON.parse(src.replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1').replace(/\\a/g, '\\u0007').replace(/\\v/g, '\\u000b')) as string;
  } catch {
    throw new TemplateError(`template: :${line}: bad quoted string ${src}`);
  }
}

function lexAction(src: string, line: number): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const fieldNames = (start: number): [string[], number] => {
    const names: string[] = [];
    let j = start;
    while (src[j] === '.' && /[A-Za-z0-9_]/.test(src[j + 1] ?? '')) {
      let e = j + 1;
      while (e < src.length && /[A-Za-z0-9_]/.test(src[e])) e++;
      names.push(src.slice(j + 1, e));
      j = e;
    }
    return [names, j];
  };
  while (i < src.length) {
    const c = src[i];
    if (SPACE.test(c)) {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw new TemplateError(`template: :${line}: unterminated quoted string`);
      toks.push({ k: 'str', v: unquote(src.slice(i, j + 1), line) });
      i = j + 1;
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) throw new TemplateError(`template: :${line}: unterminated raw quoted string`);
      toks.push({ k: 'str', v: src.slice(i + 1, j) });
      i = j + 1;
    } else if (c === "'") {
      const j = src.indexOf("'", i + 1);
      if (j < 0) throw new TemplateError(`template: :${line}: unterminated character constant`);
      toks.push({ k: 'num', v: unquote(`"${src.slice(i + 1, j)}"`, line).codePointAt(0) ?? 0 });
      i = j + 1;
    } else if (c === '(' || c === ')' || c === '|' || c === ',') {
      toks.push({ k: 'punct', v: c });
      i++;
    } else if (src.startsWith(':=', i)) {
      toks.push({ k: 'punct', v: ':=' });
      i += 2;
    } else if (c === '=') {
      toks.push({ k: 'punct', v: '=' });
      i++;
    } else if (c === '.') {
      const [names, j] = fieldNames(i);
      const prev = toks[toks.length - 1];
      if (names.length && prev?.k === 'punct' && prev.v === ')' && i > 0 && src[i - 1] === ')') toks.push({ k: 'chain', names });
      else toks.push({ k: 'field', names });
      i = names.length ? j : i + 1;
    } else if (c === '$') {
      let e = i + 1;
      while (e < src.length && /[A-Za-z0-9_]/.test(src[e])) e++;
      const [names, j] = fieldNames(e);
      toks.push({ k: 'var', name: src.slice(i, e), names });
      i = j;
    } else if (/[-+0-9]/.test(c)) {
      const m = /^[-+]?(0x[0-9a-fA-F]+|\d+(\.\d*)?([eE][-+]?\d+)?)/.exec(src.slice(i));
      if (!m) throw new TemplateError(`template: :${line}: bad number syntax: "${src.slice(i).split(/\s/)[0]}"`);
      toks.push({ k: 'num', v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      let e = i;
      while (e < src.length && /[A-Za-z0-9_]/.test(src[e])) e++;
      const word = src.slice(i, e);
      if (word === 'true' || word === 'false') toks.push({ k: 'bool', v: word === 'true' });
      else if (word === 'nil') toks.push({ k: 'nil' });
      else toks.push({ k: 'ident', name: word });
      i = e;
    } else {
      throw new TemplateError(`template: :${line}: unexpected "${c}" in command`);
    }
  }
  return toks;
}

function lex(src: string): Item[] {
  const items: Item[] = [];
  let i = 0;
  let line = 1;
  let trimNext = false;
  while (i <= src.length) {
    const open = src.indexOf('{{', i);
    let text = src.slice(i, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    trimNext = false;
    if (open < 0) {
      if (text) items.push({ kind: 'text', text });
      break;
    }
    let start = open + 2;
    // `{{-` trims only when a space follows; `{{-3}}` is a number.
    if (src[start] === '-' && SPACE.test(src[start + 1] ?? '')) {
      text = text.replace(/[ \t\r\n]+$/, '');
      start += 1;
    }
    if (text) items.push({ kind: 'text', text });
    line += (src.slice(i, open).match(/\n/g) ?? []).length;
    // Find the closing `}}` outside of quoted strings.
    let j = start;
    let quote = '';
    for (; j < src.length; j++) {
      const ch = src[j];
      if (quote) {
        if (ch === '\\' && quote === '"') j++;
        else if (ch === quote) quote = '';
      } else if (ch === '"' || ch === '`') quote = ch;
      else if (src.startsWith('}}', j)) break;
    }
    if (j >= src.length) throw new TemplateError(`template: :${line}: unclosed action`);
    let body = src.slice(start, j);
    if (/[ \t\r\n]-$/.test(body)) {
      body = body.slice(0, -1);
      trimNext = true;
    }
    const trimmed = body.trim();
    if (trimmed.startsWith('/*')) {
      if (!trimmed.endsWith('*/')) throw new TemplateError(`template: :${line}: unclosed comment`);
    } else {
      items.push({ kind: 'action', toks: lexAction(body, line), line });
    }
    line += (body.match(/\n/g) ?? []).length;
    i = j + 2;
  }
  return items;
}

// ---------------------------------------------------------------------------------------------
// Parsing

type Operand =
  | { t: 'field'; names: string[] }
  | { t: 'var'; name: string; names: string[] }
  | { t: 'lit'; v: unknown }
  | { t: 'func'; name: string }
  | { t: 'sub'; pipe: Pipeline; names: string[] };

interface Pipeline {
  decl?: { vars: string[]; assign: boolean };
  cmds: Operand[][];
  line: number;
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipeline }
  | { kind: 'if' | 'with'; branches: { pipe: Pipeline; body: Node[] }[]; otherwise: Node[] }
  | { kind: 'range'; pipe: Pipeline; body: Node[]; otherwise: Node[] }
  | { kind: 'break' | 'continue' };

function parsePipeline(toks: Tok[], line: number, funcs: Record<string, unknown>): Pipeline {
  let pos = 0;
  const pipe: Pipeline = { cmds: [], line };
  // Declarations: `$x :=`, `$x =`, `$i, $v :=`.
  const declEnd = toks.findIndex((t) => t.k === 'punct' && (t.v === ':=' || t.v === '='));
  if (declEnd > 0 && toks.slice(0, declEnd).every((t) => (t.k === 'var' && t.names.length === 0) || (t.k === 'punct' && t.v === ','))) {
    const vars = toks.slice(0, declEnd).flatMap((t) => (t.k === 'var' ? [t.name] : []));
    pipe.decl = { vars, assign: (toks[declEnd] as { v: string }).v === '=' };
    pos = declEnd + 1;
  }
  const parseCmds = (inParen: boolean): Operand[][] => {
    const cmds: Operand[][] = [[]];
    while (pos < toks.length) {
      const t = toks[pos++];
      if (t.k === 'punct') {
        if (t.v === ')') {
          if (!inParen) throw new TemplateError(`template: :${line}: unexpected right paren`);
          return cmds;
        }
        if (t.v === '|') {
          if (!cmds[cmds.length - 1].length) throw new TemplateError(`template: :${line}: missing command`);
          cmds.push([]);
          continue;
        }
        if (t.v === '(') {
          const inner: Pipeline = { cmds: parseCmds(true), line };
          const next = toks[pos];
          let names: string[] = [];
          if (next?.k === 'chain') {
            names = next.names;
            pos++;
          }
          cmds[cmds.length - 1].push({ t: 'sub', pipe: inner, names });
          continue;
        }
        throw new TemplateError(`template: :${line}: unexpected "${t.v}" in command`);
      }
      cmds[cmds.length - 1].push(operand(t));
    }
    if (inParen) throw new TemplateError(`template: :${line}: unclosed left paren`);
    return cmds;
  };
  const operand = (t: Tok): Operand => {
    switch (t.k) {
      case 'field':
        return { t: 'field', names: t.names };
      case 'chain':
        return { t: 'field', names: t.names };
      case 'var':
        return { t: 'var', name: t.name, names: t.names };
      case 'ident':
        if (!(t.name in funcs)) throw new TemplateError(`template: :${line}: function "${t.name}" not defined`);
        return { t: 'func', name: t.name };
      case 'str':
      case 'num':
      case 'bool':
        return { t: 'lit', v: t.v };
      case 'nil':
        return { t: 'lit', v: null };
      default:
        throw new TemplateError(`template: :${line}: unexpected token`);
    }
  };
  pipe.cmds = parseCmds(false);
  if (pipe.cmds.some((c) => c.length === 0)) throw new TemplateError(`template: :${line}: missing value for command`);
  return pipe;
}

function parse(src: string, funcs: Record<string, unknown>): Node[] {
  const items = lex(src);
  let pos = 0;
  type End = { word: 'end' | 'else' | ''; rest: Tok[]; line: number };
  const keyword = (it: Item): string | undefined => (it.kind === 'action' && it.toks[0]?.k === 'ident' ? it.toks[0].name : undefined);

  const parseList = (depth: number, inRange: boolean): { nodes: Node[]; end: End } => {
    const nodes: Node[] = [];
    while (pos < items.length) {
      const it = items[pos++];
      if (it.kind === 'text') {
        nodes.push({ kind: 'text', text: it.text });
        continue;
      }
      const word = keyword(it);
      const rest = it.toks.slice(1);
      if (word === 'end' || word === 'else') {
        if (!depth) throw new TemplateError(`template: :${it.line}: unexpected {{${word}}}`);
        return { nodes, end: { word, rest, line: it.line } };
      }
      if (word === 'if' || word === 'with') {
        const node: Node = { kind: word, branches: [], otherwise: [] };
        let cond = rest;
        for (;;) {
          if (!cond.length) throw new TemplateError(`template: :${it.line}: missing value for ${word}`);
          const body = parseList(depth + 1, inRange);
          node.branches.push({ pipe: parsePipeline(cond, it.line, funcs), body: body.nodes });
          if (body.end.word === 'end') break;
          const chained = body.end.rest[0];
          // `{{else if …}}` / `{{else with …}}` continue the same chain.
          if (chained?.k === 'ident' && chained.name === word) {
            cond = body.end.rest.slice(1);
            continue;
          }
          const tail = parseList(depth + 1, inRange);
          if (tail.end.word !== 'end') throw new TemplateError(`template: :${tail.end.line}: expected end; found {{else}}`);
          node.otherwise = tail.nodes;
          break;
        }
        nodes.push(node);
      } else if (word === 'range') {
        if (!rest.length) throw new TemplateError(`template: :${it.line}: missing value for range`);
        const pipe = parsePipeline(rest, it.line, funcs);
        const body = parseList(depth + 1, true);
        let otherwise: Node[] = [];
        if (body.end.word === 'else') {
          const tail = parseList(depth + 1, inRange);
          if (tail.end.word !== 'end') throw new TemplateError(`template: :${tail.end.line}: expected end; found {{else}}`);
          otherwise = tail.nodes;
        }
        nodes.push({ kind: 'range', pipe, body: body.nodes, otherwise });
      } else if (word === 'break' || word === 'continue') {
        if (!inRange) throw new TemplateError(`template: :${it.line}: {{${word}}} outside {{range}}`);
        nodes.push({ kind: word });
      } else if (word === 'define' || word === 'template' || word === 'block') {
        throw new TemplateError(`template: :${it.line}: {{${word}}} is not supported`);
      } else {
        if (!it.toks.length) throw new TemplateError(`template: :${it.line}: missing value for command`);
        nodes.push({ kind: 'action', pipe: parsePipeline(it.toks, it.line, funcs) });
      }
    }
    if (depth) throw new TemplateError(`template: :${items.length ? (items[items.length - 1] as { line?: number }).line ?? 1 : 1}: unexpected EOF`);
    return { nodes, end: { word: '', rest: [], line: 0 } };
  };
  return parseList(0, false).nodes;
}

// ---------------------------------------------------------------------------------------------
// Values, as Go prints and compares them

/** Objects whose keys all start upper-case print like Go structs (`{a b}`), others like maps. */
function looksLikeStruct(o: object): boolean {
  const keys = Object.keys(o);
  return keys.length > 0 && keys.every((k) => /^[A-Z]/.test(k));
}

/** Go's `%v` of a value decoded from JSON (fmt.Sprint). */
export function goString(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) || !Number.isFinite(v) ? String(v) : formatFloat(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'function') return '<func>';
  if (Array.isArray(v)) return `[${v.map(inner).join(' ')}]`;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') {
    if (looksLikeStruct(v)) return `{${Object.values(v).map(inner).join(' ')}}`;
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, x]) => `${k}:${inner(x)}`).join(' ')}]`;
  }
  return String(v);
}

// Inside composite values Go prints nil as <nil> whatever its origin.
const inner = (v: unknown) => (v === undefined || v === null ? '<nil>' : goString(v));

function formatFloat(v: number): string {
  // Go's %v of a float64 is %g with the shortest representation.
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e21)) return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(v);
}

export function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

/** Go's strconv.Quote, close enough: JSON escaping minus the HTML-safe forms. */
function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u007f/g, '\\x7f');
}

/** fmt.Sprintf for the verbs templates use. */
export function sprintf(fmt: string, args: unknown[]): string {
  let i = 0;
  let out = fmt.replace(/%([-+ 0#]*)(\*|\d*)(?:\.(\d+))?([a-zA-Z%])/g, (_m, flags: string, width: string, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    if (width === '*') width = String(args[i++]);
    if (i >= args.length) return `%!${verb}(MISSING)`;
    const a = args[i++];
    let s: string;
    switch (verb) {
      case 'd':
        s = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${typeName(a)}=${goString(a)})`;
        if (flags.includes('+') && typeof a === 'number' && a >= 0) s = `+${s}`;
        break;
      case 'f':
      case 'F':
        s = typeof a === 'number' ? a.toFixed(prec !== undefined ? Number(prec) : 6) : `%!f(${typeName(a)}=${goString(a)})`;
        break;
      case 'e':
        s = typeof a === 'number' ? a.toExponential(prec !== undefined ? Number(prec) : 6).replace(/e([+-])(\d)$/, 'e$10$2') : goString(a);
        break;
      case 'g':
        s = typeof a === 'number' ? goString(a) : goString(a);
        break;
      case 'q':
        s = typeof a === 'number' ? `'${String.fromCodePoint(a)}'` : goQuote(goString(a));
        break;
      case 'x':
      case 'X':
        s = typeof a === 'number' ? Math.trunc(a).toString(16) : Buffer.from(goString(a)).toString('hex');
        if (verb === 'X') s = s.toUpperCase();
        break;
      case 't':
        s = typeof a === 'boolean' ? String(a) : `%!t(${typeName(a)}=${goString(a)})`;
        break;
      case 'c':
        s = typeof a === 'number' ? String.fromCodePoint(a) : goString(a);
        break;
      case 'T':
        s = typeName(a);
        break;
      case 's':
      case 'v':
        s = goString(a);
        if (prec !== undefined) s = [...s].slice(0, Number(prec)).join('');
        break;
      default:
        s = `%!${verb}(${typeName(a)}=${goString(a)})`;
    }
    const w = Number(width || 0);
    const len = [...s].length;
    if (len < w) {
      if (flags.includes('-')) s = s + ' '.repeat(w - len);
      else if (flags.includes('0') && /[dfeFxX]/.test(verb)) s = s.startsWith('-') ? '-' + s.slice(1).padStart(w - 1, '0') : s.padStart(w, '0');
      else s = ' '.repeat(w - len) + s;
    }
    return s;
  });
  if (i < args.length) out += `%!(EXTRA ${args.slice(i).map((a) => `${typeName(a)}=${goString(a)}`).join(', ')})`;
  return out;
}

function typeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

function compare(op: string, a: unknown, b: unknown): number {
  const bothNum = typeof a === 'number' && typeof b === 'number';
  const bothStr = typeof a === 'string' && typeof b === 'string';
  if (!bothNum && !bothStr) {
    if (op === 'eq' || op === 'ne') {
      if (typeof a !== typeof b && a != null && b != null) throw new TemplateError(`error calling ${op}: incompatible types for comparison`);
      return a === b ? 0 : 1;
    }
    throw new TemplateError(`error calling ${op}: invalid type for comparison`);
  }
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

function length(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (v && typeof v === 'object') return Object.keys(v).length;
  throw new TemplateError(`error calling len: len of type ${typeName(v)}`);
}

function index(v: unknown, ...keys: unknown[]): unknown {
  let cur = v;
  for (const k of keys) {
    if (cur === null || cur === undefined) throw new TemplateError('error calling index: index of untyped nil');
    if (Array.isArray(cur) || typeof cur === 'string') {
      const n = Number(k);
      if (!Number.isInteger(n) || n < 0 || n >= cur.length) throw new TemplateError(`error calling index: index out of range: ${goString(k)}`);
      cur = typeof cur === 'string' ? cur.charCodeAt(n) : cur[n];
    } else if (typeof cur === 'object') {
      cur = (cur as Record<string, unknown>)[String(k)];
    } else throw new TemplateError(`error calling index: can't index item of type ${typeName(cur)}`);
  }
  return cur;
}

/** Go's strings.Title: upper-cases the first letter of each word. */
function title(s: string): string {
  return s.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, pre: string, ch: string) => pre + ch.toUpperCase());
}

export type TemplateFunc = (...args: unknown[]) => unknown;

/** Go's built-ins plus docker's template functions (cli/templates/templates.go). */
export const DEFAULT_FUNCS: Record<string, TemplateFunc> = {
  // Go built-ins; in templates, and/or are evaluated lazily by the executor (Executor.logical).
  and: (...a) => a.find((x) => !truthy(x)) ?? a[a.length - 1],
  or: (...a) => a.find((x) => truthy(x)) ?? a[a.length - 1],
  not: (a) => !truthy(a),
  len: length,
  index,
  slice: (v, ...ix) => {
    const [from = 0, to] = ix.map(Number);
    if (typeof v === 'string' || Array.isArray(v)) return v.slice(from, to);
    throw new TemplateError(`error calling slice: can't slice item of type ${typeName(v)}`);
  },
  print: (...a) => a.map((x, i) => (i > 0 && typeof x !== 'string' && typeof a[i - 1] !== 'string' ? ' ' : '') + goString(x)).join(''),
  printf: (fmt, ...a) => sprintf(String(fmt), a),
  println: (...a) => a.map(goString).join(' ') + '\n',
  eq: (a, ...bs) => {
    if (!bs.length) throw new TemplateError('error calling eq: missing argument for comparison');
    return bs.some((b) => compare('eq', a, b) === 0);
  },
  ne: (a, b) => compare('ne', a, b) !== 0,
  lt: (a, b) => compare('lt', a, b) < 0,
  le: (a, b) => compare('le', a, b) <= 0,
  gt: (a, b) => compare('gt', a, b) > 0,
  ge: (a, b) => compare('ge', a, b) >= 0,
  html: (s) => goString(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' })[c]!),
  urlquery: (...a) => encodeURIComponent(a.map(goString).join('')),
  call: (fn, ...a) => {
    if (typeof fn !== 'function') throw new TemplateError(`error calling call: non-function of type ${typeName(fn)}`);
    return (fn as TemplateFunc)(...a);
  },
  // docker's
  json: (v) => JSON.stringify(v === undefined ? null : v),
  join: (list, sep) => (Array.isArray(list) ? list.map(goString).join(String(sep)) : goString(list)),
  split: (s, sep) => goString(s).split(String(sep)),
  upper: (s) => goString(s).toUpperCase(),
  lower: (s) => goString(s).toLowerCase(),
  title: (s) => title(goString(s)),
  truncate: (s, n) => [...goString(s)].slice(0, Number(n)).join(''),
  pad: (s, l, r) => ' '.repeat(Number(l)) + goString(s) + ' '.repeat(Number(r)),
};

// ---------------------------------------------------------------------------------------------
// Execution

class Break {}
class Continue {}

class Scope {
  constructor(
    readonly dot: unknown,
    readonly vars: Map<string, unknown>[],
  ) {}
  child(dot: unknown): Scope {
    return new Scope(dot, [...this.vars, new Map()]);
  }
  get(name: string, line: number): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].has(name)) return this.vars[i].get(name);
    throw new TemplateError(`template: :${line}: undefined variable "${name}"`);
  }
  declare(name: string, v: unknown): void {
    this.vars[this.vars.length - 1].set(name, v);
  }
  assign(name: string, v: unknown, line: number): void {
    for (let i = this.vars.length - 1; i >= 0; i--)
      if (this.vars[i].has(name)) {
        this.vars[i].set(name, v);
        return;
      }
    throw new TemplateError(`template: :${line}: undefined variable "${name}"`);
  }
}

class Executor {
  constructor(readonly funcs: Record<string, TemplateFunc>) {}

  /** `.A.B` on a value; a function-valued last field is a method and takes `args`. */
  walk(base: unknown, names: string[], args: unknown[], line: number): unknown {
    let v = base;
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      if (v === undefined || v === null) {
        if (i === 0 && v === undefined) return undefined;
        throw new TemplateError(`template: :${line}: nil pointer evaluating interface {}.${name}`);
      }
      if (typeof v !== 'object' && typeof v !== 'function') throw new TemplateError(`template: :${line}: can't evaluate field ${name} in type ${typeName(v)}`);
      const goType = (v as { [GO_TYPE]?: unknown })[GO_TYPE];
      if (typeof goType === 'string' && !(name in v)) {
        throw new TemplateError(`template: :${line}: executing "" at <.${names.slice(0, i + 1).join('.')}>: can't evaluate field ${name} in type ${goType}`);
      }
      const next = (v as Record<string, unknown>)[name];
      const last = i === names.length - 1;
      if (typeof next === 'function') v = (next as TemplateFunc).apply(v, last ? args : []);
      else {
        if (last && args.length) throw new TemplateError(`template: :${line}: ${name} has arguments but cannot be invoked as function`);
        v = next;
      }
    }
    return v;
  }

  operand(o: Operand, s: Scope, line: number, args: unknown[] = []): unknown {
    switch (o.t) {
      case 'lit':
        return o.v;
      case 'field':
        return this.walk(s.dot, o.names, args, line);
      case 'var':
        return this.walk(s.get(o.name, line), o.names, args, line);
      case 'sub':
        return this.walk(this.pipeline(o.pipe, s), o.names, args, line);
      case 'func':
        return this.call(o.name, args, line);
    }
  }

  call(name: string, args: unknown[], line: number): unknown {
    const f = this.funcs[name];
    if (!f) throw new TemplateError(`template: :${line}: function "${name}" not defined`);
    try {
      return f(...args);
    } catch (err) {
      if (err instanceof TemplateError && !err.message.startsWith('template:')) throw new TemplateError(`template: :${line}: executing "" at <${name}>: ${err.message}`);
      throw err;
    }
  }

  command(cmd: Operand[], s: Scope, line: number, piped: unknown[]): unknown {
    const [head, ...rest] = cmd;
    if (head.t === 'func' && (head.name === 'and' || head.name === 'or') && this.funcs[head.name] === DEFAULT_FUNCS[head.name]) return this.logical(head.name, rest, s, line, piped);
    const evalArgs = () => [...rest.map((r) => this.operand(r, s, line)), ...piped];
    if (head.t === 'func') return this.call(head.name, evalArgs(), line);
    if (head.t === 'lit' || ((head.t === 'field' || head.t === 'var') && !head.names.length)) {
      if (rest.length || piped.length) throw new TemplateError(`template: :${line}: can't give argument to non-function ${head.t === 'lit' ? goString(head.v) : '.'}`);
    }
    return this.operand(head, s, line, evalArgs());
  }

  /**
   * Go's `and` / `or` evaluate their arguments left to right only until the result is known, so
   * `and .State.Health .State.Health.Status` never walks into a nil Health.
   */
  logical(name: 'and' | 'or', args: Operand[], s: Scope, line: number, piped: unknown[]): unknown {
    const thunks = [...args.map((a) => () => this.operand(a, s, line)), ...piped.map((v) => () => v)];
    if (!thunks.length) throw new TemplateError(`template: :${line}: executing "" at <${name}>: wrong number of args for ${name}: want at least 1 got 0`);
    let v: unknown;
    for (const next of thunks) {
      v = next();
      // `and` stops at the first empty value, `or` at the first non-empty one.
      if (truthy(v) === (name === 'or')) return v;
    }
    return v;
  }

  pipeline(p: Pipeline, s: Scope): unknown {
    let v: unknown;
    p.cmds.forEach((cmd, i) => {
      v = this.command(cmd, s, p.line, i === 0 ? [] : [v]);
    });
    if (p.decl?.vars.length === 1) {
      if (p.decl.assign) s.assign(p.decl.vars[0], v, p.line);
      else s.declare(p.decl.vars[0], v);
    }
    return v;
  }

  run(nodes: Node[], s: Scope, out: string[]): void {
    for (const n of nodes) {
      switch (n.kind) {
        case 'text':
          out.push(n.text);
          break;
        case 'action': {
          const v = this.pipeline(n.pipe, s);
          if (!n.pipe.decl) out.push(goString(v));
          break;
        }
        case 'if':
        case 'with': {
          let matched = false;
          for (const b of n.branches) {
            const v = this.pipeline(b.pipe, s);
            if (truthy(v)) {
              const inner = n.kind === 'with' ? s.child(v) : s.child(s.dot);
              this.run(b.body, inner, out);
              matched = true;
              break;
            }
          }
          if (!matched) this.run(n.otherwise, s.child(s.dot), out);
          break;
        }
        case 'range': {
          const v = this.pipeline({ cmds: n.pipe.cmds, line: n.pipe.line }, s);
          const entries: [unknown, unknown][] = Array.isArray(v)
            ? v.map((x, i) => [i, x])
            : typeof v === 'number'
              ? Array.from({ length: Math.max(0, v) }, (_x, i) => [i, i])
              : v && typeof v === 'object'
                ? Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
                : [];
          if (v !== undefined && v !== null && typeof v !== 'object' && typeof v !== 'number') throw new TemplateError(`template: :${n.pipe.line}: range can't iterate over ${goString(v)}`);
          if (!entries.length) {
            this.run(n.otherwise, s.child(s.dot), out);
            break;
          }
          const vars = n.pipe.decl?.vars ?? [];
          for (const [k, x] of entries) {
            const inner = s.child(x);
            if (vars.length === 1) inner.declare(vars[0], x);
            if (vars.length === 2) {
              inner.declare(vars[0], k);
              inner.declare(vars[1], x);
            }
            try {
              this.run(n.body, inner, out);
            } catch (sig) {
              if (sig instanceof Break) break;
              if (sig instanceof Continue) continue;
              throw sig;
            }
          }
          break;
        }
        case 'break':
          throw new Break();
        case 'continue':
          throw new Continue();
      }
    }
  }
}

export interface Template {
  execute(data: unknown): string;
}

/** Parses a template; syntax errors throw TemplateError with Go-like messages. */
export function compile(src: string, extraFuncs: Record<string, TemplateFunc> = {}): Template {
  const funcs = { ...DEFAULT_FUNCS, ...extraFuncs };
  const nodes = parse(src, funcs);
  const ex = new Executor(funcs);
  return {
    execute(data: unknown): string {
      const out: string[] = [];
      try {
        ex.run(nodes, new Scope(data, [new Map([['$', data]])]), out);
      } catch (err) {
        if (err instanceof TemplateError && err.phase === 'parse') throw new TemplateError(err.message, 'execute');
        throw err;
      }
      return out.join('');
    },
  };
}
