/**
 * COPY and ADD on the host's file system: sources chosen in a source root (the context, or a
 * stage's or image's files), written into a step's root. Docker's semantics: wildcards (Go's
 * filepath.Match), a directory copies its contents, a trailing `/` or several sources make the
 * destination a directory, `--chown`, `--chmod`, `--exclude`, ADD's local-tar extraction and
 * URL download with `--checksum`. No path ever leaves either root: symlinks in the source are
 * copied as links and never followed outside it, destination paths are resolved inside the
 * step's root. Owner: context and copy.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fchmodSync, fchownSync, futimesSync, lstatSync, openSync, writeSync, constants as fsSyncConstants, type Stats } from 'node:fs';
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, mkdtemp, open, readdir, readFile, readlink, rm, stat, symlink, utimes, writeFile, constants as fsConstants } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, SMALL_FILE_LIMIT, capabilityOf, devMajor, devMinor, errorMessage, hostPathIn, isErrno, mknod, peek, readSmallFile, resolveInView, setXattrs, toHostIds, untar, type IdMapping, type RootView } from '../util/index.js';
import { parseChmod, type ModeFn } from './_chmod.js';
import { decompress, detectCompression, looksLikeTar } from './_decompress.js';
import { download } from './_fetch.js';
import { ignoreMatcher, type IgnoreMatcher } from './_ignore.js';
import { EscapeError, goPattern, hasWildcards, resolveStrict } from './_paths.js';

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
  /**
   * `COPY --parents` (BuildKit): each source keeps its path under the destination, relative to
   * `root`, or to a `/./` pivot written in the source (`a/./b/c` gives `<dest>/b/c`).
   */
  parents?: boolean;
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
  /** The ranges of a remapped root: the owners above are the container's IDs, written as their host IDs. */
  idmap?: IdMapping;
}

/**
 * Where a `--parents` source goes: `at`, its path below the destination (`''`: the destination
 * itself), and the source directories on the way there, made in the destination as they are.
 */
interface Kept {
  at: string;
  dirs: { rel: string; st: Stats }[];
}

/** One resolved source. `name` is what it is called inside a directory destination. */
type Item =
  | { kind: 'file'; host: string; name: string; st: Stats; kept?: Kept }
  | { kind: 'dir'; host: string; rel: string; st: Stats; kept?: Kept }
  | { kind: 'archive'; host: string; name: string; st: Stats; kept?: Kept }
  | { kind: 'url'; host: string; name: string; mtime?: Date }
  | { kind: 'inline'; name: string; content: string };

interface PlanState {
  items: Item[];
  exclude: IgnoreMatcher;
  cmd: string;
}

// The plan's resolved sources stay out of the shared CopyPlan type: only applyCopy reads them.
const plans = new WeakMap<CopyPlan, PlanState>();

/** Files hashed at once: enough to keep a disk busy, few enough not to run out of descriptors. */
const HASH_CONCURRENCY = 8;

/**
 * Resolves the sources. Throws InvalidArgumentError with Docker's texts (the classic builder's:
 * `COPY failed: file not found in build context or excluded by .dockerignore: stat x: file does
 * not exist`, `COPY failed: no source files were specified`) when a source does not exist or
 * matches nothing, lies outside the root (`..`, written or through a link), or a URL's checksum
 * differs. `extract` set means ADD (URLs allowed, `ADD failed:` in errors).
 */
