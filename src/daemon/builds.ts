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
import { mkdir, rm } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
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
import { InvalidArgumentError, NotImplementedError, diskUsage, errorMessage, mountPoints, readJsonIfExists, umount, writeJsonAtomic, type Logger } from '../util/index.js';
import { checkFilterKeys, parseFilterTime, type Filters } from './filters.js';

/** Contexts up to this size are extracted into memory (a tmpfs), bigger ones on disk: an eighth of RAM, at most 2 GiB. */
const CONTEXT_MEMORY_LIMIT = Math.min(Math.floor(totalmem() / 8), 2 * 1024 ** 3);

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
        Size: (await diskUsage(join(this.mountsDir, h))).size,
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

/** A ustar archive of one regular file: a remote Dockerfile made into a context, as moby does. */
export function singleFileTar(name: string, data: Buffer): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100, 'ascii');
  h.write('0000000\0', 108, 'ascii');
  h.write('0000000\0', 116, 'ascii');
  h.write(data.length.toString(8).padStart(11, '0') + '\0', 124, 'ascii');
  h.write(Math.floor(Date.now() / 1000).toString(8).padStart(11, '0') + '\0', 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([h, data, pad, Buffer.alloc(1024)]);
}

/** Whether the first bytes are an archive the context reader takes: tar, gzip, bzip2, xz. */
function isArchive(head: Buffer): boolean {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return true;
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return true;
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true;
  return head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}

const MAX_REMOTE_DOCKERFILE = 16 * 1024 * 1024;

/**
 * The `remote` context (moby's remotecontext for a URL): a tar, maybe compressed, streamed as the
 * body; a text/plain or non-archive answer is a Dockerfile, made into a context of just that file.
 * Git contexts need a git checkout wharf does not do.
 */
export async function remoteContext(url: string, signal: AbortSignal): Promise<Readable> {
  if (/^(git:\/\/|git@|github\.com\/)/.test(url) || /\.git(#.*)?$/.test(url)) {
    throw new NotImplementedError(`git build contexts are not supported: ${url}; clone it and build the directory`);
  }
  if (!/^https?:\/\//.test(url)) throw new InvalidArgumentError(`unable to prepare context: unsupported remote context ${JSON.stringify(url)}: only http(s) URLs are supported`);
  let res: Response;
  try {
    res = await fetch(url, { signal, redirect: 'follow' });
  } catch (err) {
    throw new InvalidArgumentError(`error downloading remote context ${url}: ${errorMessage(err)}`, { cause: err });
  }
  if (!res.ok) {
    const text = (await res.text().catch(() => '')).slice(0, 1024);
    throw new InvalidArgumentError(`failed to GET ${url} with status ${res.status} ${res.statusText}: ${text}`);
  }
  const body = res.body ? Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>) : Readable.from([]);
  const chunks: Buffer[] = [];
  let size = 0;
  const it = body[Symbol.asyncIterator]();
  while (size < 262) {
    const { value, done } = await it.next();
    if (done) break;
    chunks.push(Buffer.from(value as Uint8Array));
    size += (value as Uint8Array).length;
  }
  const head = Buffer.concat(chunks);
  const type = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'text/plain' && isArchive(head)) {
    const out = new PassThrough();
    out.write(head);
    void (async () => {
      try {
        for (let r = await it.next(); !r.done; r = await it.next()) if (!out.write(r.value)) await new Promise((ok) => out.once('drain', ok));
        out.end();
      } catch (err) {
        out.destroy(err as Error);
      }
    })();
    return out;
  }
  const rest: Buffer[] = [head];
  for (let r = await it.next(); !r.done; r = await it.next()) {
    size += (r.value as Uint8Array).length;
    if (size > MAX_REMOTE_DOCKERFILE) throw new InvalidArgumentError(`remote Dockerfile ${url} is larger than ${MAX_REMOTE_DOCKERFILE} bytes`);
    rest.push(Buffer.from(r.value as Uint8Array));
  }
  return Readable.from([singleFileTar('Dockerfile', Buffer.concat(rest))]);
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
    // Contexts of builds that a crash cut short, some of them on a tmpfs of their own.
    for (const target of await mountPoints()) {
      if (target.startsWith(this.#tmp + '/')) {
        try {
          umount(target, true);
        } catch (err) {
          this.#o.logger.warn('unmounting a leftover build context failed', { path: target, error: errorMessage(err) });
        }
      }
    }
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
    if (request.remote) {
      // The client sends no context with a URL; what it did send is not read.
      body.resume();
      body = await remoteContext(request.remote, signal);
    }
    const context = await open(body, { dockerfile: request.dockerfile, workDir: this.#tmp, memoryLimit: CONTEXT_MEMORY_LIMIT, signal });
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
