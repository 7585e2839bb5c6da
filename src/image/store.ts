import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, sha256, writeFileAtomic } from '../util/index.js';

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Blobs by digest (image configs and uncompressed layer tars) in `<dir>/<hex>`. Writers hash
 * what they write, so a blob's name is always the digest of its bytes.
 */
export class ContentStore {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async init(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    // Temp files of writes a crash interrupted.
    for (const name of await readdir(this.#dir)) if (!/^[a-f0-9]{64}$/.test(name)) await rm(join(this.#dir, name), { recursive: true, force: true });
  }

  path(digest: string): string {
    if (!DIGEST.test(digest)) throw new InvalidArgumentError(`invalid digest "${digest}"`);
    return join(this.#dir, digest.slice(7));
  }

  async has(digest: string): Promise<boolean> {
    return stat(this.path(digest)).then(
      () => true,
      () => false,
    );
  }

  /** Stores bytes under their own digest. */
  async put(data: Buffer): Promise<string> {
    const digest = sha256(data);
    if (!(await this.has(digest))) await writeFileAtomic(this.path(digest), data);
    return digest;
  }

  /** Moves a file whose digest the caller computed while writing it into the store. */
  async adopt(tmpPath: string, digest: string): Promise<void> {
    if (await this.has(digest)) await rm(tmpPath, { force: true });
    else await rename(tmpPath, this.path(digest));
  }

  read(digest: string): Promise<Buffer> {
    return readFile(this.path(digest));
  }

  async remove(digest: string): Promise<void> {
    await rm(this.path(digest), { force: true });
  }

  async list(): Promise<string[]> {
    return (await readdir(this.#dir)).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }
}
