/**
 * Operations on a container's file system, through the RootfsPort: `docker cp` (stat, archive,
 * extract), export, diff and commit.
 */
import { access } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ContainerConfig, ContainerPathStat, FilesystemChange } from '../../types/index.js';
import { resolveInView, rootedView, type Mount, type RootView } from '../../util/index.js';
import { archiveIn, archiveInRoot, extractIn, extractPoint, statIn } from '../archive.js';
import { bindMounts, plannedRuntimeMount, sortMounts } from '../../volume/index.js';
import { resolveUser } from '../user.js';
import type { ContainerContext } from './context.js';
import { isActive } from './state.js';
import type { Container } from './store.js';

export interface CommitRequest {
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  changes?: string[];
  pause?: boolean;
  config?: ContainerConfig;
}

export class FsOps {
  constructor(private readonly ctx: ContainerContext) {}

  /** Read-only, without the lock: a diff must not wait for a stop's timeout. */
  async changes(ref: string): Promise<FilesystemChange[]> {
    return this.ctx.rootfs.changes(this.ctx.store.get(ref).record.id);
  }

  /**
   * The container's lock is held until the archive is written (or its reader goes): a start would
   * mount the upper dir that a stopped container's export reads as a lower, and a stop or exit would
   * unmount a running container's file system mid-read.
   */
  async export(ref: string): Promise<Readable> {
    const c = this.ctx.store.get(ref);
    return new Promise<Readable>((resolve, reject) => {
      void this.ctx.mutex.run(c.record.id, async () => {
        let stream: Readable;
        try {
          stream = await this.ctx.rootfs.export(c.record.id);
        } catch (err) {
          reject(err);
          return;
        }
        const done = whenClosed(stream);
        this.ctx.store.publish(c, 'export');
        resolve(stream);
        await done;
      });
    });
  }

  /** What HEAD /containers/{id}/archive answers: the path's stat, as the container sees it. */
  async statPath(ref: string, path: string): Promise<ContainerPathStat> {
    const c = this.ctx.store.get(ref);
    return this.ctx.mutex.run(c.record.id, async () => {
      const root = this.#liveRoot(c);
      // A stat needs no worker: each lookup is resolved by the kernel inside the container's root.
      if (root) return (await statIn(rootedView(root), path, ref)).stat;
      return this.#withFs(c, async ({ view }) => (await statIn(view, path, ref)).stat);
    });
  }

