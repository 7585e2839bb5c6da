/**
 * The shell-word lexer behind words.ts and the parser's heredoc detection, a port of the
 * behaviour of BuildKit's frontend/dockerfile/shell (Lex.ProcessWord / ProcessWords). It works
 * on code points so that multi-byte text is never split, and each error text is BuildKit's.
 */

/** Looks a variable up; undefined when it is not set. */
export type Lookup = (name: string) => string | undefined;

export interface LexOptions {
  escape: string;
  /** Keep quote characters in the output (the parser uses this to see whether a heredoc word was quoted). */
  rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  rawEscapes?: boolean;
  /** Leave `$var` and `${var...}` as written when var is unset, instead of expanding to empty. */
  skipUnsetEnv?: boolean;
  skipProcessQuotes?: boolean;
}

export interface LexResult {
  /** The whole word, expanded, with spaces kept (ProcessWord). */
  result: string;
  /** The same split on unquoted whitespace (ProcessWords). */
  words: string[];
  /** Every variable name looked up, set or not, in order of first use. */
  names: string[];
}

/** A lexing problem; words.ts turns it into the error kind callers catch. */
export class LexError extends Error {}

const EOF = '';

// Go's unicode.IsSpace: the Latin-1 spaces plus the Unicode White_Space property.
function isSpace(ch: string): boolean {
  return ch !== EOF && /^\s$/u.test(ch) && ch !== '\ufeff';
}
function isLetter(ch: string): boolean {
  return ch !== EOF && /^\p{L}$/u.test(ch);
}
function isDigit(ch: string): boolean {
  return ch !== EOF && /^\p{Nd}$/u.test(ch);
}
// POSIX special parameters ($@, $*, $#, ...): never set in a Dockerfile, so they expand to empty.
function isSpecialParam(ch: string): boolean {
  return '@*#?-$!0'.includes(ch) && ch !== EOF;
}

class Words {
  private buf = '';
  private inWord = false;
  readonly words: string[] = [];

  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.buf.length !== 0) {
        this.words.push(this.buf);
        this.buf = '';
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }
  addRawChar(ch: string): void {
    this.buf += ch;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.buf += s;
    this.inWord = true;
  }
  finish(): string[] {
    if (this.buf.length > 0) {
      this.words.push(this.buf);
      this.buf = '';
      this.inWord = false;
    }
    return this.words;
  }
}

class Scanner {
  private pos = 0;
  constructor(private readonly chars: string[]) {}
  peek(): string {
    return this.pos < this.chars.length ? this.chars[this.pos]! : EOF;
  }
  next(): string {
    const ch = this.peek();
    if (ch !== EOF) this.pos++;
    return ch;
  }
}

class ShellWord {
  private readonly sc: Scanner;
  private rawEscapes: boolean;
  readonly names: string[] = [];

  constructor(
    word: string,
    private readonly lookup: Lookup,
    private readonly opts: LexOptions,
  ) {
    this.sc = new Scanner(Array.from(word));
    this.rawEscapes = opts.rawEscapes ?? false;
  }

  private getEnv(name: string): [string, boolean] {
    if (!this.names.includes(name)) this.names.push(name);
    const v = this.lookup(name);
    return v === undefined ? ['', false] : [v, true];
  }

  /** Reads up to the end, or up to `stop` (consumed); a missing `stop` is an error. */
  processStopOn(stop: string, rawEscapes: boolean): { result: string; words: string[] } {
    let result = '';
    const words = new Words();
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      for (;;) {
        const ch = this.sc.peek();
        if (ch === EOF) break;
        if (stop !== EOF && ch === stop) {
          this.sc.next();
          return { result, words: words.finish() };
        }
        let special: (() => string) | undefined;
        if (ch === '$') special = () => this.processDollar();
        else if (ch === '<') special = () => this.processPossibleHeredoc();
        else if (!this.opts.skipProcessQuotes && ch === "'") special = () => this.processSingleQuote();
        else if (!this.opts.skipProcessQuotes && ch === '"') special = () => this.processDoubleQuote();
        if (special) {
          const tmp = special();
          result += tmp;
          // Only what a variable expanded to is split; quoted text stays one word.
          if (ch === '$') words.addString(tmp);
          else words.addRawString(tmp);
          continue;
        }
        let c = this.sc.next();
        if (c === this.opts.escape) {
          if (this.rawEscapes) {
            words.addRawChar(c);
            result += c;
          }
          c = this.sc.next();
          // An escape at the very end is dropped.
          if (c === EOF) break;
          words.addRawChar(c);
        } else {
          words.addChar(c);
        }
        result += c;
      }
      if (stop !== EOF) throw new LexError(`unexpected end of statement while looking for matching ${stop}`);
      return { result, words: words.finish() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    // No escapes inside single quotes, as in sh.
    let out = '';
    let ch = this.sc.next();
    if (this.opts.rawQuotes) out += ch;
    for (;;) {
      ch = this.sc.next();
      if (ch === EOF) throw new LexError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (this.opts.rawQuotes) out += ch;
        return out;
      }
      out += ch;
    }
  }

