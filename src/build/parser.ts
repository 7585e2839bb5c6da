/**
 * The Dockerfile parser: text in, instructions out (pure; no file system). Owner: the parser.
 * Directives, `escape`, continuations, comments, heredocs, JSON and shell forms, as BuildKit's
 * frontend/dockerfile/parser reads them.
 */
import type { Dockerfile, ParsedDockerfile } from './instructions.js';

/** Splits the text into raw instructions. Throws DockerfileError (with the line) on bad syntax. */
export function parseDockerfile(text: string): Dockerfile {
  void text;
  throw new Error('not implemented');
}

/**
 * Types each instruction (flags checked per instruction, forms decided) and groups them into
 * stages. Throws DockerfileError for unknown instructions, bad flags, or no FROM.
 */
export function toStages(file: Dockerfile): ParsedDockerfile {
  void file;
  throw new Error('not implemented');
}

/** Both steps: what the builder calls. */
export function parse(text: string): ParsedDockerfile {
  return toStages(parseDockerfile(text));
}
