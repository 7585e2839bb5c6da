/**
 * The engine side of builds (build/host.ts's BuildHost port): images, step workspaces as real
 * containers, commits, read-only image views, cache mounts, tags. Every step's result is an
 * ordinary image whose parent is the step's base, as with Docker's classic builder.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import type { BuildCache, BuildHost, BuildImage, CommitRequest, ImageView, RunProcess, Workspace } from '../build/index.js';
import type { BuildRequest, ContainerCreateRequest, HostConfig, MountSpec, ProgressMessage } from '../types/index.js';
import { NotFoundError, errorMessage, type IdMapping, type Logger } from '../util/index.js';
import { tryParseReference } from '../image/index.js';
import type { BuildCacheStore } from './builds.js';
import type { ContainerService } from './containers/index.js';
import type { ImageService } from './images.js';
import type { ContainerFilesystems } from './rootfs.js';

/** Marks containers a build made, so a restart after a crash can remove them. */
export const BUILD_LABEL = 'com.wharf.build';

export interface BuildHostDeps {
  images: ImageService;
  containers: ContainerService;
  rootfs: ContainerFilesystems;
  cache: BuildCacheStore;
  logger: Logger;
  /** The daemon's remapped root (userns-remap), whose IDs COPY's files take on the host. */
  idmap?: IdMapping;
}

/**
 * The classic builder's stream formatter shows a step's stderr in bright red: each write
 * wrapped in these ANSI codes (moby's NewStderrWriter), which clients pass through as they are.
 */
const STDERR_START = Buffer.from('\x1b[91m');
const STDERR_END = Buffer.from('\x1b[0m');

