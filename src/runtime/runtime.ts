import { existsSync, openSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { mkdir, open, readFile, readdir, rm, stat, writeFile, constants as fsConstants } from 'node:fs/promises';
import { join, posix } from 'node:path';
import {
  CommandInvokeError,
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  devMajor,
  devMinor,
  errorMessage,
  goErrnoText,
  isErrno,
  orTimeout,
  readJsonIfExists,
  run,
  writeJsonAtomic,
  type Logger,
} from '../util/index.js';
import { attachSocket } from './attach.js';
import { DirWatch } from './dirwatch.js';
import { runtimeErrorText, startConmon } from './conmon.js';
import { removeRotated, rotateLog } from './logs.js';
import { blockDevicePaths, capsFromMask, generateSpec, ociProcess, ociResources, rlimits, ALL_CAPS, type BlockDevices, type OciDevice } from './oci.js';
import { grantRealtime, readCgroupStats, type CgroupSample, type RealtimeBudget } from './cgroups.js';
import { NsexecStartError, nsexec, nsexecAvailable, warmCgroupMoves } from './nsexec.js';
import type { OciSeccomp } from './seccomp.js';
import type {
  AttachSession,
  ContainerSpec,
  CreateOptions,
  ExecProcess,
  ExecSession,
  ExitStatus,
  Resources,
  Rlimit,
  RuntimeState,
} from './types.js';

/**
 * conmon's own log cap: far enough above the rotation size that wharf's rotation, every half
 * second, gets there first even for a container writing tens of megabytes a second.
 */
const ROTATE_IDLE_MS = 500;
const ROTATE_BUSY_MS = 100;

function conmonLogCap(maxSize: number): number {
  return maxSize + Math.max(3 * maxSize, 32 * 1024 * 1024);
}

export interface RuntimeOptions {
  /** The OCI runtime binary (runc or crun). */
  runtimePath: string;
  runtimeName: string;
  conmonPath: string;
  /** Private state: the runtime's --root, bundles, exec sessions. */
  stateDir: string;
  logger: Logger;
  /** The real-time budget of the containers' parent cgroup (v1 only); none when unset. */
  cpuRealtime?: RealtimeBudget;
}

/** The log settings a container was created with, kept in its bundle for rotation after a daemon restart. */
interface LogSettings {
  path: string;
  maxSize?: number;
  maxFiles?: number;
}

// conmon's control fifo message types.
const CTL_RESIZE = 1;
const CTL_REOPEN_LOGS = 2;

const CREATE_TIMEOUT_MS = 60_000;

/** Whether the host runs the unified cgroup hierarchy (v2) rather than v1 or hybrid. */
export const cgroupV2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

/** A cgroup v1 (or hybrid) host's name=systemd hierarchy, which systemd containers get a writable part of. */
const SYSTEMD_HIERARCHY = !cgroupV2 && existsSync('/sys/fs/cgroup/systemd/cgroup.procs') ? '/sys/fs/cgroup/systemd' : undefined;

/** The daemon's own hard limit on open files (containers can't get more). */
function nofileHardLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const hard = line?.trim().split(/\s+/)[4];
    return hard === 'unlimited' ? 1048576 : Number(hard) || 1024;
  } catch {
    return 1024;
  }
}
const NOFILE_MAX = nofileHardLimit();

/** The capabilities wharfd can pass on: its own bounding set (a sandboxed host may lack some). */
function daemonCaps(): string[] {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapBnd:'));
    if (line) return capsFromMask(line.slice('CapBnd:'.length));
  } catch {
    // No /proc: assume all.
  }
  return [...ALL_CAPS];
}
const DAEMON_CAPS = daemonCaps();

/** Directories of /dev that hold no devices of the host's own (containerd's and runc's list). */
const NOT_HOST_DEVICES = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);
const MAX_HOST_DEVICES = 10_000;

/**
 * Every device node under the host's /dev, for a privileged container as Docker gives it one
 * (loop devices, fuse, disks...). The console is the container's own, so it is left out.
 */
