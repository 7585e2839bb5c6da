import type { Readable } from 'node:stream';
import type { Mount } from '../util/index.js';

export interface SnapshotMountOptions {
  /**
   * The snapshot is thrown away rather than kept across a crash (`run --rm`, a build step): its
   * overlay skips every sync (overlayfs `volatile`, as Podman mounts `--rm` containers and
   * Buildah its build containers). Unmounting an overlay otherwise syncs the whole host file
   * system under it, so a container's exit waited for everything it wrote to reach the disk,
   * a backup's 1 GiB tar into a bind mount included. fsync inside such a container returns at
   * once too; volumes and binds are not overlays and keep theirs.
   */
  volatile?: boolean;
}

/**
 * A committed layer: read-only, shared by every image and container that stands on it.
 * Named by its chain ID, so the same diff on the same parent is extracted once.
 */
export interface LayerInfo {
  /** `sha256:...`: the diff ID for a bottom layer, else sha256 of "<parent chain ID> <diff ID>" (OCI). */
  chainId: string;
  /** The digest of the layer's uncompressed tar. */
  diffId: string;
  /** The chain ID of the layer below; none for a bottom layer. */
  parent?: string;
  /** Bytes of file content and symlink targets, Docker's layer size. */
  size: number;
}

/** A layer's tar extracted by `unpack`, not committed yet: `apply` commits it, `discard` removes it. */
export interface Unpacked {
  readonly diffId: string;
  discard(): Promise<void>;
}

/** What happened to a path in an active snapshot, relative to the layers below it. */
export type ChangeKind = 'modified' | 'added' | 'deleted';

export interface Change {
  /** Absolute inside the snapshot (`/etc/hosts`). */
  path: string;
  kind: ChangeKind;
}

export interface Usage {
  /** Bytes of regular file content, each inode once. */
  size: number;
  /** Files, directories, links and nodes, each inode once. */
  inodes: number;
}

export interface DiffOptions {
  /**
   * Paths (relative, no leading slash) that a runtime creates as empty mount points, as
   * Docker's init layer holds them (`etc/hosts`, `dev/shm`...). Absent below and still empty,
   * they are not changes: left out of the change list and of the layer tar.
   */
  mountPoints?: ReadonlySet<string>;
  /**
   * The latest mtime the layer tar may carry (a build's SOURCE_DATE_EPOCH, as BuildKit clamps
   * it): later times are written as this one, so the layer is reproducible and the files
   * extracted from it show that time. Absent: the files' own times.
   */
  mtimeMax?: Date;
  /**
   * The caller removes the snapshot once its tar is committed (a build step's file system,
   * unmounted): after the tar was read to its end, `apply` of its diff ID on the snapshot's
   * parent may take the snapshot's writable directory as the layer instead of extracting the
   * tar again (the snapshot is left empty). Honoured only when the layer would hold the very
   * same tree: no mtimeMax, no mount point left out.
   */
  handOver?: boolean;
}

/** An active snapshot's changes, computed when asked for. */
export interface Diff {
  /** Added, modified and deleted paths, sorted by path. */
  changes(): Promise<Change[]>;
  /** The changes as an OCI layer tar: deletions become `.wh.` entries, opaque directories `.wh..wh..opq`. */
  tar(): Promise<Readable>;
}

/** A read-only mount of an active snapshot as it is now, until released. */
export interface View {
  path: string;
  release(): Promise<void>;
}

/**
 * Committed layers, the part of the snapshotter that images use. Layers arrive as tar streams
 * and are extracted once; nothing here knows what an image is.
 */