export async function planCopy(spec: CopySourceSpec): Promise<CopyPlan> {
  const cmd = spec.extract ? 'ADD' : 'COPY';
  const fail = (msg: string, cause?: unknown) => new InvalidArgumentError(`${cmd} failed: ${msg}`, cause === undefined ? undefined : { cause });
  const exclude = ignoreMatcher(spec.exclude);
  const items: Item[] = [];
  let tmp: string | undefined;
  const dispose = async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
    tmp = undefined;
  };
  try {
    if (spec.checksum !== undefined) {
      if (!/^sha256:[a-f0-9]{64}$/.test(spec.checksum)) throw fail(`invalid checksum "${spec.checksum}": expected sha256:<64 hex characters>`);
      if (spec.sources.length !== 1 || !isUrl(spec.sources[0]!)) throw fail(`checksum can't be specified for non-HTTP(S) sources`);
    }
    for (const word of spec.sources) {
      if (isUrl(word)) {
        if (!spec.extract) throw fail(`source can't be a URL for COPY`);
        tmp ??= await mkdtemp(join(tmpdir(), 'wharf-add-'));
        const name = urlFileName(word);
        const file = join(tmp, `${items.length}`);
        const got = await download(word, file);
        if (spec.checksum !== undefined && got.digest !== spec.checksum) {
          throw fail(`checksum mismatch for ${word}: expected ${spec.checksum}, got ${got.digest}`);
        }
        items.push({ kind: 'url', host: file, name, mtime: got.lastModified });
        continue;
      }
      const { path, pivot } = spec.parents ? splitPivot(word) : { path: word, pivot: 0 };
      for (const found of await resolveSource(spec.root, path, exclude, fail)) {
        const kept = spec.parents ? await keptPath(spec.root, found.matched, pivot, word) : undefined;
        const more = kept ? { kept } : {};
        if (found.st.isDirectory()) items.push({ kind: 'dir', host: found.host, rel: found.rel, st: found.st, ...more });
        else if (spec.extract && found.st.isFile() && (await isArchive(found.host))) items.push({ kind: 'archive', host: found.host, name: found.name, st: found.st, ...more });
        else items.push({ kind: 'file', host: found.host, name: found.name, st: found.st, ...more });
      }
    }
    for (const h of spec.inline) items.push({ kind: 'inline', name: h.name, content: h.content });
    if (items.length === 0) throw fail('no source files were specified');
    const digest = await digestOf(items, exclude);
    const hex = digest.slice('sha256:'.length);
    const only = items.length === 1 ? items[0]! : undefined;
    const historyWord = only?.kind === 'dir' ? `dir:${hex}` : only ? `file:${hex}` : `multi:${hex}`;
    const plan: CopyPlan = { digest, historyWord, dispose };
    plans.set(plan, { items, exclude, cmd });
    return plan;
  } catch (err) {
    await dispose();
    if (err instanceof EscapeError) throw fail(err.message, err);
    throw err;
  }
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