  private processDoubleQuote(): string {
    // Inside double quotes the escape only quotes `"`, `$` and itself; others stay literal.
    let out = '';
    const open = this.sc.next();
    if (this.opts.rawQuotes) out += open;
    for (;;) {
      const p = this.sc.peek();
      if (p === EOF) throw new LexError('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        const ch = this.sc.next();
        if (this.opts.rawQuotes) out += ch;
        return out;
      }
      if (p === '$') {
        out += this.processDollar();
        continue;
      }
      let ch = this.sc.next();
      if (ch === this.opts.escape) {
        if (this.rawEscapes) out += ch;
        const n = this.sc.peek();
        if (n === EOF) continue;
        if (n === '"' || n === '$' || n === this.opts.escape) ch = this.sc.next();
      }
      out += ch;
    }
  }

  private processName(): string {
    let name = '';
    for (;;) {
      const ch = this.sc.peek();
      if (ch === EOF) break;
      if (name.length === 0 && isDigit(ch)) {
        // Positional parameters ($1, $001) are read whole and are never set.
        while (isDigit(this.sc.peek())) name += this.sc.next();
        return name;
      }
      if (name.length === 0 && isSpecialParam(ch)) return this.sc.next();
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += this.sc.next();
    }
    return name;
  }

  private processPossibleHeredoc(): string {
    this.sc.next();
    if (this.sc.peek() !== '<') return '<';
    this.sc.next();
    let space = '';
    for (let n = this.sc.peek(); n === '\t' || n === '\r' || n === ' '; n = this.sc.peek()) space += this.sc.next();
    return '<<' + space;
  }

