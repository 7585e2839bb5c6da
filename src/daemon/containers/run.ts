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
import { errorMessage } from '../../util/index.js';
import { writeHostFiles } from '../hostfiles.js';
import { containerHostname, containerSpec } from '../spec.js';
import { resolveUser } from '../user.js';
import { logOptions } from './config.js';
import type { ContainerContext } from './context.js';
import { notifyStartListeners, type Container } from './store.js';

/** Runs the start sequence; resolves once the container's process runs, with its host PID. */
export async function startRun(ctx: ContainerContext, c: Container): Promise<{ pid: number }> {
  const { record } = c;
  const id = record.id;
  const rt = ctx.runtimeOf(c);
  const undo: { what: string; fn: () => Promise<void> }[] = [];
  try {
    const rootfs = await ctx.rootfs.mount(id);
    undo.push({ what: 'unmounting the file system', fn: () => ctx.rootfs.unmount(id) });

    const mounts = await ctx.volumes.setup(id, record.hostConfig, record.config, { rootfs, plan: record.mounts });
    undo.push({ what: 'releasing the volumes', fn: () => ctx.volumes.release(id) });

    const hostname = containerHostname(record);
    const network = await ctx.network.attach({ containerId: id, name: record.name, hostname, hostConfig: record.hostConfig, networkingConfig: record.networkingConfig, exposedPorts: record.config.ExposedPorts });
    undo.push({ what: 'detaching the network', fn: () => ctx.network.detach(id) });

    const user = await resolveUser(rootfs, record.config.User ?? '', record.hostConfig.GroupAdd ?? []);
    const files = { hosts: c.files.hostsPath, hostname: c.files.hostnamePath, resolvConf: c.files.resolvConfPath };
    await writeHostFiles(files, {
      hostname,
      domainname: record.config.Domainname,
      hostNetwork: network.namespace.mode === 'host',
      extraHosts: network.extraHosts,
      dns: network.dns,
      addresses: Object.values(network.endpoints).flatMap((e) => (e.IPAddress ? [e.IPAddress] : [])),
    });
    const spec = containerSpec({ record, rootfs, user, files, initPath: ctx.initPath, mounts, network: network.namespace });

    const { pid } = await rt.create(spec, logOptions(ctx.logOpts, record.hostConfig, record.logPath));
    undo.push({ what: 'deleting the runtime container', fn: () => rt.delete(id, { force: true }) });

    await notifyStartListeners(c, true);
    await rt.start(id);
    c.network = network;
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
  c.network = undefined;
  if (rootfs === 'unmount') await ctx.rootfs.unmount(id).catch(warn('unmount failed'));
  else await ctx.rootfs.remove(id).catch(warn('removing the file system failed'));
}