function urlFileName(u: string): string {
  let name = '';
  try {
    name = posix.basename(decodeURIComponent(new URL(u).pathname));
  } catch {
    // An undecodable path still has a last part as written.
    name = posix.basename(u.replace(/[?#].*$/, ''));
  }
  if (!name || name === '/' || name === '.' || name === '..') throw new InvalidArgumentError(`ADD failed: cannot determine filename from url: ${u}`);
  return name;
}

interface Found {
  /** The host path after following the top-level links inside the root. */
  host: string;
  /** Root-relative path of the resolved source, without a leading `/`. */
  rel: string;
  /** Root-relative path as written or matched, links not followed (`''`: the root). */
  matched: string;
  /** The last part of the path as written (or matched): its name in a directory destination. */
  name: string;
  st: Stats;
}

async function resolveSource(root: string, word: string, exclude: IgnoreMatcher, fail: (m: string) => Error): Promise<Found[]> {
  // A leading `/` means the root too; `..` that climbs out is refused before anything is looked at.
  const written = word.replace(/^\/+/, '');
  const norm = posix.normalize(written === '' ? '.' : written);
  if (norm === '..' || norm.startsWith('../')) throw new EscapeError(word);
  const clean = norm === '.' || norm === './' ? '' : norm.replace(/\/+$/, '');
  const matches = hasWildcards(clean) ? await matchWildcard(root, clean) : [clean];
  if (matches.length === 0) throw fail('no source files were specified');
  const out: Found[] = [];
  for (const rel of matches) {
    const inside = await resolveStrict(root, rel, word);
    const host = posix.join(root, inside);
    let st: Stats;
    try {
      st = await lstat(host);
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) throw fail(`file not found in build context or excluded by .dockerignore: stat ${rel || '.'}: file does not exist`);
      throw err;
    }
    // An excluded file named on its own is as absent as one left out by .dockerignore.
    if (rel !== '' && (!st.isDirectory() || !exclude.hasExceptions) && exclude.ignores(rel)) {
      if (hasWildcards(clean)) continue;
      throw fail(`file not found in build context or excluded by .dockerignore: stat ${rel}: file does not exist`);
    }
    out.push({ host, rel: inside.slice(1), matched: rel, name: rel === '' ? '.' : posix.basename(rel), st });
  }
  if (out.length === 0) throw fail('no source files were specified');
  return out;
}

/**
 * A `--parents` source split at BuildKit's pivot, its first `/./`: the path to resolve (the
 * pivot removed) and how many of its leading elements are the pivot, which is not kept.
 */
function splitPivot(word: string): { path: string; pivot: number } {
  const at = word.indexOf('/./');
  if (at < 0) return { path: word, pivot: 0 };
  const before = posix.normalize(word.slice(0, at).replace(/^\/+/, '') || '.');
  const pivot = before === '.' ? 0 : before.split('/').length;
  return { path: `${word.slice(0, at)}/${word.slice(at + 3)}`, pivot };
}

/** Where a matched source goes under the destination with `--parents`, and the directories on the way. */
async function keptPath(root: string, matched: string, pivot: number, word: string): Promise<Kept> {
  const parts = matched.split('/').filter((p) => p !== '' && p !== '.');
  const dirs: Kept['dirs'] = [];
  for (let i = pivot + 1; i < parts.length; i++) {
    // Every element before the last was walked as a directory (or a link to one) inside the root.
    const inside = await resolveStrict(root, parts.slice(0, i).join('/'), word);
    dirs.push({ rel: parts.slice(pivot, i).join('/'), st: await stat(posix.join(root, inside)) });
  }
  return { at: parts.slice(pivot).join('/'), dirs };
}

/**
 * The root-relative paths matching a pattern, sorted, as Docker walks the context: `*` stays
 * within one path element, so only directories whose names match the pattern's leading
 * elements are read, and a matched directory is taken whole.
 */
async function matchWildcard(root: string, pattern: string): Promise<string[]> {
  const parts = pattern.split('/');
  const res = parts.map((p) => (hasWildcards(p) ? goPattern(p) : undefined));
  const out: string[] = [];
  const walk = async (relDir: string, depth: number): Promise<void> => {
    const part = parts[depth]!;
    const re = res[depth];
    let names: string[];
    if (re) {
      try {
        names = (await readdir(posix.join(root, relDir))).filter((n) => re.test(n)).sort();
      } catch (err) {
        if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return;
        throw err;
      }
    } else names = [part.replace(/\\(.)/g, '$1')];
    for (const n of names) {
      const rel = relDir ? `${relDir}/${n}` : n;
      if (depth === parts.length - 1) {
        if (await lstat(posix.join(root, rel)).catch(() => undefined)) out.push(rel);
        continue;
      }
      // Components before the last are walked as written: a directory or a link to one inside the root.
      const st = await stat(posix.join(root, await resolveStrict(root, rel, pattern))).catch(() => undefined);
      if (st?.isDirectory()) await walk(rel, depth + 1);
    }
  };
  await walk('', 0);
  return out;
}

/** A local file ADD unpacks: a tar, maybe gzip, bzip2 or xz compressed. */
async function isArchive(host: string): Promise<boolean> {
  const fh = await open(host, 'r');
  const head = Buffer.alloc(6);
  try {
    await fh.read(head, 0, 6, 0);
  } finally {
    await fh.close();
  }
  const kind = detectCompression(head);
  const src = createReadStream(host);
  const data = decompress(src, kind);
  try {
    const { head: tarHead, stream } = await peek(data, 262);
    stream.destroy();
    return looksLikeTar(tarHead);
  } catch {
    // Not decompressible: an ordinary file that happens to start like one.
    return false;
  } finally {
    src.destroy();
    data.destroy();
  }
}

// ------------------------------------------------------------------ digest

type Line = string | { path: string; prefix: string };

/** Lines describing what the copy writes; file contents come as a path to hash. Sorted per source. */
async function describe(items: Item[], exclude: IgnoreMatcher): Promise<Line[]> {
  const lines: Line[] = [];
  const perm = (st: Stats) => (st.mode & 0o7777).toString(8);
  const entry = async (host: string, rel: string, st: Stats): Promise<void> => {
    const q = JSON.stringify(rel);
    if (st.isSymbolicLink()) lines.push(`l ${q} ${JSON.stringify(await readlink(host))}`);
    else if (st.isFile()) lines.push({ path: host, prefix: `f ${q} ${perm(st)}` });
    else if (st.isCharacterDevice() || st.isBlockDevice()) lines.push(`${st.isCharacterDevice() ? 'c' : 'b'} ${q} ${perm(st)} ${devMajor(st.rdev)},${devMinor(st.rdev)}`);
    else if (st.isFIFO()) lines.push(`p ${q} ${perm(st)}`);
  };
  for (const it of items) {
    if ('kept' in it && it.kept) {
      for (const d of it.kept.dirs) lines.push(`parent ${JSON.stringify(d.rel)} ${perm(d.st)}`);
      lines.push(`at ${JSON.stringify(it.kept.at)}`);
    }
    switch (it.kind) {
      case 'file':
        // A device or fifo named on its own is described, never read (a fifo would block).
        if (it.st.isFile()) lines.push({ path: it.host, prefix: `file ${JSON.stringify(it.name)} ${perm(it.st)}` });
        else await entry(it.host, `file ${it.name}`, it.st);
        break;
      case 'archive':
        lines.push({ path: it.host, prefix: `archive ${JSON.stringify(it.name)}` });
        break;
      case 'url':
        // Content only: the server's Last-Modified is an mtime, and keys never depend on those.
        lines.push({ path: it.host, prefix: `url ${JSON.stringify(it.name)}` });
        break;
      case 'inline':
        lines.push(`inline ${JSON.stringify(it.name)} ${createHash('sha256').update(it.content).digest('hex')}`);
        break;
      case 'dir': {
        lines.push(`dir ${perm(it.st)}`);
        await walkSource(it, exclude, async (host, rel, st) => {
          if (st.isDirectory()) lines.push(`d ${JSON.stringify(rel)} ${perm(st)}`);
          else await entry(host, rel, st);
        });
        lines.push('end');
        break;
      }
    }
  }
  return lines;
}

/**
 * Every entry below a directory source in sorted order, links not followed, `--exclude`d paths
 * left out (a directory whole, unless an exception could keep something inside it).
 */
async function walkSource(it: Extract<Item, { kind: 'dir' }>, exclude: IgnoreMatcher, visit: (host: string, rel: string, st: Stats) => Promise<void>, after?: (host: string, rel: string, st: Stats) => Promise<void>): Promise<void> {
  const excluded = (rel: string) => !exclude.empty && (exclude.ignores(it.rel ? `${it.rel}/${rel}` : rel) || exclude.ignores(rel));
  const walk = async (host: string, rel: string): Promise<void> => {
    for (const n of (await readdir(host)).sort()) {
      const childHost = join(host, n);
      const childRel = rel ? `${rel}/${n}` : n;
      // Synchronous: one lstat per entry of a big tree, each far cheaper than a thread-pool round trip.
      const st = lstatSync(childHost);
      const ex = excluded(childRel);
      if (ex && !(st.isDirectory() && exclude.hasExceptions)) continue;
      if (st.isDirectory()) {
        if (!ex) await visit(childHost, childRel, st);
        await walk(childHost, childRel);
        if (!ex) await after?.(childHost, childRel, st);
      } else await visit(childHost, childRel, st);
    }
  };
  await walk(it.host, '');
}

/** The content hash of a small file, read whole without yielding; undefined for a big one (streamed then). */
function smallFileDigest(path: string): string | undefined {
  const data = readSmallFile(path);
  return data && createHash('sha256').update(data).digest('hex');
}

async function digestOf(items: Item[], exclude: IgnoreMatcher): Promise<string> {
  const lines = await describe(items, exclude);
  const hashes = new Map<number, string>();
  const jobs: [{ path: string }, number][] = [];
  lines.forEach((l, i) => {
    if (typeof l !== 'string') jobs.push([l, i]);
  });
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const [l, i] = jobs[next++]!;
      const small = smallFileDigest(l.path);
      if (small !== undefined) {
        hashes.set(i, small);
        continue;
      }
      const h = createHash('sha256');
      await pipeline(createReadStream(l.path), h);
      hashes.set(i, h.digest('hex'));
    }
  };
  await Promise.all(Array.from({ length: Math.min(HASH_CONCURRENCY, jobs.length) }, worker));
  const total = createHash('sha256');
  lines.forEach((l, i) => total.update((typeof l === 'string' ? l : `${l.prefix} ${hashes.get(i)}`) + '\n'));
  return `sha256:${total.digest('hex')}`;
}

