import type { Readable, Writable } from 'node:stream';
import type { Client, ConnectEnv, ConnectOptions } from '../client/index.js';
import { configDir } from './configdir.js';

/** A terminal-ish output: the fields of a tty.WriteStream a command looks at. */
export type Output = Writable & { isTTY?: boolean; columns?: number; rows?: number };
/** A terminal-ish input: the fields of a tty.ReadStream a command looks at. */
export type Input = Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

/**
 * The outside world as a command sees it: every command function writes here and reads here,
 * never to process.stdout; only cmd/wharf.ts builds one from process.*.
 */
export interface IO {
  stdin: Input;
  stdout: Output;
  stderr: Output;
}

export type ClientFactory = (opts: ConnectOptions, env: ConnectEnv) => Client;

/**
 * One invocation of the CLI: its streams, the program name, the environment, and the client,
 * which is built on first use because the global flags (-H, --tls…) are parsed after the
 * commands are defined.
 */
export class Session {
  readonly io: IO;
  readonly prog: string;
  readonly env: Record<string, string | undefined>;
  readonly #makeClient: ClientFactory;
  #connect: ConnectOptions = {};
  #client?: Client;
  #configFlag?: string;

  constructor(io: IO, makeClient: ClientFactory, opts: { prog?: string; env?: Record<string, string | undefined> } = {}) {
    this.io = io;
    this.prog = opts.prog ?? 'wharf';
    this.env = opts.env ?? {};
    this.#makeClient = makeClient;
  }

  setConnectOptions(opts: ConnectOptions): void {
    this.#connect = opts;
    this.#client = undefined;
  }

  /** The global --config flag (the directory of config.json). */
  setConfigFlag(dir: string | undefined): void {
    this.#configFlag = dir;
  }

  /** Where config.json is: --config, $WHARF_CONFIG, $DOCKER_CONFIG or ~/.docker. */
  get configDir(): string {
    return configDir(this.env, this.#configFlag);
  }

  get client(): Client {
    this.#client ??= this.#makeClient(this.#connect, this.env);
    return this.#client;
  }

  out(text: string): void {
    this.io.stdout.write(text);
  }

  err(text: string): void {
    this.io.stderr.write(text);
  }
}

/** Asks a yes/no question on stdout and reads one line of stdin; anything but y/yes is no. */
export async function confirm(io: IO, question: string): Promise<boolean> {
  io.stdout.write(question);
  const stdin = io.stdin;
  const answer = await new Promise<string>((resolve) => {
    let buf = '';
    const onData = (d: Buffer | string) => {
      buf += d.toString();
      if (buf.includes('\n')) done();
    };
    const done = () => {
      stdin.off('data', onData);
      stdin.off('end', done);
      resolve(buf);
    };
    stdin.on('data', onData);
    stdin.once('end', done);
    stdin.resume();
  });
  stdin.pause();
  return /^y(es)?$/i.test(answer.split('\n')[0].trim());
}

/** docker's DOCKER_CLI_HINTS: on unless set to one of Go's false spellings. */
export function hintsEnabled(env: Record<string, string | undefined>): boolean {
  return !['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(env.DOCKER_CLI_HINTS ?? '');
}
