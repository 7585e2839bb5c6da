/**
 * The containers wharfd knows: lookup by ID, name or unique ID prefix as Docker does, the
 * names, each container's files, and the one way a container's status changes (`setStatus`).
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerStateStatus } from '../../types/index.js';
import type { ExitStatus } from '../../runtime/index.js';
import {
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  errorMessage,
  newId,
  randomName,
  readJsonIfExists,
  writeJsonAtomic,
  type Logger,
} from '../../util/index.js';
import type { EventPort, NetworkAttachment } from './ports.js';
import { newState, thrownAway, transition, type ContainerRecord, type ContainerRuntimeState } from './state.js';

/** One container's files: `config.json` (the record), `state.json`, and the files bound into it. */
export class ContainerFiles {
  constructor(readonly dir: string) {}
  static at(containersRoot: string, id: string): ContainerFiles {
    return new ContainerFiles(join(containersRoot, id));
  }
  get configPath() {
    return join(this.dir, 'config.json');
  }
  get statePath() {
    return join(this.dir, 'state.json');
  }
  get hostsPath() {
    return join(this.dir, 'hosts');
  }
  get hostnamePath() {
    return join(this.dir, 'hostname');
  }
  get resolvConfPath() {
    return join(this.dir, 'resolv.conf');
  }
  get logPath() {
    return join(this.dir, 'container.log');
  }
  /**
   * Whether state saves wait for the disk. Not for a container thrown away with its exit: the
   * sync makes the file system's journal commit, which waits for everything the container
   * wrote on that file system to reach the disk (ext4's data=ordered), so its exit would too.
   * Its record, written once at create, always does.
   */
  #stateDurable = true;
  async saveRecord(r: ContainerRecord) {
    this.#stateDurable = !thrownAway(r);
    await writeJsonAtomic(this.configPath, r);
  }
  #saving: Promise<void> = Promise.resolve();
  /**
   * Saves are queued: the health loop saves without the container's lock, and two renames that
   * finish out of order would leave the older state on disk.
   */
  saveState(s: ContainerRuntimeState): Promise<void> {
    const next = this.#saving.then(() => writeJsonAtomic(this.statePath, s, { durable: this.#stateDurable }));
    this.#saving = next.catch(() => {});
    return next;
  }
  /** The documents; `state` null when a crash tore the unsynced state of a thrown-away container. */
  async load(): Promise<{ record: ContainerRecord; state: ContainerRuntimeState | null } | undefined> {
    const record = await readJsonIfExists<ContainerRecord>(this.configPath);
    if (!record) return undefined;
    this.#stateDurable = !thrownAway(record);
    try {
      return { record, state: (await readJsonIfExists<ContainerRuntimeState>(this.statePath)) ?? newState() };
    } catch (err) {
      if (this.#stateDurable) throw err;
      return { record, state: null };
    }
  }
}

/** One start of a container: the exit it will have, and whether that exit was already recorded. */
export interface RunHandle {
  exited: Promise<ExitStatus>;
  abort: AbortController;
  handled: boolean;
  startedAtMs: number;
  /** The exit is a restart's: it removes nothing, not even a `--rm` container (as dockerd). */
  restarting?: boolean;
}

/** A container as wharfd holds it in memory. */
export interface Container {
  record: ContainerRecord;
  state: ContainerRuntimeState;
  files: ContainerFiles;
  /** The run being watched, from its start until its exit is recorded. */
  run?: RunHandle;
  /** What the network attach step gave the current run; cleared when the run is released. */
  network?: NetworkAttachment;
  /** A restart the policy scheduled and that has not fired yet. */
  restartTimer?: { cancel(): void };
  /** The back-off of the last scheduled restart; 0 before the first. */
  restartDelayMs: number;
  exitWaiters: ((code: number) => void)[];
  removeWaiters: ((code: number) => void)[];
  /** Attach requests waiting for the next start: called after the runtime created the process, before it runs. */
  startListeners: Set<(ok: boolean) => Promise<void>>;
  /** Counts status changes, so a change whose save a later change overtook leaves it to that one. */
  statusSeq: number;
  /** `rm -v`: the removal takes the container's anonymous volumes with it. */
  removeVolumes?: boolean;
}

/** What goes with a status change besides the status itself. */
export interface StatusChange {
  /** The state's fields that change with the status (pid, exit code, times). */
  fields?: Partial<Omit<ContainerRuntimeState, 'status'>>;
  /** The event that announces the change, and its attributes beyond the container's own. */
  event?: string;
  attrs?: Record<string, string>;
  /**
   * Work that the saved state must vouch for, done after the change is made and announced and
   * before it is saved. An exit is saved only once the run's leftovers are released, so a
   * daemon that dies in between still reads "running" and releases them on its next start.
   */
  beforeSave?: () => Promise<void>;
}

export class ContainerStore {
  readonly #byId = new Map<string, Container>();
  readonly #byName = new Map<string, string>();

  constructor(
    /** `<data root>/containers`: one directory per container. */
    readonly root: string,
    private readonly events: EventPort,
  ) {}

