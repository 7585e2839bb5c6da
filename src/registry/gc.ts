import type { Digest } from '../util/index.js';
import { referencedDigests, subjectOf } from './manifest.js';
import type { RegistryStorage, Revision } from './storage.js';

export interface GcOptions {
  /** Also remove manifests that no tag reaches (directly, through an index, or as a referrer of a kept one). */
  deleteUntagged?: boolean;
  /** Report what would go, remove nothing. */
  dryRun?: boolean;
  /**
   * Content newer than this (relative to the start of the mark) is kept whatever refers to it:
   * a push writes its blobs before the manifest that refers to them, so a blob with no manifest
   * yet may be one a push in flight still needs.
   */
  graceMs?: number;
  /** Upload sessions untouched for this long are abandoned and removed. */
  uploadMaxAgeMs?: number;
  log?: (line: string) => void;
}

export interface GcResult {
  markedBlobs: number;
  deletedBlobs: Digest[];
  deletedManifests: { repo: string; digest: Digest }[];
  removedUploads: number;
}

/**
 * Mark and sweep over the whole store, safe while servers keep serving it: nothing newer than
 * the mark's start minus the grace period is removed, and a manifest PUT touches every blob it
 * refers to, so a blob that becomes referenced after the mark looked at its repository is new
 * again by the time the sweep reaches it.
 */
export async function collectGarbage(s: RegistryStorage, opts: GcOptions = {}): Promise<GcResult> {
  const start = Date.now();
  const cutoff = start - (opts.graceMs ?? 3600_000);
  const log = opts.log ?? (() => {});
  const marked = new Set<Digest>();
  const result: GcResult = { markedBlobs: 0, deletedBlobs: [], deletedManifests: [], removedUploads: 0 };
  const bodies = new Map<Digest, Buffer | undefined>();
  const body = async (d: Digest) => {
    if (!bodies.has(d)) bodies.set(d, await s.readBlob(d));
    return bodies.get(d);
  };

  for (const repo of await s.listRepositories()) {
    const revisions = await s.listRevisions(repo);
    let keep: Revision[] = revisions;
    if (opts.deleteUntagged) {
      const byDigest = new Map(revisions.map((r) => [r.digest, r]));
      const kept = new Set<Digest>();
      const visit = async (d: Digest): Promise<void> => {
        if (kept.has(d) || !byDigest.has(d)) return;
        kept.add(d);
        const b = await body(d);
        if (b) for (const child of referencedDigests(b).manifests) await visit(child);
      };
      for (const tag of (await s.listTags(repo)) ?? []) {
        const d = await s.resolveTag(repo, tag);
        if (d) await visit(d);
      }
      // Signatures, SBOMs and other referrers live as long as their subject.
      for (let changed = true; changed; ) {
        changed = false;
        for (const r of revisions) {
          if (kept.has(r.digest)) continue;
          const b = await body(r.digest);
          const subject = b ? subjectOf(b) : undefined;
          if (subject && kept.has(subject)) {
            await visit(r.digest);
            changed = true;
          }
        }
      }
      keep = [];
      for (const r of revisions) {
        const st = await s.statBlob(r.digest);
        if (kept.has(r.digest) || (st && st.mtimeMs >= cutoff)) {
          keep.push(r);
          continue;
        }
        log(`${repo}: manifest eligible for deletion: ${r.digest}`);
        result.deletedManifests.push({ repo, digest: r.digest });
        if (opts.dryRun) continue;
        const b = await body(r.digest);
        const subject = b ? subjectOf(b) : undefined;
        if (subject) await s.removeReferrer(repo, subject, r.digest);
        await s.deleteRevision(repo, r.digest);
      }
    }
    for (const r of keep) {
      marked.add(r.digest);
      const b = await body(r.digest);
      if (b) for (const d of referencedDigests(b).blobs) marked.add(d);
    }
  }
  result.markedBlobs = marked.size;

  for await (const blob of s.listBlobs()) {
    if (marked.has(blob.digest) || blob.mtimeMs >= cutoff) continue;
    log(`blob eligible for deletion: ${blob.digest}`);
    result.deletedBlobs.push(blob.digest);
    if (!opts.dryRun) await s.deleteBlob(blob.digest);
  }

  const uploadCutoff = start - (opts.uploadMaxAgeMs ?? 24 * 3600_000);
  for await (const up of s.listUploads()) {
    if (up.mtimeMs >= uploadCutoff) continue;
    log(`upload abandoned: ${up.id} (${up.repo}, ${up.size} bytes)`);
    result.removedUploads++;
    if (!opts.dryRun) await s.cancelUpload(up.id);
  }
  return result;
}
