/**
 * One run of a container, as one sequence of steps over the ports:
 *
 *   rootfs mount -> volumes setup -> network attach -> host files + OCI spec -> runtime create
 *     -> start listeners (attach) -> runtime start
 *
 * Each step that leaves something behind registers its undo as soon as it succeeded; when a
 * later step fails, every undo runs in reverse, so nothing leaks: no runtime container, no
 * network attachment, no volume held, no mount. The end of a run (`releaseRun`) undoes the same
 * steps in the same reverse order. Neither changes the container's status: the lifecycle and
 * the monitor record what happened, under the container's lock, which the caller holds.
 */
import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, InvalidArgumentError, NotFoundError, errorMessage, isErrno, rootPair, run, umount, type Ids } from '../../util/index.js';
import { userNamespaceFile } from '../../network/index.js';
import type { ContainerSpec } from '../../runtime/index.js';
import { writeHostFiles } from '../hostfiles.js';
import { DEFAULT_SHM_SIZE, containerHostname, containerSpec, joinedContainer, refuseDeviceRequests, type SpecInputs } from '../spec.js';
import { resolveUser } from '../user.js';
import { logOptions } from './config.js';
import { containerIdmap, type ContainerContext } from './context.js';
import { joinedNetwork, linkedHosts, updateLinkingContainers } from './links.js';
import type { NetworkAttachment } from './ports.js';
import { notifyStartListeners, type Container } from './store.js';

/** Runs the start sequence; resolves once the container's process runs, with its host PID. */
export async function startRun(ctx: ContainerContext, c: Container): Promise<{ pid: number }> {
  const { record } = c;
  const id = record.id;
  const rt = ctx.runtimeOf(c);
  const undo: { what: string; fn: () => Promise<void> }[] = [];
  if (containerIdmap(ctx, c)) refuseHostUsernsJoins(ctx, record.hostConfig);
  refuseDeviceRequests(record.hostConfig);
  try {
    const rootfs = await ctx.rootfs.mount(id);
    undo.push({ what: 'unmounting the file system', fn: () => ctx.rootfs.unmount(id) });

    const mounts = await ctx.volumes.setup(id, record.hostConfig, record.config, { rootfs, plan: record.mounts });
    undo.push({ what: 'releasing the volumes', fn: () => ctx.volumes.release(id) });

    const joins = namespaceJoins(ctx, record.hostConfig);
    const idmap = containerIdmap(ctx, c);
    // A container that joins another's namespaces joins its user namespace too, which must own them.
    const joinedUserns = joins?.ipc ?? joins?.pid;
    let userns: ContainerSpec['userns'] = idmap && (joinedUserns ? { idmap, path: userNamespaceOf(joinedUserns.path) } : { idmap });
    let network: NetworkAttachment;
    let files = { hosts: c.files.hostsPath, hostname: c.files.hostnamePath, resolvConf: c.files.resolvConfPath };
    let linkEnv: string[] = [];
    if (record.hostConfig.NetworkMode?.startsWith('container:')) {
      // Another container's namespace: its hostname and its host files, nothing of our own to attach or release.
      const joined = joinedNetwork(ctx, c);
      if (idmap && joined.namespace.mode === 'path') userns = { idmap, path: userNamespaceOf(joined.namespace.path) };
      const tr = joined.target.record;
      if (record.config.Hostname !== tr.config.Hostname || record.config.Domainname !== tr.config.Domainname) {
        record.config.Hostname = tr.config.Hostname;
        record.config.Domainname = tr.config.Domainname;
        await c.files.saveRecord(record);
      }
      network = { namespace: joined.namespace, endpoints: {}, extraHosts: [], dns: { servers: [], search: [], options: [] } };
      files = { hosts: joined.target.files.hostsPath, hostname: joined.target.files.hostnamePath, resolvConf: joined.target.files.resolvConfPath };
    } else {
      const hostname = containerHostname(record);
      const hostConfig = record.networkModeNow === undefined ? record.hostConfig : { ...record.hostConfig, NetworkMode: record.networkModeNow };
      const owner = userns && (userns.path ? { path: userns.path } : { idmap: userns.idmap });
      network = await ctx.network.attach({ containerId: id, name: record.name, hostname, hostConfig, networkingConfig: record.networkingConfig, exposedPorts: record.config.ExposedPorts, userns: owner });
      undo.push({ what: 'detaching the network', fn: () => ctx.network.detach(id) });
      if (userns && network.namespace.mode === 'path' && network.namespace.userns) userns = { idmap: userns.idmap, path: network.namespace.userns };
      const links = linkedHosts(ctx, c, network);
      linkEnv = links.env;
      await writeHostFiles(files, {
        hostname,
        domainname: record.config.Domainname,
        hostNetwork: network.namespace.mode === 'host',
        extraHosts: [...network.extraHosts, ...links.hosts],
        dns: network.dns,
        addresses: Object.values(network.endpoints).flatMap((e) => [e.IPAddress, e.GlobalIPv6Address].filter((a): a is string => Boolean(a))),
      });
      // The container's root may edit them, as on Docker.
      if (ctx.idmap) await chownHostFiles(files, rootPair(ctx.idmap));
    }

    const user = await resolveUser(rootfs, record.config.User ?? '', record.hostConfig.GroupAdd ?? []);
    let shm: string | undefined;
    if (record.hostConfig.IpcMode === 'shareable') {
      shm = await mountShm(c, record.hostConfig.ShmSize || DEFAULT_SHM_SIZE, idmap && rootPair(idmap));
      undo.push({ what: 'unmounting /dev/shm', fn: () => unmountShm(c) });
    }
    const spec = containerSpec({ record, rootfs, user, files, initPath: ctx.initPath, mounts, network: network.namespace, joins, shm, linkEnv, userns });

    // The network is wired while the runtime creates the container; a failed wiring is the
    // error to report (a port taken), the create's own failure only when the network is fine.
    const [created, wired] = await Promise.allSettled([rt.create(spec, logOptions(ctx.logOpts, record)), network.ready]);
    if (created.status === 'fulfilled') undo.push({ what: 'deleting the runtime container', fn: () => rt.delete(id, { force: true }) });
    if (wired.status === 'rejected') throw wired.reason;
    if (created.status === 'rejected') throw created.reason;
    const { pid } = created.value;

    await notifyStartListeners(c, true);
    await rt.start(id);
    c.network = network;
    await updateLinkingContainers(ctx, c, network);
    return { pid };
  } catch (err) {
    for (const step of undo.reverse()) {
      await step.fn().catch((e) => ctx.logger.warn(`${step.what} after a failed start failed`, { id, error: errorMessage(e) }));
    }
    await notifyStartListeners(c, false);
    throw err;
  }
}

