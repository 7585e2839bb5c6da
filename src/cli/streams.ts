import type { Duplex } from 'node:stream';
import type { ContainerWaitResponse } from '../types/index.js';
import { copyRaw, demux, type Client } from '../client/index.js';
import { Exit } from './errors.js';
import type { IO } from './session.js';

/** docker's exit code for a container that could not start: 127 no command, 126 not executable, else 125. */
export function startFailureCode(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied|cannot execute/i.test(message)) return 126;
  return 125;
}

export interface PumpOptions {
  /** The container (or exec) has a TTY: the stream is raw, not multiplexed. */
  tty: boolean;
  /** Send our stdin to the connection; half-close it at our EOF. */
  stdin: boolean;
  /** Called with our terminal size on SIGWINCH (and once by the caller after start). */
  resize?: (h: number, w: number) => void;
}

/**
 * Copies a hijacked attach/exec connection to our terminal until the server closes it: raw
 * with a TTY, demultiplexed otherwise. With a TTY on our side the terminal is put in raw mode
 * (so Ctrl-P Ctrl-Q and Ctrl-C reach the container) and restored afterwards.
 */
export async function pumpStreams(io: IO, conn: Duplex, opts: PumpOptions): Promise<void> {
  const { stdin, stdout, stderr } = io;
  let restore = () => {};
  if (opts.tty && opts.stdin && stdin.isTTY && stdin.setRawMode) {
    stdin.setRawMode(true);
    restore = () => void stdin.setRawMode?.(false);
  }
  const onWinch = () => sendSize(io, opts.resize);
  if (opts.tty && opts.resize) process.on('SIGWINCH', onWinch);
  const onData = (d: Buffer) => conn.write(d);
  const onEnd = () => conn.end();
  if (opts.stdin) {
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.resume();
  }
  try {
    if (opts.tty) await copyRaw(conn, (b) => stdout.write(b));
    else await demux(conn, { stdout: (b) => stdout.write(b), stderr: (b) => stderr.write(b) });
  } catch {
    // A reset connection is just the end of the stream for the user.
  } finally {
    restore();
    process.off('SIGWINCH', onWinch);
    if (opts.stdin) {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
    }
  }
}

/** docker refuses a TTY session whose attached stdin is not a terminal (exit 1). */
export function checkTty(io: IO, tty: boolean, stdin: boolean): void {
  if (tty && stdin && !io.stdin.isTTY) throw new Exit(1, 'the input device is not a TTY');
}

/** Sends our terminal's size, if we have one. */
export function sendSize(io: IO, resize?: (h: number, w: number) => void): void {
  const out = io.stdout;
  if (resize && out.isTTY && out.rows && out.columns) resize(out.rows, out.columns);
}

/** Forwards SIGINT/SIGTERM (and friends) to the container while attached; returns the undo. */
export function proxySignals(send: (signal: string) => void): () => void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGQUIT'];
  const handlers = signals.map((sig) => {
    const h = () => send(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}

/**
 * The exit code of `run`, `attach` and `start -a` once the attached stream has ended, as docker
 * reports it: the container's status, or 0 if the user detached and the container runs on.
 *
 * `waiting` must have been asked for before the stream could end (before start, or before
 * attaching): the stream closes when the container's output does, which is before its exit
 * is recorded, so an inspect right then can still see it running.
 *
 * Detaching takes the detach keys on stdin, so without stdin the stream's end is always the
 * container's. With stdin, an exit is normally recorded within moments of the stream's end; a
 * container still running after that grace period is taken as a detach.
 */
export async function exitCodeAfterStream(client: Pick<Client, 'containerInspect'>, io: IO, id: string, waiting: Promise<ContainerWaitResponse>, stdin: boolean): Promise<number> {
  if (stdin) {
    const exited = await Promise.race([waiting.then(() => true, () => true), delay(DETACH_GRACE_MS).then(() => false)]);
    if (!exited) {
      const state = await client.containerInspect(id).then((i) => i.State, () => undefined);
      if (state && (state.Running || state.Paused) && !state.Restarting) return 0;
    }
  }
  const res = await waiting;
  if (res.Error?.Message) io.stderr.write(`${res.Error.Message}\n`);
  return res.StatusCode;
}

/** What following an attached container asks of the daemon. */
export type AttachedClient = Pick<Client, 'containerInspect' | 'containerKill'>;

/**
 * What run, attach and start -a do once the container's streams are attached and it runs: send
 * the terminal's size, forward signals (without a TTY, when asked), wait for the streams to end,
 * then give the container's exit status (0 after a detach).
 */
export async function followAttached(
  client: AttachedClient,
  io: IO,
  a: { id: string; tty: boolean; sigProxy: boolean; stdin: boolean; pumping: Promise<void>; waiting: Promise<ContainerWaitResponse>; resize: (h: number, w: number) => void },
): Promise<number> {
  if (a.tty) sendSize(io, a.resize);
  const unproxy = !a.tty && a.sigProxy ? proxySignals((sig) => void client.containerKill(a.id, sig).catch(() => {})) : () => {};
  try {
    await a.pumping;
  } finally {
    unproxy();
  }
  return exitCodeAfterStream(client, io, a.id, a.waiting, a.stdin);
}

const DETACH_GRACE_MS = 200;
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
