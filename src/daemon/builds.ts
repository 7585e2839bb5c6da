/**
 * Builds: POST /build's context and builder run, the step cache index, cache mounts, and what
 * `builder prune` and `system df` see of them.
 *
 * On disk, under `<data root>/builder`:
 *   tmp/                   build contexts while their builds run; emptied at start
 *   cache.json             the step cache: key -> image, with use times and counts
 *   cache-mounts/<hex>/    `RUN --mount=type=cache` directories, <hex> = sha256 of the id
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { BuildCacheEntry, BuildCachePruneResponse, BuildRequest } from '../types/index.js';
import {
  BuildStepError,
  build as realBuild,
  openContext as realOpenContext,
  type BuildCache,
  type BuildHost,
  type BuildImage,
  type BuildJob,
  type BuildOutput,
  type OpenContextOptions,
  type BuildContext,
} from '../build/index.js';
import { errorMessage, readJsonIfExists, writeJsonAtomic, type Logger } from '../util/index.js';
import { checkFilterKeys, parseFilterTime, type Filters } from './filters.js';

/** The exit code an in-band build error carries: a failed RUN's status; none for anything else. */
export function buildErrorCode(err: unknown): number | undefined {
  return err instanceof BuildStepError ? err.code : undefined;
}

interface StepRecord {
  imageId: string;
  created: string;
  lastUsed: string;
  usageCount: number;
}

interface MountRecord {
  id: string;
  created: string;
  lastUsed: string;
  usageCount: number;
}

interface CacheDoc {
  steps: Record<string, StepRecord>;
  mounts: Record<string, MountRecord>;
}

const hex = (s: string) => createHash('sha256').update(s).digest('hex');

/** Bytes under `root` (files' sizes, directories counted once), never following links. */
async function treeSize(root: string): Promise<number> {
  let total = 0;
  const stack = [root];
  const seen = new Set<string>();
  while (stack.length) {
    const dir = stack.pop()!;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const p = join(dir, name);
      const st = await lstat(p).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) stack.push(p);
      else {
        // Hard links count once.
        const k = `${st.dev}:${st.ino}`;
        if (st.nlink > 1 && seen.has(k)) continue;
        seen.add(k);
        total += st.size;
      }
    }
  }
  return total;
}

/**
 * The step cache and the cache mounts. A step record points at an ordinary image (the classic
 * builder's cache is images), so a record whose image went away is dropped when it is asked for.
 */
export class BuildCacheStore implements BuildCache {
  #doc: CacheDoc = { steps: {}, mounts: {} };
  #saving: Promise<void> = Promise.resolve();

  constructor(
    readonly root: string,
    private readonly imageById: (id: string) => BuildImage | undefined,
  ) {}