  private processDollar(): string {
    this.sc.next();
    if (this.sc.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const [value, found] = this.getEnv(name);
      if (!found && this.opts.skipUnsetEnv) return '$' + name;
      return value;
    }
    this.sc.next();
    const first = this.sc.peek();
    if (first === EOF) throw new LexError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new LexError('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.sc.next();
    let chs = ch;
    let nullIsUnset = false;

    // BuildKit reports this as an unsupported modifier U+FFFD (its EOF rune); the missing
    // brace is what the user has to fix.
    if (ch === EOF) throw new LexError("syntax error: missing '}'");
    if (ch === '}') {
      const [value, set] = this.getEnv(name);
      if (!set && this.opts.skipUnsetEnv) return '${' + name + '}';
      return value;
    }
    if (ch === ':') {
      nullIsUnset = true;
      ch = this.sc.next();
      chs += ch;
    }
    if (nullIsUnset || '+-?#%'.includes(ch)) {
      const raw = ch === '#' || ch === '%';
      if (nullIsUnset && raw) throw new LexError(`unsupported modifier (${chs}) in substitution`);
      let word: string;
      try {
        word = this.processStopOn('}', raw).result;
      } catch (err) {
        if (this.sc.peek() === EOF) throw new LexError("syntax error: missing '}'");
        throw err;
      }
      const [value, set] = this.getEnv(name);
      if (this.opts.skipUnsetEnv && !set) return '${' + name + chs + word + '}';
      switch (ch) {
        case '-':
          return !set || (nullIsUnset && value === '') ? word : value;
        case '+':
          return !set || (nullIsUnset && value === '') ? '' : word;
        case '?':
          if (!set) throw new LexError(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`);
          if (nullIsUnset && value === '') throw new LexError(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`);
          return value;
        case '%':
        case '#': {
          // One sign is the shortest match, two the longest.
          let greedy = false;
          if (word.length > 0 && word[0] === ch) {
            greedy = true;
            word = word.slice(1);
          }
          return ch === '%' ? trimSuffix(word, value, greedy) : trimPrefix(word, value, greedy);
        }
        default:
          throw new LexError(`unsupported modifier (${chs}) in substitution`);
      }
    }
    if (ch === '/') {
      const all = this.sc.peek() === '/';
      if (all) this.sc.next();
      let pattern: string;
      try {
        pattern = this.processStopOn('/', true).result;
      } catch (err) {
        if (this.sc.peek() === EOF) throw new LexError("syntax error: missing '/' in ${}");
        throw err;
      }
      let replacement: string;
      try {
        replacement = this.processStopOn('}', true).result;
      } catch (err) {
        if (this.sc.peek() === EOF) throw new LexError("syntax error: missing '}'");
        throw err;
      }
      const [value, set] = this.getEnv(name);
      if (this.opts.skipUnsetEnv && !set) return '${' + name + '/' + pattern + '/' + replacement + '}';
      let re: RegExp;
      try {
        re = shellPatternToRegex(pattern, true, false, all ? 'gu' : 'u');
      } catch (err) {
        throw new LexError(`invalid pattern (${pattern}) in substitution: ${(err as Error).message}`);
      }
      // A function keeps `$&` and friends in the replacement literal.
      return value.replace(re, () => replacement);
    }
    throw new LexError(`unsupported modifier (${chs}) in substitution`);
  }
}

/**
 * A shell wildcard pattern (`?` one char, `*` any run; no brackets) as a regular expression.
 * Exported for tests.
 */
export function shellPatternToRegex(pattern: string, greedy: boolean, anchored: boolean, flags = 'u'): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  // Go's `.` does not match a newline, and neither does JavaScript's.
  const star = greedy ? '.*' : '.*?';
  for (let i = 0; i < chars.length; i++) {
    const tok = chars[i]!;
    if (tok === '*') {
      out += star;
      continue;
    }
    if (tok === '?') {
      out += '.';
      continue;
    }
    if (tok === '\\') {
      const n = chars[i + 1];
      // `\}` and `\/` were escapes for the ${} syntax, not part of the pattern.
      if (n === '}' || n === '/') continue;
      i++;
      if (n !== '*' && n !== '?' && n !== '\\') throw new Error(`invalid escape '\\${n ?? ''}'`);
      out += '\\' + n;
      continue;
    }
    if ('[]{}.+()|^$/'.includes(tok)) out += '\\';
    out += tok;
  }
  return new RegExp(out, flags);
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  let re: RegExp;
  try {
    re = shellPatternToRegex(pattern, greedy, true);
  } catch (err) {
    throw new LexError(`invalid pattern (${pattern}) in substitution: ${(err as Error).message}`);
  }
  const m = re.exec(value);
  return m ? value.slice(m[0].length) : value;
}

/** Reverses a pattern but keeps each escape before the character it escapes (`a\*c` → `c\*a`). */
export function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const out: string[] = new Array<string>(chars.length);
  const last = chars.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = chars[i]!;
    const o = last - i;
    if (tok === '\\' && i !== last) {
      out[o - 1] = tok;
      out[o] = chars[i + 1]!;
      i += 2;
    } else {
      out[o] = tok;
      i++;
    }
  }
  return out.join('');
}

function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  // A regexp cannot find the shortest match at the right end, so both sides are reversed.
  const rev = (s: string): string => Array.from(s).reverse().join('');
  return rev(trimPrefix(reversePattern(pattern), rev(value), greedy));
}

/** Runs the lexer over a whole word. Throws LexError with BuildKit's text (without the "failed to process" prefix). */
export function lex(word: string, lookup: Lookup, opts: LexOptions): LexResult {
  const sw = new ShellWord(word, lookup, opts);
  const { result, words } = sw.processStopOn(EOF, opts.rawEscapes ?? false);
  return { result, words, names: sw.names };
}
