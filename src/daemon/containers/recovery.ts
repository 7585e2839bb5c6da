/**
 * Recovery at daemon start: the disk is the truth about what containers exist, the runtime about
 * what runs. Each container is reconciled under its lock: one that still runs is watched again,
 * one whose process exited while wharfd was down gets that exit recorded (and its restart
 * policy applied), a removal that was cut short is finished, and `always`/`unless-stopped`
 * containers are started again, each after the containers whose network it needs.
 */
import { errorMessage } from '../../util/index.js';
import type { ContainerContext } from './context.js';
import type { Lifecycle } from './lifecycle.js';
import { restartsAtDaemonStart, type Monitor } from './monitor.js';
import { releaseRun } from './run.js';
import type { Container } from './store.js';

export async function recover(ctx: ContainerContext, monitor: Monitor, lifecycle: Lifecycle): Promise<void> {
  const { loaded, kept } = await ctx.store.load(ctx.logger);
  await ctx.rootfs.removeOrphans((id) => kept.has(id));
  // In waves: a container that joins another's namespace or links to it is started after it,
  // as moby orders restarts by GetDependentContainers.
  const ids = new Set(loaded.map((c) => c.record.id));
  const done = new Set<string>();
  let pending = loaded;
  for (let wave = 0; pending.length > 0 && wave <= loaded.length; wave++) {
    let ready = pending.filter((c) => dependencies(c).every((d) => done.has(d) || !ids.has(d)));
    // A cycle holds nobody forever.
    if (ready.length === 0) ready = pending;
    // One container that cannot be reconciled must not keep the daemon from starting.
    await Promise.all(
      ready.map((c) =>
        reconcile(ctx, monitor, lifecycle, c).catch((err) => ctx.logger.warn('reconciling a container failed', { id: c.record.id, error: errorMessage(err) })),
      ),
    );
    for (const c of ready) done.add(c.record.id);
    pending = pending.filter((c) => !ready.includes(c));
  }
}

/** The containers `c` needs running first: its `--network container:` target and its links' targets. */
function dependencies(c: Container): string[] {
  const mode = c.record.hostConfig.NetworkMode ?? '';
  const out = mode.startsWith('container:') ? [mode.slice('container:'.length)] : [];
  for (const l of c.record.links ?? []) out.push(l.id);
  return out;
}

async function reconcile(ctx: ContainerContext, monitor: Monitor, lifecycle: Lifecycle, c: Container): Promise<void> {
  const id = c.record.id;
  const rt = ctx.runtimeOf(c);
  await ctx.mutex.run(id, async () => {
    const status = c.state.status;
    if (status === 'running' || status === 'paused' || status === 'restarting') {
      const st = await rt.state(id).catch(() => undefined);
      if (st && (st.status === 'running' || st.status === 'paused')) {
        // Docker checks a running container again from `starting`; a paused one waits for its unpause.
        if (st.status === 'running') ctx.health.init(c);
        if (c.record.mounts) await ctx.volumes.adopt?.(id, c.record.mounts);
        await ctx.store.setStatus(c, st.status, { fields: { pid: st.pid } });
        monitor.watch(c, Date.parse(c.state.startedAt));
        return;
      }
      // A monitor that vanished without writing the exit leaves nothing to read: Docker's 255.
      const ex = (await rt.exitStatus(id).catch(() => undefined)) ?? { exitCode: 255, finishedAt: new Date(), oomKilled: false };
      await monitor.recordFoundExit(c, ex);
      return;
    }
    if (status === 'removing') {
      await lifecycle.removeLocked(c);
      return;
    }
    if (status === 'created') {
      // A start the daemon's going down cut short leaves the runtime's container waiting to
      // exec (runc init holding its namespaces and cgroup), and the next start would meet it:
      // "container with given ID already exists". Its leftovers go; it stays Created, as a
      // start that failed leaves it.
      const st = await rt.state(id).catch(() => undefined);
      if (st?.status === 'created' || st?.status === 'stopped') await releaseRun(ctx, c, 'unmount');
      return;
    }
    if (status === 'exited' && restartsAtDaemonStart(c.record.hostConfig.RestartPolicy, c.state)) {
      await lifecycle.startLocked(c).catch((err) => ctx.logger.warn('restart at start-up failed', { id, error: errorMessage(err) }));
    }
  });
}