// ------------------------------------------------------------------ apply

interface Owner {
  uid: number;
  gid: number;
}

/** Writes what `plan` resolved into the target. Owners are root's unless `chown` says otherwise. */
export async function applyCopy(plan: CopyPlan, target: CopyTarget): Promise<void> {
  const state = plans.get(plan);
  if (!state) throw new Error('applyCopy: the plan was not made by planCopy');
  const { items, exclude, cmd } = state;
  const fail = (msg: string) => new InvalidArgumentError(`${cmd} failed: ${msg}`);
  const fail_ = (msg: string) => new InvalidArgumentError(msg);
  const view: RootView = { root: target.root };
  const onHost = (o: Owner): Owner => (target.idmap ? toHostIds(target.idmap, o) : o);
  const root = onHost({ uid: 0, gid: 0 });
  const owner = onHost(target.chown ? await resolveChown(target.root, target.chown) : { uid: 0, gid: 0 });
  let modeFn: ModeFn | undefined;
  if (target.chmod) {
    try {
      modeFn = parseChmod(target.chmod);
    } catch (err) {
      throw fail(errorMessage(err));
    }
  }
  const w = new Writer(view, owner, modeFn);

  const destWord = target.dest;
  const abs = destWord.startsWith('/') ? destWord : posix.join(target.workdir || '/', destWord);
  const destV = posix.normalize('/' + abs).replace(/(.)\/+$/, '$1');
  const saysDir = destWord === '' || destWord.endsWith('/') || destWord === '.' || destWord.endsWith('/.') || posix.basename(destWord) === '..';
  // Docker's classic builder checks the word, not the file system: `COPY a b /dir` fails even when /dir exists.
  if (items.length > 1 && !saysDir) throw fail_(`When using ${cmd} with more than one source file, the destination must be a directory and end with a /`);
  // With --parents the destination is always a directory: BuildKit copies into it.
  const destDir = saysDir || items.some((it) => 'kept' in it && it.kept) || (await w.isDir(destV));

  for (const it of items) {
    const kept = 'kept' in it ? it.kept : undefined;
    if (kept) {
      await w.ensureDir(destV, 0o755, undefined, root);
      // The source's parent directories as they are in the source, as BuildKit copies them.
      for (const d of kept.dirs) {
        const v = posix.join(destV, d.rel);
        await w.entry('', v, d.st);
        await w.dirTime(v, d.st.mtime);
      }
    }
    switch (it.kind) {
      case 'dir': {
        const to = kept ? posix.join(destV, kept.at) : destV;
        if (kept && kept.at !== '') {
          await w.entry(it.host, to, it.st);
          await w.dirTime(to, it.st.mtime);
        } else {
          // As dockerd does: a new destination directory is 0755 and the copy's owner's, its new parents root's.
          await w.ensureDir(to, 0o755, it.st.mtime, root);
        }
        await walkSource(
          it,
          exclude,
          async (host, rel, st) => w.entry(host, posix.join(to, rel), st),
          async (host, rel, st) => w.dirTime(posix.join(to, rel), st.mtime),
        );
        break;
      }
      case 'archive': {
        const where = await w.ensureDir(kept ? posix.join(destV, posix.dirname(kept.at)) : destV, 0o755);
        const src = createReadStream(it.host);
        const head = await readHead(it.host, 6);
        // The archive's own owners and modes, as Docker's ADD keeps them.
        await untar(decompress(src, detectCompression(head)), { view, dir: where, owner: 'header', idmap: target.idmap, label: destV }).catch((err: unknown) => {
          throw fail(`extracting ${it.name}: ${errorMessage(err)}`);
        });
        w.forget();
        break;
      }
      case 'file': {
        const to = kept ? posix.join(destV, kept.at) : destDir ? posix.join(destV, it.name) : destV;
        if (it.st.isFile()) await w.file(it.host, to, it.st.mode, it.st.mtime, it.st.size);
        else await w.entry(it.host, to, it.st);
        break;
      }
      case 'url': {
        const to = destDir ? posix.join(destV, it.name) : destV;
        await w.file(it.host, to, 0o600, it.mtime ?? new Date());
        break;
      }
      case 'inline': {
        const to = destDir ? posix.join(destV, it.name) : destV;
        await w.content(it.content, to, 0o644);
        break;
      }
    }
  }
  await w.finish();
}

