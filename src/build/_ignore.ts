/**
 * `.dockerignore` patterns (Docker's syntax: Go filepath.Match per component, `**`, `!`
 * exceptions, the last matching line wins, a path is excluded when it or a parent is) through
 * @balena/dockerignore, which follows moby's fileutils line by line.
 */
import dockerignore, { type Ignore } from '@balena/dockerignore';

type Factory = (o?: { ignorecase?: boolean }) => Ignore;
// A CommonJS module whose typings declare an ES default: at run time the import is the factory itself.
const ignore: Factory = typeof dockerignore === 'function' ? (dockerignore as unknown as Factory) : (dockerignore as unknown as { default: Factory }).default;

export interface IgnoreMatcher {
  /** True when the context-relative path (no leading `/`) is excluded. */
  ignores(rel: string): boolean;
  /** Some line is an exception: an excluded directory may still hold files that are kept. */
  readonly hasExceptions: boolean;
  readonly empty: boolean;
}

/** The patterns of an ignore file's text: comments and blank lines dropped, as moby's ignorefile does. */
export function parseIgnoreFile(text: string): string[] {
  const out: string[] = [];
  for (let line of text.split(/\r?\n/)) {
    // A UTF-8 byte order mark on the first line is not part of the pattern.
    if (out.length === 0) line = line.replace(/^\uFEFF/, '');
    if (line.startsWith('#')) continue;
    const t = line.trim();
    if (t === '') continue;
    out.push(t);
  }
  return out;
}

export function ignoreMatcher(patterns: readonly string[]): IgnoreMatcher {
  // Linux file names are case-sensitive, and so is Docker's matching; the library defaults to ignoring case.
  const ig = ignore({ ignorecase: false }).add([...patterns]);
  const empty = patterns.every((p) => p.replace(/^!/, '').trim() === '');
  return {
    ignores: (rel: string) => !empty && rel !== '' && ig.ignores(rel),
    hasExceptions: patterns.some((p) => p.startsWith('!')),
    empty,
  };
}
