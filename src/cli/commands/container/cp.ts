import { lstat, readlink, realpath, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Option, type Command } from 'commander';
import type { Client } from '../../../client/index.js';
import type { ContainerPathStat } from '../../../types/index.js';
import {
  assertsDirectory,
  goBase,
  goClean,
  goDir,
  packTree,
  preserveTrailingDotOrSeparator,
  specifiesCurrentDir,
  splitPathDirEntry,
  untar,
} from '../../../util/index.js';
import { givenFlags, newCommand, requireArgs } from '../../command.js';
import { Exit } from '../../errors.js';
import { humanSize } from '../../format/index.js';
import type { IO, Session } from '../../session.js';

/*
 * `docker cp`: the daemon only stats, archives and extracts into directories; which directory to
 * extract into, and under which name, is decided here from what both sides are, as docker's CLI
 * decides it (moby's archive.CopyInfo rules). Errors and messages are docker's.
 */

/** What one side of a copy is. */
interface CopyInfo {
  path: string;
  exists: boolean;
  isDir: boolean;
  /** The name the top entry is to have instead of the path's own (a followed link keeps the link's name). */
  rebaseName: string;
}

export interface CpOptions {
  /** -a: keep the files' uid/gid. */
  archive?: boolean;
  /** -L: follow a symbolic link that SRC_PATH names. */
  followLink?: boolean;
  /** No summary line; without -q, quiet unless stdout is a terminal (docker's rule). */
  quiet?: boolean;
}

export type CpClient = Pick<Client, 'containerStatPath' | 'containerArchive' | 'containerExtract'>;

/** One copy, resolved from the arguments and flags. */
interface Copy {
  followLink: boolean;
  copyUIDGID: boolean;
  quiet: boolean;
  container: string;
  source: string;
  dest: string;
}

// Go's os.FileMode bits the copy logic looks at.
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
const MODE_DEVICE = 2 ** 26;
const MODE_IRREGULAR = 2 ** 19;
const hasBit = (mode: number, bit: number) => Math.floor(mode / bit) % 2 === 1;

/** Go's wording of a failed system call ("lstat /x: no such file or directory"), from Node's error. */
function goError(err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  if (!e?.code || !e.syscall) return err as Error;
  const what = e.message.replace(/^[A-Z0-9]+: /, '').replace(/, \w+ '.*'$/s, '');
  return new Exit(1, e.path ? `${e.syscall} ${e.path}: ${what}` : `${e.syscall}: ${what}`);
}

/**
 * `container:path` or a local path. A local path with a colon is written `./a:b` or `/a:b`,
 * as with scp; container names cannot start with `.` or `/`.
 */
export function splitCpArg(arg: string): { container: string; path: string } {
  if (arg.startsWith('/')) return { container: '', path: arg };
  const i = arg.indexOf(':');
  if (i < 0 || arg.startsWith('.')) return { container: '', path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}

function resolveLocalPath(p: string): string {
  return preserveTrailingDotOrSeparator(posix.resolve(p), p);
}

/** Docker's rebase for a followed link: the target, keeping the link's trailing `/` or `/.` and name. */
export function getRebaseName(path: string, resolved: string): [string, string] {
  let r = resolved;
  if (specifiesCurrentDir(path) && !specifiesCurrentDir(r)) r += '/.';
  if (path.endsWith('/') && !r.endsWith('/')) r += '/';
  return [r, goBase(path) !== goBase(r) ? goBase(path) : ''];
}

/** A local destination must be in an existing directory and be a directory or a regular file if it exists. */
async function validateOutputPath(path: string): Promise<void> {
  const dir = goDir(goClean(path));
  if (dir !== '' && dir !== '.') {
    const missing = await stat(dir).then(
      () => false,
      (err: NodeJS.ErrnoException) => err.code === 'ENOENT',
    );
    if (missing) throw new Exit(1, `invalid output path: directory "${dir}" does not exist`);
  }
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw goError(err);
  }
  if (st.isDirectory() || st.isFile()) return;
  const why = st.isBlockDevice() || st.isCharacterDevice() ? 'got a device' : 'got an irregular file';
  throw new Exit(1, `invalid output path: "${path}" must be a directory or a regular file: ${why}`);
}

/** Go's filepath.EvalSymlinks: a failure names the first component that is missing, as lstat saw it. */
async function evalSymlinks(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (err) {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) await lstat('/' + parts.slice(0, i).join('/'));
    throw err;
  }
}

