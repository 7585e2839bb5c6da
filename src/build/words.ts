/**
 * Variable substitution and word splitting as Docker's shell lexer does it (BuildKit's
 * frontend/dockerfile/shell): `$var`, `${var}`, `${var:-word}`, `${var-word}`, `${var:+word}`,
 * `${var+word}`, `${var:?msg}`, `${var#pat}`, `${var%pat}` and friends, single and double
 * quotes, and the escape character. Pure. Owner: the parser.
 */

/** Looks a variable up; undefined when it is not set. */
export type Lookup = (name: string) => string | undefined;

/**
 * Expands one word (quotes removed, escapes resolved). `escape` is the Dockerfile's escape
 * character. Throws InvalidArgumentError for `${var:?msg}` on an unset var or bad syntax.
 */
export function expandWord(word: string, lookup: Lookup, escape = '\\'): string {
  void word, lookup, escape;
  throw new Error('not implemented');
}

/**
 * Expands and splits on unquoted whitespace, as for `EXPOSE 80 $PORTS` or `ENV a=1 b="x y"`:
 * each result has its quotes removed.
 */
export function expandWords(text: string, lookup: Lookup, escape = '\\'): string[] {
  void text, lookup, escape;
  throw new Error('not implemented');
}

/** The names of variables the word refers to (for the cache: which build args a step used). */
export function referencedVariables(word: string, escape = '\\'): string[] {
  void word, escape;
  throw new Error('not implemented');
}
