/**
 * COPY and ADD on the host's file system: sources chosen in a source root (the context, or a
 * stage's or image's files), written into a step's root. Docker's semantics: wildcards (Go's
 * filepath.Match), a directory copies its contents, a trailing `/` or several sources make the
 * destination a directory, `--chown`, `--chmod`, `--exclude`, ADD's local-tar extraction and
 * URL download with `--checksum`. No path ever leaves either root: symlinks in the source are
 * copied as links and never followed outside it, destination paths are resolved inside the
 * step's root. Owner: context and copy.
 */

export interface CopySourceSpec {
  /** Host directory the sources are relative to (`/` of the context or of the `--from` stage). */
  root: string;
  /** Expanded source words; may hold wildcards. For ADD, `http(s)://` URLs too. */
  sources: string[];
  /** `--exclude` patterns (dockerignore syntax), relative to `root`. */
  exclude: string[];
  /** ADD: extract local tar archives (plain, gzip, bzip2, xz) instead of copying them. */
  extract: boolean;
  /** ADD --checksum for a URL. */
  checksum?: string;
  /** Here-document files to create: `COPY <<EOF /dest`; content already expanded when it should be. */
  inline: { name: string; content: string }[];
}

/** What will be copied, resolved before the step's workspace exists, for the cache key. */
export interface CopyPlan {
  /**
   * `sha256:...` over what the copy would write: relative paths, types, modes, link targets and
   * contents (never mtimes), so the key changes exactly when the result would.
   */
  digest: string;
  /** Docker's history word for the sources: `file:<hex>`, `dir:<hex>` or `multi:<hex>`. */
  historyWord: string;
  /** Temp files made for URL downloads; `dispose` removes them. */
  dispose(): Promise<void>;
}

export interface CopyTarget {
  /** The step's root file system (Workspace.root()). */
  root: string;
  /** The destination as written, expanded; a relative one is under `workdir`. */
  dest: string;
  workdir: string;
  /** `--chown` as written (`user:group`, names or IDs), resolved in `root`'s /etc/passwd and /etc/group. */
  chown?: string;
  /** `--chmod` as written: octal (`755`) or symbolic (`u+x`). */
  chmod?: string;
}

/**
 * Resolves the sources. Throws InvalidArgumentError with Docker's texts when a source does not
 * exist (`failed to compute cache key: "/x" not found`), lies outside the root (`..`), or a URL's
 * checksum differs.
 */
export async function planCopy(spec: CopySourceSpec): Promise<CopyPlan> {
  void spec;
  throw new Error('not implemented');
}

/** Writes what `plan` resolved into the target. Owners are root's unless `chown` says otherwise. */
export async function applyCopy(plan: CopyPlan, target: CopyTarget): Promise<void> {
  void plan, target;
  throw new Error('not implemented');
}
