/**
 * The build context: the request body (a tar, maybe gzip/bzip2/xz-compressed) extracted to a
 * directory on disk as it streams in, never held whole in memory; `.dockerignore` (or
 * `<Dockerfile>.dockerignore`) applied with Docker's exact semantics. Owner: context and copy.
 */
import type { Readable } from 'node:stream';

export interface BuildContext {
  /** The directory with the context's files, ignored ones removed. */
  dir: string;
  /** The Dockerfile's text. */
  dockerfile: string;
  /** Deletes the directory; idempotent. */
  release(): Promise<void>;
}

export interface OpenContextOptions {
  /** The Dockerfile's path inside the context (the `dockerfile` query), default `Dockerfile`. */
  dockerfile: string;
  /** A directory of the daemon's own under which the context directory is made. */
  workDir: string;
  signal?: AbortSignal;
}

/**
 * Extracts `body` and reads the Dockerfile. Paths are checked as they arrive (no `..`, no
 * absolute names, links kept as links but never followed while extracting). InvalidArgumentError
 * for a body that is not a tar, and `Cannot locate specified Dockerfile: <name>` as Docker says.
 * On failure nothing is left under `workDir`.
 */
export async function openContext(body: Readable, opts: OpenContextOptions): Promise<BuildContext> {
  void body, opts;
  throw new Error('not implemented');
}