async function hostDevices(): Promise<OciDevice[]> {
  const out: OciDevice[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (out.length >= MAX_HOST_DEVICES) return;
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (depth < 4 && !(dir === '/dev' && NOT_HOST_DEVICES.has(e.name))) await walk(path, depth + 1);
        continue;
      }
      if (!e.isCharacterDevice() && !e.isBlockDevice()) continue;
      if (path === '/dev/console') continue;
      const st = await stat(path).catch(() => undefined);
      if (!st) continue;
      out.push({ path, type: st.isCharacterDevice() ? 'c' : 'b', major: devMajor(st.rdev), minor: devMinor(st.rdev), fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
    }
  };
  await walk('/dev', 0);
  return out;
}

/** Whether an exec runs through the setns helper as wharfd's child (attached, no TTY) rather than runc exec under its own conmon. */
function execsDirect(p: Pick<ExecProcess, 'detached' | 'tty'>): boolean {
  return !p.detached && !p.tty && nsexecAvailable();
}

/** Runs containers with an OCI runtime under conmon, one conmon per container and per exec. */
export class Runtime {
  readonly #o: RuntimeOptions;
  readonly #root: string;
  readonly #bundles: string;
  readonly #execs: string;

  constructor(opts: RuntimeOptions) {
    this.#o = opts;
    this.#root = join(opts.stateDir, 'runc');
    this.#bundles = join(opts.stateDir, 'bundles');
    this.#execs = join(opts.stateDir, 'execs');
  }

  get name(): string {
    return this.#o.runtimeName;
  }

  #bundle(id: string): string {
    return join(this.#bundles, id);
  }

