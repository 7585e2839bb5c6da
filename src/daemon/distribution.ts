import { createHash } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import type { AuthConfig, AuthResponse, ProgressMessage } from '../types/index.js';
import {
  MEDIA_TYPES,
  RegistryError,
  compressLayer,
  decompressLayer,
  familiarRemote,
  hasher,
  parseRemoteRef,
  splitTag,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type RemoteName,
  type RemoteRef,
  type Repository,
} from '../image/index.js';
import { chainIds } from '../storage/index.js';
import { ForbiddenError, InvalidArgumentError, LARGE_READ, NotFoundError, UnauthorizedError, WharfError, errorMessage, formatPlatform, sha256, type Logger, type PlatformSpec } from '../util/index.js';
import { DistributionMetadata, type BlobRecord } from './distribution-metadata.js';
import { GrowingFile } from './growing-file.js';
import type { ImageStore } from './image-store.js';
import { Slots } from './mutex.js';
import { hostPlatform, matchManifests } from './platforms.js';

/** The part of the registry client (image/distribution's Registries) that pull, push and login use. */
export interface RegistryClient {
  repository(name: RemoteName, auth: AuthConfig | undefined, actions: ('pull' | 'push')[]): Repository;
  login(auth: AuthConfig): Promise<AuthResponse>;
}

export interface DistributionOptions {
  store: ImageStore;
  registries: RegistryClient;
  logger: Logger;
  /** daemon.json `max-concurrent-downloads` (dockerd's default 3), for all pulls together. */
  maxDownloads: number;
  /** daemon.json `max-concurrent-uploads` (dockerd's default 5), for all pushes together. */
  maxUploads: number;
  onEvent(action: string, id: string, attrs: Record<string, string>): void;
  /** Tests: the platform pulled when none is asked (the host's, with its amd64 level). */
  defaultPlatform?: PlatformSpec;
  /** Tests: the pause before retry `n` (1-based) of an interrupted download. */
  retryDelayMs?: (n: number) => number;
}

type Emit = (m: ProgressMessage) => void;

const MAX_DOWNLOAD_ATTEMPTS = 5;
const MAX_MANIFEST_BYTES = 4 << 20;
const MAX_CONFIG_BYTES = 8 << 20;
// Docker's progress readers report every 512 KiB, so a stream of lines is not one per chunk.
const PROGRESS_EVERY = 512 * 1024;
const SMALL_LAYER = 100 * 1024;
const MIDDLE_LAYER = 10 << 20;

/** Go's units.HumanSize: four significant digits, decimal units. */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  let size = n;
  let i = 0;
  while (size >= 1000 && i < units.length - 1) {
    size /= 1000;
    i++;
  }
  return `${Number(size.toPrecision(4))}${units[i]}`;
}

/** The `progress` text of a JSON progress line as dockerd renders it (a 200-column bar). */
export function progressBar(current: number, total: number): string {
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(current).padStart(8);
  const pct = Math.min(Math.floor(Math.floor((current / total) * 100) / 2), 50);
  const bar = `[${'='.repeat(pct)}>${' '.repeat(Math.max(50 - pct, 0))}] `;
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}

function update(id: string, status: string): ProgressMessage {
  return { status, progressDetail: {}, id };
}

function progressLine(id: string, status: string, current: number, total: number): ProgressMessage {
  const bar = progressBar(current, total);
  return { status, progressDetail: { current, ...(total > 0 ? { total } : {}) }, ...(bar ? { progress: bar } : {}), id };
}

/** Counts bytes that pass, reporting at most every PROGRESS_EVERY bytes (and at the end). */
function counter(onCount: (n: number, final: boolean) => void): Transform {
  let n = 0;
  let last = -1;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (n - Math.max(last, 0) >= PROGRESS_EVERY) {
        last = n;
        onCount(n, false);
      }
      cb(null, chunk);
    },
    flush(cb) {
      if (n !== last) onCount(n, true);
      cb();
    },
  });
}

const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

function errnoCodes(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err as { code?: unknown; cause?: unknown; errors?: unknown[] } | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string') out.push(e.code);
    if (Array.isArray(e.errors)) for (const x of e.errors) out.push(...errnoCodes(x));
  }
  return out;
}

const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'UND_ERR_CONNECT_TIMEOUT']);

/** The registry could not be reached at all (no name, no route, nothing listening), as opposed to an answer that said no. */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof RegistryError) || err.status !== 0) return false;
  if (errnoCodes(err).some((c) => UNREACHABLE.has(c))) return true;
  return /no such host|connection refused|network is unreachable|no route to host|i\/o timeout|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT/i.test(err.message);
}

