/**
 * The per-instruction argument rules of BuildKit's frontend/dockerfile/parser (line_parsers.go,
 * split_command.go): how the text after a keyword becomes argument words. Shared by the line
 * scanner (which needs to know about JSON before looking for heredocs) and by toStages.
 */
import { InvalidArgumentError } from '../util/index.js';
import { lex } from './_lex.js';
import type { Flag } from './instructions.js';

/** A problem found in one instruction; the parser adds the line (DockerfileError). */
export class SyntaxProblem extends InvalidArgumentError {}

const reWhitespace = /[\t\v\f\r ]+/;

function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && /^\s$/u.test(ch);
}

/** Splits `KEYWORD --flags rest` (BuildKit's splitCommand): flags have their quotes and escapes removed. */
export function splitCommand(line: string, escape: string): { cmd: string; flags: Flag[]; rest: string } {
  const trimmed = line.trim();
  const m = reWhitespace.exec(trimmed);
  if (!m) return { cmd: trimmed, flags: [], rest: '' };
  const cmd = trimmed.slice(0, m.index);
  const { rest, words } = extractFlags(trimmed.slice(m.index + m[0].length), escape);
  const flags = words.map((w): Flag => {
    const body = w.slice(2);
    const eq = body.indexOf('=');
    return eq < 0 ? { name: body, value: 'true', hasValue: false } : { name: body.slice(0, eq), value: body.slice(eq + 1) };
  });
  return { cmd, flags, rest: rest.trim() };
}

function extractFlags(line: string, escape: string): { rest: string; words: string[] } {
  const words: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let buf = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= line.length; pos++) {
    let ch = pos < line.length ? line[pos]! : '';
    if (phase === 'spaces') {
      if (pos === line.length) break;
      if (isSpace(ch)) continue;
      // Flags stop at the first word that does not start with `--`.
      if (ch !== '-' || line[pos + 1] !== '-') return { rest: line.slice(pos), words };
      phase = 'word';
    }
    if (pos === line.length) {
      if (buf !== '--' && (blankOK || buf.length > 0)) words.push(buf);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'spaces';
        if (buf === '--') return { rest: line.slice(pos), words };
        if (blankOK || buf.length > 0) words.push(buf);
        buf = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
        continue;
      }
      if (ch === escape) {
        if (pos + 1 === line.length) continue;
        ch = line[++pos]!;
      }
      buf += ch;
      continue;
    }
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === escape) {
      if (pos + 1 === line.length) {
        phase = 'word';
        continue;
      }
      ch = line[++pos]!;
    }
    buf += ch;
  }
  return { rest: '', words };
}

/** Words with their quotes kept (BuildKit's parseWords, for ENV, LABEL and ARG). */
export function parseWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  const chars = Array.from(rest);
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOK = false;
  let buf = '';
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = pos < chars.length ? chars[pos]! : '';
    if (phase === 'spaces') {
      if (pos === chars.length) break;
      if (isSpace(ch)) continue;
      phase = 'word';
    }
    if (pos === chars.length) {
      if (blankOK || buf.length > 0) words.push(buf);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'spaces';
        if (blankOK || buf.length > 0) words.push(buf);
        buf = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue;
        // An escape outside quotes stays, with the character after it, for the expansion step.
        buf += ch;
        ch = chars[++pos]!;
      }
      buf += ch;
      continue;
    }
    if (ch === quote) phase = 'word';
    if (ch === escape && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      buf += ch;
      ch = chars[++pos]!;
    }
    buf += ch;
  }
  return words;
}

function whitespaceList(rest: string): string[] {
  return rest === '' ? [] : rest.split(reWhitespace);
}

const notStrings = 'when using JSON array syntax, arrays must be comprised of strings only';

/** The JSON array `rest` is, or undefined when it is not one (then the shell form applies, as in Docker). */
export function parseJSONArray(rest: string): string[] | undefined {
  const t = rest.replace(/^\s+/u, '');
  if (!t.startsWith('[')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v)) return undefined;
  if (!v.every((x) => typeof x === 'string')) throw new SyntaxProblem(notStrings);
  return v as string[];
}

/** The arguments as BuildKit's node list holds them; `json` when the JSON form was used. */
export interface Args {
  args: string[];
  json: boolean;
  /** ENV/LABEL: the pairs, quotes kept. */
  pairs?: { key: string; value: string }[];
  /** ENV/LABEL written the legacy way, `ENV k v` (no `=`). */
  legacy?: boolean;
  /** ONBUILD: the trigger's keyword and its own parse. */
  sub?: { cmd: string; flags: Flag[]; rest: string; parsed: Args };
}

function maybeJSON(rest: string): Args {
  if (rest === '') return { args: [], json: false };
  const j = parseJSONArray(rest);
  return j ? { args: j, json: true } : { args: [rest], json: false };
}

