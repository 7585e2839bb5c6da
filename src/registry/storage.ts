import type { Readable } from 'node:stream';
import type { Descriptor } from '../image/index.js';
import type { Digest } from '../util/index.js';

/**
 * What the registry keeps, and the only way the server and the garbage collector reach it, so
 * that another backend (an object store shared by several stateless servers) replaces one file.
 *
 * Vocabulary: a *blob* is content stored once by digest for every repository; a repository sees
 * a blob only through a *link* (its own upload, a cross-repository mount, or a manifest that was
 * pushed to it). A *revision* is a manifest linked into a repository with its media type; a *tag*
 * names one revision. An *upload* is a session that appends bytes until it is committed under the
 * digest its content hashes to, or cancelled. Nothing a reader can see is ever partial: a blob
 * appears only once its digest has been verified.
 *
 * Every piece of state lives in the backend, never only in one server's memory, so a second
 * server on the same store answers the same (an upload started on one may continue on another).
 */
export interface RegistryStorage {
  statBlob(digest: Digest): Promise<{ size: number; mtimeMs: number } | undefined>;
  /** An open blob: its size at open time, and streams of byte ranges of it (inclusive `end`). */
  openBlob(digest: Digest): Promise<OpenBlob | undefined>;
  /** Small blobs only (manifests): read whole. */
  readBlob(digest: Digest): Promise<Buffer | undefined>;
  /** Stores small content (a manifest) under its digest; returns the digest. */
  putBlob(data: Buffer): Promise<Digest>;
  /** Marks a blob as just used, so a garbage collection running now keeps it. */
  touchBlob(digest: Digest): Promise<void>;
  deleteBlob(digest: Digest): Promise<void>;
  listBlobs(): AsyncIterable<{ digest: Digest; mtimeMs: number }>;

  linkBlob(repo: string, digest: Digest): Promise<void>;
  isLinked(repo: string, digest: Digest): Promise<boolean>;
  unlinkBlob(repo: string, digest: Digest): Promise<boolean>;
  listLinks(repo: string): Promise<Digest[]>;

  startUpload(repo: string): Promise<UploadInfo>;
  getUpload(id: string): Promise<UploadInfo | undefined>;
  /**
   * Appends what `data` yields. All or nothing: when `data` fails (the client went away) or
   * `check` throws on the count written, the upload is cut back to where it was.
   */
  appendUpload(id: string, data: AsyncIterable<Buffer> | Readable, check?: (written: number) => void): Promise<UploadInfo>;
  /** Verifies the content against `digest` and makes it a blob; throws DIGEST_INVALID (the upload is then removed). */
  commitUpload(id: string, digest: Digest): Promise<{ size: number }>;
  cancelUpload(id: string): Promise<boolean>;
  listUploads(): AsyncIterable<UploadInfo & { mtimeMs: number }>;

  putRevision(repo: string, rev: Revision): Promise<void>;
  getRevision(repo: string, digest: Digest): Promise<Revision | undefined>;
  deleteRevision(repo: string, digest: Digest): Promise<boolean>;
  listRevisions(repo: string): Promise<Revision[]>;
  resolveTag(repo: string, tag: string): Promise<Digest | undefined>;
  setTag(repo: string, tag: string, digest: Digest): Promise<void>;
  deleteTag(repo: string, tag: string): Promise<boolean>;
  /** `undefined` when the repository does not exist. */
  listTags(repo: string): Promise<string[] | undefined>;
  addReferrer(repo: string, subject: Digest, desc: Descriptor): Promise<void>;
  removeReferrer(repo: string, subject: Digest, digest: Digest): Promise<void>;
  listReferrers(repo: string, subject: Digest): Promise<Descriptor[]>;
  /** Every repository with at least one revision or link, sorted. */
  listRepositories(): Promise<string[]>;
}

export interface OpenBlob {
  size: number;
  stream(start?: number, end?: number): Readable;
  close(): Promise<void>;
}

export interface UploadInfo {
  id: string;
  repo: string;
  /** Bytes received so far. */
  size: number;
  startedAt: string;
}

export interface Revision {
  digest: Digest;
  mediaType: string;
  size: number;
}