/** A pull's progress message as one line of build output. */
function progressLine(m: ProgressMessage): string | undefined {
  if (m.stream) return m.stream.replace(/\n$/, '');
  if (!m.status) return undefined;
  return [m.id ? `${m.id}: ` : '', m.status, m.progress ? ` ${m.progress}` : ''].join('');
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The containers a build left behind when the daemon stopped mid-step. Called once at start-up. */
export async function removeLeftoverBuildContainers(containers: ContainerService, logger: Logger): Promise<void> {
  const left = await containers.list({ all: true, filters: { label: [BUILD_LABEL] } });
  for (const c of left) {
    logger.info('removing a build container left by an interrupted build', { id: c.Id });
    await containers.remove(c.Id, { force: true }).catch((err) => logger.warn('removing a leftover build container failed', { id: c.Id, error: errorMessage(err) }));
  }
}

/** One BuildHost per build: its workspaces get the request's network and resources. */
export class DaemonBuildHost implements BuildHost {
  /**
   * The daemon's step cache, except that it does not learn the images `--cache-from` gave:
   * they are not builds of this machine (Docker's IsBuiltLocally), so a later build without
   * `--cache-from` runs those steps, as on dockerd.
   */
  readonly cache: BuildCache;
  /** Images restoreLayer made in this build. */
  readonly #restored = new Set<string>();
  /** The `--cache-from` images, once looked up. */
  #sources?: Set<string>;
  /** Every image this build was handed, newest last: the bases a cache-from image taken whole may stand on. */
  readonly #seen: string[] = [];

  constructor(
    private readonly d: BuildHostDeps,
    private readonly request: BuildRequest,
  ) {
    const store = d.cache;
    this.cache = {
      get: async (key) => {
        const img = await store.get(key);
        if (img) this.#saw(img.id);
        return img;
      },
      put: async (key, imageId) => {
        if (this.#restored.has(imageId)) return;
        if (this.#cacheSources().has(imageId)) return this.#linkSource(imageId);
        return store.put(key, imageId);
      },
    };
  }

  #saw(id: string): void {
    if (this.#seen.at(-1) !== id) this.#seen.push(id);
  }

  #image(id: string): BuildImage {
    const rec = this.d.images.get(id);
    this.#saw(rec.id);
    return { id: rec.id, config: rec.config };
  }

  #cacheSources(): Set<string> {
    if (this.#sources) return this.#sources;
    const ids = new Set<string>();
    for (const ref of this.request.cacheFrom ?? []) {
      try {
        ids.add(this.d.images.get(ref).id);
      } catch {
        // Not here: the builder skips it as well.
      }
    }
    return (this.#sources = ids);
  }

  /**
   * A cache-from image the builder took whole as its last step becomes the child of that
   * step's base (Docker's SetParent), which is the image it was handed last whose history and
   * layers are the source's but its last line.
   */
  async #linkSource(id: string): Promise<void> {
    if (!this.d.images.has(id)) return;
    const src = this.d.images.get(id).config;
    const history = src.history ?? [];
    const last = history.at(-1);
    if (!last) return;
    const diffs = last.empty_layer ? src.rootfs.diff_ids : src.rootfs.diff_ids.slice(0, -1);
    for (let i = this.#seen.length - 1; i >= 0; i--) {
      const cand = this.#seen[i];
      if (cand === id || !this.d.images.has(cand)) continue;
      const c = this.d.images.get(cand).config;
      const h = c.history ?? [];
      if (h.length !== history.length - 1 || c.rootfs.diff_ids.length !== diffs.length) continue;
      if (!h.every((e, j) => e.created_by === history[j].created_by && !!e.empty_layer === !!history[j].empty_layer)) continue;
      if (!diffs.every((d, j) => d === c.rootfs.diff_ids[j])) continue;
      await this.d.images.setParent(id, cand);
      return;
    }
  }

  async image(ref: string, opts: { pull: boolean; platform?: string; progress: (line: string) => void }): Promise<BuildImage> {
    let local: BuildImage | undefined;
    try {
      local = this.#image(ref);
    } catch {
      local = undefined;
    }
    if (local && !opts.pull) return local;
    try {
      // A FROM names one image: a bare name is its `latest`, not every tag as a bare `docker pull` is.
      const named = tryParseReference(ref);
      const tag = named && !named.tag && !named.digest ? 'latest' : undefined;
      await this.d.images.pull(ref, tag, (m) => {
        const line = progressLine(m);
        if (line !== undefined) opts.progress(line);
      });
    } catch (err) {
      // `--pull` with no registry at hand: the local image still builds, as Docker falls back.
      if (local) return local;
      if (err instanceof NotFoundError) throw err;
      // The pull's own message names the reference already (`pull access denied for busybox...`).
      const msg = errorMessage(err);
      const name = ref.replace(/[:@].*$/, '');
      throw new NotFoundError(msg.includes(name) ? msg : `${ref}: ${msg}`, { cause: err });
    }
    try {
      return this.#image(ref);
    } catch {
      throw new NotFoundError(`No such image: ${ref}`);
    }
  }

  imageById(id: string): BuildImage | undefined {
    if (!this.d.images.has(id)) return undefined;
    return this.#image(id);
  }

  async workspace(base: BuildImage | undefined): Promise<Workspace> {
    return new StepWorkspace(this.d, this.request, base, (id) => this.#saw(id));
  }

  async commitConfig(base: BuildImage | undefined, req: CommitRequest): Promise<BuildImage> {
    const id = await this.d.images.commitConfig(base?.id, req);
    return this.#image(id);
  }

  async restoreLayer(source: BuildImage, diffIndex: number, base: BuildImage | undefined, req: CommitRequest): Promise<BuildImage> {
    const { config, createdBy, author } = req;
    const id = await this.d.images.restoreLayer(base?.id, source.id, diffIndex, { config, createdBy, ...(author ? { author } : {}) });
    this.#restored.add(id);
    return this.#image(id);
  }

  async view(image: BuildImage): Promise<ImageView> {
    return this.d.rootfs.viewImage(image.id);
  }

  cacheDir(id: string): Promise<string> {
    return this.d.cache.mountDir(id);
  }

  async tag(imageId: string, repoTag: string): Promise<void> {
    await this.d.images.tag(imageId, repoTag);
  }
}

/**
 * A step's file system. For COPY/ADD (`root`) it is a bare file system that belongs to no
 * container (nothing runs in it); for RUN it is a container created with the process as its
 * command, so the step gets exactly run's isolation. Made on first use.
 */
class StepWorkspace implements Workspace {
  /**
   * Stable for the workspace's life, so `Running in` (printed before the process is known) and
   * `Removing intermediate container` name the same thing: the bare file system's key, or for
   * RUN the ID the step's container is looked up by in the logs (its label says which).
   */
  readonly #id = randomBytes(32).toString('hex');
  #fileMountPoints: string[] = [];
  /** The RUN container's ID, once made. */
  #container?: string;
  #kind: 'bare' | 'container' | undefined;
  #released = false;
  #root?: string;

  constructor(
    private readonly d: BuildHostDeps,
    private readonly request: BuildRequest,
    private readonly base: BuildImage | undefined,
    /** Told each image the workspace commits. */
    private readonly committed: (id: string) => void = () => {},
  ) {}

  get id(): string {
    return this.#id;
  }

  get idmap(): IdMapping | undefined {
    return this.d.idmap;
  }

  async root(): Promise<string> {
    if (this.#root) return this.#root;
    if (this.#kind === 'container') throw new Error('a build workspace that ran a process cannot also be written to');
    if (this.#released) throw new Error('the build workspace was released');
    this.#kind = 'bare';
    // Committed or thrown away, never kept across a crash: mounted without syncs.
    await this.d.rootfs.create(this.#id, this.base?.id, { volatile: true });
    this.#root = await this.d.rootfs.mount(this.#id);
    return this.#root;
  }

  #createRequest(proc: RunProcess): ContainerCreateRequest {
    const r = this.request;
    const mode = proc.network === 'default' ? r.networkMode || 'default' : proc.network;
    // A file bound in (a secret, a single context file) leaves an empty file as its mount point;
    // BuildKit's layers do not have it. Directories stay, as BuildKit's do.
    this.#fileMountPoints = proc.mounts.filter((m) => m.type === 'bind' && isFile(m.source)).map((m) => m.target.replace(/^\/+/, ''));
    const mounts: MountSpec[] = proc.mounts.map((m) =>
      m.type === 'bind'
        ? { Type: 'bind', Source: m.source, Target: m.target, ReadOnly: m.readonly }
        : { Type: 'tmpfs', Target: m.target, TmpfsOptions: { ...(m.sizeBytes !== undefined ? { SizeBytes: m.sizeBytes } : {}), ...(m.mode !== undefined ? { Mode: m.mode } : {}) } },
    );
    const host: HostConfig = {
      // The step's output is read back from its log (see run), whatever the daemon's default driver.
      LogConfig: { Type: 'json-file', Config: {} },
      NetworkMode: mode === 'bridge' ? 'default' : mode,
      ExtraHosts: proc.extraHosts.length ? proc.extraHosts : null,
      Mounts: mounts.length ? mounts : null,
      ...(r.memory ? { Memory: r.memory } : {}),
      ...(r.memorySwap ? { MemorySwap: r.memorySwap } : {}),
      ...(r.cpuShares ? { CpuShares: r.cpuShares } : {}),
      ...(r.cpusetCpus ? { CpusetCpus: r.cpusetCpus } : {}),
      ...(r.cpusetMems ? { CpusetMems: r.cpusetMems } : {}),
      ...(r.cpuPeriod ? { CpuPeriod: r.cpuPeriod } : {}),
      ...(r.cpuQuota ? { CpuQuota: r.cpuQuota } : {}),
      ...(r.shmSize ? { ShmSize: r.shmSize } : {}),
      ...(r.ulimits?.length ? { Ulimits: r.ulimits } : {}),
    };
    return {
      Image: this.base!.id,
      Cmd: proc.args,
      // Cleared: the argv is complete (SHELL included), the image's entrypoint does not wrap it.
      Entrypoint: [''],
      Env: proc.env,
      User: proc.user,
      WorkingDir: proc.workdir,
      Labels: { [BUILD_LABEL]: this.#id },
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: host,
    } as ContainerCreateRequest;
  }

  async run(proc: RunProcess, output: (chunk: Buffer) => void, signal: AbortSignal): Promise<number> {
    if (this.#kind) throw new Error('a build workspace runs one process, in a file system nothing else wrote to');
    if (this.#released) throw new Error('the build workspace was released');
    signal.throwIfAborted();
    if (!this.base) {
      // What runc reports for a shell that is not there: FROM scratch has no files at all.
      throw new Error(`failed to create the step's container: exec: "${proc.args[0] ?? ''}": stat ${proc.args[0] ?? ''}: no such file or directory`);
    }
    this.#kind = 'container';
    const c = this.d.containers;
    // The workspace's ID, which the step lines already named (`Running in`).
    const { Id } = await c.create(this.#createRequest(proc), undefined, { id: this.#id });
    this.#container = Id;
    // An abort or a release that came while the container was being made found nothing to end:
    // the container is ended here, or it would run its step and stay behind.
    if (signal.aborted || this.#released) {
      this.#released = true;
      await c.remove(Id, { force: true }).catch(() => {});
      signal.throwIfAborted();
      throw new Error('the build workspace was released');
    }
    const abortLogs = new AbortController();
    const onAbort = () => {
      abortLogs.abort();
      void c.kill(Id, 'SIGKILL').catch(() => {});
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      // Read from the step's log rather than attached: output written before conmon accepts an
      // attach connection reaches the log but not that connection, and a step's output must be whole.
      // The log is followed from its start, so starting first loses nothing.
      const exited = c.wait(Id, 'next-exit');
      await c.start(Id);
      const logs = c.logs(Id, { follow: true, stdout: true, stderr: true, tail: -1, signal: abortLogs.signal });
      const pumped = (async () => {
        for await (const batch of logs.entries) for (const e of batch) output(e.stream === 'stderr' ? Buffer.concat([STDERR_START, e.line, STDERR_END]) : e.line);
      })();
      const code = await exited;
      await pumped.catch(() => {});
      signal.throwIfAborted();
      return code;
    } finally {
      signal.removeEventListener('abort', onAbort);
      abortLogs.abort();
      if (signal.aborted) await this.release();
    }
  }

  async commit(req: CommitRequest): Promise<BuildImage> {
    if (!this.#kind) {
      // Nothing was written or run: the same files on a new config.
      const id = await this.d.images.commitConfig(this.base?.id, req);
      const rec = this.d.images.get(id);
      this.committed(rec.id);
      return { id: rec.id, config: rec.config };
    }
    if (this.#kind === 'bare') await this.d.rootfs.unmount(this.#id);
    const key = this.#kind === 'container' ? this.#container : this.#id;
    if (!key) throw new Error('the step\'s container was never made: nothing to commit');
    // A bare file system is removed right after: its files can become the layer as they are,
    // rather than be packed and extracted again (a COPY of a big context wrote them twice).
    const id = await this.d.rootfs.commitBuild(key, { ...req, mountPoints: this.#fileMountPoints, ...(this.#kind === 'bare' ? { handOver: true } : {}) });
    const rec = this.d.images.get(id);
    this.committed(rec.id);
    return { id: rec.id, config: rec.config };
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    if (this.#kind === 'container') {
      const id = this.#container;
      if (!id) return;
      await this.d.containers.remove(id, { force: true }).catch((err) => {
        if (!(err instanceof NotFoundError)) this.d.logger.warn('removing a build container failed', { id, error: errorMessage(err) });
      });
    } else if (this.#kind === 'bare') {
      await this.d.rootfs.unmount(this.#id);
      await this.d.rootfs.remove(this.#id).catch((err) => this.d.logger.warn('removing a build file system failed', { id: this.#id, error: errorMessage(err) }));
    }
  }
}
