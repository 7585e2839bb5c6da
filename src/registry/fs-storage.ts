import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, truncate, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '../image/index.js';
import { digestHex, isErrno, writeFileAtomic, type Digest } from '../util/index.js';
import { RegistryError } from './errors.js';
import { isRegistryDigest, isRepoName } from './names.js';
import type { OpenBlob, RegistryStorage, Revision, UploadInfo } from './storage.js';

/**
 * RegistryStorage on a local file system:
 *
 *   blobs/sha256/<hex>                                 content, shared by every repository
 *   uploads/<id>/{info.json,data}                      upload sessions
 *   repositories/<name>/_layers/<hex>                  links of blobs into the repository
 *   repositories/<name>/_manifests/revisions/<hex>     {digest, mediaType, size}
 *   repositories/<name>/_manifests/tags/<tag>          the digest the tag names
 *   repositories/<name>/_referrers/<subject hex>/<hex> the descriptor of a manifest with that subject
 *
 * Every document is written atomically (temp, fsync, rename) and blobs arrive by rename after
 * their digest was checked, so any number of servers may share the directory. Repository names
 * and tags are checked against their grammar before they become paths, which rules out `..`.
 */
export class FsRegistryStorage implements RegistryStorage {
  readonly #root: string;
  /**
   * Running hashes of uploads this process appended to, so a commit need not read the data
   * again. Only a cache: it counts for a commit only when its byte count equals the file's size.
   */
  readonly #hashes = new Map<string, { hash: Hash; size: number }>();
  readonly #locks = new Map<string, Promise<unknown>>();

  readonly #onBytes: ((n: number) => void) | undefined;

  /** `onBytes` hears of every chunk received or served: the entry uses it to keep memory flat under load. */
  constructor(root: string, opts: { onBytes?: (n: number) => void } = {}) {
    this.#root = root;
    this.#onBytes = opts.onBytes;
  }