  /**
   * A tar of `path` and its stat. The container's lock is held until the archive is written (or
   * its reader goes), as for export: a stopped container's file system is mounted for the copy
   * and a running one's must not be unmounted by its exit mid-read.
   */
  async archivePath(ref: string, path: string): Promise<{ stat: ContainerPathStat; tar: Readable }> {
    const c = this.ctx.store.get(ref);
    return new Promise((resolve, reject) => {
      // What throws before the stream is handed over (a path not found) is the request's error.
      this.ctx.mutex.run(c.record.id, async () => {
        const root = this.#liveRoot(c);
        if (root) {
          // Read while the container runs, every lookup confined to its root by the kernel (archiveInRoot).
          const found = await statIn(rootedView(root), path, ref);
          const tar = await archiveInRoot(root, found, this.ctx.idmap);
          const done = whenClosed(tar);
          this.ctx.store.publish(c, 'archive-path');
          resolve({ stat: found.stat, tar: tar as unknown as Readable });
          await done;
          return;
        }
        await this.#withFs(c, async ({ view }) => {
          const found = await statIn(view, path, ref);
          const tar = archiveIn(view, found, this.ctx.idmap);
          const done = whenClosed(tar);
          this.ctx.store.publish(c, 'archive-path');
          resolve({ stat: found.stat, tar: tar as unknown as Readable });
          await done;
        }).catch(reject);
      }).catch(reject);
    });
  }

  /**
   * Extracts a tar into the directory `path` of the container. With `copyUIDGID` and a
   * container user, everything is owned by that user (Docker's `cp -a`); otherwise by the
   * owners the archive records.
   */
  async extractToDir(ref: string, path: string, tar: Readable, opts: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }): Promise<void> {
    const c = this.ctx.store.get(ref);
    await this.ctx.mutex.run(c.record.id, () =>
      this.#withFs(c, async ({ root, view, readonlyMounts }) => {
        // Checked on the host's view for Docker's messages ("mounted volume is marked read-only");
        // a running container's copy is then done inside its root, where the kernel has the last word.
        const dir = await extractPoint(view, path, ref, { readonlyRootfs: c.record.hostConfig.ReadonlyRootfs ?? false, readonlyMounts });
        const user = c.record.config.User;
        const owner = opts.copyUIDGID && user ? await resolveUser(root, user) : undefined;
        // While its processes run, every name is resolved by the kernel inside the root and each
        // write is one component below a directory held open (untar's rooted view); read-only
        // mounts and root are then the kernel's to refuse (EROFS).
        const live = this.#liveRoot(c);
        const into = live ? rootedView(live) : view;
        const at = live ? await extractPoint(into, path, ref, { readonlyRootfs: false, readonlyMounts: [] }) : dir;
        await extractIn(into, at, tar, {
          noOverwriteDirNonDir: opts.noOverwriteDirNonDir,
          owner: owner && { uid: owner.uid, gid: owner.gid },
          idmap: this.ctx.idmap,
          readonlyRootfs: false,
          readonlyMounts,
        });
        this.ctx.store.publish(c, 'extract-to-dir');
      }),
    );
  }

  /**
   * Under the lock: the RootfsPort's calls for one container must not overlap (a removal would
   * delete the upper dir being packed), and a pause or unpause in between would be undone by
   * this commit's own resume. A stop or rm waits for the commit, as with Docker.
   */
  async commit(ref: string, opts: CommitRequest): Promise<string> {
    const c = this.ctx.store.get(ref);
    const id = c.record.id;
    return this.ctx.mutex.run(id, async () => {
      const rt = this.ctx.runtimeOf(c);
      let pause = (opts.pause ?? true) && c.state.status === 'running';
      if (pause) {
        try {
          await rt.pause(id);
        } catch (err) {
          // A process that just exited (its exit not recorded yet) has nothing left to pause.
          const st = await rt.state(id).catch(() => undefined);
          if (st?.status === 'running') throw err;
          pause = false;
        }
      }
      try {
        const imageId = await this.ctx.rootfs.commit(id, {
          imageId: c.record.imageId,
          config: { ...c.record.config, ...(opts.config ?? {}) },
          repo: opts.repo,
          tag: opts.tag,
          comment: opts.comment,
          author: opts.author,
          changes: opts.changes,
          containerConfigCmd: [c.record.path, ...c.record.args],
          container: { id, config: c.record.config },
        });
        this.ctx.store.publish(c, 'commit', { comment: opts.comment ?? '' });
        return imageId;
      } finally {
        if (pause) await rt.resume(id).catch(() => {});
      }
    });
  }

  /**
   * Where a running (or paused) container's root is as its processes see it, mounts and all:
   * its init's /proc root. Undefined for a stopped container, whose files nothing can change
   * while the daemon copies them.
   */
  #liveRoot(c: Container): string | undefined {
    if (!isActive(c.state) || c.state.pid <= 0) return undefined;
    return `/proc/${c.state.pid}/root`;
  }

  /**
   * Runs `fn` on the container's file system as the host sees it (the root and the files bound
   * over it: host files, binds and volumes); call under the lock. Nothing is paused: paths are
   * only resolved here for a stopped container or for checks, and a running container's copy is
   * done inside its root (#liveRoot).
   */
  async #withFs<T>(c: Container, fn: (fs: { root: string; view: RootView; readonlyMounts: string[] }) => Promise<T>): Promise<T> {
    const id = c.record.id;
    const fs = await this.ctx.rootfs.open(id);
    // A stopped container's volumes are made ready as a start would (an options volume mounted,
    // a new one filled from the image), so a copy reaches the volume its next start mounts, as
    // with Docker; a running container's are mounted already and stay as they are.
    const setUp = !isActive(c.state) && c.record.mounts !== undefined;
    try {
      const mounts = setUp
        ? await this.ctx.volumes.setup(id, c.record.hostConfig, c.record.config, { rootfs: fs.root, plan: c.record.mounts })
        : c.record.mounts
          ? sortMounts(c.record.mounts.map((m) => plannedRuntimeMount(m, m.source)))
          : bindMounts(c.record.hostConfig);
      return await fn({ root: fs.root, ...(await this.#view(c, fs.root, mounts)) });
    } finally {
      if (setUp) await this.ctx.volumes.release(id);
      await fs.release();
    }
  }

  /**
   * The files mounted over the container's root as the runtime mounts them: its hosts,
   * hostname and resolv.conf (once a start wrote them), then its binds and volumes, each target
   * resolved as runc resolves it (inside the root, through the mounts before it). A tmpfs has
   * nothing on the host to copy to or from.
   */
  async #view(c: Container, root: string, containerMounts: Mount[]): Promise<{ view: RootView; readonlyMounts: string[] }> {
    const mounts: { target: string; source: string }[] = [];
    const readonlyMounts: string[] = [];
    const binds = containerMounts.filter((m) => m.type === 'bind');
    const userTargets = new Set(binds.map((m) => m.target));
    const hostFiles: [string, string][] = [
      ['/etc/resolv.conf', c.files.resolvConfPath],
      ['/etc/hostname', c.files.hostnamePath],
      ['/etc/hosts', c.files.hostsPath],
    ];
    const all = [
      ...hostFiles.filter(([t]) => !userTargets.has(t)).map(([target, source]) => ({ target, source, ro: false })),
      ...binds.map((m) => ({ target: m.target, source: m.source, ro: m.options.includes('ro') })),
    ];
    for (const m of all) {
      // A source that is gone (a never-started container's host files) leaves the root's own file visible.
      if (!(await access(m.source).then(() => true, () => false))) continue;
      const target = await resolveInView({ root, mounts }, m.target);
      mounts.push({ target, source: m.source });
      if (m.ro) readonlyMounts.push(target);
    }
    return { view: { root, mounts }, readonlyMounts };
  }
}

/** Resolves when a stream (node or streamx) has closed: read to the end, failed, or destroyed by its reader. */
function whenClosed(stream: { once(event: string, fn: () => void): unknown }): Promise<void> {
  return new Promise<void>((r) => {
    stream.once('close', r);
    stream.once('error', () => r());
  });
}