export interface Layers {
  /** The layer named `chainId` (containerd's Stat), or undefined. */
  layer(chainId: string): LayerInfo | undefined;
  /** Every committed layer (containerd's Walk). */
  layers(): LayerInfo[];
  /** The directory holding a layer's files, as Docker's GraphDriver.Data shows it. */
  layerPath(chainId: string): string;
  /**
   * The layer's tar again, from its split (util/tarsplit.ts) and the layer's files; the stream
   * fails before its end when that is not the tar of the layer's diff ID. `tarSize` is the
   * tar's size as the split records it.
   */
  tarFromSplit(chainId: string, splitPath: string, tarSize: number): Readable;
  /**
   * Extracts the layer `diffId` on top of `parent` as the committed layer of their chain ID,
   * unless it already is (then `open` is not called). `open` gives the uncompressed tar; OCI
   * whiteouts in it hide what is below. A failed extraction leaves nothing behind.
   * Given what `unpack` made instead, commits that (or discards it, when the layer exists).
   */
  apply(parent: string | undefined, diffId: string, source: (() => Readable) | Unpacked): Promise<LayerInfo>;
  /**
   * Extracts a layer's tar before the layer below it is committed: a layer's files do not
   * depend on the ones below (whiteouts only mark what they hide), so a pull extracts its layers
   * side by side and commits them in order. What fails leaves nothing behind.
   */
  unpack(diffId: string, open: () => Readable): Promise<Unpacked>;
  /** Deletes a committed layer; idempotent. The caller knows that nothing stands on it any more. */
  removeLayer(chainId: string): Promise<void>;
}

/**
 * Active snapshots: writable layers over a committed parent, one per container, named by a
 * key of the caller's choosing (the container ID).
 *
 * The caller keeps which parent each key was prepared on (a container's record does) and
 * passes it again to the calls that need the layers below it. So the snapshotter keeps no
 * index of its own beside the directories, and a data root written by an earlier wharfd works
 * as it is.
 */
export interface ActiveSnapshots {
  /**
   * Makes the active snapshot `key` over `parent` (undefined: over nothing) and returns the
   * mounts that would show it (containerd's Prepare). Idempotent; fails without leaving
   * anything if a layer of `parent` is missing.
   */
  prepare(key: string, parent: string | undefined): Promise<Mount[]>;
  /** The mounts that show `key` read-write at `path(key)`, as data. Performs nothing. */
  mounts(key: string, parent: string | undefined, opts?: SnapshotMountOptions): Mount[];
  /** Performs `mounts` (idempotent) and returns where the snapshot is mounted. */
  mount(key: string, parent: string | undefined, opts?: SnapshotMountOptions): Promise<string>;
  /** Unmounts it if mounted; idempotent. */
  unmount(key: string): Promise<void>;
  isMounted(key: string): Promise<boolean>;
  /** Where `mount` mounts the snapshot; asking mounts nothing. */
  path(key: string): string;
  /** Docker's GraphDriver.Data for `key`: LowerDir (when there are layers), MergedDir, UpperDir, WorkDir. */
  describe(key: string, parent: string | undefined): Record<string, string>;
  /**
   * A read-only mount of `key` (its changes over `parent`) elsewhere, for reading it whole
   * while it is not mounted: writes fail with EROFS, and nothing can unmount it under the reader.
   */
  view(key: string, parent: string | undefined): Promise<View>;
  /** The changes of `key` over `parent` (what `docker diff`, export of a layer and commit need). */
  diff(key: string, parent: string | undefined, opts?: DiffOptions): Diff;
  /**
   * Makes the changes of `key` a committed layer on `parent` (named by their chain ID) that
   * other snapshots can be prepared on; `key` stays active and unchanged. Undefined when
   * nothing changed: an empty layer is not made.
   */
  commit(key: string, parent: string | undefined, opts?: DiffOptions): Promise<LayerInfo | undefined>;
  /** What the snapshot's own changes take on disk. */
  usage(key: string): Promise<Usage>;
  /** Unmounts and deletes `key`; idempotent. */
  remove(key: string): Promise<void>;
  /** Keys of the active snapshots on disk. */
  keys(): Promise<string[]>;
}

/**
 * Layers and the container file systems built on them (containerd's Snapshotter, keyed by
 * chain ID). The lifecycle of a container's root file system:
 *
 *   apply(undefined, d1, tar1) -> L1; apply(L1, d2, tar2) -> L2     the image's layers, once
 *   prepare(id, L2); mount(id, L2) -> /.../merged                   the container runs on it
 *   diff(id, L2).changes()                                          `docker diff`
 *   commit(id, L2) -> L3; prepare(id2, L3)                          `docker commit`, and a new container
 *   unmount(id); remove(id); removeLayer(L3)...                     gone
 */
export interface Snapshotter extends Layers, ActiveSnapshots {
  /** Loads what is on disk and removes what a crash left half-made. Called once, before anything else. */
  init(): Promise<void>;
}

/** Builds a snapshotter on a directory it owns; the conformance suite runs every implementation through one. */
export type SnapshotterFactory = (root: string) => Snapshotter;