/** Worth another try: no answer, a cut stream, or a server error; never a refusal. */
function retryable(err: unknown): boolean {
  if (err instanceof RegistryError) return err.status === 0 || err.status >= 500;
  if (err instanceof WharfError) return false;
  const codes = errnoCodes(err);
  if (codes.includes('ENOSPC') || codes.includes('EDQUOT')) return false;
  return true;
}

function hasCredentials(auth: AuthConfig | undefined): boolean {
  return !!auth && !!((auth.username && auth.password) || auth.identitytoken || auth.registrytoken);
}

/**
 * moby's translatePullError: a registry's refusal in the words `docker pull` users know. A 401
 * to a request without credentials stays a plain failure, as dockerd's `no basic auth
 * credentials` is: a 401 answer makes the docker CLI retry with an interactive login.
 */
function translatePullError(err: unknown, ref: RemoteRef, auth?: AuthConfig): unknown {
  if (!(err instanceof RegistryError)) return err;
  const name = familiarRemote(ref);
  const full = ref.digest ? `${name}@${ref.digest}` : `${name}:${ref.tag ?? 'latest'}`;
  switch (err.errorCode) {
    case 'DENIED':
      return new NotFoundError(`pull access denied for ${name}, repository does not exist or may require 'docker login': ${err.message}`, { cause: err });
    case 'MANIFEST_UNKNOWN':
      return new NotFoundError(`manifest for ${full} not found: ${err.message}`, { cause: err });
    case 'NAME_UNKNOWN':
      return new NotFoundError(`repository ${name} not found: ${err.message}`, { cause: err });
  }
  if (err.errorCode === 'UNAUTHORIZED' || err.status === 401) return hasCredentials(auth) ? new UnauthorizedError(err.message, { cause: err }) : err;
  return err;
}

function deprecatedSchema1(fullRef: string): InvalidArgumentError {
  return new InvalidArgumentError(
    'Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. ' +
      `Suggest the author of ${fullRef} to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2. ` +
      'More information at https://docs.docker.com/go/deprecated-image-specs/',
  );
}

const INDEX_TYPES = new Set<string>([MEDIA_TYPES.index, MEDIA_TYPES.dockerList]);
const MANIFEST_TYPES = new Set<string>([MEDIA_TYPES.manifest, MEDIA_TYPES.dockerManifest]);
const SCHEMA1_TYPES = new Set<string>([MEDIA_TYPES.dockerSchema1, MEDIA_TYPES.dockerSchema1Signed, 'application/json']);
const CONFIG_TYPES = new Set<string>([MEDIA_TYPES.config, MEDIA_TYPES.dockerConfig]);
const CONFIG_CLASSES: Record<string, string> = {
  'application/vnd.docker.plugin.v1+json': 'plugin',
  'application/vnd.cncf.helm.config.v1+json': 'helm chart',
  'application/vnd.docker.ai.model.config.v0.1+json': 'AI model',
};

function checkLayerType(mediaType: string): void {
  const mt = mediaType.toLowerCase();
  if (mt.startsWith('application/vnd.docker.ai.')) throw new InvalidArgumentError('AI models are not yet supported by the Engine, please use "docker model pull/run" instead');
  if (mt.startsWith('application/vnd.oci.image.layer.') || mt.startsWith('application/vnd.docker.image.rootfs.')) return;
  throw new InvalidArgumentError(`unsupported media type ${mediaType}`);
}

interface ParsedManifest {
  digest: string;
  mediaType: string;
  manifest?: ImageManifest;
  index?: ImageIndex;
}

function parseManifest(fetched: { digest: string; mediaType: string; bytes: Buffer }, fullRef: string): ParsedManifest {
  if (fetched.bytes.length > MAX_MANIFEST_BYTES) throw new InvalidArgumentError(`manifest ${fetched.digest} is too large: ${fetched.bytes.length} bytes`);
  let doc: { schemaVersion?: number; mediaType?: string; manifests?: unknown; layers?: unknown; config?: unknown };
  try {
    doc = JSON.parse(fetched.bytes.toString('utf8'));
  } catch {
    throw new InvalidArgumentError(`invalid manifest ${fetched.digest}: not JSON`);
  }
  const mediaType = doc.mediaType || fetched.mediaType || '';
  if (SCHEMA1_TYPES.has(mediaType) || doc.schemaVersion === 1) throw deprecatedSchema1(fullRef);
  if (INDEX_TYPES.has(mediaType) || (!mediaType && Array.isArray(doc.manifests))) {
    if (!Array.isArray(doc.manifests)) throw new InvalidArgumentError(`invalid manifest list ${fetched.digest}: no manifests`);
    return { digest: fetched.digest, mediaType, index: doc as ImageIndex };
  }
  if (MANIFEST_TYPES.has(mediaType) || (!mediaType && doc.config && Array.isArray(doc.layers))) {
    if (!doc.config || !Array.isArray(doc.layers)) throw new InvalidArgumentError(`invalid manifest ${fetched.digest}: no config or layers`);
    return { digest: fetched.digest, mediaType, manifest: doc as ImageManifest };
  }
  throw new InvalidArgumentError('unsupported manifest format');
}