/**
 * Releases what a run that ended holds, in reverse start order: the runtime's container first,
 * because `delete --force` kills stragglers (with --pid=host) that would keep the file system
 * busy; the file system last, unmounted for a container that stays or removed with its
 * container. Failures are logged: an exit is recorded whatever the leftovers do.
 */
export async function releaseRun(ctx: ContainerContext, c: Container, rootfs: 'unmount' | 'remove'): Promise<void> {
  const id = c.record.id;
  const warn = (what: string) => (err: unknown) => ctx.logger.warn(what, { id, error: errorMessage(err) });
  await ctx.runtimeOf(c).delete(id, { force: true }).catch(warn('runtime delete failed'));
  await ctx.network.detach(id).catch(warn('network detach failed'));
  await ctx.volumes.release(id).catch(warn('volume release failed'));
  await unmountShm(c).catch(warn('unmounting /dev/shm failed'));
  c.network = undefined;
  if (rootfs === 'unmount') await ctx.rootfs.unmount(id).catch(warn('unmount failed'));
  else await ctx.rootfs.remove(id).catch(warn('removing the file system failed'));
}

/**
 * `--ipc container:<c>` and `--pid container:<c>`: the other container's namespaces, by its
 * process, so it must be running; dockerd's checks and texts. Its /dev/shm goes with its IPC
 * namespace, reached through its root (`/proc/<pid>/root`), which exists as long as it runs.
 */