  /** Find a container by full ID, name or unique ID prefix, as Docker does. */
  get(ref: string): Container {
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    const byId = this.#byId.get(ref);
    if (byId) return byId;
    const id = this.#byName.get(name);
    if (id) return this.#byId.get(id)!;
    if (/^[a-f0-9]+$/.test(ref) && ref.length > 0) {
      const matches = [...this.#byId.keys()].filter((k) => k.startsWith(ref));
      if (matches.length === 1) return this.#byId.get(matches[0])!;
      if (matches.length > 1) throw new InvalidArgumentError(`Multiple IDs found with provided prefix: ${ref}`);
    }
    throw new NotFoundError(`No such container: ${ref}`);
  }

  /** Whether the container is still known (a removal forgets it before its files are gone). */
  has(c: Container): boolean {
    return this.#byId.get(c.record.id) === c;
  }

  all(): Container[] {
    return [...this.#byId.values()];
  }

  get size(): number {
    return this.#byId.size;
  }

  files(id: string): ContainerFiles {
    return ContainerFiles.at(this.root, id);
  }

  /** Docker's conflict when `name` belongs to another container. */
  assertNameFree(name: string): void {
    const taken = this.#byName.get(name);
    if (taken) {
      throw new ConflictError(
        `Conflict. The container name "/${name}" is already in use by container "${taken}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
  }

  /** Takes `name` for `id`, synchronously, so two concurrent creates or renames cannot both get it. */
  reserveName(name: string, id: string): void {
    this.assertNameFree(name);
    this.#byName.set(name, id);
  }

  releaseName(name: string, id: string): void {
    if (this.#byName.get(name) === id) this.#byName.delete(name);
  }

  uniqueName(): string {
    for (let i = 0; i < 100; i++) {
      const n = randomName();
      if (!this.#byName.has(n)) return n;
    }
    return `${randomName()}_${newId().slice(0, 6)}`;
  }

  /** Adds a container whose name is already reserved (or, at load, whose record names it). */
  add(record: ContainerRecord, state: ContainerRuntimeState, files: ContainerFiles): Container {
    const c: Container = { record, state, files, restartDelayMs: 0, exitWaiters: [], removeWaiters: [], startListeners: new Set(), statusSeq: 0 };
    this.#byId.set(record.id, c);
    this.#byName.set(record.name, record.id);
    return c;
  }

  /** Forgets the container: from here on the API answers "No such container". */
  forget(c: Container): void {
    if (!this.has(c)) return;
    this.#byId.delete(c.record.id);
    this.releaseName(c.record.name, c.record.id);
  }

  /**
   * Reads every container's documents. A directory without a record is a create that died
   * before writing it; nothing references it and it is deleted. Returns what was loaded and the
   * IDs that keep their file system (every directory left, even one whose record is unreadable).
   */
  async load(logger: Logger): Promise<{ loaded: Container[]; kept: Set<string> }> {
    await mkdir(this.root, { recursive: true });
    const ids = await readdir(this.root);
    const kept = new Set(ids);
    const loaded: Container[] = [];
    for (const id of ids) {
      const files = this.files(id);
      let doc;
      try {
        doc = await files.load();
      } catch (err) {
        logger.warn('skipping unreadable container', { id, error: errorMessage(err) });
        continue;
      }
      // One thrown away whose state is torn is removed, as its exit would have removed it.
      if (!doc || !doc.state) {
        if (doc) logger.info('removing a thrown-away container whose state a crash left unreadable', { id, name: doc.record.name });
        await rm(files.dir, { recursive: true, force: true });
        kept.delete(id);
        continue;
      }
      loaded.push(this.add(doc.record, doc.state, files));
    }
    return { loaded, kept };
  }

  /**
   * The one way a container's status changes: the move is checked against the legal-moves
   * table, made together with the fields that change with it, announced, and saved. Callers
   * hold the container's lock (see index.ts).
   */
  async setStatus(c: Container, to: ContainerStateStatus, change: StatusChange = {}): Promise<void> {
    transition(c.record.id, c.state.status, to);
    c.state.status = to;
    if (change.fields) Object.assign(c.state, change.fields);
    const seq = ++c.statusSeq;
    if (change.event) this.publish(c, change.event, change.attrs);
    if (change.beforeSave) await change.beforeSave();
    // A change made meanwhile (the removal of an auto-removed container) saved its own state.
    if (c.statusSeq === seq) await c.files.saveState(c.state);
  }

  /** Saves fields that change without the status (an exit code, the manual-stop mark). */
  async save(c: Container): Promise<void> {
    await c.files.saveState(c.state);
  }

  publish(c: Container, action: string, extra: Record<string, string> = {}): void {
    const attrs: Record<string, string> = { ...(c.record.config.Labels ?? {}), image: c.record.image, name: c.record.name, ...extra };
    this.events.publish('container', action, c.record.id, attrs);
  }
}

/** Tells the attach requests waiting for a start whether it happened; each is told once. */
export async function notifyStartListeners(c: Container, ok: boolean): Promise<void> {
  const listeners = [...c.startListeners];
  c.startListeners.clear();
  await Promise.all(listeners.map((fn) => fn(ok).catch(() => {})));
}