async function readAll(body: Readable, limit: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    n += (chunk as Buffer).length;
    if (n > limit) {
      body.destroy();
      throw new InvalidArgumentError(`${what} is larger than ${limit} bytes`);
    }
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}

/** A download shared by every pull that needs the blob at the same time. */
interface Download {
  done: Promise<string>;
  /** The blob's temp file as it arrives. */
  file: GrowingFile;
  users: number;
  listeners: Set<Emit>;
  controller: AbortController;
}

export interface PullRequest {
  /** `busybox`, `busybox:1.36`, `127.0.0.1:5000/t/bb@sha256:...`; a bare name pulls every tag. */
  ref: string;
  platform?: PlatformSpec;
  auth?: AuthConfig;
  /** The client went away: dockerd cancels its pull (downloads another pull shares go on). */
  signal?: AbortSignal;
}

export interface PushRequest {
  /** The repository, familiar or full: `127.0.0.1:5000/ides/gateway`. */
  name: string;
  /** One tag; none pushes every local tag of the repository. */
  tag?: string;
  auth?: AuthConfig;
}

/**
 * Pull and push between the image store and registries, dockerd's distribution package in
 * small: resolve, fetch and verify, extract in order; or find what the registry has, mount or
 * upload the rest, put the manifest. Progress lines are dockerd's, word for word.
 */
export class Distribution {
  readonly #o: DistributionOptions;
  readonly #downloadSlots: Slots;
  readonly #uploadSlots: Slots;
  readonly #downloads = new Map<string, Download>();
  readonly metadata: DistributionMetadata;

  constructor(opts: DistributionOptions, imageRoot: string) {
    this.#o = opts;
    this.#downloadSlots = new Slots(opts.maxDownloads);
    this.#uploadSlots = new Slots(opts.maxUploads);
    this.metadata = new DistributionMetadata(imageRoot, opts.logger);
  }

  init(): Promise<void> {
    return this.metadata.init();
  }

