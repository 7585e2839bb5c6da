import { spawn, type SpawnOptions } from 'node:child_process';
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { pipe, spawnProgram, type ProgramExit } from './native.js';

export interface RunResult {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions extends Pick<SpawnOptions, 'cwd' | 'env'> {
  input?: string | Uint8Array;
  signal?: AbortSignal;
}

/**
 * Run a program to completion, capturing its output; never throws for a non-zero exit.
 * Started with posix_spawn (util/native.ts says why): the daemon runs several of these at every
 * container start. Without the native addon (a build that did not make it), Node's spawn.
 */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return nativeSpawnUsable() ? runSpawned(file, args, options) : runForked(file, args, options);
}

let nativeOk: boolean | undefined;
export function nativeSpawnUsable(): boolean {
  if (nativeOk === undefined) {
    try {
      pipe().forEach((fd) => closeSync(fd));
      nativeOk = true;
    } catch {
      nativeOk = false;
    }
  }
  return nativeOk;
}

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

/** A child's fd: /dev/null, a new pipe the child reads ('in') or writes ('out'), or an fd of ours. */
export type ChildFd = 'ignore' | 'in' | 'out' | number;

/** Our end of the child's fd `F`: a socket for a pipe, nothing for the others. */
type PipeEnd<F extends ChildFd> = F extends 'in' | 'out' ? Socket : undefined;

export interface PipedChild<Fds extends readonly ChildFd[] = readonly ChildFd[]> {
  pid: number;
  /** Settles when the program has ended. */
  exited: Promise<ProgramExit>;
  /** Our end of each 'in' and 'out' pipe, at the child's fd number. */
  pipes: { -readonly [I in keyof Fds]: PipeEnd<Fds[I]> };
  /**
   * Signals the program while it runs; nothing once it ended. It is reaped only as `exited`
   * settles, so until then its pid is still its own (a zombie at worst), never another's.
   */
  kill(signal: NodeJS.Signals): void;
}

/**
 * Starts a program with posix_spawn (util/native.ts says why) and real pipes (a program can open
 * /dev/stdout on a pipe, not on the socket pairs Node's spawn makes). Throws as Node's spawn's
 * 'error' event would (`spawn FILE ENOENT`) when the program cannot start.
 */
export function spawnPiped<const Fds extends readonly ChildFd[]>(
  file: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; fds: Fds; newSession?: boolean },
): PipedChild<Fds> {
  const pipes: ([number, number] | undefined)[] = [];
  try {
    for (const f of opts.fds) pipes.push(f === 'in' || f === 'out' ? pipe() : undefined);
  } catch (e) {
    // Out of descriptors part-way: the pipes made so far go too.
    pipes.forEach((p) => p?.forEach((fd) => closeSync(fd)));
    throw e;
  }
  const childEnd = (i: number) => (opts.fds[i] === 'in' ? 0 : 1);
  const fds = opts.fds.map((f, i) => (typeof f === 'number' ? f : f === 'ignore' ? -1 : pipes[i]![childEnd(i)]));
  let child: { pid: number; exited: Promise<ProgramExit> };
  try {
    child = spawnProgram(file, args, { env: opts.env, cwd: opts.cwd, fds, newSession: opts.newSession });
  } catch (e) {
    pipes.forEach((p, i) => p && closeSync(p[1 - childEnd(i)]));
    const { code, errno } = e as NodeJS.ErrnoException;
    throw Object.assign(new Error(`spawn ${file} ${code}`), { code, errno, syscall: `spawn ${file}`, path: file, spawnargs: [...args] });
  } finally {
    pipes.forEach((p, i) => p && closeSync(p[childEnd(i)]));
  }
  let running = true;
  const exited = child.exited.finally(() => (running = false));
  return {
    pid: child.pid,
    exited,
    // The map keeps each index's kind: a socket exactly where the fd is a pipe, as PipeEnd says.
    pipes: pipes.map((p, i) => p && new Socket({ fd: p[1 - childEnd(i)], readable: opts.fds[i] === 'out', writable: opts.fds[i] === 'in' })) as PipedChild<Fds>['pipes'],
    kill: (signal) => {
      if (running) process.kill(child.pid, signal);
    },
  };
}

/** run() through posix_spawn; exported so that the tests hold both ways to one behaviour. */
export async function runSpawned(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  options.signal?.throwIfAborted();
  const cwd = options.cwd instanceof URL ? fileURLToPath(options.cwd) : options.cwd;
  const child = spawnPiped(file, args, { env: options.env, cwd, fds: [options.input === undefined ? 'ignore' : 'in', 'out', 'out'] });
  const [input, out, err] = child.pipes;
  const collect = (s: Socket) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      s.on('data', (b: Buffer) => chunks.push(b));
      s.on('error', () => {});
      s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  const stdout = collect(out!);
  const stderr = collect(err!);
  // A program that exits without reading all of its input closes the pipe under us.
  input?.on('error', () => {}).end(options.input!);
  const abort = () => child.kill('SIGTERM');
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    const exit = await child.exited;
    const [o, e] = await Promise.all([stdout, stderr]);
    options.signal?.throwIfAborted();
    const signal = exit.signal === null ? null : (SIGNAL_NAMES.get(exit.signal) ?? null);
    return { code: exit.code ?? 128, signal, stdout: o, stderr: e };
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
}

/** run() through Node's spawn, for a daemon without the native addon. */
export function runForked(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      signal: options.signal,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? 128,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    if (options.input !== undefined) {
      // A program that exits without reading all of its input closes the pipe under us.
      child.stdin!.on('error', () => {});
      child.stdin!.end(options.input);
    }
  });
}

/** Run a program and throw with its stderr when it fails. */
export async function runChecked(file: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const r = await run(file, args, options);
  if (r.code !== 0) {
    const detail = r.stderr.trim() || r.stdout.trim() || `exit status ${r.code}`;
    throw new Error(`${file} ${args.join(' ')}: ${detail}`);
  }
  return r.stdout;
}
