import type { ExecCreateRequest, ExecInspect, ExecStartRequest } from '../types/index.js';
import { CommandInvokeError, ConflictError, InvalidArgumentError, NotFoundError, errorMessage, newId, type Logger } from '../util/index.js';
import type { ExecSession } from '../runtime/index.js';
import type { ContainerService, ProbePort, ProbeProcess } from './containers/index.js';
import { pump, type AttachIO } from './pump.js';
import { resolveUser } from './user.js';
import { DetachScanner, parseDetachKeys, DEFAULT_DETACH_KEYS } from './detachkeys.js';
import { containerHostname, processEnv } from './spec.js';

interface ExecRecord {
  id: string;
  containerId: string;
  config: ExecCreateRequest;
  running: boolean;
  exitCode: number | null;
  pid: number;
  session?: ExecSession;
  started: boolean;
  /** Resolves once the exit code is recorded. */
  exited?: Promise<void>;
}

/** What exec needs of the containers: a running one's runtime (a RuntimePort) and file system, and its events and legacy link variables. */
export type ExecContainers = Pick<ContainerService, 'runningRuntime' | 'rootfsOf' | 'event' | 'linkedEnv'>;

/** Exec instances live in memory only, as in Docker: they do not survive a daemon restart. */
export class ExecService implements ProbePort {
  readonly #execs = new Map<string, ExecRecord>();

  constructor(
    private readonly containers: ExecContainers,
    private readonly logger: Logger,
  ) {}

  create(containerRef: string, req: ExecCreateRequest): string {
    if (!Array.isArray(req.Cmd) || req.Cmd.length === 0) throw new InvalidArgumentError('No exec command specified');
    const { id: containerId, runtime } = this.containers.runningRuntime(containerRef);
    // A create that attaches no stream is `exec -d`'s; the start says so for sure.
    runtime.expectExec?.({ tty: req.Tty ?? false, detached: !(req.AttachStdin || req.AttachStdout || req.AttachStderr) });
    const id = newId();
    this.#execs.set(id, { id, containerId, config: req, running: false, exitCode: null, pid: 0, started: false });
    this.containers.event(containerId, `exec_create: ${req.Cmd.join(' ')}`, { execID: id });
    return id;
  }