function nameVal(rest: string, key: string, escape: string): Args {
  const words = parseWords(rest, escape);
  if (words.length === 0) return { args: [], json: false, pairs: [] };
  if (!words[0]!.includes('=')) {
    // The legacy form `ENV name value`: the value is the rest of the line, as written.
    const m = reWhitespace.exec(rest);
    if (!m) throw new SyntaxProblem(`${key} must have two arguments`);
    const pair = { key: rest.slice(0, m.index), value: rest.slice(m.index + m[0].length) };
    return { args: [pair.key, pair.value], json: false, pairs: [pair], legacy: true };
  }
  const pairs = words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) throw new SyntaxProblem(`Syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`);
    return { key: w.slice(0, eq), value: w.slice(eq + 1) };
  });
  return { args: pairs.flatMap((p) => [p.key, p.value]), json: false, pairs };
}

/** Applies the keyword's argument rule to `rest`. Throws SyntaxProblem with BuildKit's text. */
export function argsOf(keyword: string, rest: string, escape: string): Args {
  switch (keyword) {
    case 'add':
    case 'copy':
    case 'volume': {
      const j = parseJSONArray(rest);
      return j ? { args: j, json: true } : { args: whitespaceList(rest), json: false };
    }
    case 'cmd':
    case 'entrypoint':
    case 'run':
    case 'shell':
      return maybeJSON(rest);
    case 'expose':
    case 'from':
      return { args: whitespaceList(rest), json: false };
    case 'maintainer':
    case 'stopsignal':
    case 'user':
    case 'workdir':
      return { args: rest === '' ? [] : [rest], json: false };
    case 'arg':
      return { args: parseWords(rest, escape), json: false };
    case 'env':
      return nameVal(rest, 'ENV', escape);
    case 'label':
      return nameVal(rest, 'LABEL', escape);
    case 'healthcheck': {
      const m = /^(\S*)\s*/u.exec(rest)!;
      if (m[1] === '') return { args: [], json: false };
      const cmd = maybeJSON(rest.slice(m[0].length));
      return { args: [m[1]!, ...cmd.args], json: cmd.json };
    }
    case 'onbuild': {
      if (rest === '') return { args: [], json: false };
      const s = splitCommand(rest, escape);
      const parsed = argsOf(s.cmd.toLowerCase(), s.rest, escape);
      return { args: [s.cmd, ...parsed.args], json: false, sub: { ...s, parsed } };
    }
    default:
      // Unknown instructions pass the line scan; toStages reports them.
      return { args: [], json: false };
  }
}

const reHeredoc = /^(\d*)<<(-?)\s*([^<]*)$/u;

export interface HeredocWord {
  name: string;
  expand: boolean;
  chomp: boolean;
}

/** The heredoc a word like `<<EOF`, `<<-"EOF"` or `3<<EOF` opens, if it is one (BuildKit's ParseHeredoc). */
export function parseHeredocWord(src: string): HeredocWord | undefined {
  const m = reHeredoc.exec(src);
  if (!m || m[3] === '') return undefined;
  const none = (): undefined => undefined;
  let words: string[];
  let raw: string[];
  try {
    words = lex(m[3]!, none, { escape: '\\', skipUnsetEnv: true }).words;
    if (words.length !== 1) return undefined;
    raw = lex(m[3]!, none, { escape: '\\', skipUnsetEnv: true, rawQuotes: true }).words;
  } catch {
    return undefined;
  }
  if (raw.length !== words.length) return undefined;
  const quotes = (s: string): number => s.split('').filter((c) => c === '"' || c === "'").length;
  // Quotes anywhere in the word (`<<"EOF"`, `<<E'O'F`) turn expansion off.
  return { name: words[0]!, expand: quotes(words[0]!) === quotes(raw[0]!), chomp: m[2] === '-' };
}

/** Every heredoc the instruction line opens, in order (BuildKit's heredocsFromLine). */
export function heredocsFromLine(line: string): HeredocWord[] {
  let words: string[];
  try {
    words = lex(line, () => undefined, { escape: '\\', rawQuotes: true, rawEscapes: true, skipUnsetEnv: true }).words;
  } catch {
    return [];
  }
  const out: HeredocWord[] = [];
  for (const w of words) {
    const h = parseHeredocWord(w);
    if (h) out.push(h);
  }
  return out;
}

function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** BuildKit's suggest.WrapError: names the closest option (edit distance under 3). */
export function withSuggestion(message: string, value: string, options: string[], caseSensitive: boolean): string {
  const v = caseSensitive ? value : value.toLowerCase();
  let match = '';
  let min = 3;
  for (const o of options) {
    const opt = caseSensitive ? o : o.toLowerCase();
    if (opt === v) return message;
    const d = levenshtein(v, opt);
    if (d < min) {
      min = d;
      match = caseSensitive ? opt : value === value.toLowerCase() ? opt : value === value.toUpperCase() ? opt.toUpperCase() : opt;
    }
  }
  return match ? `${message} (did you mean ${match}?)` : message;
}
