/**
 * What the builder needs of the engine, declared here and implemented by daemon/ (the
 * BuildHost port of DESIGN.md). Steps run through it as real containers with run's isolation,
 * and every step's result is an ordinary image, as with Docker's classic builder, so the cache
 * is images: a daemon restart keeps it, `rmi` of the final image frees it.
 */
import type { ContainerConfig } from '../types/index.js';
import type { ImageConfig } from '../image/index.js';
import type { IdMapping } from '../util/index.js';

/** A local image as the builder sees it. */
export interface BuildImage {
  /** `sha256:<hex>`. */
  id: string;
  config: ImageConfig;
}

/** What a commit records: the new image's container config and its history line. */
export interface CommitRequest {
  /** The image's `config` as a whole (the builder merges the base's and the step's). */
  config: ContainerConfig;
  /** The history entry's `created_by`, as Docker's classic builder writes it (`/bin/sh -c #(nop)  CMD ["sh"]`). */
  createdBy: string;
  /** A history comment (`buildkit.dockerfile.v0` or none). */
  comment?: string;
  /** ISO time for `created` and the history entry; set from SOURCE_DATE_EPOCH for reproducible images. */
  created?: string;
  /**
   * SOURCE_DATE_EPOCH in Unix seconds: the step's layer is written with no mtime later than
   * it, as BuildKit does, so the layer is reproducible and a container's files show that time.
   */
  sourceDateEpoch?: number;
  /** The image's `author` (MAINTAINER in the stage), also the history entry's author; absent: none. */
  author?: string;
}

/** A mount a RUN step gets, already resolved to host paths by the builder. */
export type StepMount =
  | { type: 'bind'; source: string; target: string; readonly: boolean }
  | { type: 'tmpfs'; target: string; sizeBytes?: number; mode?: number };

/** One RUN process. */
export interface RunProcess {
  /** The full argv: the shell form is already `[...SHELL, text]`. */
  args: string[];
  /** The stage's ENV plus the build args in scope, `K=V`. */
  env: string[];
  user: string;
  workdir: string;
  /** `default` (the build's network: the request's networkmode, else the default bridge), `none`, `host`, or a network name. */
  network: string;
  /** `host:ip` entries for /etc/hosts (`--add-host`). */
  extraHosts: string[];
  mounts: StepMount[];
}

/**
 * A step's writable file system over a base image: one container, as the classic builder makes.
 * A step uses either `root` (COPY, ADD, WORKDIR write files) or `run` (one RUN process), never
 * both, then `commit` at most once and always `release`.
 */
export interface Workspace {
  /** The container's ID (`Running in <first 12>`, `Removing intermediate container <first 12>`). */
  readonly id: string;
  /**
   * The root file system, mounted read-write on the host, for COPY and ADD to write into.
   * Resolve every path in it with the copy module's safe joins: its symlinks are the image's.
   */
  root(): Promise<string>;
  /** The ranges of a remapped root (userns-remap): root()'s files are owned by their host IDs. */
  readonly idmap?: IdMapping;
  /**
   * Runs one process in this file system as a container with run's isolation (namespaces,
   * seccomp, capabilities, cgroup); its stdout and stderr go to `output` as they come.
   * Resolves to the exit status. Aborting `signal` kills it and rejects with the abort reason.
   */
  run(proc: RunProcess, output: (chunk: Buffer) => void, signal: AbortSignal): Promise<number>;
  /** The changes so far as a new image on the base; an unchanged file system adds no layer (`empty_layer`). */
  commit(req: CommitRequest): Promise<BuildImage>;
  /** Removes the container and its file system; idempotent, also after a failure. */
  release(): Promise<void>;
}

/** The step cache: a key the builder computes, to the image that step made. */
export interface BuildCache {
  /** The image, while it still exists. */
  get(key: string): Promise<BuildImage | undefined>;
  put(key: string, imageId: string): Promise<void>;
}

/** A read-only host directory with an image's files, until released. */
export interface ImageView {
  path: string;
  release(): Promise<void>;
}

export interface BuildHost {
  /**
   * The image `ref` for a FROM or a `--from`: the local one unless `pull` is set; one that is
   * not here is pulled (or made, for `debian:<suite>`), with progress lines on `progress`.
   * Throws NotFoundError naming the reference when it cannot be had.
   */
  image(ref: string, opts: { pull: boolean; platform?: string; progress: (line: string) => void }): Promise<BuildImage>;
  /** An image by ID, or undefined when gone (for the cache and --cache-from). */
  imageById(id: string): BuildImage | undefined;
  /** A step's workspace over `base`; undefined is `FROM scratch`. */
  workspace(base: BuildImage | undefined): Promise<Workspace>;
  /** A step that changes only metadata (ENV, CMD, LABEL...): a new image with the base's layers. */
  commitConfig(base: BuildImage | undefined, req: CommitRequest): Promise<BuildImage>;
  /** Read-only files of an image, for `COPY --from` and `RUN --mount=from=`. */
  view(image: BuildImage): Promise<ImageView>;
  /** The persistent directory behind `RUN --mount=type=cache,id=<id>`, made on first use. */
  cacheDir(id: string): Promise<string>;
  /**
   * Optional, for `--cache-from` (the classic builder's restoreCachedImage): a new image on
   * `base` whose one new layer is `source`'s layer `diffIndex` (an index into its
   * rootfs.diff_ids), with `req`'s config and history line. Without it, only steps that add no
   * layer, or a whole image, can be taken from a cache-from image.
   */
  restoreLayer?(source: BuildImage, diffIndex: number, base: BuildImage | undefined, req: CommitRequest): Promise<BuildImage>;
  /** Tags the final image (`-t`), as `tag` does. */
  tag(imageId: string, repoTag: string): Promise<void>;
  cache: BuildCache;
}