async function readHead(host: string, n: number): Promise<Buffer> {
  const fh = await open(host, 'r');
  try {
    const b = Buffer.alloc(n);
    const { bytesRead } = await fh.read(b, 0, n, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Writes into a step's root. Every path is resolved inside the root as chroot would (the image's
 * own links, such as /var/run -> /run, followed there and never to the host) and files are
 * created with O_EXCL, so nothing is written through a link.
 */
class Writer {
  readonly #dirTimes: [string, Date][] = [];
  /**
   * Directories known to exist as real directories (path inside the view as asked -> resolved
   * path inside the view): a copied tree's files share a few parents, and resolving one again
   * costs a few system calls per path component. Only this copy changes the tree meanwhile, and
   * it forgets them all whenever it removes anything, the one way a known directory could turn
   * into something else (a link put where it was).
   */
  readonly #dirs = new Map<string, string>();
  constructor(
    readonly view: RootView,
    readonly owner: Owner,
    readonly modeFn: ModeFn | undefined,
  ) {}

  #host(v: string): string {
    return hostPathIn(this.view, v);
  }

  #mode(mode: number, isDir: boolean): number {
    return this.modeFn ? this.modeFn(mode & 0o7777, isDir) : mode & 0o7777;
  }

  async #remove(host: string, recursive: boolean): Promise<void> {
    this.#dirs.clear();
    await rm(host, { recursive, force: true });
  }

  /** Something other than this writer changed the tree (an archive extracted into it). */
  forget(): void {
    this.#dirs.clear();
  }

  async isDir(v: string): Promise<boolean> {
    const inside = await resolveInView(this.view, v);
    return (await stat(this.#host(inside)).catch(() => undefined))?.isDirectory() ?? false;
  }

  /**
   * The directory at `v` (inside the view), its missing parents made 0755 and `v` itself with
   * `mode` when it is new, owned by the copy's owner (Docker chowns only what it creates; new
   * parents of a directory destination stay root's, as `parentOwner` says).
   * Returns its resolved path inside the view.
   */
  async ensureDir(v: string, mode: number, mtime?: Date, parentOwner: Owner = this.owner): Promise<string> {
    // Known: it existed, so nothing here would be made (nor its mode, owner or time set).
    const known = this.#dirs.get(v);
    if (known !== undefined) return known;
    const inside = await resolveInView(this.view, v);
    let cur = '/';
    const parts = inside.split('/').filter(Boolean);
    for (let i = 0; i < parts.length; i++) {
      cur = posix.join(cur, parts[i]!);
      const host = this.#host(cur);
      const st = lstatOrUndefined(host);
      if (st?.isDirectory()) continue;
      // resolveInView followed every link on the way, so what is here now is a non-directory in the way.
      if (st) await this.#remove(host, false);
      const last = i === parts.length - 1;
      await mkdir(host, { mode: 0o700 });
      const o = last ? this.owner : parentOwner;
      await lchown(host, o.uid, o.gid);
      await chmod(host, last ? this.#mode(mode, true) : 0o755);
      if (last && mtime) this.#dirTimes.push([host, mtime]);
    }
    this.#dirs.set(v, inside);
    return inside;
  }

  /** The host path for a new non-directory at `v`, its parent made and whatever was there removed. */
  async #place(v: string): Promise<string> {
    const parent = await this.ensureDir(posix.dirname(v), 0o755);
    const host = this.#host(posix.join(parent, posix.basename(v)));
    if (lstatOrUndefined(host)) await this.#remove(host, true);
    return host;
  }

  async #finishFile(host: string, mode: number, mtime: Date): Promise<void> {
    await lchown(host, this.owner.uid, this.owner.gid);
    // chown clears set-id bits, so the mode comes after it.
    await chmod(host, this.#mode(mode, false));
    await utimes(host, mtime, mtime);
  }

  async file(src: string, v: string, mode: number, mtime: Date, size = Infinity): Promise<void> {
    const host = await this.#place(v);
    const data = size <= SMALL_FILE_LIMIT ? readSmallFile(src) : undefined;
    if (data) this.#writeSmall(host, data, mode, mtime);
    else {
      await copyFile(src, host, fsConstants.COPYFILE_EXCL);
      await this.#finishFile(host, mode, mtime);
    }
    // After the owner, which clears them: a copied binary keeps its capabilities, as BuildKit's copy does.
    setXattrs(host, capabilityOf(src));
  }

  /**
   * A small file created, written, owned, moded and dated through one descriptor without
   * yielding: as separate asynchronous calls each is a thread-pool round trip, and for a
   * context of many small files those were most of the copy's time.
   */
  #writeSmall(host: string, data: Buffer, mode: number, mtime: Date): void {
    // O_EXCL and O_NOFOLLOW: never writes through a link that might have appeared.
    const fd = openSync(host, fsSyncConstants.O_WRONLY | fsSyncConstants.O_CREAT | fsSyncConstants.O_EXCL | fsSyncConstants.O_NOFOLLOW, 0o600);
    try {
      for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
      fchownSync(fd, this.owner.uid, this.owner.gid);
      // chown clears set-id bits, so the mode comes after it.
      fchmodSync(fd, this.#mode(mode, false));
      futimesSync(fd, mtime, mtime);
    } finally {
      closeSync(fd);
    }
  }

  async content(text: string, v: string, mode: number): Promise<void> {
    const host = await this.#place(v);
    await writeFile(host, text, { flag: 'wx', mode: 0o600 });
    const now = new Date();
    await this.#finishFile(host, mode, now);
  }

  /** One entry of a copied tree: directories merge with what is there, links are copied as links. */
  async entry(src: string, v: string, st: Stats): Promise<void> {
    if (st.isDirectory()) {
      const inside = await resolveInView(this.view, v);
      const host = this.#host(inside);
      const cur = lstatOrUndefined(host);
      if (cur && !cur.isDirectory()) await this.#remove(host, false);
      if (!cur?.isDirectory()) await this.ensureDir(inside, st.mode);
      await lchown(host, this.owner.uid, this.owner.gid);
      await chmod(host, this.#mode(st.mode, true));
      return;
    }
    if (st.isFile()) return this.file(src, v, st.mode, st.mtime, st.size);
    const host = await this.#place(v);
    if (st.isSymbolicLink()) {
      await symlink(await readlink(src), host);
      await lchown(host, this.owner.uid, this.owner.gid);
      await lutimes(host, st.mtime, st.mtime);
      return;
    }
    if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
      const type = st.isCharacterDevice() ? fsConstants.S_IFCHR : st.isBlockDevice() ? fsConstants.S_IFBLK : fsConstants.S_IFIFO;
      mknod(host, type | (st.mode & 0o7777), devMajor(st.rdev), devMinor(st.rdev));
      await this.#finishFile(host, st.mode, st.mtime);
    }
    // Sockets have no copy; Docker leaves them out too.
  }

  async dirTime(v: string, mtime: Date): Promise<void> {
    this.#dirTimes.push([this.#host(await resolveInView(this.view, v)), mtime]);
  }

  /** Directory times last: filling them changed them. */
  async finish(): Promise<void> {
    for (const [host, t] of this.#dirTimes.reverse()) await utimes(host, t, t).catch(() => {});
  }
}

function lstatOrUndefined(host: string): Stats | undefined {
  try {
    return lstatSync(host);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

// ------------------------------------------------------------------ --chown

/**
 * `user[:group]` as IDs: numbers as they are, names looked up in the step root's /etc/passwd
 * and /etc/group (followed inside the root). A user alone gives its primary group, or the same
 * number when it has no passwd entry, as Docker's builder does.
 */
export async function resolveChown(root: string, spec: string): Promise<Owner> {
  const parts = spec.split(':');
  if (parts.length > 2 || parts[0] === '') throw new InvalidArgumentError(`invalid chown string format: ${spec}`);
  const [userStr, groupStr] = parts as [string, string | undefined];
  const readDb = async (path: string) => {
    try {
      const text = await readFile(hostPathIn({ root }, await resolveInView({ root }, path)), 'utf8');
      return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
    } catch {
      return [];
    }
  };
  const passwd = await readDb('/etc/passwd');
  const num = (s: string) => (/^\d+$/.test(s) ? Number(s) : undefined);
  let uid = num(userStr);
  let primary: number | undefined;
  const byUser = uid !== undefined ? passwd.find((f) => Number(f[2]) === uid) : passwd.find((f) => f[0] === userStr);
  if (uid === undefined) {
    if (!byUser) throw new InvalidArgumentError(`unable to find user ${userStr}: no matching entries in passwd file`);
    uid = Number(byUser[2]);
  }
  if (byUser && byUser[3] !== undefined && /^\d+$/.test(byUser[3])) primary = Number(byUser[3]);
  if (groupStr === undefined || groupStr === '') return { uid, gid: primary ?? uid };
  let gid = num(groupStr);
  if (gid === undefined) {
    const g = (await readDb('/etc/group')).find((f) => f[0] === groupStr);
    if (!g) throw new InvalidArgumentError(`unable to find group ${groupStr}: no matching entries in group file`);
    gid = Number(g[2]);
  }
  return { uid, gid };
}
