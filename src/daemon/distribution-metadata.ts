import { join } from 'node:path';
import { readJsonIfExists, writeJsonAtomic, type Logger } from '../util/index.js';
import { errorMessage } from '../util/index.js';

/** A registry blob that a local layer was pulled as or pushed to (moby's V2Metadata). */
export interface BlobRecord {
  /** The compressed blob's digest in the registry. */
  digest: string;
  /** `host[:port]/path` of the repository it was seen in: `docker.io/library/busybox`, `127.0.0.1:5000/t/bb`. */
  sourceRepository: string;
  /** The blob's media type there (gzip, zstd, plain), reused in manifests when pushed again. */
  mediaType?: string;
}

// Enough repositories per layer for mounts and existence checks; the oldest go first.
const MAX_RECORDS = 50;

/**
 * Which registry blobs each layer (by diffID) is known as, in <root>/image/distribution.json:
 * push skips or mounts what a registry has already, and pull records what it fetched.
 */
export class DistributionMetadata {
  readonly #path: string;
  readonly #logger: Logger;
  #byDiffId = new Map<string, BlobRecord[]>();
  #saving: Promise<void> = Promise.resolve();

  constructor(imageRoot: string, logger: Logger) {
    this.#path = join(imageRoot, 'distribution.json');
    this.#logger = logger;
  }

  async init(): Promise<void> {
    try {
      const doc = (await readJsonIfExists<Record<string, BlobRecord[]>>(this.#path)) ?? {};
      for (const [diffId, recs] of Object.entries(doc)) if (Array.isArray(recs)) this.#byDiffId.set(diffId, recs.filter((r) => typeof r?.digest === 'string' && typeof r?.sourceRepository === 'string'));
    } catch (err) {
      // A cache: losing it costs uploads, never images.
      this.#logger.warn('ignoring unreadable distribution metadata', { path: this.#path, error: errorMessage(err) });
    }
  }

  /** Oldest first, as recorded. */
  get(diffId: string): BlobRecord[] {
    return [...(this.#byDiffId.get(diffId) ?? [])];
  }

  /** The layer a blob digest was recorded for, if any. */
  diffIdOf(digest: string): string | undefined {
    for (const [diffId, recs] of this.#byDiffId) if (recs.some((r) => r.digest === digest)) return diffId;
    return undefined;
  }

  add(diffId: string, rec: BlobRecord): Promise<void> {
    const recs = (this.#byDiffId.get(diffId) ?? []).filter((r) => !(r.digest === rec.digest && r.sourceRepository === rec.sourceRepository));
    recs.push({ digest: rec.digest, sourceRepository: rec.sourceRepository, ...(rec.mediaType ? { mediaType: rec.mediaType } : {}) });
    this.#byDiffId.set(diffId, recs.slice(-MAX_RECORDS));
    return this.#save();
  }

  remove(diffId: string, rec: BlobRecord): Promise<void> {
    const recs = this.#byDiffId.get(diffId);
    if (!recs) return Promise.resolve();
    const left = recs.filter((r) => !(r.digest === rec.digest && r.sourceRepository === rec.sourceRepository));
    if (left.length === recs.length) return Promise.resolve();
    if (left.length) this.#byDiffId.set(diffId, left);
    else this.#byDiffId.delete(diffId);
    return this.#save();
  }

  #save(): Promise<void> {
    // Writes in order, each of the whole map as it is then.
    const next = this.#saving.then(() => writeJsonAtomic(this.#path, Object.fromEntries(this.#byDiffId)));
    this.#saving = next.catch((err) => this.#logger.warn('could not save distribution metadata', { error: errorMessage(err) }));
    return next;
  }
}