/** What a local source is, symlinks before its last element followed (the last one too with -L). */
async function copyInfoSourcePath(path: string, followLink: boolean): Promise<CopyInfo> {
  let resolved: string;
  let rebaseName = '';
  try {
    if (followLink) {
      [resolved, rebaseName] = getRebaseName(path, await evalSymlinks(path));
    } else {
      const slash = path.lastIndexOf('/');
      const dir = await evalSymlinks(path.slice(0, slash + 1) || '.');
      resolved = `${dir === '/' ? '' : dir}/${path.slice(slash + 1)}`;
      if (path.endsWith('/') && goBase(path) !== goBase(resolved)) rebaseName = goBase(path);
    }
    const st = await lstat(resolved);
    return { path: resolved, exists: true, isDir: st.isDirectory(), rebaseName };
  } catch (err) {
    throw goError(err);
  }
}

/** What a local destination is: a link is followed to what it names, which need not exist if its parent does. */
async function copyInfoDestinationPath(path: string): Promise<CopyInfo> {
  let p = path;
  try {
    for (let n = 0; ; n++) {
      let st;
      try {
        st = await lstat(p);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        const parent = await stat(splitPathDirEntry(p)[0]);
        if (!parent.isDirectory()) throw new Exit(1, 'not a directory');
        return { path: p, exists: false, isDir: false, rebaseName: '' };
      }
      if (!st.isSymbolicLink()) return { path: p, exists: true, isDir: st.isDirectory(), rebaseName: '' };
      if (n >= 10) throw new Exit(1, `too many symlinks in ${path}`);
      const target = await readlink(p);
      p = target.startsWith('/') ? target : posix.join(splitPathDirEntry(p)[0], target);
    }
  } catch (err) {
    throw goError(err);
  }
}

/**
 * Where the archive of `src` is to be extracted for it to land at `dst`, and under which name
 * its top entry must go there (moby's PrepareArchiveCopy).
 */
function prepareArchiveCopy(src: CopyInfo, dst: CopyInfo): { dir: string; name?: string } {
  const [dstDir, dstBase] = splitPathDirEntry(dst.path);
  if (dst.exists && dst.isDir) return { dir: dst.path };
  if (dst.exists && src.isDir) throw new Exit(1, 'cannot copy directory');
  if (!dst.exists && !src.isDir && assertsDirectory(dst.path)) throw new Exit(1, 'no such directory');
  return { dir: dstDir, name: dstBase };
}

/** Renames the top entry `from` of an archive to `to` (moby's RebaseArchiveEntries: the first occurrence, `/` as nothing). */
function rebase(from: string, to: string): (name: string) => string {
  const old = from === '/' ? '' : from;
  return (name) => name.replace(old, to);
}

function isDirMode(st: ContainerPathStat): boolean {
  return hasBit(st.mode, MODE_DIR);
}

/** `input` passed through, its bytes counted (docker reports what went over the wire). */
function counted(input: Readable): { stream: Readable; bytes: () => number } {
  let n = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      cb(null, chunk);
    },
  });
  input.on('error', (err) => t.destroy(err));
  input.pipe(t);
  return { stream: t, bytes: () => n };
}

function summary(io: IO, o: Copy, bytes: number, to: string): void {
  if (!o.quiet) io.stderr.write(`Successfully copied ${humanSize(bytes)} to ${to}\n`);
}

async function copyFromContainer(client: CpClient, io: IO, o: Copy): Promise<void> {
  const dst = o.dest === '-' ? '-' : resolveLocalPath(o.dest);
  await validateOutputPath(dst);
  let src = o.source;
  let rebaseName = '';
  if (o.followLink) {
    const st = await client.containerStatPath(o.container, src).catch(() => undefined);
    if (st && hasBit(st.mode, MODE_SYMLINK)) {
      const target = st.linkTarget.startsWith('/') ? st.linkTarget : posix.join(splitPathDirEntry(src)[0], st.linkTarget);
      [src, rebaseName] = getRebaseName(src, target);
    }
  }
  const { stat: st, body } = await client.containerArchive(o.container, src);
  if (dst === '-') {
    await pipeline(body, io.stdout, { end: false });
    return;
  }
  const wire = counted(body);
  const srcInfo: CopyInfo = { path: src, exists: true, isDir: isDirMode(st), rebaseName };
  const srcBase = splitPathDirEntry(src)[1];
  let failure: unknown;
  try {
    const dstInfo = await copyInfoDestinationPath(dst);
    const { dir, name } = prepareArchiveCopy(srcInfo, dstInfo);
    // Both of docker's renames at once: the followed link's name, then the destination's.
    const top = name ?? (rebaseName || undefined);
    await untar(wire.stream, {
      view: { root: dir },
      label: dir,
      owner: 'none',
      noOverwriteDirNonDir: true,
      confineSymlinks: true,
      rename: top === undefined ? undefined : rebase(srcBase, top),
    });
  } catch (err) {
    body.destroy();
    failure = err;
  }
  summary(io, o, wire.bytes(), dst);
  if (failure) throw failure;
}

