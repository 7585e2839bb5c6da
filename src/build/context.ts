/**
 * The build context: the request body (a tar, maybe gzip/bzip2/xz-compressed) spooled to one
 * file as it streams in, never held whole in memory, then extracted to a directory (a tmpfs when
 * it is small enough, see OpenContextOptions.memoryLimit); `.dockerignore` (or
 * `<Dockerfile>.dockerignore`) applied with Docker's exact semantics. Owner: context and copy.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, LARGE_READ, errorMessage, isErrno, peek, resolveInView, runChecked, umount, untar, hostPathIn } from '../util/index.js';
import { decompress, detectCompression } from './_decompress.js';
import { ignoreMatcher, parseIgnoreFile, type IgnoreMatcher } from './_ignore.js';

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
  /**
   * Contexts whose tar is at most this big are extracted into a tmpfs of that size, bigger ones
   * on disk. Writing a thousand new files to disk costs more than all the rest of a cached
   * build (about 0.6 ms of kernel time each here); none: always on disk.
   */
  memoryLimit?: number;
  signal?: AbortSignal;
}

const DEFAULT_DOCKERFILE = 'Dockerfile';

/**
 * Extracts `body` and reads the Dockerfile. Paths are checked as they arrive (no `..`, no
 * absolute names, links kept as links but never followed while extracting). InvalidArgumentError
 * for a body that is not a tar, and `Cannot locate specified Dockerfile: <name>` as Docker says.
 * On failure nothing is left under `workDir`.
 */
export async function openContext(body: Readable, opts: OpenContextOptions): Promise<BuildContext> {
  const signal = opts.signal;
  signal?.throwIfAborted();
  const dir = await mkdtemp(join(opts.workDir, 'context-'));
  const spool = `${dir}.tar`;
  let mounted = false;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await rm(spool, { force: true });
    if (mounted) {
      try {
        umount(dir);
      } catch {
        umount(dir, true);
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const size = await spoolBody(body, spool, signal);
    if (opts.memoryLimit && size <= opts.memoryLimit) {
      // Directories and inodes take pages of their own beside the files' bytes.
      const bytes = Math.ceil(size * 1.25) + 16 * 1024 * 1024;
      await runChecked('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'wharf-build-context', dir]);
      mounted = true;
    }
    if (size > 0) await extractSpool(spool, dir, signal);
    await rm(spool, { force: true });
    signal?.throwIfAborted();
    const name = opts.dockerfile || DEFAULT_DOCKERFILE;
    const found = await locateDockerfile(dir, name);
    const dockerfile = await readFile(found.host, 'utf8');
    const ignoreRel = await ignoreFileFor(dir, found.rel);
    if (ignoreRel) {
      const patterns = parseIgnoreFile(await readFile(join(dir, ignoreRel), 'utf8'));
      const m = ignoreMatcher(patterns);
      if (!m.empty) await prune(dir, '', m, signal);
    }
    signal?.throwIfAborted();
    return { dir, dockerfile, release };
  } catch (err) {
    await release();
    if (signal?.aborted) throw signal.reason;
    throw err;
  }
}

/**
 * Pads the archive to whole 512-byte records and adds the two zero records that end it. The
 * docker CLI 28 sends a context whose Dockerfile came from outside it (`-f ../x`, `-f -`) cut
 * after the last entry's data, with neither the padding nor the end records; dockerd reads it,
 * so must we. A complete archive is unchanged in content: records after its end are ignored.
 */
function padToRecords(): Transform & { length: number } {
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      t.length += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      const pad = Buffer.alloc(((512 - (t.length % 512)) % 512) + 1024);
      t.length += pad.length;
      cb(null, pad);
    },
  }) as Transform & { length: number };
  t.length = 0;
  return t;
}

/**
 * The body, decompressed, as one tar file (written in one sequential stream, cheap even for a
 * big context), so its size is known before choosing where to extract it. Returns its size; an
 * empty body is an empty context (Docker then only misses the Dockerfile).
 */
