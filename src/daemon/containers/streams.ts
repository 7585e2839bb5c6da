/** A container's standard streams: attach, logs, and the terminal's size. */
import { ConflictError, NotImplementedError } from '../../util/index.js';
import { readLogs, type AttachSession, type LogEntry } from '../../runtime/index.js';
import { DetachScanner, parseDetachKeys, DEFAULT_DETACH_KEYS } from '../detachkeys.js';
import { pump, type AttachIO } from '../pump.js';
import type { ContainerContext } from './context.js';
import { isActive } from './state.js';

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  logs: boolean;
  stream: boolean;
  detachKeys?: string;
}

export interface LogsOptions {
  follow: boolean;
  stdout: boolean;
  stderr: boolean;
  since?: Date;
  until?: Date;
  tail: number;
  signal?: AbortSignal;
}

export class Streams {
  constructor(
    private readonly ctx: ContainerContext,
    /** The lifecycle's wait, so a followed log ends with the container's run. */
    private readonly nextExit: (ref: string) => Promise<number>,
  ) {}

  logs(ref: string, opts: LogsOptions): { tty: boolean; entries: AsyncIterable<LogEntry[]> } {
    const c = this.ctx.store.get(ref);
    // conmon keeps its log for attach either way; a `none` container's log is simply not served, as with Docker.
    if (c.record.hostConfig.LogConfig?.Type === 'none') throw new NotImplementedError('configured logging driver does not support reading');
    const follow = opts.follow && isActive(c.state);
    const entries = readLogs(c.record.logPath, {
      follow,
      tail: opts.tail,
      since: opts.since,
      until: opts.until,
      stdout: opts.stdout,
      stderr: opts.stderr,
      signal: opts.signal,
      stopWhen: follow ? this.nextExit(ref) : undefined,
    });
    return { tty: c.record.config.Tty ?? false, entries };
  }

  /**
   * Attach a client to the container's streams. Resolves when the attach is over: the
   * container's output ended, the client went away, or the client typed the detach keys.
   * Without the lock: an attach that waits for the next start is connected by that start,
   * which holds the lock, and a session lasts as long as the container runs.
   */
  async attach(ref: string, opts: AttachOptions, io: AttachIO): Promise<void> {
    const c = this.ctx.store.get(ref);
    const id = c.record.id;
    if (c.state.status === 'paused' && opts.stream) throw new ConflictError(`You cannot attach to a paused container, unpause it first`);
    const detachKeys = parseDetachKeys(opts.detachKeys || DEFAULT_DETACH_KEYS);
    if (opts.logs) {
      for await (const batch of readLogs(c.record.logPath, { follow: false, tail: -1, stdout: opts.stdout, stderr: opts.stderr })) {
        for (const e of batch) io.write(e.stream, e.line);
      }
    }
    if (!opts.stream) return;
    const wantStdin = opts.stdin && (c.record.config.OpenStdin ?? false);

    const connect = async (): Promise<AttachSession> => this.ctx.runtimeOf(c).attach(id, { stdin: wantStdin });
    let session: AttachSession | undefined;
    if (c.state.status === 'running') {
      session = await connect();
    } else {
      // Wait for the next start; the start connects us before the process runs, so no output is lost.
      session = await new Promise<AttachSession | undefined>((resolve) => {
        const listener = async (ok: boolean) => {
          if (!ok) return resolve(undefined);
          try {
            resolve(await connect());
          } catch {
            resolve(undefined);
          }
        };
        c.startListeners.add(listener);
        void io.clientGone.then(() => {
          c.startListeners.delete(listener);
          resolve(undefined);
        });
      });
    }
    if (!session) return;
    await pump(session, opts, io, wantStdin ? new DetachScanner(detachKeys) : undefined);
  }

  /** Best effort, without the lock: a resize while a stop runs is harmless. */
  async resize(ref: string, height: number, width: number): Promise<void> {
    const c = this.ctx.store.get(ref);
    if (!isActive(c.state)) return;
    await this.ctx.runtimeOf(c).resize(c.record.id, { height, width });
  }
}