async function copyToContainer(client: CpClient, io: IO, o: Copy): Promise<void> {
  const src = o.source === '-' ? '-' : resolveLocalPath(o.source);
  const dstInfo: CopyInfo = { path: o.dest, exists: false, isDir: false, rebaseName: '' };
  // A destination that cannot be stat'ed may still be created, if its parent exists: the extraction will tell.
  let st = await client.containerStatPath(o.container, o.dest).catch(() => undefined);
  if (st && hasBit(st.mode, MODE_SYMLINK)) {
    const target = st.linkTarget.startsWith('/') ? st.linkTarget : posix.join(splitPathDirEntry(o.dest)[0], st.linkTarget);
    dstInfo.path = target;
    st = await client.containerStatPath(o.container, target).catch(() => undefined);
  }
  if (st && (hasBit(st.mode, MODE_DEVICE) || hasBit(st.mode, MODE_IRREGULAR))) {
    const why = hasBit(st.mode, MODE_DEVICE) ? 'got a device' : 'got an irregular file';
    throw new Exit(1, `destination "${o.container}:${o.dest}" must be a directory or a regular file: ${why}`);
  }
  if (st) {
    dstInfo.exists = true;
    dstInfo.isDir = isDirMode(st);
  }

  let content: Readable;
  let dir: string;
  if (src === '-') {
    if (!dstInfo.isDir) throw new Exit(1, `destination "${o.container}:${o.dest}" must be a directory`);
    content = io.stdin;
    dir = dstInfo.path;
  } else {
    const srcInfo = await copyInfoSourcePath(src, o.followLink);
    const [sourceDir, sourceBase] = splitPathDirEntry(srcInfo.path);
    const prepared = prepareArchiveCopy(srcInfo, dstInfo);
    dir = prepared.dir;
    // The archive is made with its final top name rather than renamed afterwards.
    const name = prepared.name ?? (srcInfo.rebaseName || sourceBase);
    content = packTree(posix.join(sourceDir, sourceBase), { name: name === '/' ? '/' : name }) as unknown as Readable;
  }
  // Standard input is sent as it is: docker counts nothing for it.
  const wire = src === '-' ? { stream: content, bytes: () => 0 } : counted(content);
  let failure: unknown;
  try {
    await client.containerExtract(o.container, dir, wire.stream, { copyUIDGID: o.copyUIDGID, noOverwriteDirNonDir: true });
  } catch (err) {
    failure = err;
  }
  summary(io, o, wire.bytes(), `${o.container}:${dstInfo.path}`);
  if (failure) throw failure;
}

/**
 * `cp CONTAINER:SRC_PATH DEST_PATH|-` and `cp SRC_PATH|- CONTAINER:DEST_PATH`: copies between
 * a container and our file system (or a tar stream on stdin/stdout), with docker's summary on
 * stderr unless quiet.
 */
export async function cp(client: CpClient, args: [string, string], opts: CpOptions, io: IO): Promise<number> {
  if (args[0] === '') throw new Exit(1, 'source can not be empty');
  if (args[1] === '') throw new Exit(1, 'destination can not be empty');
  const from = splitCpArg(args[0]);
  const to = splitCpArg(args[1]);
  if (from.container && to.container) throw new Exit(1, 'copying between containers is not supported');
  if (!from.container && !to.container) throw new Exit(1, 'must specify at least one container source');
  const o: Copy = {
    followLink: Boolean(opts.followLink),
    copyUIDGID: Boolean(opts.archive),
    quiet: opts.quiet ?? !io.stdout.isTTY,
    container: from.container || to.container,
    source: from.path,
    dest: to.path,
  };
  await (from.container ? copyFromContainer(client, io, o) : copyToContainer(client, io, o));
  return 0;
}

export function cpCommand(s: Session): Command {
  const cmd = newCommand(
    'cp',
    'Copy files/folders between a container and the local filesystem',
    `[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\t${s.prog} cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH`,
  );
  return cmd
    .argument('[args...]')
    .option('-a, --archive', 'Archive mode (copy all uid/gid information)')
    .option('-L, --follow-link', 'Always follow symbol link in SRC_PATH')
    .option('-q, --quiet', 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached')
    .addOption(new Option('--no-quiet').hideHelp())
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 2, 2);
      await cp(s.client, [args[0], args[1]], givenFlags<CpOptions>(cmd), s.io);
    });
}