  async init(): Promise<void> {
    for (const d of ['blobs/sha256', 'uploads', 'repositories']) await mkdir(join(this.#root, d), { recursive: true });
  }

  #blob(digest: Digest): string {
    return join(this.#root, 'blobs/sha256', digestHex(digest));
  }
  #repo(repo: string, ...parts: string[]): string {
    if (!isRepoName(repo)) throw new RegistryError('NAME_INVALID', { name: repo });
    return join(this.#root, 'repositories', repo, ...parts);
  }
  #upload(id: string, ...parts: string[]): string {
    if (!/^[a-f0-9-]{36}$/.test(id)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', { uuid: id });
    return join(this.#root, 'uploads', id, ...parts);
  }

  /** One operation at a time per key in this process (two PATCHes racing on one upload). */
  async #locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.#locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    }
  }

  async statBlob(digest: Digest): Promise<{ size: number; mtimeMs: number } | undefined> {
    try {
      const st = await stat(this.#blob(digest));
      return { size: st.size, mtimeMs: st.mtimeMs };
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  async openBlob(digest: Digest): Promise<OpenBlob | undefined> {
    let fh: FileHandle;
    try {
      fh = await open(this.#blob(digest), 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
    const { size } = await fh.stat();
    let closed = false;
    const close = async () => {
      if (!closed) {
        closed = true;
        await fh.close();
      }
    };
    return {
      size,
      // The handle stays open for the stream: a blob removed by gc meanwhile is still read whole.
      stream: (start = 0, end = size - 1) => {
        closed = true;
        const file = fh.createReadStream({ start, end, highWaterMark: 64 * 1024, autoClose: true });
        const onBytes = this.#onBytes;
        if (!onBytes) return file;
        const counted = new Transform({
          highWaterMark: 64 * 1024,
          transform(chunk: Buffer, _enc, cb) {
            onBytes(chunk.length);
            cb(null, chunk);
          },
        });
        file.on('error', (err) => counted.destroy(err));
        counted.on('close', () => file.destroy());
        return file.pipe(counted);
      },
      close,
    };
  }

  async readBlob(digest: Digest): Promise<Buffer | undefined> {
    try {
      return await readFile(this.#blob(digest));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  async putBlob(data: Buffer): Promise<Digest> {
    const digest: Digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    if (await this.statBlob(digest)) await this.touchBlob(digest);
    else await writeFileAtomic(this.#blob(digest), data, 0o444);
    return digest;
  }

  async touchBlob(digest: Digest): Promise<void> {
    const now = new Date();
    try {
      await utimes(this.#blob(digest), now, now);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
  }

  async deleteBlob(digest: Digest): Promise<void> {
    await rm(this.#blob(digest), { force: true });
  }

  async *listBlobs(): AsyncIterable<{ digest: Digest; mtimeMs: number }> {
    const dir = join(this.#root, 'blobs/sha256');
    for (const name of await readdirIfExists(dir)) {
      const digest = `sha256:${name}`;
      if (!isRegistryDigest(digest)) continue;
      const st = await this.statBlob(digest);
      if (st) yield { digest, mtimeMs: st.mtimeMs };
    }
  }

  async linkBlob(repo: string, digest: Digest): Promise<void> {
    const path = this.#repo(repo, '_layers', digestHex(digest));
    await writeFileAtomic(path, digest, 0o644);
  }

  async isLinked(repo: string, digest: Digest): Promise<boolean> {
    return (await exists(this.#repo(repo, '_layers', digestHex(digest)))) && (await exists(this.#blob(digest)));
  }

  async unlinkBlob(repo: string, digest: Digest): Promise<boolean> {
    return removeFile(this.#repo(repo, '_layers', digestHex(digest)));
  }

  async listLinks(repo: string): Promise<Digest[]> {
    return (await readdirIfExists(this.#repo(repo, '_layers'))).map((h) => `sha256:${h}`).filter(isRegistryDigest);
  }

  async startUpload(repo: string): Promise<UploadInfo> {
    if (!isRepoName(repo)) throw new RegistryError('NAME_INVALID', { name: repo });
    const info: UploadInfo = { id: randomUUID(), repo, size: 0, startedAt: new Date().toISOString() };
    await mkdir(this.#upload(info.id), { recursive: true });
    await (await open(this.#upload(info.id, 'data'), 'w')).close();
    await writeFileAtomic(this.#upload(info.id, 'info.json'), JSON.stringify({ repo, startedAt: info.startedAt }), 0o644, { durable: false });
    this.#hashes.set(info.id, { hash: createHash('sha256'), size: 0 });
    return info;
  }

  async getUpload(id: string): Promise<UploadInfo | undefined> {
    let meta: { repo: string; startedAt: string };
    try {
      meta = JSON.parse(await readFile(this.#upload(id, 'info.json'), 'utf8')) as { repo: string; startedAt: string };
      const st = await stat(this.#upload(id, 'data'));
      return { id, repo: meta.repo, startedAt: meta.startedAt, size: st.size };
    } catch (err) {
      if (isErrno(err, 'ENOENT') || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  appendUpload(id: string, data: AsyncIterable<Buffer> | Readable, check?: (written: number) => void): Promise<UploadInfo> {
    return this.#locked(id, async () => {
      const info = await this.getUpload(id);
      if (!info) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', { uuid: id });
      const start = info.size;
      let cached = this.#hashes.get(id);
      if (cached && cached.size !== start) cached = undefined;
      const hash = cached?.hash;
      let written = 0;
      const onBytes = this.#onBytes;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          written += chunk.length;
          onBytes?.(chunk.length);
          hash?.update(chunk);
          cb(null, chunk);
        },
      });
      const path = this.#upload(id, 'data');
      try {
        await pipeline(data, counter, createWriteStream(path, { flags: 'r+', start, highWaterMark: 1024 * 1024 }));
        check?.(written);
      } catch (err) {
        this.#hashes.delete(id);
        await truncate(path, start).catch(() => {});
        throw err;
      }
      if (hash) this.#hashes.set(id, { hash, size: start + written });
      return { ...info, size: start + written };
    });
  }

  commitUpload(id: string, digest: Digest): Promise<{ size: number }> {
    return this.#locked(id, async () => {
      const info = await this.getUpload(id);
      if (!info) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', { uuid: id });
      const dataPath = this.#upload(id, 'data');
      const cached = this.#hashes.get(id);
      const actual = cached && cached.size === info.size ? `sha256:${cached.hash.copy().digest('hex')}` : await hashFile(dataPath);
      if (actual !== digest) {
        await this.#removeUpload(id);
        throw new RegistryError('DIGEST_INVALID', { digest, actual });
      }
      if (await this.statBlob(digest)) {
        await this.touchBlob(digest);
      } else {
        const fh = await open(dataPath, 'r');
        try {
          await fh.sync();
          await fh.chmod(0o444);
        } finally {
          await fh.close();
        }
        // The rename gives the blob the time of its last write; a collection that marked before
        // this commit must still see it as new.
        const now = new Date();
        await utimes(dataPath, now, now);
        await rename(dataPath, this.#blob(digest));
      }
      await this.#removeUpload(id);
      return { size: info.size };
    });
  }

  async #removeUpload(id: string): Promise<void> {
    this.#hashes.delete(id);
    await rm(this.#upload(id), { recursive: true, force: true });
  }

  async cancelUpload(id: string): Promise<boolean> {
    return this.#locked(id, async () => {
      if (!(await this.getUpload(id))) return false;
      await this.#removeUpload(id);
      return true;
    });
  }

  async *listUploads(): AsyncIterable<UploadInfo & { mtimeMs: number }> {
    for (const id of await readdirIfExists(join(this.#root, 'uploads'))) {
      if (!/^[a-f0-9-]{36}$/.test(id)) continue;
      const info = await this.getUpload(id);
      if (!info) continue;
      const st = await stat(this.#upload(id, 'data')).catch(() => undefined);
      if (st) yield { ...info, mtimeMs: st.mtimeMs };
    }
  }

  async putRevision(repo: string, rev: Revision): Promise<void> {
    await writeFileAtomic(this.#repo(repo, '_manifests/revisions', digestHex(rev.digest)), JSON.stringify(rev));
  }

  async getRevision(repo: string, digest: Digest): Promise<Revision | undefined> {
    try {
      const rev = JSON.parse(await readFile(this.#repo(repo, '_manifests/revisions', digestHex(digest)), 'utf8')) as Revision;
      return (await exists(this.#blob(digest))) ? rev : undefined;
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
      throw err;
    }
  }

  async deleteRevision(repo: string, digest: Digest): Promise<boolean> {
    return removeFile(this.#repo(repo, '_manifests/revisions', digestHex(digest)));
  }

  async listRevisions(repo: string): Promise<Revision[]> {
    const out: Revision[] = [];
    for (const hex of await readdirIfExists(this.#repo(repo, '_manifests/revisions'))) {
      const digest = `sha256:${hex}`;
      if (!isRegistryDigest(digest)) continue;
      const rev = await this.getRevision(repo, digest);
      if (rev) out.push(rev);
    }
    return out;
  }

  async resolveTag(repo: string, tag: string): Promise<Digest | undefined> {
    try {
      const d = (await readFile(this.#repo(repo, '_manifests/tags', tag), 'utf8')).trim();
      return isRegistryDigest(d) ? d : undefined;
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
      throw err;
    }
  }

  async setTag(repo: string, tag: string, digest: Digest): Promise<void> {
    await writeFileAtomic(this.#repo(repo, '_manifests/tags', tag), digest);
  }

  async deleteTag(repo: string, tag: string): Promise<boolean> {
    return removeFile(this.#repo(repo, '_manifests/tags', tag));
  }

  async listTags(repo: string): Promise<string[] | undefined> {
    if (!(await exists(this.#repo(repo, '_manifests'))) && !(await exists(this.#repo(repo, '_layers')))) return undefined;
    return (await readdirIfExists(this.#repo(repo, '_manifests/tags'))).filter((t) => !t.startsWith('.')).sort();
  }

  async addReferrer(repo: string, subject: Digest, desc: Descriptor): Promise<void> {
    await writeFileAtomic(this.#repo(repo, '_referrers', digestHex(subject), digestHex(desc.digest as Digest)), JSON.stringify(desc));
  }

  async removeReferrer(repo: string, subject: Digest, digest: Digest): Promise<void> {
    await removeFile(this.#repo(repo, '_referrers', digestHex(subject), digestHex(digest)));
  }

  async listReferrers(repo: string, subject: Digest): Promise<Descriptor[]> {
    const dir = this.#repo(repo, '_referrers', digestHex(subject));
    const out: Descriptor[] = [];
    for (const hex of await readdirIfExists(dir)) {
      if (hex.startsWith('.')) continue;
      try {
        const desc = JSON.parse(await readFile(join(dir, hex), 'utf8')) as Descriptor;
        // A referrer whose manifest was deleted by another path (gc) is gone too.
        if (await this.getRevision(repo, desc.digest as Digest)) out.push(desc);
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
    return out.sort((a, b) => (a.digest < b.digest ? -1 : 1));
  }

  async listRepositories(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      if (entries.some((e) => e.isDirectory() && (e.name === '_manifests' || e.name === '_layers'))) out.push(prefix);
      for (const e of entries) {
        if (e.isDirectory() && !e.name.startsWith('_') && !e.name.startsWith('.')) await walk(join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name);
      }
    };
    await walk(join(this.#root, 'repositories'), '');
    return out.filter((n) => n !== '').sort();
  }
}

async function hashFile(path: string): Promise<Digest> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: 1024 * 1024 }), async function (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) h.update(chunk);
  });
  return `sha256:${h.digest('hex')}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return false;
    throw err;
  }
}

async function removeFile(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return false;
    throw err;
  }
}

async function readdirIfExists(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return [];
    throw err;
  }
}