function namespaceJoins(ctx: ContainerContext, hc: Container['record']['hostConfig']): SpecInputs['joins'] {
  const target = (ref: string, kind: 'IPC' | 'PID'): Container => {
    let t: Container;
    try {
      t = ctx.store.get(ref);
    } catch (err) {
      if (err instanceof NotFoundError) throw new InvalidArgumentError(`failed to join ${kind} namespace: ${err.message}`, { cause: err });
      throw err;
    }
    if (t.state.status !== 'running' || !t.state.pid) throw new ConflictError(`failed to join ${kind} namespace: container ${ref} is not running`);
    return t;
  };
  const joins: NonNullable<SpecInputs['joins']> = {};
  const ipcRef = joinedContainer(hc.IpcMode);
  if (ipcRef) {
    const t = target(ipcRef, 'IPC');
    const mode = t.record.hostConfig.IpcMode;
    if (mode !== 'shareable' && mode !== '') {
      throw new InvalidArgumentError(`failed to join IPC namespace: container ${ipcRef}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
    }
    joins.ipc = { path: `/proc/${t.state.pid}/ns/ipc`, shm: shmPath(t) };
  }
  const pidRef = joinedContainer(hc.PidMode);
  if (pidRef) joins.pid = { path: `/proc/${target(pidRef, 'PID').state.pid}/ns/pid` };
  return joins.ipc || joins.pid ? joins : undefined;
}

/**
 * A remapped container that shares another's namespace shares its user namespace too (as on
 * dockerd); when that one runs in the host's (`--userns host`), there is none to join: the
 * kernel refuses a process the user namespace it is already in, and runc's error (or dockerd's,
 * "can't get final child's PID from pipe") does not say so.
 */
function refuseHostUsernsJoins(ctx: ContainerContext, hc: Container['record']['hostConfig']): void {
  const modes: [string, string | undefined][] = [['network', hc.NetworkMode], ['IPC', hc.IpcMode], ['PID', hc.PidMode]];
  for (const [kind, mode] of modes) {
    const ref = joinedContainer(mode);
    if (ref === undefined) continue;
    let target: Container;
    try {
      target = ctx.store.get(ref);
    } catch {
      continue; // The join itself says what is wrong with the reference.
    }
    if (!containerIdmap(ctx, target)) {
      throw new InvalidArgumentError(`cannot join the ${kind} namespace of container ${target.record.name}: it runs in the host's user namespace (--userns=host), and this container in the daemon's remapped one; run this one with --userns=host too`);
    }
  }
}

/** The user namespace of the process whose namespace `/proc/<pid>/ns/<kind>` is, or beside a namespace file wharf made. */
function userNamespaceOf(nsPath: string): string {
  const proc = /^\/proc\/(\d+)\/ns\/\w+$/.exec(nsPath);
  return proc ? `/proc/${proc[1]}/ns/user` : userNamespaceFile(nsPath);
}

async function chownHostFiles(files: { hosts: string; hostname: string; resolvConf: string }, owner: Ids): Promise<void> {
  await Promise.all([files.hosts, files.hostname, files.resolvConf].map((f) => chown(f, owner.uid, owner.gid)));
}

/** Where a shareable container's /dev/shm lives on the host, as with dockerd (`<container>/mounts/shm`). */
function shmPath(c: Container): string {
  return join(c.files.dir, 'mounts', 'shm');
}

/** The tmpfs of a shareable container's /dev/shm, mounted on the host so that others can bind it too. */
async function mountShm(c: Container, size: number, owner: Ids | undefined): Promise<string> {
  const path = shmPath(c);
  // The runtime binds it as the container's root, which must reach it (userns-remap).
  await mkdir(path, { recursive: true, mode: owner ? 0o711 : 0o700 });
  const ids = owner ? `,uid=${owner.uid},gid=${owner.gid}` : '';
  const r = await run('mount', ['-t', 'tmpfs', '-o', `nosuid,nodev,noexec,mode=1777,size=${size}${ids}`, 'shm', path]);
  if (r.code !== 0) throw new Error(`mounting shm tmpfs at ${path}: ${r.stderr.trim()}`);
  return path;
}

async function unmountShm(c: Container): Promise<void> {
  try {
    umount(shmPath(c), true);
  } catch (err) {
    // Not mounted (not shareable, or already released): nothing to undo.
    if (!isErrno(err, 'EINVAL') && !isErrno(err, 'ENOENT')) throw err;
  }
}