async function spoolBody(body: Readable, spool: string, signal: AbortSignal | undefined): Promise<number> {
  const onAbort = () => body.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const { head, stream } = await peek(body, 6);
    if (head.length === 0) return 0;
    const padded = padToRecords();
    await pipeline(decompress(stream, detectCompression(head)), padded, createWriteStream(spool, { flags: 'wx', mode: 0o600, highWaterMark: LARGE_READ }));
    return padded.length;
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err instanceof InvalidArgumentError ? err : new InvalidArgumentError(`the build context is not a valid tar archive: ${errorMessage(err)}`, { cause: err });
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

async function extractSpool(spool: string, dir: string, signal: AbortSignal | undefined): Promise<void> {
  const tar = createReadStream(spool);
  const onAbort = () => tar.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await untar(tar, {
      view: { root: dir },
      owner: 'header',
      label: 'the build context',
      // Names are checked before anything is resolved: the context is a client's tar, and a
      // name that tries to leave (or start at) the root says it was not made by a build client.
      rename: (name) => {
        if (name.startsWith('/')) throw new InvalidArgumentError(`invalid build context: "${name}" is an absolute path`);
        if (name.split('/').includes('..')) throw new InvalidArgumentError(`invalid build context: "${name}" points outside the context`);
        return name;
      },
    });
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (err instanceof InvalidArgumentError) {
      const msg = errorMessage(err);
      throw msg.startsWith('invalid tar:') ? new InvalidArgumentError(`the build context is not a valid tar archive: ${msg.slice('invalid tar: '.length)}`, { cause: err }) : err;
    }
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The Dockerfile inside the context, its symlinks followed within it. Docker falls back to
 * `dockerfile` when the default name is missing and hides the path it looked at in the error.
 */
async function locateDockerfile(dir: string, name: string): Promise<{ host: string; rel: string }> {
  const tryName = async (n: string) => {
    const inside = await resolveInView({ root: dir }, n);
    const host = hostPathIn({ root: dir }, inside);
    try {
      const st = await lstat(host);
      if (st.isFile()) return { host, rel: inside.slice(1) };
    } catch (err) {
      if (!isErrno(err, 'ENOENT') && !isErrno(err, 'ENOTDIR')) throw err;
    }
    return undefined;
  };
  const found = (await tryName(name)) ?? (name === DEFAULT_DOCKERFILE ? await tryName(name.toLowerCase()) : undefined);
  if (!found) throw new InvalidArgumentError(`Cannot locate specified Dockerfile: ${name}`);
  return found;
}

/** BuildKit's rule: `<Dockerfile>.dockerignore` beside the Dockerfile wins over the context's `.dockerignore`. */
async function ignoreFileFor(dir: string, dockerfileRel: string): Promise<string | undefined> {
  for (const rel of [`${dockerfileRel}.dockerignore`, '.dockerignore']) {
    const st = await lstat(join(dir, rel)).catch(() => undefined);
    if (st?.isFile()) return rel;
  }
  return undefined;
}

/**
 * Removes what the patterns exclude. An excluded directory goes whole unless an exception could
 * keep something inside it; then it is walked and removed only when nothing in it was kept, as
 * the docker CLI's context tar leaves such a directory out.
 */
async function prune(dir: string, rel: string, m: IgnoreMatcher, signal: AbortSignal | undefined): Promise<boolean> {
  signal?.throwIfAborted();
  const host = rel ? join(dir, rel) : dir;
  const names = await readdir(host, { withFileTypes: true });
  let kept = false;
  for (const d of names) {
    const childRel = rel ? posix.join(rel, d.name) : d.name;
    const childHost = join(host, d.name);
    const ignored = m.ignores(childRel);
    if (d.isDirectory()) {
      if (ignored && !m.hasExceptions) {
        await rm(childHost, { recursive: true, force: true });
        continue;
      }
      const keptInside = await prune(dir, childRel, m, signal);
      if (ignored && !keptInside) {
        await rmdir(childHost).catch(() => {});
        continue;
      }
      kept = true;
    } else if (ignored) {
      await rm(childHost, { force: true });
    } else {
      kept = true;
    }
  }
  return kept;
}
