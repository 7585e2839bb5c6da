import type { Duplex } from 'node:stream';
import { demux, type Client } from '../client/index.js';

/** What a command needs from the outside world; cmd/wharf.ts builds it. */
export interface Env {
  client: Client;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  prog: string;
}

/** A command's way out with an exit code (docker's codes: 1, 125, 126, 127, or the container's). */
export class Exit extends Error {
  constructor(
    readonly code: number,
    message = '',
  ) {
    super(message);
  }
}

/**
 * Copies a hijacked attach/exec stream to the terminal: raw when there's a TTY, demultiplexed
 * otherwise; our stdin goes the other way when asked. Resolves when the output ends.
 */
export async function pipeStreams(env: Env, conn: Duplex, opts: { tty: boolean; stdin: boolean; onResize?: (h: number, w: number) => void }): Promise<void> {
  const { stdin, stdout, stderr } = env;
  let restore = () => {};
  if (opts.tty && stdin.isTTY) {
    stdin.setRawMode(true);
    restore = () => stdin.setRawMode(false);
  }
  const resize = () => {
    if (opts.onResize && stdout.isTTY) opts.onResize(stdout.rows, stdout.columns);
  };
  // The first size goes out when the caller knows the process runs (see sendSize).
  if (opts.tty) process.on('SIGWINCH', resize);
  if (opts.stdin) {
    stdin.on('data', (d: Buffer) => conn.write(d));
    stdin.once('end', () => conn.end());
    stdin.resume();
  }
  try {
    if (opts.tty) {
      await new Promise<void>((resolve) => {
        conn.on('data', (d: Buffer) => stdout.write(d));
        conn.once('end', resolve);
        conn.once('close', resolve);
        conn.once('error', () => resolve());
      });
    } else {
      await demux(conn, { stdout: (b) => stdout.write(b), stderr: (b) => stderr.write(b) }).catch(() => {});
    }
  } finally {
    restore();
    process.off('SIGWINCH', resize);
    if (opts.stdin) stdin.pause();
    stdin.removeAllListeners('data');
  }
}

/** Sends our terminal's size once (after start: the daemon ignores resizes of stopped containers). */
export function sendSize(env: Env, onResize: (h: number, w: number) => void): void {
  if (env.stdout.isTTY) onResize(env.stdout.rows, env.stdout.columns);
}

/** The environment's client, looked up at call time: global flags (-H) are parsed after commands are built. */
export function clientOf(env: Env): Env['client'] {
  return new Proxy({} as Env['client'], {
    get: (_t, key) => {
      const v = (env.client as unknown as Record<string | symbol, unknown>)[key];
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(env.client) : v;
    },
  });
}
