import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ContainerConfig, ProgressMessage } from '../types/index.js';
import {
  applyChanges,
  extractArchive,
  goArch,
  hasher,
  isIdPrefix,
  maybeGunzip,
  parseReference,
  readArchiveImages,
  tagged,
  tryParseReference,
  writeArchive,
  type ArchiveImage,
  type ImageConfig,
  type SaveImage,
} from '../image/index.js';
import { EMPTY_LAYER_DIFF_ID } from '../storage/index.js';
import { InvalidArgumentError, LARGE_READ, NotFoundError, sha256 } from '../util/index.js';
import { toInvalid, type ImageStore } from './image-store.js';

/** New images from tars (load, import, commit) and archives of images (save), over the image store. */

/** What a container's root file system was made from (daemon/rootfs.ts keeps it per container). */
export interface ImageBase {
  imageId: string;
  /** Chain IDs of its layers, bottom first. */
  chain: string[];
  diffIds: string[];
  config: ImageConfig;
}

/** A container's changes to become an image. */
export interface CommitImageRequest {
  /** The image the container was created from: its config is the new one's base while it exists. */
  imageId: string;
  /** The container's layers and config as they were at create, for when the image is gone. */
  base: ImageBase;
  /** The container's changes as a layer tar; asked for once the request is known to be valid. */
  layer(): Promise<Readable>;
  config: ContainerConfig;
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  changes?: string[];
  /** The history entry's created_by: the container's command. */
  createdBy: string;
  /** ISO time for `created` and the history entry instead of now (a build's SOURCE_DATE_EPOCH). */
  created?: string;
  /** A comment for the history entry only, leaving the image's own `comment` empty (a build step's). */
  historyComment?: string;
  /** `docker commit`'s container: its ID and config go into the image JSON (a build step has none). */
  container?: { id: string; config: ContainerConfig };
}

/** The base a `FROM scratch` stage commits on: no layers, no config. */
export function scratchBase(): ImageBase {
  return { imageId: '', chain: [], diffIds: [], config: { architecture: goArch(), os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, history: [] } };
}

/**
 * A new image with `base`'s layers and `config` as its whole container config, and one
 * `empty_layer` history entry: a build step that changes only metadata (ENV, CMD, LABEL...).
 */
export async function commitConfigImage(
  store: ImageStore,
  base: ImageBase,
  req: { config: ContainerConfig; createdBy: string; comment?: string; created?: string; author?: string },
): Promise<string> {
  return store.locked(async () => {
    const parentConfig = store.images.get(base.imageId)?.config ?? base.config;
    for (const c of base.chain) if (!store.o.layers.layer(c)) throw new Error(`layer ${c} of the image ${base.imageId} is missing`);
    const now = req.created ?? new Date().toISOString();
    const next: ImageConfig = {
      ...parentConfig,
      created: now,
      config: req.config,
      rootfs: { type: 'layers', diff_ids: base.diffIds },
      history: [
        ...(parentConfig.history ?? []),
        { created: now, created_by: req.createdBy, ...(req.author ? { author: req.author } : {}), ...(req.comment ? { comment: req.comment } : {}), empty_layer: true },
      ],
    };
    delete next.container_config;
    delete next.comment;
    delete next.author;
    if (req.author) next.author = req.author;
    return store.register(Buffer.from(JSON.stringify(next)), base.imageId || undefined);
  });
}

/**
 * A `--cache-from` step, as the classic builder's restoreCachedImage: an image on `base` whose
 * one new layer is `source`'s layer `diffIndex`, with `config` as its container config. Its
 * history line is the source's own entry, verbatim (created time included), so an image
 * restored step by step has the same history as the source, which is what the next step's
 * match and an identical final image rest on. The layer tar is in the content store already
 * (the source holds it); on a base with the source's lower layers its extraction is there too.
 */
