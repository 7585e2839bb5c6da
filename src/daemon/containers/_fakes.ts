/**
 * Fakes of the container service's ports, for its unit tests (no root, no runc): each records
 * its calls in one shared journal, keeps what it holds (mounts, attachments, volumes, runtime
 * containers) so a test can assert nothing is left, and fails a named step on demand. The
 * fake runtime's processes exit when the test says so.
 */
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { ExitStatus, ExecSession, RuntimeState } from '../../runtime/index.js';
import { NotFoundError, silentLogger } from '../../util/index.js';
import { ContainerService, type ContainerServiceOptions } from './index.js';
import type { NetworkPort, RootfsPort, RuntimePort, VolumePort, ImagePort } from './ports.js';
import type { Schedule } from './monitor.js';

/** The start steps a test can make fail. */
export type Step = 'rootfs.mount' | 'volumes.setup' | 'network.attach' | 'runtime.create' | 'runtime.start';

export class Journal {
  readonly calls: string[] = [];
  readonly fail = new Map<Step, Error>();
  /** Records `what` and throws if the test asked that step to fail (marked with a `!`). */
  step(what: Step | string, id: string): void {
    const err = this.fail.get(what as Step);
    this.calls.push(`${what}${err ? '!' : ''} ${id.slice(0, 6)}`);
    if (err) throw err;
  }
  /** The calls since `mark`, without the container IDs. */
  since(mark: number): string[] {
    return this.calls.slice(mark).map((c) => c.split(' ')[0]);
  }
}

interface FakeProcess {
  status: RuntimeState['status'];
  pid: number;
  exit?: ExitStatus;
  waiters: ((st: ExitStatus) => void)[];
}

export class FakeRuntime implements RuntimePort {
  readonly containers = new Map<string, FakeProcess>();
  readonly signals: { id: string; signal: number | string }[] = [];
  #pid = 1000;
  /** Whether SIGTERM ends the process (SIGKILL always does). */
  exitOnTerm = true;

  constructor(private readonly j: Journal) {}

