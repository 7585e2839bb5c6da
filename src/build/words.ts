/**
 * Variable substitution and word splitting as Docker's shell lexer does it (BuildKit's
 * frontend/dockerfile/shell): `$var`, `${var}`, `${var:-word}`, `${var-word}`, `${var:+word}`,
 * `${var+word}`, `${var:?msg}`, `${var?msg}`, `${var#pat}`, `${var##pat}`, `${var%pat}`,
 * `${var%%pat}`, `${var/pat/repl}`, `${var//pat/repl}`, single and double quotes, and the escape
 * character. Pure. Owner: the parser.
 */
import { InvalidArgumentError } from '../util/index.js';
import { lex, LexError, type Lookup } from './_lex.js';

export type { Lookup } from './_lex.js';

function run(word: string, lookup: Lookup, escape: string) {
  try {
    return lex(word, lookup, { escape });
  } catch (err) {
    if (err instanceof LexError) throw new InvalidArgumentError(`failed to process ${JSON.stringify(word)}: ${err.message}`);
    throw err;
  }
}

/**
 * Expands one word (quotes removed, escapes resolved). `escape` is the Dockerfile's escape
 * character. Throws InvalidArgumentError for `${var:?msg}` on an unset var or bad syntax.
 */
export function expandWord(word: string, lookup: Lookup, escape = '\\'): string {
  return run(word, lookup, escape).result;
}

/**
 * Expands and splits on unquoted whitespace, as for `EXPOSE 80 $PORTS` or `ENV a=1 b="x y"`:
 * each result has its quotes removed.
 */
export function expandWords(text: string, lookup: Lookup, escape = '\\'): string[] {
  return run(text, lookup, escape).words;
}

/** The names of variables the word refers to (for the cache: which build args a step used). */
export function referencedVariables(word: string, escape = '\\'): string[] {
  // Every name is reported as set and non-empty so that `${x:?}` does not stop the scan early;
  // names inside `${a:-$b}` are read before `a` is looked up, so all of them are seen.
  try {
    return lex(word, () => 'x', { escape }).names;
  } catch (err) {
    if (err instanceof LexError) return [];
    throw err;
  }
}
