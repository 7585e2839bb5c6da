import { PassThrough, type Readable, type Writable } from 'node:stream';
import { spawnPiped, type ChildFd, type PipedChild } from '../util/index.js';

/** A message conmon writes on its sync and attach pipes: a number (pid or exit code) and maybe an error text. */
export interface ConmonMessage {
  data: number;
  message?: string;
}

/** Reads conmon's newline-delimited JSON messages from one of its pipes, one at a time. */
export class MessageReader {
  #buf = '';
  #queue: ConmonMessage[] = [];
  #waiters: { resolve: (m: ConmonMessage | undefined) => void }[] = [];
  #ended = false;

  constructor(stream: Readable) {
    stream.setEncoding('utf8');
    stream.on('data', (s: string) => {
      this.#buf += s;
      for (let nl = this.#buf.indexOf('\n'); nl >= 0; nl = this.#buf.indexOf('\n')) {
        const line = this.#buf.slice(0, nl).trim();
        this.#buf = this.#buf.slice(nl + 1);
        if (!line) continue;
        try {
          this.#deliver(JSON.parse(line) as ConmonMessage);
        } catch {
          this.#deliver({ data: -1, message: line });
        }
      }
    });
    const end = () => {
      this.#ended = true;
      for (const w of this.#waiters.splice(0)) w.resolve(undefined);
    };
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', end);
  }

  #deliver(m: ConmonMessage): void {
    const w = this.#waiters.shift();
    if (w) w.resolve(m);
    else this.#queue.push(m);
  }

  /** The next message, or undefined when conmon closed the pipe without one. */
  next(): Promise<ConmonMessage | undefined> {
    const m = this.#queue.shift();
    if (m) return Promise.resolve(m);
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push({ resolve }));
  }
}

export interface ConmonProcess {
  /** fd 3: the sync pipe (pid, then for exec the exit code). */
  sync: MessageReader;
  /** fd 4 (exec with attach): written once the attach socket listens. */
  attach?: MessageReader;
  /** fd 5 (exec with attach): conmon waits on it before starting and again before exec'ing. */
  start?: Writable;
  /** What conmon printed before it detached (its own errors). */
  stderr(): string;
  /** Resolves with the exit code of the process we spawned (conmon forks and that one exits at once). */
  exited: Promise<number>;
}

/**
 * Starts conmon. It double-forks and runs on in its own session, so containers outlive wharfd;
 * it talks back through inherited pipes named in _OCI_* variables.
 */
/**
 * `cwd` is where conmon writes its relative files (it records an OOM kill as `./oom`, as Podman
 * starts it in the bundle); without it they would land in wharfd's own working directory.
 */
export function startConmon(path: string, args: string[], opts: { withAttach: boolean; cwd?: string }): ConmonProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, _OCI_SYNCPIPE: '3' };
  const fds: ChildFd[] = ['ignore', 'ignore', 'out', 'out'];
  if (opts.withAttach) {
    env._OCI_ATTACHPIPE = '4';
    env._OCI_STARTPIPE = '5';
    fds.push('out', 'in');
  }
  let child: PipedChild;
  try {
    child = spawnPiped(path, args, { fds, env, cwd: opts.cwd, newSession: true });
  } catch (e) {
    // As if conmon had started and ended at once: the caller's cleanup after a failed create runs.
    const ended = () => new PassThrough().end();
    return { sync: new MessageReader(ended()), attach: opts.withAttach ? new MessageReader(ended()) : undefined, start: opts.withAttach ? ended() : undefined, stderr: () => (e as Error).message, exited: Promise.resolve(-1) };
  }
  let err = '';
  child.pipes[2]!.setEncoding('utf8').on('data', (s: string) => {
    if (err.length < 8192) err += s;
  });
  child.pipes.forEach((p) => p?.on('error', () => {}));
  return {
    sync: new MessageReader(child.pipes[3]!),
    attach: opts.withAttach ? new MessageReader(child.pipes[4]!) : undefined,
    start: opts.withAttach ? child.pipes[5] : undefined,
    stderr: () => err.trim(),
    exited: child.exited.then((x) => x.code ?? -1),
  };
}

/** The useful part of an OCI runtime's error output (runc logs `msg="..."` lines). */
export function runtimeErrorText(raw: string): string {
  const msgs: string[] = [];
  for (const m of raw.matchAll(/msg="((?:[^"\\]|\\.)*)"/g)) {
    try {
      msgs.push(JSON.parse(`"${m[1]}"`) as string);
    } catch {
      msgs.push(m[1]);
    }
  }
  const text = msgs.length ? msgs[msgs.length - 1] : raw;
  return text.replace(/^.*?runtime stderr: /s, '').trim();
}