  async #runtime(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return run(this.#o.runtimePath, ['--root', this.#root, ...args], input === undefined ? {} : { input });
  }

  async #runtimeChecked(args: string[], what: string, id: string): Promise<string> {
    const r = await this.#runtime(args);
    if (r.code !== 0) {
      const text = runtimeErrorText(r.stderr || r.stdout);
      if (/does not exist|not found|no such file/i.test(text)) throw new NotFoundError(`No such container: ${id}`);
      throw new ConflictError(`Cannot ${what} container ${id}: ${text}`);
    }
    return r.stdout;
  }

  async #devices(spec: ContainerSpec): Promise<OciDevice[]> {
    const out: OciDevice[] = spec.privileged ? await hostDevices() : [];
    for (const d of spec.devices) {
      let st;
      try {
        st = await stat(d.pathOnHost);
      } catch (err) {
        // Go's wording, as dockerd words it; the docker CLI exits 127 on "no such file or directory".
        throw new CommandInvokeError(`error gathering device information while adding custom device "${d.pathOnHost}": ${goErrnoText(err)}`, isErrno(err, 'ENOENT') ? 127 : 126);
      }
      const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
      if (!type) throw new CommandInvokeError(`error gathering device information while adding custom device "${d.pathOnHost}": not a device node`, 126);
      const i = out.findIndex((o) => o.path === d.pathInContainer);
      if (i >= 0) out.splice(i, 1);
      out.push({ path: d.pathInContainer, type, major: devMajor(st.rdev), minor: devMinor(st.rdev), fileMode: st.mode & 0o7777, uid: 0, gid: 0 });
    }
    return out;
  }

  /** The numbers of the block devices that blkio limits name; Docker's text for a path that is none. */
  async #blockDevices(r: Resources): Promise<BlockDevices> {
    const out: BlockDevices = {};
    for (const path of blockDevicePaths(r)) {
      let st;
      try {
        st = await stat(path);
      } catch (err) {
        throw new InvalidArgumentError(`stat ${path}: ${goErrnoText(err)}`);
      }
      if (!st.isBlockDevice()) throw new InvalidArgumentError(`${path} is not a block device`);
      out[path] = { major: devMajor(st.rdev), minor: devMinor(st.rdev) };
    }
    return out;
  }

  /** Changes a created or running container's cgroup limits in place (`runc update`). */
  async update(id: string, r: Resources): Promise<void> {
    const resources = ociResources(r, await this.#blockDevices(r));
    const res = await this.#runtime(['update', '--resources', '-', id], JSON.stringify(resources));
    if (res.code !== 0) throw new Error(runtimeErrorText(res.stderr || res.stdout));
  }

  /**
   * One stats sample of a running container, read from its cgroup and its network namespace
   * (through its init's /proc entry): no runtime process is spawned, so 50 containers cost 50
   * reads of a few small files.
   */
  async stats(id: string): Promise<CgroupSample> {
    const bundle = this.#bundle(id);
    const [config, pidText] = await Promise.all([readFile(join(bundle, 'config.json'), 'utf8'), readFile(join(bundle, 'pidfile'), 'utf8').catch(() => '')]);
    // Read per sample, not cached: a container's cgroup moves with --cgroup-parent across starts.
    const path = (JSON.parse(config) as { linux?: { cgroupsPath?: string } }).linux?.cgroupsPath ?? `/wharf/${id}`;
    return readCgroupStats(path, Number.parseInt(pidText, 10) || 0);
  }

  /** Creates the container (its process waits to be started); conmon supervises it from here on. */
  async create(spec: ContainerSpec, opts: CreateOptions): Promise<{ pid: number }> {
    const id = spec.id;
    const bundle = this.#bundle(id);
    await mkdir(this.#root, { recursive: true, mode: 0o700 });
    await rm(bundle, { recursive: true, force: true });
    await mkdir(bundle, { recursive: true, mode: 0o700 });
    const oci = generateSpec(spec, {
      cgroupV2,
      devices: await this.#devices(spec),
      nofileMax: NOFILE_MAX,
      availableCaps: DAEMON_CAPS,
      systemdHierarchy: SYSTEMD_HIERARCHY,
      blockDevices: await this.#blockDevices(spec.resources),
    });
    if (this.#o.cpuRealtime) grantRealtime(posix.dirname(oci.linux.cgroupsPath), this.#o.cpuRealtime);
    await writeFile(join(bundle, 'config.json'), JSON.stringify(oci));
    const log: LogSettings = { path: opts.logPath, maxSize: opts.logMaxSize, maxFiles: opts.logMaxFiles };
    await writeJsonAtomic(join(bundle, 'log.json'), log, { durable: false });

    const args = [
      '--api-version', '1',
      '-c', id,
      '-u', id,
      '-n', id,
      '-r', this.#o.runtimePath,
      '--runtime-arg', '--root',
      '--runtime-arg', this.#root,
      '-b', bundle,
      '-p', join(bundle, 'pidfile'),
      '-P', join(bundle, 'conmon.pid'),
      '--persist-dir', bundle,
      '--full-attach',
      '-l', `k8s-file:${opts.logPath}`,
      '--log-level', 'error',
      '--syslog',
    ];
    // wharf rotates the log while it runs. This cap is for when it does not: conmon then starts
    // the file over (losing what it held) instead of letting a chatty container fill the disk.
    if (opts.logMaxSize) args.push('--log-size-max', String(conmonLogCap(opts.logMaxSize)));
    if (opts.logUnsynced) args.push('--no-sync-log');
    if (spec.tty) args.push('-t');
    if (spec.openStdin) args.push('-i');
    // Docker closes a container's stdin when the first attached client goes only for `-i` without
    // a TTY (StdinOnce); with a TTY, or when stdin stays open, detaching must not close it.
    if (spec.tty || !spec.stdinOnce) args.push('--leave-stdin-open');
    // runc moves the container's first process into its cgroups some milliseconds from now.
    void warmCgroupMoves();
    const conmon = startConmon(this.#o.conmonPath, args, { withAttach: false, cwd: bundle });
    const msg = await orTimeout(conmon.sync.next(), CREATE_TIMEOUT_MS, () => timedOut(`timed out creating container ${id}`)).catch((err: Error) => ({
      data: -1,
      message: err.message,
    }));
    if (!msg || msg.data <= 0) {
      const raw = msg?.message || conmon.stderr() || `conmon exited with status ${await conmon.exited}`;
      await this.delete(id, { force: true }).catch(() => {});
      throw createError(runtimeErrorText(raw));
    }
    return { pid: msg.data };
  }

  async start(id: string): Promise<void> {
    if (await releaseExecFifo(join(this.#root, id, 'exec.fifo'))) return;
    const r = await this.#runtime(['start', id]);
    if (r.code !== 0) throw createError(runtimeErrorText(r.stderr || r.stdout));
  }

  async kill(id: string, signal: number | string): Promise<void> {
    const r = await this.#runtime(['kill', id, String(signal)]);
    // Killing a process that just exited is not an error: the exit is on its way.
    if (r.code !== 0 && !/not running|process already finished|container not running/i.test(r.stderr)) {
      const text = runtimeErrorText(r.stderr);
      if (/does not exist/.test(text)) throw new ConflictError(`Container ${id} is not running`);
      throw new ConflictError(`Cannot kill container ${id}: ${text}`);
    }
  }

  async pause(id: string): Promise<void> {
    await this.#runtimeChecked(['pause', id], 'pause', id);
  }

  async resume(id: string): Promise<void> {
    await this.#runtimeChecked(['resume', id], 'unpause', id);
  }

  /** Removes the runtime's state and the bundle. The log stays: it belongs to the caller. */
  async delete(id: string, opts: { force: boolean }): Promise<void> {
    const r = await this.#runtime(['delete', ...(opts.force ? ['--force'] : []), id]);
    if (r.code !== 0 && !/does not exist|not found/i.test(r.stderr)) {
      this.#o.logger.warn('runtime delete failed', { id, error: runtimeErrorText(r.stderr) });
    }
    await rm(this.#bundle(id), { recursive: true, force: true });
  }

  async state(id: string): Promise<RuntimeState | undefined> {
    const r = await this.#runtime(['state', id]);
    if (r.code !== 0) return undefined;
    const s = JSON.parse(r.stdout) as { status: RuntimeState['status']; pid: number };
    return { status: s.status, pid: s.pid };
  }

  /** The exit conmon recorded for the container's last run, if it exited. */
  async exitStatus(id: string): Promise<ExitStatus | undefined> {
    const bundle = this.#bundle(id);
    const file = join(bundle, 'exit');
    let text: string;
    let finishedAt: Date;
    try {
      text = await readFile(file, 'utf8');
      finishedAt = (await stat(file)).mtime;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
    const code = Number.parseInt(text, 10);
    return { exitCode: Number.isNaN(code) || code < 0 ? 255 : code, finishedAt, oomKilled: existsSync(join(bundle, 'oom')) };
  }

  async #conmonAlive(id: string): Promise<boolean> {
    const pid = Number.parseInt(await readFile(join(this.#bundle(id), 'conmon.pid'), 'utf8').catch(() => ''), 10);
    if (!pid) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Resolves when the container's process exits. While waiting it also rotates the container's
   * log, which is why the daemon waits on every running container, including after a restart.
   */
  async waitExit(id: string, signal: AbortSignal): Promise<ExitStatus> {
    const bundle = this.#bundle(id);
    const log = await readJsonIfExists<LogSettings>(join(bundle, 'log.json'));
    const stopRotating = log?.maxSize ? this.#rotator(id, log as Required<LogSettings>) : undefined;
    const changes = new DirWatch(bundle);
    try {
      for (let round = 0; ; round++) {
        if (signal.aborted) throw signal.reason ?? new Error('aborted');
        changes.reset();
        const st = await this.exitStatus(id);
        if (st) return st;
        // conmon writes the exit file as it goes; a conmon that vanished without one will never write it.
        if (round % 10 === 9 && !(await this.#conmonAlive(id)) && !(await this.exitStatus(id))) {
          return { exitCode: 255, finishedAt: new Date(), oomKilled: false };
        }
        await changes.next(signal, 1000);
      }
    } finally {
      changes.close();
      stopRotating?.();
    }
  }

  /**
   * Rotates the log from outside while the container runs. A log that needed rotating is looked
   * at again soon, so a chatty container overshoots max-size by a few dozen milliseconds of
   * output, not by half a second of it. Returns the stop function.
   */
  #rotator(id: string, log: Required<LogSettings>): () => void {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const tick = async () => {
      let rotated = false;
      try {
        rotated = await rotateLog(log.path, log.maxSize, log.maxFiles ?? 1);
        if (rotated) {
          await this.#ctl(id, `${CTL_REOPEN_LOGS} 0 0\n`);
          if ((log.maxFiles ?? 1) <= 1) await removeRotated(log.path);
        }
      } catch (err) {
        this.#o.logger.warn('log rotation failed', { id, error: errorMessage(err) });
      }
      if (stopped) return;
      timer = setTimeout(() => void tick(), rotated ? ROTATE_BUSY_MS : ROTATE_IDLE_MS);
      timer.unref();
    };
    timer = setTimeout(() => void tick(), ROTATE_IDLE_MS);
    timer.unref();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  async #ctl(id: string, message: string, dir = this.#bundle(id)): Promise<void> {
    const fh = await open(join(dir, 'ctl'), fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
    try {
      await fh.write(message);
    } finally {
      await fh.close();
    }
  }

  attach(id: string, opts: { stdin: boolean }): AttachSession {
    return attachSocket(join(this.#bundle(id), 'attach'), opts);
  }

  async resize(id: string, size: { height: number; width: number }): Promise<void> {
    await this.#ctl(id, `${CTL_RESIZE} ${size.height} ${size.width}\n`).catch(() => {});
  }

  /** Host PIDs of the container's processes. */
  async pids(id: string): Promise<number[]> {
    const out = await this.#runtimeChecked(['ps', '--format', 'json', id], 'list processes of', id);
    return (JSON.parse(out || '[]') as number[] | null) ?? [];
  }

  /**
   * An exec's process will join the container's cgroups: warm the kernel's lock for it, when the
   * setns helper runs it. Not before runc exec: runc 1.1 sets the process's rlimits from its
   * parent, racing its child's Go runtime, which raises the soft open-files limit to the hard one
   * when it starts first; a quick cgroup join lets the parent win that race, and `docker exec -t`
   * would then read the hard limit as `ulimit -n`.
   */
  expectExec(p: Pick<ExecProcess, 'detached' | 'tty'>): void {
    if (execsDirect(p)) void warmCgroupMoves();
  }

  /**
   * Runs a process in the running container. An attached one without a TTY runs through the
   * setns helper as wharfd's child; a detached one (which must outlive wharfd) or a TTY one is
   * supervised by its own conmon, whose attach socket carries the output.
   */
  async exec(containerId: string, p: ExecProcess): Promise<ExecSession> {
    const spec = JSON.parse(await readFile(join(this.#bundle(containerId), 'config.json'), 'utf8')) as {
      process: { capabilities: { bounding: string[] }; rlimits: Rlimit[]; noNewPrivileges: boolean };
      linux?: { seccomp?: OciSeccomp };
    };
    const caps = p.privileged ? DAEMON_CAPS : spec.process.capabilities.bounding;
    const limits = spec.process.rlimits ?? rlimits({ rlimits: [] }, NOFILE_MAX);
    if (execsDirect(p)) {
      const initPid = Number.parseInt(await readFile(join(this.#bundle(containerId), 'pidfile'), 'utf8').catch(() => ''), 10);
      if (initPid > 0) {
        try {
          return await nsexec(initPid, p, { caps, rlimits: limits, noNewPrivileges: spec.process.noNewPrivileges, seccomp: spec.linux?.seccomp, seccompCache: join(this.#bundle(containerId), 'seccomp.bpf') });
        } catch (err) {
          if (err instanceof NsexecStartError) throw createError(`exec failed: unable to start container process: ${err.text}`, 'exec');
          throw err;
        }
      }
    }
    const dir = join(this.#execs, p.execId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const proc = ociProcess({
      args: p.args,
      env: p.env,
      cwd: p.cwd,
      user: p.user,
      tty: p.tty,
      caps,
      rlimits: limits,
      consoleSize: p.consoleSize,
      noNewPrivileges: spec.process.noNewPrivileges,
    });
    await writeFile(join(dir, 'process.json'), JSON.stringify(proc));
    const args = [
      '--api-version', '1',
      '-c', containerId,
      '-u', p.execId,
      '-r', this.#o.runtimePath,
      '--runtime-arg', '--root',
      '--runtime-arg', this.#root,
      '-b', dir,
      '-p', join(dir, 'pid'),
      '-l', 'none',
      '--exit-dir', dir,
      '--full-attach',
      '--exec',
      '--exec-process-spec', join(dir, 'process.json'),
      '--exec-attach',
      '--log-level', 'error',
      '--syslog',
    ];
    if (p.tty) args.push('-t');
    if (p.stdin) args.push('-i');
    const conmon = startConmon(this.#o.conmonPath, args, { withAttach: true, cwd: dir });
    const cleanup = () => rm(dir, { recursive: true, force: true }).catch(() => {});
    let session: AttachSession | undefined;
    try {
      conmon.start!.write('0');
      const ready = await orTimeout(conmon.attach!.next(), CREATE_TIMEOUT_MS, () => timedOut('timed out waiting for the exec attach socket'));
      if (!ready || ready.data < 0) throw createError(runtimeErrorText(ready?.message || conmon.stderr() || 'conmon failed to start the exec session'));
      session = attachSocket(join(dir, 'attach'), { stdin: p.stdin });
      conmon.start!.write('0');
      const started = await orTimeout(conmon.sync.next(), CREATE_TIMEOUT_MS, () => timedOut('timed out starting the exec process'));
      if (!started || started.data <= 0) {
        throw createError(runtimeErrorText(started?.message || conmon.stderr() || 'exec failed'), 'exec');
      }
      const pid = started.data;
      // The exit code goes out first; removing the session's files is nobody's wait.
      const exited = conmon.sync.next().then((m) => {
        void cleanup();
        return m ? (m.data < 0 ? 255 : m.data) : 255;
      });
      const s = session;
      return {
        pid,
        stdout: s.stdout,
        stderr: s.stderr,
        stdin: s.stdin,
        close: () => s.close(),
        exited,
        resize: (size) => this.#ctl(containerId, `${CTL_RESIZE} ${size.height} ${size.width}\n`, dir).catch(() => {}),
      };
    } catch (err) {
      session?.close();
      conmon.start?.destroy();
      await cleanup();
      throw err;
    }
  }
}

/** Docker's wording for a process that could not be started, with the exit code its CLI uses. */
function createError(text: string, what: 'create' | 'exec' = 'create'): Error {
  const code = /executable file not found|no such file or directory|not found in \$PATH/i.test(text) ? 127 : /permission denied|cannot execute/i.test(text) ? 126 : 0;
  const message = what === 'create' ? `failed to create task for container: OCI runtime create failed: ${text}: unknown` : `OCI runtime exec failed: ${text}: unknown`;
  if (code) return new CommandInvokeError(message, code);
  return new Error(message);
}

function timedOut(message: string): never {
  throw new Error(message);
}

/**
 * What `runc start` itself does (and crun likewise): the created container's init blocks opening
 * its exec fifo for writing; opening it for reading lets init write one byte and exec the
 * process, and removing it marks the container as running. Doing it here saves spawning the
 * runtime, about a sixth of a container's start. False when there is no fifo: the caller falls
 * back to `<runtime> start`, which also gives the runtime's own error texts.
 */
async function releaseExecFifo(path: string): Promise<boolean> {
  let fd: number;
  try {
    // Non-blocking: a fifo whose writer is gone must not hang a thread of the pool.
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch {
    return false;
  }
  const got = await new Promise<boolean>((resolve) => {
    const fifo = new Socket({ fd, readable: true, writable: false });
    let data = false;
    fifo.on('data', () => (data = true));
    fifo.once('error', () => resolve(false));
    fifo.once('close', () => resolve(data));
  });
  if (!got) return false;
  await rm(path, { force: true });
  return true;
}