  get #path(): string {
    return join(this.root, 'cache.json');
  }

  get mountsDir(): string {
    return join(this.root, 'cache-mounts');
  }

  async init(): Promise<void> {
    const doc = await readJsonIfExists<Partial<CacheDoc>>(this.#path).catch(() => undefined);
    this.#doc = { steps: doc?.steps ?? {}, mounts: doc?.mounts ?? {} };
  }

  /** Writes are queued: each writes the whole index as it is when its turn comes. */
  #save(): Promise<void> {
    const next = this.#saving.then(() => writeJsonAtomic(this.#path, this.#doc, { durable: false }));
    this.#saving = next.catch(() => {});
    return next;
  }

  async get(key: string): Promise<BuildImage | undefined> {
    const rec = this.#doc.steps[key];
    if (!rec) return undefined;
    const img = this.imageById(rec.imageId);
    if (!img) {
      delete this.#doc.steps[key];
      await this.#save();
      return undefined;
    }
    rec.lastUsed = new Date().toISOString();
    rec.usageCount++;
    await this.#save();
    return img;
  }

  async put(key: string, imageId: string): Promise<void> {
    const now = new Date().toISOString();
    this.#doc.steps[key] = { imageId, created: now, lastUsed: now, usageCount: 1 };
    await this.#save();
  }

  async mountDir(id: string): Promise<string> {
    const h = hex(id);
    const dir = join(this.mountsDir, h);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const now = new Date().toISOString();
    const rec = (this.#doc.mounts[h] ??= { id, created: now, lastUsed: now, usageCount: 0 });
    rec.lastUsed = now;
    rec.usageCount++;
    await this.#save();
    return dir;
  }

  async entries(): Promise<(BuildCacheEntry & { key: string; kind: 'step' | 'mount' })[]> {
    const out: (BuildCacheEntry & { key: string; kind: 'step' | 'mount' })[] = [];
    for (const [key, r] of Object.entries(this.#doc.steps)) {
      out.push({
        key,
        kind: 'step',
        ID: hex(key).slice(0, 25),
        Parent: null,
        Parents: null,
        Type: 'regular',
        Description: `step cache: image ${r.imageId}`,
        InUse: false,
        Shared: true,
        // The layers belong to the step's image and are counted with the images.
        Size: 0,
        CreatedAt: r.created,
        LastUsedAt: r.lastUsed,
        UsageCount: r.usageCount,
      });
    }
    for (const [h, r] of Object.entries(this.#doc.mounts)) {
      out.push({
        key: h,
        kind: 'mount',
        ID: h.slice(0, 25),
        Parent: null,
        Parents: null,
        Type: 'exec.cachemount',
        Description: `cached mount with id ${JSON.stringify(r.id)}`,
        InUse: false,
        Shared: false,
        Size: await treeSize(join(this.mountsDir, h)),
        CreatedAt: r.created,
        LastUsedAt: r.lastUsed,
        UsageCount: r.usageCount,
      });
    }
    return out;
  }

  /** Drops the given entries (and the cache mounts' directories). */
  async drop(entries: { key: string; kind: 'step' | 'mount' }[]): Promise<void> {
    for (const e of entries) {
      if (e.kind === 'step') delete this.#doc.steps[e.key];
      else {
        delete this.#doc.mounts[e.key];
        await rm(join(this.mountsDir, e.key), { recursive: true, force: true });
      }
    }
    await this.#save();
  }

  /** Step records whose image is gone. */
  stale(): string[] {
    return Object.entries(this.#doc.steps)
      .filter(([, r]) => !this.imageById(r.imageId))
      .map(([k]) => k);
  }
}

export type BuildFunction = (job: BuildJob) => Promise<string>;
export type OpenContextFunction = (body: Readable, opts: OpenContextOptions) => Promise<BuildContext>;

export interface BuildServiceOptions {
  /** The daemon's data root; the builder's files live in <dataRoot>/builder. */
  dataRoot: string;
  logger: Logger;
  /** The engine side of one build (daemon/build-host.ts): over this service's cache, with the request's network and resources. */
  host: (cache: BuildCacheStore, request: BuildRequest) => BuildHost;
  /** Looks images up for the cache. */
  imageById: (id: string) => BuildImage | undefined;
  /** The builder; tests give a fake. */
  builder?: BuildFunction;
  openContext?: OpenContextFunction;
  env?: Record<string, string | undefined>;
}

export class BuildService {
  readonly #o: BuildServiceOptions;
  readonly cache: BuildCacheStore;

  constructor(opts: BuildServiceOptions) {
    this.#o = opts;
    this.cache = new BuildCacheStore(join(opts.dataRoot, 'builder'), opts.imageById);
  }

  get #tmp(): string {
    return join(this.#o.dataRoot, 'builder', 'tmp');
  }

  async init(): Promise<void> {
    // Contexts of builds that a crash cut short.
    await rm(this.#tmp, { recursive: true, force: true });
    await mkdir(this.#tmp, { recursive: true, mode: 0o700 });
    await mkdir(this.cache.mountsDir, { recursive: true, mode: 0o700 });
    await this.cache.init();
  }

  /** The engine side of a build of `request` (the builder gets one per build). */
  hostFor(request: BuildRequest): BuildHost {
    return this.#o.host(this.cache, request);
  }

  /** Extracts the context from `body`, builds, tags; resolves to the image ID. */
  async build(body: Readable, request: BuildRequest, output: BuildOutput, signal: AbortSignal): Promise<string> {
    const open = this.#o.openContext ?? realOpenContext;
    const context = await open(body, { dockerfile: request.dockerfile, workDir: this.#tmp, signal });
    try {
      const run = this.#o.builder ?? realBuild;
      return await run({ context, request, host: this.hostFor(request), output, signal, env: this.#o.env ?? process.env });
    } finally {
      await context.release().catch((err) => this.#o.logger.warn('removing a build context failed', { dir: context.dir, error: errorMessage(err) }));
    }
  }

  /**
   * `builder prune`: without `all`, the cache mounts and the step records whose images are gone;
   * with `all`, every step record too (their images stay: they are ordinary images, freed by
   * `rmi` of the images built on them). Oldest use first, until what is left fits `keepStorage`.
   */
  async prune(opts: { all: boolean; filters?: Filters; keepStorage?: number }): Promise<BuildCachePruneResponse> {
    const f = opts.filters ?? {};
    checkFilterKeys(f, ['until', 'id', 'type', 'description', 'inuse', 'shared', 'private']);
    const until = f.until?.length ? parseFilterTime(f.until[0]) : undefined;
    const stale = new Set(this.cache.stale());
    const all = await this.cache.entries();
    const matches = (e: BuildCacheEntry & { key: string; kind: 'step' | 'mount' }) => {
      if (e.kind === 'step' && !opts.all && !stale.has(e.key)) return false;
      if (until !== undefined && Date.parse(e.LastUsedAt ?? e.CreatedAt) >= until) return false;
      if (f.id?.length && !f.id.some((v) => e.ID.startsWith(v))) return false;
      if (f.type?.length && !f.type.includes(e.Type)) return false;
      if (f.description?.length && !f.description.some((v) => e.Description.includes(v))) return false;
      if (f.inuse?.length && !f.inuse.includes(String(e.InUse))) return false;
      if (f.shared?.length && !f.shared.includes(String(e.Shared))) return false;
      if (f.private?.length && !f.private.includes(String(!e.Shared))) return false;
      return true;
    };
    let candidates = all.filter(matches).sort((a, b) => Date.parse(a.LastUsedAt ?? a.CreatedAt) - Date.parse(b.LastUsedAt ?? b.CreatedAt));
    if (opts.keepStorage && opts.keepStorage > 0) {
      let total = all.reduce((n, e) => n + e.Size, 0);
      const chosen: typeof candidates = [];
      for (const e of candidates) {
        if (total <= opts.keepStorage) break;
        chosen.push(e);
        total -= e.Size;
      }
      candidates = chosen;
    }
    await this.cache.drop(candidates);
    const reclaimed = candidates.reduce((n, e) => n + e.Size, 0);
    return { CachesDeleted: candidates.length ? candidates.map((e) => e.ID) : null, SpaceReclaimed: reclaimed };
  }

  /** The build cache part of `system df`. */
  async usage(): Promise<BuildCacheEntry[]> {
    return (await this.cache.entries()).map(({ key: _k, kind: _kind, ...e }) => e);
  }
}
