import type { Duplex } from 'node:stream';
import { copyRaw, demux } from '../client/index.js';
import type { Session } from './session.js';

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
export async function pumpStreams(s: Session, conn: Duplex, opts: PumpOptions): Promise<void> {
  const { stdin, stdout, stderr } = s.io;
  let restore = () => {};
  if (opts.tty && opts.stdin && stdin.isTTY && stdin.setRawMode) {
    stdin.setRawMode(true);
    restore = () => void stdin.setRawMode?.(false);
  }
  const onWinch = () => sendSize(s, opts.resize);
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

/** Sends our terminal's size, if we have one. */
export function sendSize(s: Session, resize?: (h: number, w: number) => void): void {
  const out = s.io.stdout;
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