  async create(spec: { id: string }): Promise<{ pid: number }> {
    this.j.step('runtime.create', spec.id);
    const p: FakeProcess = { status: 'created', pid: ++this.#pid, waiters: [] };
    this.containers.set(spec.id, p);
    return { pid: p.pid };
  }
  async start(id: string): Promise<void> {
    this.j.step('runtime.start', id);
    this.#get(id).status = 'running';
  }
  async kill(id: string, signal: number | string): Promise<void> {
    this.signals.push({ id, signal });
    const n = Number(signal);
    if (n === 9 || (n === 15 && this.exitOnTerm)) this.exit(id, 128 + n);
  }
  async pause(id: string): Promise<void> {
    this.#get(id).status = 'paused';
  }
  async resume(id: string): Promise<void> {
    this.#get(id).status = 'running';
  }
  async delete(id: string): Promise<void> {
    this.j.step('runtime.delete', id);
    this.containers.delete(id);
  }
  async state(id: string): Promise<RuntimeState | undefined> {
    const p = this.containers.get(id);
    return p && { status: p.status, pid: p.pid };
  }
  async exitStatus(id: string): Promise<ExitStatus | undefined> {
    return this.containers.get(id)?.exit;
  }
  waitExit(id: string, signal: AbortSignal): Promise<ExitStatus> {
    const p = this.#get(id);
    if (p.exit) return Promise.resolve(p.exit);
    return new Promise((resolve, reject) => {
      p.waiters.push(resolve);
      signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
  }
  /** The container's process exits now with `code`, having run `ranMs` (default: since its start). */
  exit(id: string, code: number, opts: { ranMs?: number; oomKilled?: boolean } = {}): void {
    const p = this.#get(id);
    if (p.exit) return;
    p.status = 'stopped';
    p.exit = { exitCode: code, finishedAt: new Date(Date.now() + (opts.ranMs ?? 0)), oomKilled: opts.oomKilled ?? false };
    for (const w of p.waiters.splice(0)) w(p.exit);
  }
  attach(): { stdout: Readable; stderr: Readable; close(): void } {
    return { stdout: new PassThrough(), stderr: new PassThrough(), close() {} };
  }
  async resize(): Promise<void> {}
  async pids(id: string): Promise<number[]> {
    return [this.#get(id).pid];
  }
  /** Exec sessions started, each exiting when the test resolves it. */
  readonly execs: { id: string; exit(code: number): void }[] = [];
  async exec(containerId: string, p: { execId: string }): Promise<ExecSession> {
    this.#get(containerId);
    let exit!: (code: number) => void;
    const exited = new Promise<number>((r) => (exit = r));
    this.execs.push({ id: p.execId, exit });
    return { pid: ++this.#pid, stdout: new PassThrough(), stderr: new PassThrough(), close() {}, exited, resize: async () => {} };
  }
  #get(id: string): FakeProcess {
    const p = this.containers.get(id);
    if (!p) throw new NotFoundError(`No such container: ${id}`);
    return p;
  }
}

export class FakeRootfs implements RootfsPort {
  readonly created = new Set<string>();
  readonly mounted = new Set<string>();
  constructor(
    private readonly j: Journal,
    private readonly dir: string,
  ) {}
  async create(id: string): Promise<void> {
    this.created.add(id);
  }
  async mount(id: string): Promise<string> {
    this.j.step('rootfs.mount', id);
    if (!this.created.has(id)) throw new NotFoundError(`no root file system for container ${id}`);
    await mkdir(this.path(id), { recursive: true });
    this.mounted.add(id);
    return this.path(id);
  }
  async unmount(id: string): Promise<void> {
    this.j.step('rootfs.unmount', id);
    this.mounted.delete(id);
  }
  async open(id: string): Promise<{ root: string; release(): Promise<void> }> {
    const was = this.mounted.has(id);
    const root = await this.mount(id);
    return { root, release: async () => (was ? undefined : this.unmount(id)) };
  }
  async remove(id: string): Promise<void> {
    this.j.step('rootfs.remove', id);
    this.mounted.delete(id);
    this.created.delete(id);
  }
  async removeOrphans(isContainer: (id: string) => boolean): Promise<void> {
    for (const id of [...this.created]) if (!isContainer(id)) await this.remove(id);
  }
  path(id: string): string {
    return join(this.dir, id);
  }
  graphDriverData(): null {
    return null;
  }
  async size(): Promise<{ sizeRw: number; sizeRootFs: number }> {
    return { sizeRw: 0, sizeRootFs: 0 };
  }
  async changes(): Promise<[]> {
    return [];
  }
  async export(): Promise<Readable> {
    return Readable.from([]);
  }
  async commit(): Promise<string> {
    return 'sha256:' + 'c'.repeat(64);
  }
}

export class FakeNetwork implements NetworkPort {
  readonly attached = new Set<string>();
  constructor(private readonly j: Journal) {}
  async attach(req: { containerId: string }) {
    this.j.step('network.attach', req.containerId);
    this.attached.add(req.containerId);
    return { namespace: { mode: 'new' as const }, endpoints: {}, extraHosts: [], dns: { servers: [], search: [], options: [] } };
  }
  async detach(id: string): Promise<void> {
    this.j.step('network.detach', id);
    this.attached.delete(id);
  }
}

export class FakeVolumes implements VolumePort {
  readonly held = new Set<string>();
  constructor(private readonly j: Journal) {}
  async setup(id: string) {
    this.j.step('volumes.setup', id);
    this.held.add(id);
    return [];
  }
  async release(id: string): Promise<void> {
    this.j.step('volumes.release', id);
    this.held.delete(id);
  }
}

export const IMAGE_ID = 'sha256:' + 'a'.repeat(64);

export const fakeImages: ImagePort = {
  get(ref: string) {
    if (ref !== 'busybox' && ref !== IMAGE_ID) throw new NotFoundError(`No such image: ${ref}`);
    return { id: IMAGE_ID, config: { config: { Cmd: ['sh'] } } };
  },
};

/** A schedule whose restarts fire when the test says so. */
export class FakeSchedule {
  readonly pending: { fn: () => void; delayMs: number; cancelled: boolean }[] = [];
  readonly delays: number[] = [];
  readonly schedule: Schedule = (fn, delayMs) => {
    const t = { fn, delayMs, cancelled: false };
    this.pending.push(t);
    this.delays.push(delayMs);
    return { cancel: () => (t.cancelled = true) };
  };
  /** Fires the oldest pending restart that was not cancelled; false when there is none. */
  fire(): boolean {
    while (this.pending.length) {
      const t = this.pending.shift()!;
      if (!t.cancelled) {
        t.fn();
        return true;
      }
    }
    return false;
  }
}

/** Everything one test's service stands on; `reopen` is a daemon restart on the same disk and fakes. */
export interface Rig {
  dir: string;
  journal: Journal;
  runtime: FakeRuntime;
  rootfs: FakeRootfs;
  network: FakeNetwork;
  volumes: FakeVolumes;
  schedule: FakeSchedule;
  events: string[];
  removed: string[];
  svc: ContainerService;
  reopen(): Promise<ContainerService>;
  /** Nothing mounted, attached, held or created in the runtime. */
  leftovers(): string[];
  cleanup(): Promise<void>;
}

export async function rig(extra: Partial<ContainerServiceOptions> = {}): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-containers-'));
  const journal = new Journal();
  const runtime = new FakeRuntime(journal);
  const rootfs = new FakeRootfs(journal, join(dir, 'rootfs'));
  const network = new FakeNetwork(journal);
  const volumes = new FakeVolumes(journal);
  const schedule = new FakeSchedule();
  const events: string[] = [];
  const removed: string[] = [];
  const make = () =>
    new ContainerService({
      dataRoot: join(dir, 'data'),
      runtimeFor: (name) => {
        if (name !== 'runc') throw new Error(`unknown or invalid runtime name: ${name}`);
        return runtime;
      },
      defaultRuntime: 'runc',
      images: fakeImages,
      rootfs,
      network,
      volumes,
      events: { publish: (_type, action) => events.push(action) },
      logger: silentLogger,
      initPath: '/nonexistent/init',
      logOpts: {},
      onRemoved: (id) => removed.push(id),
      schedule: schedule.schedule,
      ...extra,
    });
  const r: Rig = {
    dir,
    journal,
    runtime,
    rootfs,
    network,
    volumes,
    schedule,
    events,
    removed,
    svc: make(),
    async reopen() {
      r.svc.detachAll();
      r.svc = make();
      await r.svc.init();
      return r.svc;
    },
    leftovers() {
      return [
        ...[...rootfs.mounted].map((id) => `mounted ${id.slice(0, 6)}`),
        ...[...network.attached].map((id) => `attached ${id.slice(0, 6)}`),
        ...[...volumes.held].map((id) => `volumes ${id.slice(0, 6)}`),
        ...[...runtime.containers.keys()].map((id) => `runtime ${id.slice(0, 6)}`),
      ];
    },
    async cleanup() {
      // Waits for work under each container's lock (an exit still being saved) before the files go.
      for (const c of await r.svc.list({ all: true })) await r.svc.stop(c.Id, { timeout: 0 }).catch(() => {});
      r.svc.detachAll();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await r.svc.init();
  return r;
}

/** Waits until `pred` holds (the service records exits asynchronously, under the lock). */
export async function until(pred: () => boolean | Promise<boolean>, what = 'condition', ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
