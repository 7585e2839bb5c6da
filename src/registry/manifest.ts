import { MEDIA_TYPES, type Descriptor } from '../image/index.js';
import type { Digest } from '../util/index.js';
import { RegistryError } from './errors.js';
import { isRegistryDigest } from './names.js';

/** distribution's limit on a manifest PUT body. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const IMAGE_TYPES = new Set<string>([MEDIA_TYPES.manifest, MEDIA_TYPES.dockerManifest]);
const INDEX_TYPES = new Set<string>([MEDIA_TYPES.index, MEDIA_TYPES.dockerList]);

/** What a pushed manifest refers to, once it has been checked. */
export interface ParsedManifest {
  mediaType: string;
  /** Blobs that must be in the repository: config and layers (foreign layers with URLs excepted). */
  blobs: Descriptor[];
  /** Manifests that must be in the repository: the entries of an index. */
  manifests: Descriptor[];
  subject?: Descriptor;
  /** What the referrers API lists for it. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

const invalid = (detail: string) => new RegistryError('MANIFEST_INVALID', detail);

function descriptor(v: unknown, where: string): Descriptor {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${where}: not a descriptor object`);
  const d = v as Record<string, unknown>;
  if (typeof d.mediaType !== 'string' || d.mediaType === '') throw invalid(`${where}: mediaType is missing`);
  if (typeof d.digest !== 'string' || !isRegistryDigest(d.digest)) throw invalid(`${where}: invalid digest "${String(d.digest)}"`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw invalid(`${where}: invalid size`);
  return d as unknown as Descriptor;
}

/**
 * Checks a manifest body as distribution does before storing it: JSON, schema version 2, a
 * media type the registry serves (the body's own `mediaType`, else the request's Content-Type,
 * and the two agree when both are given), and well-formed descriptors.
 */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw invalid(`malformed JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid('a manifest is a JSON object');
  const m = doc as Record<string, unknown>;
  const ct = contentType?.split(';')[0]!.trim();
  const declared = typeof m.mediaType === 'string' ? m.mediaType : undefined;
  if (m.schemaVersion === 1 || ct === MEDIA_TYPES.dockerSchema1 || ct === MEDIA_TYPES.dockerSchema1Signed) throw invalid('schema 1 manifests are not supported');
  if (m.schemaVersion !== 2) throw invalid(`unsupported schemaVersion ${JSON.stringify(m.schemaVersion)}`);
  const generic = ct === undefined || ct === '' || ct === 'application/json' || ct === 'application/octet-stream';
  if (declared !== undefined && !generic && declared !== ct) throw invalid(`mediaType in manifest "${declared}" does not match Content-Type "${ct}"`);
  let mediaType = declared ?? (generic ? undefined : ct);
  if (mediaType === undefined) mediaType = Array.isArray(m.manifests) ? MEDIA_TYPES.index : MEDIA_TYPES.manifest;
  const out: ParsedManifest = { mediaType, blobs: [], manifests: [] };
  if (m.subject !== undefined) out.subject = descriptor(m.subject, 'subject');
  if (typeof m.annotations === 'object' && m.annotations !== null) out.annotations = m.annotations as Record<string, string>;
  if (IMAGE_TYPES.has(mediaType)) {
    const config = descriptor(m.config, 'config');
    if (!Array.isArray(m.layers)) throw invalid('layers: not an array');
    const layers = m.layers.map((l, i) => descriptor(l, `layers[${i}]`));
    out.blobs = [config, ...layers.filter((l) => !(l.urls && l.urls.length > 0))];
    out.artifactType = typeof m.artifactType === 'string' ? m.artifactType : config.mediaType;
  } else if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(m.manifests)) throw invalid('manifests: not an array');
    out.manifests = m.manifests.map((d, i) => descriptor(d, `manifests[${i}]`));
    if (typeof m.artifactType === 'string') out.artifactType = m.artifactType;
  } else {
    throw invalid(`unsupported manifest media type "${mediaType}"`);
  }
  return out;
}

/** Every digest a stored manifest keeps alive, for the garbage collector. */
export function referencedDigests(body: Buffer): { blobs: Digest[]; manifests: Digest[] } {
  try {
    const p = parseManifest(body, undefined);
    return { blobs: p.blobs.map((d) => d.digest as Digest), manifests: p.manifests.map((d) => d.digest as Digest) };
  } catch {
    return { blobs: [], manifests: [] };
  }
}

/** The subject digest of a stored manifest, if it names one. */
export function subjectOf(body: Buffer): Digest | undefined {
  try {
    const d = (JSON.parse(body.toString('utf8')) as { subject?: { digest?: unknown } }).subject?.digest;
    return typeof d === 'string' && isRegistryDigest(d) ? d : undefined;
  } catch {
    return undefined;
  }
}
