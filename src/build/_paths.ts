/**
 * Paths of COPY's sources: Go's filepath.Match for wildcards, and a resolution inside the
 * source root that refuses, rather than clamps, anything that would leave it.
 */
import { InvalidArgumentError, resolveInView } from '../util/index.js';

/** Thrown when a source path or one of its links climbs above the root; `path` is what was written. */
export class EscapeError extends InvalidArgumentError {
  constructor(
    readonly path: string,
    detail?: string,
  ) {
    // Docker's text, with the resolved path in parentheses (empty when nothing was resolved).
    super(`forbidden path outside the build context: ${path} (${detail ?? ''})`);
  }
}

/**
 * `rel` (relative to the root, already without a leading `/`) resolved as the absolute,
 * symlink-free path it names inside the root. Absolute link targets start again at the root, as
 * Docker's FollowSymlinkInScope does; a `..` above the root, written or through a link, throws
 * EscapeError naming `word`.
 */
export async function resolveStrict(root: string, rel: string, word: string, followLast = true): Promise<string> {
  return resolveInView({ root }, rel, {
    followLast,
    name: word,
    aboveRoot: (via) => {
      throw new EscapeError(word, via);
    },
  });
}

/** True when the word has a wildcard Go's filepath.Match would act on (`*`, `?`, `[`), not escaped. */
export function hasWildcards(p: string): boolean {
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[') return true;
  }
  return false;
}

/** Go's filepath.Match pattern as a RegExp; `*` and `?` never match `/`. Throws on a malformed pattern (ErrBadPattern). */
export function goPattern(pattern: string): RegExp {
  const esc = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      if (i + 1 >= pattern.length) throw badPattern(pattern);
      re += esc(pattern[++i]!);
    } else if (c === '[') {
      i++;
      let negate = false;
      if (pattern[i] === '^') {
        negate = true;
        i++;
      }
      let cls = '';
      let n = 0;
      for (;;) {
        if (i >= pattern.length) throw badPattern(pattern);
        if (pattern[i] === ']' && n > 0) break;
        const lo = classChar(pattern, i);
        i = lo.next;
        if (pattern[i] === '-') {
          const hi = classChar(pattern, i + 1);
          if (hi.ch < lo.ch) throw badPattern(pattern);
          cls += `${esc(lo.ch)}-${esc(hi.ch)}`;
          i = hi.next;
        } else cls += esc(lo.ch);
        n++;
      }
      re += negate ? `[^/${cls}]` : `[${cls}]`;
    } else re += esc(c);
  }
  return new RegExp(`^${re}$`, 's');
}

function classChar(p: string, i: number): { ch: string; next: number } {
  const c = p[i];
  if (c === undefined || c === '-' || c === ']') throw badPattern(p);
  if (c === '\\') {
    if (i + 1 >= p.length) throw badPattern(p);
    return { ch: p[i + 1]!, next: i + 2 };
  }
  return { ch: c, next: i + 1 };
}

const badPattern = (p: string) => new InvalidArgumentError(`syntax error in pattern: ${p}`);