export async function restoreLayerImage(
  store: ImageStore,
  base: ImageBase,
  sourceId: string,
  diffIndex: number,
  req: { config: ContainerConfig; createdBy: string; author?: string },
): Promise<string> {
  return store.locked(async () => {
    const source = store.images.get(sourceId)?.config;
    if (!source) throw new NotFoundError(`--cache-from: the image ${sourceId} was removed during the build`);
    const diffId = source.rootfs.diff_ids[diffIndex];
    const history = source.history ?? [];
    // The step's line in the source: the one after the base's, which the builder matched.
    const at = (store.images.get(base.imageId)?.config ?? base.config).history?.length ?? 0;
    const entry = history[at];
    const layersBefore = history.slice(0, at).filter((h) => !h.empty_layer).length;
    if (!diffId || !entry || entry.empty_layer || layersBefore !== diffIndex || entry.created_by !== req.createdBy) {
      throw new InvalidArgumentError(
        `--cache-from: the image ${sourceId} has no layer ${diffIndex} made by "${req.createdBy}" after the ${at} history entries of its base`,
      );
    }
    for (const c of base.chain) if (!store.o.layers.layer(c)) throw new Error(`layer ${c} of the image ${base.imageId} is missing`);
    await store.ensureLayer(base.chain.at(-1), diffId, undefined, `--cache-from ${sourceId}`);
    const parentHistory = (store.images.get(base.imageId)?.config ?? base.config).history ?? [];
    const next: ImageConfig = {
      architecture: source.architecture,
      os: source.os,
      ...(source.variant ? { variant: source.variant } : {}),
      ...(req.author ? { author: req.author } : {}),
      ...(entry.created ? { created: entry.created } : {}),
      config: req.config,
      rootfs: { type: 'layers', diff_ids: [...base.diffIds, diffId] },
      history: [...parentHistory, { ...entry }],
    };
    return store.register(Buffer.from(JSON.stringify(next)), base.imageId || undefined);
  });
}

function tagName(repo: string | undefined, tag: string | undefined): string | undefined {
  if (!repo) return undefined;
  const r = parseReference(repo);
  if (r.digest) throw new InvalidArgumentError('refusing to create a tag with a digest reference');
  return tagged({ repo: r.repo, tag: tag || r.tag });
}

