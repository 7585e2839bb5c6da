import { randomBytes } from 'node:crypto';
import { createReadStream, lstatSync, type Stats } from 'node:fs';
import { lstat, readdir, readFile, readlink, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import dockerignoreModule from '@balena/dockerignore';
import { pack, type Header } from 'tar-stream';

type Headers = Partial<Header> & Pick<Header, 'name'>;
import { SMALL_FILE_LIMIT, peek, readSmallFile } from '../../../util/index.js';
import { Exit } from '../../errors.js';

/*
 * The build context as docker's CLI prepares it for the classic builder (cli/command/image/
 * build/context.go): a directory tarred on the fly with .dockerignore applied, stdin passed as
 * it is when it is an archive, a URL left to the daemon. Nothing is held whole in memory but a
 * Dockerfile.
 */

export interface PreparedContext {
  /** The request body; none for a remote context. */
  body?: Readable;
  /** The `dockerfile` query; left out when docker leaves it out (the daemon's `Dockerfile`). */
  dockerfile?: string;
  /** The `remote` query. */
  remote?: string;
}

export interface ContextOptions {
  /** The -f flag as given: a path (relative to `cwd`), `-` for stdin, or nothing. */
  file?: string;
  stdin: Readable;
  cwd?: string;
}

const DEFAULT_DOCKERFILE = 'Dockerfile';

// A CommonJS module whose types declare an ES default: Node hands over module.exports itself.
type IgnoreFactory = typeof dockerignoreModule.default;
const dockerignore: IgnoreFactory = (dockerignoreModule as unknown as { default?: IgnoreFactory }).default ?? (dockerignoreModule as unknown as IgnoreFactory);

/** docker's DetectContextType, with git and http(s) URLs both given to the daemon as `remote`. */
export function isRemoteContext(spec: string): boolean {
  return /^(https?:\/\/|git:\/\/|git@|github\.com\/)/.test(spec) || /^[a-z]+:\/\/.*\.git(#.*)?$/.test(spec);
}

/** Prepares the context named by `spec` (`PATH`, `URL` or `-`) with its Dockerfile. */
export async function prepareContext(spec: string, opts: ContextOptions): Promise<PreparedContext> {
  const cwd = opts.cwd ?? process.cwd();
  const dfStdin = opts.file === '-';
  if (spec === '-') {
    if (dfStdin) throw new Exit(1, "invalid argument: can't use stdin for both build context and dockerfile");
    return contextFromStdin(opts.stdin, opts.file);
  }
  if (isRemoteContext(spec)) return { remote: spec, dockerfile: opts.file };
  const given = resolve(cwd, spec);
  try {
    await stat(given);
  } catch {
    throw new Exit(1, `unable to prepare context: path ${JSON.stringify(spec)} not found`);
  }
  const dir = await contextDir(given);
  const absDockerfile = opts.file && !dfStdin ? resolve(cwd, opts.file) : undefined;
  const relDockerfile = dfStdin ? '-' : await dockerfileRelPath(dir, absDockerfile);
  const outside = relDockerfile === '..' || relDockerfile.startsWith(`..${sep}`);
  // A Dockerfile outside the context, or on stdin, travels inside the tar under a name nobody uses.
  let extra: { name: string; content: Buffer } | undefined;
  if (dfStdin) extra = { name: randomName(), content: await readAllStream(opts.stdin) };
  else if (outside) {
    try {
      extra = { name: randomName(), content: await readFile(absDockerfile!) };
    } catch (err) {
      throw new Exit(1, `unable to open Dockerfile: ${goError(err as NodeJS.ErrnoException, absDockerfile!)}`);
    }
  }
  const patterns = await readIgnore(dir, absDockerfile && !outside ? absDockerfile : join(dir, relDockerfile));
  const keep = new Set(['.dockerignore']);
  if (!dfStdin && !outside) keep.add(relDockerfile.split(sep).join('/'));
  const body = packContext(dir, { patterns, keep, extra });
  return { body, dockerfile: extra ? extra.name : relDockerfile.split(sep).join('/') };
}

/** docker's resolveAndValidateContextPath: the real path, which must be a directory. */
async function contextDir(given: string): Promise<string> {
  const real = await realpath(given).catch((err: NodeJS.ErrnoException) => {
    throw new Exit(1, `unable to prepare context: unable to evaluate symlinks in context path: ${goError(err, given)}`);
  });
  if (!(await lstat(real)).isDirectory()) throw new Exit(1, `unable to prepare context: context must be a directory: ${real}`);
  return real;
}

/** docker's getDockerfileRelPath: `Dockerfile` (or `dockerfile`) in the context unless -f names one. */
async function dockerfileRelPath(dir: string, given: string | undefined): Promise<string> {
  let abs = given;
  if (!abs) {
    abs = join(dir, DEFAULT_DOCKERFILE);
    const lower = join(dir, DEFAULT_DOCKERFILE.toLowerCase());
    if (!(await exists(abs)) && (await exists(lower))) abs = lower;
  }
  if (!isAbsolute(abs)) abs = join(dir, abs);
  let real: string;
  try {
    real = await realpath(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Exit(1, `unable to prepare context: cannot locate Dockerfile: ${JSON.stringify(abs)}`);
    throw new Exit(1, `unable to prepare context: unable to evaluate symlinks in Dockerfile path: ${goError(err as NodeJS.ErrnoException, abs)}`);
  }
  return relative(dir, real);
}

const exists = (p: string) => lstat(p).then(
  () => true,
  () => false,
);

/**
 * The ignore patterns: `<Dockerfile>.dockerignore` beside the Dockerfile when there is one (as
 * BuildKit reads it), else the context's `.dockerignore`; comments and blank lines dropped, and
 * paths cleaned as docker's ignorefile.ReadAll does.
 */
export async function readIgnore(dir: string, dockerfilePath: string): Promise<string[]> {
  let text: string | undefined;
  for (const p of [`${dockerfilePath}.dockerignore`, join(dir, '.dockerignore')]) {
    try {
      text = await readFile(p, 'utf8');
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Exit(1, `error reading .dockerignore: ${goError(err as NodeJS.ErrnoException, p)}`);
    }
  }
  if (text === undefined) return [];
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    if (raw.startsWith('#')) continue;
    let line = raw.trim();
    if (!line) continue;
    const neg = line.startsWith('!');
    if (neg) line = line.slice(1).trim();
    line = cleanPath(line);
    if (!line) continue;
    out.push(neg ? `!${line}` : line);
  }
  return out;
}

/** Go's filepath.Clean without the leading slash, as docker keeps patterns relative to the context. */
function cleanPath(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return parts.join('/');
}

interface PackContextOptions {
  patterns: string[];
  /** Paths always sent, whatever the patterns say: the Dockerfile and .dockerignore, as docker's TrimBuildFilesFromExcludes keeps them. */
  keep: Set<string>;
  /** A Dockerfile from outside, added under its random name and excluded by .dockerignore for the daemon's COPY. */
  extra?: { name: string; content: Buffer };
}

/**
 * Tars `dir` as docker's archive.TarWithOptions does for a build: names relative, directories
 * with a trailing slash, modes and times kept, owners 0:0, symlinks not followed, hard links as
 * links, sockets left out. An ignored directory is still walked when a `!` pattern or a kept
 * file may bring back something below it; the directory's own entry is then left out.
 */
export function packContext(dir: string, opts: PackContextOptions): Readable {
  const p = pack();
  p.on('error', () => {});
  const ig = dockerignore().add(opts.patterns);
  const hasExceptions = opts.patterns.some((x) => x.startsWith('!'));
  const seen = new Map<string, string>();
  const add = (h: Headers, body: Buffer | string = '') => new Promise<void>((res, rej) => p.entry(h as Header, body, (e) => (e ? rej(e) : res())));
  const head = (name: string, st: Stats): Headers => ({ name, mode: st.mode & 0o7777, uid: 0, gid: 0, mtime: st.mtime });
  const ignored = (rel: string) => !opts.keep.has(rel) && ig.ignores(rel);
  const keepsBelow = (rel: string) => hasExceptions || [...opts.keep].some((k) => k.startsWith(`${rel}/`));

  const walk = async (host: string, rel: string): Promise<void> => {
    for (const child of (await readdir(host)).sort()) {
      const r = rel ? `${rel}/${child}` : child;
      const path = join(host, child);
      // Synchronous, as the reads below: one system call each instead of a thread-pool round trip.
      const st = lstatSync(path);
      const skip = ignored(r);
      if (st.isDirectory()) {
        if (!skip) await add({ ...head(`${r}/`, st), type: 'directory' });
        if (!skip || keepsBelow(r)) await walk(path, r);
        continue;
      }
      if (skip) continue;
      if (r === '.dockerignore' && opts.extra) {
        const text = await readFile(path);
        await add({ ...head(r, st), type: 'file' }, Buffer.concat([text, Buffer.from(`\n${opts.extra.name}\n`)]));
      } else if (st.isSymbolicLink()) await add({ ...head(r, st), type: 'symlink', linkname: await readlink(path) });
      else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? seen.get(key) : undefined;
        if (first) {
          await add({ ...head(r, st), type: 'link', linkname: first });
          continue;
        }
        if (st.nlink > 1) seen.set(key, r);
        const small = st.size <= SMALL_FILE_LIMIT ? readSmallFile(path) : undefined;
        if (small) {
          await add({ ...head(r, st), type: 'file', size: small.length }, small);
          continue;
        }
        await new Promise<void>((res, rej) => {
          const e = p.entry({ ...head(r, st), type: 'file', size: st.size } as Header, (err) => (err ? rej(err) : res()));
          pipeline(createReadStream(path), e).catch(rej);
        });
      } else if (st.isFIFO()) await add({ ...head(r, st), type: 'fifo' });
    }
  };

  const run = async () => {
    await walk(dir, '');
    if (opts.extra) {
      const now = new Date();
      if (!(await exists(join(dir, '.dockerignore'))) || ignored('.dockerignore')) {
        await add({ name: '.dockerignore', mode: 0o600, uid: 0, gid: 0, mtime: now, type: 'file' }, `.dockerignore\n${opts.extra.name}\n`);
      }
      await add({ name: opts.extra.name, mode: 0o600, uid: 0, gid: 0, mtime: now, type: 'file' }, opts.extra.content);
    }
  };
  run().then(
    () => p.finalize(),
    (err: NodeJS.ErrnoException) => p.destroy(err.code === 'EACCES' ? new Error(`checking context: can't stat '${err.path ?? ''}'`) : err),
  );
  // tar-stream's streams are streamx ones; the transport pipes Node's.
  return Readable.from(batches(p as AsyncIterable<unknown> as AsyncIterable<Buffer>, UPLOAD_CHUNK));
}

/**
 * Bytes sent per write of the upload. The pack yields a header, a body and a padding per file;
 * sent as they come, each is its own chunk on the wire and its own write into the daemon's
 * spool, and a context of many small files went at a fraction of the speed docker's 32 kB
 * copies reach.
 */
const UPLOAD_CHUNK = 64 * 1024;

/** The chunks of `src` joined into pieces of at least `size` bytes (the last one smaller). */
async function* batches(src: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let n = 0;
  for await (const c of src) {
    parts.push(c);
    n += c.length;
    if (n >= size) {
      yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
      parts = [];
      n = 0;
    }
  }
  if (n) yield Buffer.concat(parts, n);
}

/** docker's random name for a Dockerfile brought into the context: 20 hex digits. */
const randomName = () => `.dockerfile.${randomBytes(10).toString('hex')}`;

/**
 * Context `-`: a tar (maybe compressed) goes as it is; anything else is a Dockerfile, wrapped
 * in a tar as `Dockerfile` (docker's GetContextFromReader).
 */
export async function contextFromStdin(stdin: Readable, file: string | undefined): Promise<PreparedContext> {
  // docker peeks two tar blocks to decide.
  const { head, stream } = await peek(stdin, 1024);
  if (isArchive(head)) return { body: stream, dockerfile: file };
  if (file) throw new Exit(1, 'unable to prepare context from STDIN: ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles');
  const content = await readAllStream(stream);
  const p = pack();
  p.entry({ name: DEFAULT_DOCKERFILE, mode: 0o600, uid: 0, gid: 0, mtime: new Date(), type: 'file', size: content.length } as Header, content);
  p.finalize();
  return { body: Readable.from(p), dockerfile: DEFAULT_DOCKERFILE };
}

/** Compressed (gzip, bzip2, xz, zstd) or a tar header whose checksum holds. */
export function isArchive(b: Buffer): boolean {
  const starts = (...m: number[]) => m.every((x, i) => b[i] === x);
  if (starts(0x1f, 0x8b, 0x08) || starts(0x42, 0x5a, 0x68) || starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00) || starts(0x28, 0xb5, 0x2f, 0xfd)) return true;
  if (b.length < 512) return false;
  const stored = parseInt(b.subarray(148, 156).toString('latin1').replace(/[\0 ]+$/g, '').trim(), 8);
  if (!Number.isFinite(stored)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i];
  return sum === stored;
}

async function readAllStream(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks);
}

/** Go's wording of a file error: `lstat /x: no such file or directory`. */
function goError(err: NodeJS.ErrnoException, path: string): string {
  const text = err.message.replace(/^[A-Z0-9]+: /, '').replace(/, \w+ '.*'$/s, '');
  return `${err.syscall ?? 'open'} ${path}: ${text}`;
}