  login(auth: AuthConfig): Promise<AuthResponse> {
    return this.#o.registries.login(auth).catch((err) => {
      if (err instanceof RegistryError && (err.status === 401 || err.errorCode === 'UNAUTHORIZED')) throw new UnauthorizedError(err.message, { cause: err });
      throw err;
    });
  }

  // ------------------------------------------------------------ pull

  async pull(req: PullRequest, emit: Emit): Promise<void> {
    const ref = parseRemoteRef(req.ref.replace(/:$/, ''));
    const name = familiarRemote(ref);
    if (name === 'scratch') throw new ForbiddenError("'scratch' is a reserved name");
    const repo = this.#o.registries.repository(ref, req.auth, ['pull']);
    const platform = req.platform;
    try {
      let downloaded = false;
      if (ref.tag || ref.digest) {
        downloaded = await this.#pullTag(repo, ref, platform, emit, req.signal);
      } else {
        const tags = await repo.tags();
        for (const tag of tags) {
          req.signal?.throwIfAborted();
          if (await this.#pullTag(repo, { ...ref, tag }, platform, emit, req.signal)) downloaded = true;
        }
      }
      const shown = ref.digest ? `${name}@${ref.digest}` : ref.tag ? `${name}:${ref.tag}` : name;
      emit({ status: downloaded ? `Status: Downloaded newer image for ${shown}` : `Status: Image is up to date for ${shown}` });
      this.#o.onEvent('pull', shown, { name });
    } catch (err) {
      throw translatePullError(err, ref, req.auth);
    }
  }

  /** Pulls one tag or digest; true when an image was downloaded or newly tagged. */
  async #pullTag(repo: Repository, ref: RemoteRef, platform: PlatformSpec | undefined, emit: Emit, signal?: AbortSignal): Promise<boolean> {
    const full = `${ref.domain}/${ref.path}`;
    const reference = ref.digest ?? ref.tag ?? 'latest';
    const fullRef = ref.digest ? `${full}@${ref.digest}` : `${full}:${reference}`;
    const top = parseManifest(await repo.getManifest(reference), fullRef);
    // dockerd names a pull by digest after the whole reference, by tag after the tag.
    emit({ status: `Pulling from ${ref.path}`, id: ref.digest ? fullRef : reference });
    let image = top;
    if (top.index) image = await this.#pickFromIndex(repo, top, platform, fullRef);
    const manifest = image.manifest!;
    const pulled = await this.#pullImage(repo, ref, manifest, emit, signal);
    try {
      emit({ status: `Digest: ${top.digest}` });
      return await this.#register(ref, reference, top.digest, pulled);
    } finally {
      pulled.release();
    }
  }

  /** Registers a pulled image and names it (tag or digest); true when that name is new or moved. */
  #register(ref: RemoteRef, reference: string, manifestDigest: string, pulled: { id: string; configBytes?: Buffer }): Promise<boolean> {
    const store = this.#o.store;
    const name = familiarRemote(ref);
    const fullRef = ref.digest ? `${ref.domain}/${ref.path}@${ref.digest}` : `${ref.domain}/${ref.path}:${reference}`;
    // Registered and named under one lock: an untagged image could be pruned in between.
    return store.locked(async () => {
      const id = pulled.configBytes ? await store.register(pulled.configBytes) : pulled.id;
      if (!store.images.has(id)) throw new NotFoundError(`the image ${id} of ${fullRef} was removed while it was being pulled; pull it again`);
      const repoDigest = `${name}@${manifestDigest}`;
      if (ref.digest) {
        const had = store.images.get(id)!.repoDigests.includes(repoDigest);
        await store.addRepoDigest(repoDigest, id);
        return !had;
      }
      const tag = `${name}:${reference}`;
      await store.addRepoDigest(repoDigest, id);
      if (store.tags.get(tag) === id) return false;
      await store.setTag(tag, id);
      return true;
    });
  }

  async #pickFromIndex(repo: Repository, list: ParsedManifest, platform: PlatformSpec | undefined, fullRef: string, depth = 0): Promise<ParsedManifest> {
    const want = platform ?? this.#o.defaultPlatform ?? hostPlatform();
    const wantFull: PlatformSpec = { os: want.os || 'linux', architecture: want.architecture || 'amd64', ...(want.variant ? { variant: want.variant } : {}) };
    for (const entry of matchManifests(list.index!.manifests, wantFull)) {
      if (SCHEMA1_TYPES.has(entry.mediaType)) throw deprecatedSchema1(fullRef);
      if (!MANIFEST_TYPES.has(entry.mediaType) && !INDEX_TYPES.has(entry.mediaType)) continue;
      const m = parseManifest(await repo.getManifest(entry.digest), fullRef);
      if (m.manifest) return m;
      if (m.index && depth < 4) {
        try {
          return await this.#pickFromIndex(repo, m, platform, fullRef, depth + 1);
        } catch (err) {
          if (err instanceof NotFoundError && /^no matching manifest/.test(err.message)) continue;
          throw err;
        }
      }
    }
    // dockerd names the platform asked for, or its plain default when none was.
    throw new NotFoundError(`no matching manifest for ${platform ? formatPlatform(platform) : 'linux/amd64'} in the manifest list entries`);
  }

  /**
   * Fetches the config and the layers the store lacks, extracts them in order. Returns the
   * config to register (none when the image is here already) and the release of the layers'
   * pins, for the caller to call once the image is registered.
   */
  async #pullImage(repo: Repository, ref: RemoteRef, manifest: ImageManifest, emit: Emit, signal?: AbortSignal): Promise<{ id: string; configBytes?: Buffer; release: () => void }> {
    const store = this.#o.store;
    const cfgDesc = manifest.config;
    if (!/^sha256:[a-f0-9]{64}$/.test(cfgDesc?.digest ?? '')) throw new InvalidArgumentError(`invalid config digest "${cfgDesc?.digest}"`);
    if (cfgDesc.mediaType && !CONFIG_TYPES.has(cfgDesc.mediaType)) {
      throw new InvalidArgumentError(`Encountered remote "${cfgDesc.mediaType}"(${CONFIG_CLASSES[cfgDesc.mediaType] ?? 'unknown'}) when fetching`);
    }
    if (store.images.has(cfgDesc.digest)) return { id: cfgDesc.digest, release: () => {} };
    for (const l of manifest.layers) {
      if (!/^sha256:[a-f0-9]{64}$/.test(l.digest ?? '')) throw new InvalidArgumentError(`could not validate layer digest "${l.digest}": invalid checksum digest format`);
      checkLayerType(l.mediaType);
    }
    let configBytes: Buffer;
    try {
      configBytes = await this.#fetchConfig(repo, cfgDesc.digest, signal);
    } catch (err) {
      if (err instanceof RegistryError) throw new RegistryError(`error pulling image configuration: ${err.message}`, err.status, err.errorCode, { cause: err });
      throw err;
    }
    let config: ImageConfig;
    try {
      config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    } catch {
      throw new InvalidArgumentError('invalid image config: not JSON');
    }
    const diffIds = config?.rootfs?.diff_ids;
    if (!Array.isArray(diffIds)) throw new InvalidArgumentError('invalid rootfs in image configuration');
    if (diffIds.length !== manifest.layers.length) throw new InvalidArgumentError("layers from manifest don't match image configuration");
    const chain = chainIds(diffIds);
    const release = store.pin([...chain, ...diffIds]);
    const controller = new AbortController();
    const cancel = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', cancel, { once: true });
    if (signal?.aborted) cancel();
    const full = `${ref.domain}/${ref.path}`;
    try {
      const jobs: { layer: Descriptor; id: string; present: boolean; tmp?: Promise<string>; file?: GrowingFile; releaseDownload?: () => Promise<void> }[] = manifest.layers.map((layer, i) => ({
        layer,
        id: short(layer.digest),
        present: !!store.o.layers.layer(chain[i]),
      }));
      for (const j of jobs) emit(update(j.id, j.present ? 'Already exists' : 'Pulling fs layer'));
      for (const j of jobs) {
        if (j.present) continue;
        const shared = this.#download(repo, j.layer, j.id, emit, controller.signal);
        j.tmp = shared.tmp;
        j.file = shared.file;
        j.releaseDownload = shared.release;
        // Failures are awaited in order below; this one must not surface as unhandled before then.
        j.tmp.catch(() => {});
      }
      try {
        await store.ensureLayers(
          undefined,
          jobs.map((j, i) => ({
            diffId: diffIds[i],
            what: `${familiarRemote(ref)} layer ${j.layer.digest}`,
            ...(j.present
              ? {}
              : {
                  // The blob extracts as it arrives; its progress shows once the download's has ended.
                  open: async () => {
                    controller.signal.throwIfAborted();
                    const input = j.file!.follow();
                    let downloaded = false;
                    void j.tmp!.then(() => (downloaded = true), () => {});
                    const count = counter((n) => downloaded && emit(progressLine(j.id, 'Extracting', n, j.layer.size)));
                    input.on('error', (e) => count.destroy(e));
                    return decompressLayer(input.pipe(count), j.layer.mediaType);
                  },
                  live: j.file!,
                }),
          })),
          {
            // The store's lock for each commit only: the layers extract side by side outside it.
            commit: (fn) => store.locked(fn),
            committed: async (i) => {
              const j = jobs[i];
              if (j.present) return;
              await j.releaseDownload?.();
              j.releaseDownload = undefined;
              await this.metadata.add(diffIds[i], { digest: j.layer.digest, sourceRepository: full, mediaType: j.layer.mediaType });
              emit(update(j.id, 'Pull complete'));
            },
          },
        );
      } catch (err) {
        controller.abort();
        throw err;
      } finally {
        // Every download this pull started ends (and leaves no file) before the pull answers.
        await Promise.all(jobs.map((j) => j.releaseDownload?.()));
        await Promise.allSettled(jobs.map((j) => j.tmp));
      }
      for (let i = 0; i < jobs.length; i++) if (jobs[i].present) await this.metadata.add(diffIds[i], { digest: jobs[i].layer.digest, sourceRepository: full, mediaType: jobs[i].layer.mediaType });
      return { id: sha256(configBytes), configBytes, release };
    } catch (err) {
      release();
      throw err;
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  }

  async #fetchConfig(repo: Repository, digest: string, signal?: AbortSignal): Promise<Buffer> {
    let lastErr: unknown;
    for (let attempt = 1; attempt <= MAX_DOWNLOAD_ATTEMPTS; attempt++) {
      signal?.throwIfAborted();
      try {
        const { body } = await repo.getBlob(digest, { signal });
        signal?.throwIfAborted();
        const bytes = await readAll(body, MAX_CONFIG_BYTES, `image config ${digest}`);
        if (sha256(bytes) !== digest) throw new InvalidArgumentError(`image config verification failed for digest ${digest}`);
        return bytes;
      } catch (err) {
        lastErr = err;
        if (signal?.aborted || !retryable(err) || attempt === MAX_DOWNLOAD_ATTEMPTS) break;
        await this.#pause(attempt);
      }
    }
    throw lastErr;
  }

  #pause(attempt: number): Promise<void> {
    const ms = this.#o.retryDelayMs ? this.#o.retryDelayMs(attempt) : Math.min(250 * 2 ** (attempt - 1), 4000);
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /**
   * The blob in a verified temp file, shared with any other pull fetching it now. `release`
   * says this pull is done with the file; the last one out removes it.
   */
  #download(repo: Repository, layer: Descriptor, id: string, emit: Emit, signal: AbortSignal): { tmp: Promise<string>; file: GrowingFile; release: () => Promise<void> } {
    let job = this.#downloads.get(layer.digest);
    let start: (() => void) | undefined;
    if (!job) {
      const listeners = new Set<Emit>();
      const controller = new AbortController();
      let begin!: () => void;
      const file = new GrowingFile(this.#o.store.tmpPath('blob'), `the download of ${layer.digest}`);
      const created: Download = {
        listeners,
        users: 0,
        controller,
        file,
        // Started once this pull listens, so its first line ("Waiting") reaches it.
        done: new Promise<void>((resolve) => (begin = resolve)).then(() => this.#fetchBlob(repo, layer, id, file, (m) => listeners.forEach((l) => l(m)), controller.signal)),
      };
      start = begin;
      job = created;
      this.#downloads.set(layer.digest, created);
      const forget = () => {
        if (this.#downloads.get(layer.digest) === created) this.#downloads.delete(layer.digest);
      };
      // A failed download is not shared with the pulls that come after it.
      created.done.catch(forget);
    }
    const j = job;
    j.users++;
    const relay: Emit = (m) => {
      try {
        emit(m);
      } catch {
        j.listeners.delete(relay);
      }
    };
    j.listeners.add(relay);
    const onAbort = () => {
      if (j.users <= 1) j.controller.abort();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      signal.removeEventListener('abort', onAbort);
      j.listeners.delete(relay);
      j.users--;
      if (j.users > 0) return;
      if (this.#downloads.get(layer.digest) === j) this.#downloads.delete(layer.digest);
      j.controller.abort();
      await j.done.then((tmp) => rm(tmp, { force: true }), () => {});
    };
    const tmp = j.done.finally(() => j.listeners.delete(relay));
    start?.();
    return { tmp, file: j.file, release };
  }

  /**
   * Downloads with resumption (Range from the bytes already here) into `file`, verifying the
   * digest over the whole; followers of the file see it grow, and end once it is verified.
   */
  async #fetchBlob(repo: Repository, layer: Descriptor, id: string, file: GrowingFile, emit: Emit, signal: AbortSignal): Promise<string> {
    const tmp = file.path;
    let ok = false;
    let fh: FileHandle | undefined;
    let free: (() => void) | undefined;
    try {
      free = await (async () => {
        if (!this.#downloadSlots.available) emit(update(id, 'Waiting'));
        return this.#downloadSlots.acquire();
      })();
      fh = await open(tmp, 'wx', 0o600);
      let hash = createHash('sha256');
      let offset = 0;
      let resumed = false;
      for (let attempt = 1; ; attempt++) {
        signal.throwIfAborted();
        try {
          const startedAt = offset;
          resumed = startedAt > 0;
          const { body, size } = await repo.getBlob(layer.digest, { offset, signal });
          const total = size || layer.size;
          if (signal.aborted) {
            body.destroy();
            signal.throwIfAborted();
          }
          if (startedAt > 0 && total > 0 && startedAt > total) throw new RegistryError('partial download is larger than the blob', 0);
          let last = offset;
          // Written 1 MiB at a time: one write per network chunk was a thread-pool round trip
          // per 64 KiB, and the socket was not read while each one lasted.
          let batch: Buffer[] = [];
          let batched = 0;
          const flush = async () => {
            if (!batched) return;
            await fh!.writev(batch, offset);
            offset += batched;
            file.grew(offset);
            batch = [];
            batched = 0;
          };
          try {
            for await (const chunk of body) {
              signal.throwIfAborted();
              const b = chunk as Buffer;
              hash.update(b);
              batch.push(b);
              batched += b.length;
              if (batched >= LARGE_READ) await flush();
              if (offset + batched - last >= PROGRESS_EVERY) {
                last = offset + batched;
                emit(progressLine(id, 'Downloading', last, total));
              }
            }
          } finally {
            body.destroy();
            // What arrived before an interruption is kept, so the retry resumes after it.
            await flush();
          }
          if (offset !== last) emit(progressLine(id, 'Downloading', offset, total));
          emit(update(id, 'Verifying Checksum'));
          const got = `sha256:${hash.digest('hex')}`;
          if (got !== layer.digest) {
            const err = new InvalidArgumentError(`filesystem layer verification failed for digest ${layer.digest}`);
            // After a resumed download the start may not match the rest: one more try from zero.
            if (!resumed || attempt >= MAX_DOWNLOAD_ATTEMPTS) throw err;
            this.#o.logger.warn('resumed download failed verification, starting over', { digest: layer.digest });
            hash = createHash('sha256');
            offset = 0;
            await fh!.truncate(0);
            file.restarted();
            continue;
          }
          break;
        } catch (err) {
          if (signal.aborted) throw err;
          if (err instanceof InvalidArgumentError || !retryable(err) || attempt >= MAX_DOWNLOAD_ATTEMPTS) throw err;
          this.#o.logger.info('download interrupted, retrying', { digest: layer.digest, offset, attempt, error: errorMessage(err) });
          const delay = this.#o.retryDelayMs ? this.#o.retryDelayMs(attempt) : Math.min(250 * 2 ** (attempt - 1), 4000);
          const secs = Math.max(1, Math.ceil(delay / 1000));
          emit(update(id, `Retrying in ${secs} second${secs === 1 ? '' : 's'}`));
          await this.#pause(attempt);
        }
      }
      emit(update(id, 'Download complete'));
      ok = true;
      file.finish();
      return tmp;
    } catch (err) {
      file.fail(err instanceof Error ? err : new Error(String(err)));
      throw err;
    } finally {
      await fh?.close().catch(() => {});
      if (!ok) await rm(tmp, { force: true });
      free?.();
    }
  }

  // ------------------------------------------------------------ push

  async push(req: PushRequest, emit: Emit): Promise<void> {
    const ref = parseRemoteRef(req.name);
    if (ref.digest) throw new InvalidArgumentError('cannot push a digest reference');
    const name = familiarRemote(ref);
    const full = `${ref.domain}/${ref.path}`;
    const store = this.#o.store;
    emit({ status: `The push refers to repository [${full}]` });
    const localTags = [...store.tags.keys()].filter((t) => splitTag(t).repo === name).sort();
    const hasDigests = [...store.images.values()].some((img) => img.repoDigests.some((d) => d.startsWith(`${name}@`)));
    if (!localTags.length && !hasDigests) throw new NotFoundError(`An image does not exist locally with the tag: ${name}`);
    const tags = req.tag ? [req.tag] : localTags.map((t) => splitTag(t).tag);
    if (req.tag && !store.tags.has(`${name}:${req.tag}`)) throw new NotFoundError(`tag does not exist: ${name}:${req.tag}`);
    if (!tags.length) throw new NotFoundError(`no tags to push for ${name}`);
    const repo = this.#o.registries.repository(ref, req.auth, ['push', 'pull']);
    const remote = new Map<string, Descriptor>();
    for (const tag of tags) {
      const id = store.tags.get(`${name}:${tag}`);
      const img = id ? store.images.get(id) : undefined;
      if (!img) throw new NotFoundError(`tag does not exist: ${name}:${tag}`);
      await this.#pushTag(repo, ref, tag, img.id, remote, emit);
    }
    this.#o.onEvent('push', req.tag ? `${name}:${req.tag}` : name, { name });
  }

  async #pushTag(repo: Repository, ref: RemoteRef, tag: string, id: string, remote: Map<string, Descriptor>, emit: Emit): Promise<void> {
    const store = this.#o.store;
    const img = store.images.get(id)!;
    const diffIds = img.config.rootfs.diff_ids;
    const release = store.pin([...img.chain, ...diffIds, id]);
    try {
      const configBytes = await store.content.read(id);
      // Top layer first, as dockerd lists them.
      const order = diffIds.map((d, i) => ({ diffId: d, i })).reverse();
      for (const { diffId } of order) emit(update(short(diffId), 'Preparing'));
      const results = await Promise.allSettled(order.map(({ diffId }) => this.#pushLayer(repo, ref, diffId, remote, emit)));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      const layers = diffIds.map((d) => remote.get(d)!);
      if ((await repo.statBlob(id)) === undefined) await repo.pushBlob(Readable.from([configBytes]), () => id);
      const manifest = {
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.dockerManifest,
        config: { mediaType: MEDIA_TYPES.dockerConfig, size: configBytes.length, digest: id },
        layers: layers.map((l) => ({ mediaType: l.mediaType, size: l.size, digest: l.digest })),
      };
      // Docker's schema 2 payload: three-space indent, no final newline.
      const bytes = Buffer.from(JSON.stringify(manifest, null, 3));
      const digest = sha256(bytes);
      await repo.putManifest(tag, MEDIA_TYPES.dockerManifest, bytes);
      emit({ status: `${tag}: digest: ${digest} size: ${bytes.length}` });
      emit({ progressDetail: {}, aux: { Tag: tag, Digest: digest, Size: bytes.length } });
      await store.locked(() => (store.images.has(id) ? store.addRepoDigest(`${familiarRemote(ref)}@${digest}`, id) : Promise.resolve()));
    } finally {
      release();
    }
  }

  async #pushLayer(repo: Repository, ref: RemoteRef, diffId: string, remote: Map<string, Descriptor>, emit: Emit): Promise<void> {
    const id = short(diffId);
    const known = remote.get(diffId);
    if (known) {
      emit(update(id, 'Layer already exists'));
      return;
    }
    const free = await (async () => {
      if (!this.#uploadSlots.available) emit(update(id, 'Waiting'));
      return this.#uploadSlots.acquire();
    })();
    try {
      const desc = await this.#uploadLayer(repo, ref, diffId, emit);
      remote.set(diffId, desc);
    } finally {
      free();
    }
  }

  async #uploadLayer(repo: Repository, ref: RemoteRef, diffId: string, emit: Emit): Promise<Descriptor> {
    const store = this.#o.store;
    const id = short(diffId);
    const full = `${ref.domain}/${ref.path}`;
    const tar = await store.layerTar(diffId);
    const size = tar.size;
    const [maxMounts, maxChecks, checkOther] = size > MIDDLE_LAYER ? [4, 3, true] : size > SMALL_LAYER ? [3, 1, false] : [1, 1, false];
    const records = this.metadata.get(diffId).reverse();
    const components = ref.path.split('/');
    const likeness = (r: BlobRecord) => {
      const p = r.sourceRepository.split('/').slice(1);
      let n = 0;
      while (n < p.length && n < components.length && p[n] === components[n]) n++;
      return n;
    };
    const byLikeness = (recs: BlobRecord[]) => recs.map((r, i) => ({ r, i })).sort((a, b) => likeness(b.r) - likeness(a.r) || a.i - b.i).map((x) => x.r);
    const checked = new Set<string>();
    const exists = async (candidates: BlobRecord[], max: number): Promise<Descriptor | undefined> => {
      const digests: BlobRecord[] = [];
      for (const r of byLikeness(candidates)) {
        if (digests.length >= max) break;
        if (checked.has(r.digest) || digests.some((d) => d.digest === r.digest)) continue;
        digests.push(r);
      }
      for (const r of digests) {
        checked.add(r.digest);
        let found: number | undefined;
        try {
          found = await repo.statBlob(r.digest);
        } catch (err) {
          this.#o.logger.debug('could not check for a blob', { digest: r.digest, error: errorMessage(err) });
          continue;
        }
        if (found === undefined) {
          if (r.sourceRepository === full) await this.metadata.remove(diffId, r);
          continue;
        }
        const mediaType = r.mediaType ?? MEDIA_TYPES.dockerLayerGzip;
        await this.metadata.add(diffId, { digest: r.digest, sourceRepository: full, mediaType });
        emit(update(id, 'Layer already exists'));
        return { mediaType, size: found, digest: r.digest };
      }
      return undefined;
    };
    // First the best-known digest anywhere (it may be in this repository already).
    const first = await exists(records, 1);
    if (first) return first;
    const domain = (r: BlobRecord) => r.sourceRepository.split('/')[0];
    const mounts = byLikeness(records.filter((r) => domain(r) === ref.domain && r.sourceRepository !== full)).slice(0, maxMounts);
    for (const m of mounts) {
      const fromPath = m.sourceRepository.slice(ref.domain.length + 1);
      let mounted = false;
      try {
        mounted = await repo.mountBlob(m.digest, fromPath);
      } catch (err) {
        this.#o.logger.info('could not mount a layer', { digest: m.digest, from: m.sourceRepository, error: errorMessage(err) });
      }
      if (!mounted) {
        await this.metadata.remove(diffId, m);
        continue;
      }
      const mediaType = m.mediaType ?? MEDIA_TYPES.dockerLayerGzip;
      const mountedSize = (await repo.statBlob(m.digest).catch(() => undefined)) ?? 0;
      await this.metadata.add(diffId, { digest: m.digest, sourceRepository: full, mediaType });
      emit(update(id, `Mounted from ${fromPath}`));
      return { mediaType, size: mountedSize, digest: m.digest };
    }
    if (maxChecks - checked.size > 0) {
      const more = await exists(checkOther ? records : records.filter((r) => r.sourceRepository === full), maxChecks - checked.size);
      if (more) return more;
    }
    // Upload: the layer gzipped on the fly, hashed as it goes out.
    const input = tar.open();
    const count = counter((n) => emit(progressLine(id, 'Pushing', n, size)));
    input.on('error', (e) => count.destroy(e));
    const gz = compressLayer(input.pipe(count));
    count.on('error', (e) => gz.destroy(e));
    const h = hasher();
    let sent = 0;
    const out = gz.pipe(h.stream);
    gz.on('error', (e) => out.destroy(e));
    const sizer = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        sent += chunk.length;
        cb(null, chunk);
      },
    });
    out.on('error', (e) => sizer.destroy(e));
    const body = out.pipe(sizer);
    const digest = await repo.pushBlob(body, () => h.digest());
    emit(update(id, 'Pushed'));
    const mediaType = MEDIA_TYPES.dockerLayerGzip;
    await this.metadata.add(diffId, { digest, sourceRepository: full, mediaType });
    return { mediaType, size: sent, digest };
  }
}