export async function loadArchive(store: ImageStore, input: Readable, onProgress: (m: ProgressMessage) => void): Promise<void> {
  const work = store.tmpPath('load');
  await mkdir(work, { recursive: true });
  try {
    let source: Readable;
    try {
      source = await maybeGunzip(input);
    } catch (err) {
      throw toInvalid('invalid image archive', err);
    }
    await extractArchive(source, work);
    const images = await readArchiveImages(work);
    if (!images.length) throw new InvalidArgumentError('invalid image archive: it holds no images');
    await store.locked(async () => {
      try {
        for (const entry of images) {
          const id = await loadOne(store, work, entry);
          for (const t of entry.repoTags) {
            const old = store.tags.get(t);
            if (old && old !== id) {
              // Docker tells when a load takes a name away from another image.
              onProgress({ stream: `The image ${t} already exists, renaming the old one with ID ${old} to empty string\n` });
            }
            await store.setTag(t, id);
            onProgress({ stream: `Loaded image: ${t}\n` });
          }
          if (!entry.repoTags.length) onProgress({ stream: `Loaded image ID: ${id}\n` });
          store.o.onEvent('load', id, { name: id });
        }
      } finally {
        await store.collect();
      }
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function loadOne(store: ImageStore, work: string, entry: ArchiveImage): Promise<string> {
  const file = (p: string) => join(work, p.replace(/^\/+/, ''));
  const configBytes = await readFile(file(entry.config)).catch(() => {
    throw new InvalidArgumentError(`invalid image archive: config ${entry.config} is missing`);
  });
  // Both archive layouts name the config by its digest; a mismatch means corruption.
  const named = /(?:^|\/)([a-f0-9]{64})(?:\.json)?$/.exec(entry.config)?.[1];
  if (named && sha256(configBytes) !== `sha256:${named}`) {
    throw new InvalidArgumentError(`invalid image archive: config ${entry.config} has digest ${sha256(configBytes)}`);
  }
  let config: ImageConfig;
  try {
    config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
  } catch {
    throw new InvalidArgumentError(`invalid image archive: config ${entry.config} is not JSON`);
  }
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== entry.layers.length) {
    throw new InvalidArgumentError(`invalid image archive: ${entry.layers.length} layers listed but the config has ${diffIds.length}`);
  }
  await store.ensureLayers(
    undefined,
    diffIds.map((diffId, i) => ({
      diffId,
      what: `invalid image archive: ${entry.layers[i]}`,
      open: () => maybeGunzip(createReadStream(file(entry.layers[i]), { highWaterMark: LARGE_READ })),
    })),
  );
  return store.register(configBytes);
}

/** Docker 25+'s archive format (an OCI layout plus manifest.json), which older Dockers load too. */
export function saveArchive(store: ImageStore, refs: string[]): Readable {
  return writeArchive(async () => {
    const chosen = new Map<string, SaveImage>();
    for (const ref of refs) {
      const img = store.mustFind(ref);
      const e = chosen.get(img.id) ?? {
        id: img.id,
        configBytes: await store.content.read(img.id),
        tags: [],
        layers: await Promise.all(img.config.rootfs.diff_ids.map(async (d) => ({ diffId: d, ...(await store.layerTar(d)) }))),
      };
      // Saved by name: that name goes along. Saved by ID: no names, as Docker does.
      const r = isIdPrefix(img.id, ref) ? undefined : tryParseReference(ref);
      if (r && !r.digest && store.tags.get(tagged(r)) === img.id && !e.tags.includes(tagged(r))) e.tags.push(tagged(r));
      chosen.set(img.id, e);
    }
    for (const id of chosen.keys()) store.o.onEvent('save', id, { name: id });
    return [...chosen.values()];
  });
}

/** Hashes a layer tar into the work directory: the file and its diff ID. */
export async function spool(store: ImageStore, tar: Readable): Promise<{ tmp: string; diffId: string }> {
  const tmp = store.tmpPath('layer');
  const h = hasher();
  try {
    await pipeline(tar, h.stream, createWriteStream(tmp, { flags: 'wx', highWaterMark: LARGE_READ }));
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { tmp, diffId: h.digest() };
}

export async function importImage(
  store: ImageStore,
  input: Readable,
  opts: { repo?: string; tag?: string; changes: string[]; message?: string; platform?: string },
): Promise<string> {
  const name = tagName(opts.repo, opts.tag);
  const containerConfig = applyChanges({}, opts.changes);
  const [os, arch, variant] = (opts.platform ?? '').split('/');
  if (os && os !== 'linux') throw new InvalidArgumentError(`unsupported os ${os}`);
  let spooled: { tmp: string; diffId: string };
  try {
    spooled = await spool(store, await maybeGunzip(input));
  } catch (err) {
    throw toInvalid('import: could not read the archive', err);
  }
  const { tmp, diffId } = spooled;
  return store.locked(async () => {
    try {
      await store.content.adopt(tmp, diffId);
      await store.ensureLayer(undefined, diffId, undefined, 'import');
      const now = new Date().toISOString();
      const msg = opts.message || 'Imported from -';
      const config: ImageConfig = {
        architecture: arch || goArch(),
        ...(variant ? { variant } : {}),
        os: 'linux',
        created: now,
        comment: msg,
        config: containerConfig,
        rootfs: { type: 'layers', diff_ids: [diffId] },
        history: [{ created: now, comment: msg }],
      };
      const id = await store.register(Buffer.from(JSON.stringify(config)));
      if (name) {
        await store.setTag(name, id);
        store.o.onEvent('tag', id, { name });
      }
      store.o.onEvent('import', id, { name: id });
      return id;
    } finally {
      await rm(tmp, { force: true });
      await store.collect();
    }
  });
}

/**
 * A container's changes as a new image on its base. The layer is made under the store's lock,
 * so no collection can take it away before the image that holds it is registered. A container
 * that changed nothing commits no layer: Docker leaves an empty layer out of the image.
 */
export async function commitImage(store: ImageStore, req: CommitImageRequest): Promise<string> {
  const name = tagName(req.repo, req.tag);
  const config = applyChanges(req.config, req.changes ?? []);
  const base = req.base;
  const parentConfig = store.images.get(req.imageId)?.config ?? base.config;
  const { tmp, diffId } = await spool(store, await req.layer());
  return store.locked(async () => {
    try {
      for (const c of base.chain) if (!store.o.layers.layer(c)) throw new Error(`layer ${c} of the container's image is missing`);
      const empty = diffId === EMPTY_LAYER_DIFF_ID;
      if (!empty) {
        await store.content.adopt(tmp, diffId);
        await store.ensureLayer(base.chain.at(-1), diffId, undefined, 'commit');
      }
      const now = req.created ?? new Date().toISOString();
      const historyComment = req.historyComment ?? req.comment;
      const entry = {
        created: now,
        created_by: req.createdBy,
        ...(req.author ? { author: req.author } : {}),
        ...(historyComment ? { comment: historyComment } : {}),
        ...(empty ? { empty_layer: true } : {}),
      };
      const next: ImageConfig = {
        ...parentConfig,
        created: now,
        author: req.author ?? '',
        comment: req.comment ?? '',
        config,
        container_config: undefined,
        rootfs: { type: 'layers', diff_ids: empty ? base.diffIds : [...base.diffIds, diffId] },
        history: [...(parentConfig.history ?? []), entry],
      };
      if (!next.author) delete next.author;
      if (!next.comment) delete next.comment;
      delete next.container;
      delete next.container_config;
      if (req.container) Object.assign(next, { container: req.container.id, container_config: req.container.config });
      const id = await store.register(Buffer.from(JSON.stringify(next)), base.imageId || undefined);
      if (name) {
        await store.setTag(name, id);
        store.o.onEvent('tag', id, { name });
      }
      return id;
    } finally {
      await rm(tmp, { force: true });
      await store.collect();
    }
  });
}