  #get(id: string): ExecRecord {
    const e = this.#execs.get(id);
    if (!e) throw new NotFoundError(`No such exec instance: ${id}`);
    return e;
  }

  inspect(id: string): ExecInspect {
    const e = this.#get(id);
    const c = e.config;
    return {
      CanRemove: false,
      DetachKeys: c.DetachKeys ?? '',
      ID: e.id,
      Running: e.running,
      ExitCode: e.exitCode,
      ProcessConfig: { privileged: c.Privileged ?? false, user: c.User ?? '', tty: c.Tty ?? false, entrypoint: c.Cmd[0], arguments: c.Cmd.slice(1) },
      OpenStdin: c.AttachStdin ?? false,
      OpenStderr: c.AttachStderr ?? false,
      OpenStdout: c.AttachStdout ?? false,
      ContainerID: e.containerId,
      Pid: e.pid,
    };
  }

  isTty(id: string): boolean {
    return this.#get(id).config.Tty ?? false;
  }

  /**
   * Start the process. Resolves once it runs; `io` (absent for a detached start) receives its output and the
   * returned `done` promise resolves after the exit code is recorded, so a client that inspects the exec
   * right after its stream closed sees the code.
   */
  async start(id: string, req: ExecStartRequest, io?: AttachIO): Promise<{ done: Promise<void> }> {
    const e = this.#get(id);
    if (e.started) throw new ConflictError(`Exec command ${id} has already run`);
    e.started = true;
    const { runtime, record } = this.containers.runningRuntime(e.containerId);
    const c = e.config;
    // The process's terminal is the create's choice; the start's Tty only says how the stream is
    // framed (Docker: an exec created with a TTY and started with Tty false sends its one stream in frames).
    const tty = c.Tty ?? false;
    const size = req.ConsoleSize ?? c.ConsoleSize;
    let session: ExecSession;
    try {
      // A user that does not resolve is a failure to invoke the command (126), like one runc refuses.
      const rootfs = this.containers.rootfsOf(e.containerId);
      const user = await resolveUser(rootfs, c.User || record.config.User || '', record.hostConfig.GroupAdd ?? []);
      const env = processEnv([this.containers.linkedEnv(e.containerId), record.config.Env ?? [], c.Env ?? []], { home: user.home, hostname: containerHostname(record), tty: c.Tty ?? false });
      session = await runtime.exec(e.containerId, {
        execId: id,
        args: c.Cmd,
        env,
        cwd: c.WorkingDir || record.config.WorkingDir || '/',
        user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
        tty,
        stdin: (c.AttachStdin ?? false) && !req.Detach,
        privileged: c.Privileged ?? false,
        detached: !io || req.Detach === true,
        consoleSize: size ? { height: size[0], width: size[1] } : undefined,
      });
    } catch (err) {
      e.exitCode = err instanceof CommandInvokeError ? err.exitCode : 126;
      throw err;
    }
    e.session = session;
    e.running = true;
    e.pid = session.pid;
    this.containers.event(e.containerId, `exec_start: ${c.Cmd.join(' ')}`, { execID: id });
    const exited = session.exited.then(
      (code) => {
        e.exitCode = code;
        e.running = false;
        this.containers.event(e.containerId, 'exec_die', { execID: id, exitCode: String(code) });
      },
      (err) => {
        e.exitCode = 126;
        e.running = false;
        this.logger.warn('exec failed', { id, error: errorMessage(err) });
      },
    );
    e.exited = exited;
    if (!io || req.Detach) {
      session.close();
      return { done: exited };
    }
    const scanner = c.AttachStdin ? new DetachScanner(parseDetachKeys(c.DetachKeys || DEFAULT_DETACH_KEYS)) : undefined;
    const streamed = pump(session, { stdout: c.AttachStdout !== false, stderr: c.AttachStderr !== false }, io, scanner);
    // The stream ends with the process; wait for the code too, but not forever if the client detached.
    const done = streamed.then(() => Promise.race([exited, new Promise<void>((r) => setTimeout(r, 2000).unref())]));
    return { done };
  }

  /**
   * A health check, run as Docker runs one: an exec of the container's user, environment and
   * working directory, with its exec_create/exec_start/exec_die events. Its record is dropped
   * once it ended, so checks every few hundred milliseconds do not pile up records.
   */
  async startProbe(containerId: string, cmd: string[], onOutput: (data: Buffer) => void): Promise<ProbeProcess> {
    const id = this.create(containerId, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const e = this.#get(id);
    let disconnect!: () => void;
    const clientGone = new Promise<void>((resolve) => (disconnect = resolve));
    let streamed: Promise<void>;
    try {
      ({ done: streamed } = await this.start(id, {}, { write: (_s, data) => onOutput(data), clientGone }));
    } catch (err) {
      this.#execs.delete(id);
      throw err;
    }
    const done = Promise.all([streamed, e.exited]).then(() => {
      this.#execs.delete(id);
      if (e.exitCode === null) throw new Error(`healthcheck for container ${containerId} has no exit code`);
      return e.exitCode;
    });
    const kill = () => {
      try {
        if (e.running && e.pid > 0) process.kill(e.pid, 'SIGKILL');
      } catch {
        // It ended on its own meanwhile.
      }
      // A child that keeps the output open must not keep the session open.
      disconnect();
    };
    return { done, kill };
  }

  async resize(id: string, height: number, width: number): Promise<void> {
    const e = this.#get(id);
    if (!e.session) throw new ConflictError(`Exec ${id} is not running`);
    await e.session.resize({ height, width });
  }

  /**
   * Frees the records of a removed container's execs, as Docker does. One whose process has
   * not reported its exit yet died with the container; its session still finishes on its own.
   */
  forgetContainer(containerId: string): void {
    for (const [id, e] of this.#execs) if (e.containerId === containerId) this.#execs.delete(id);
  }

  /** How many exec records are held (for tests). */
  get size(): number {
    return this.#execs.size;
  }
}
