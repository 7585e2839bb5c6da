import { parseSecurityOpt, type ContainerSpec } from '../runtime/index.js';
import type { HostConfig } from '../types/index.js';
import { validatePorts } from '../network/index.js';
import { InvalidArgumentError, type Mount } from '../util/index.js';
import { validateMounts } from '../volume/index.js';
import { checkResources, runtimeResources } from './resources.js';
import type { ContainerRecord } from './containers/state.js';
import type { NetworkAttachment } from './containers/ports.js';
import type { ResolvedUser } from './user.js';

/** What the start sequence's earlier steps made, for the OCI spec. */
export interface SpecInputs {
  record: ContainerRecord;
  /** The mounted root file system (the rootfs step). */
  rootfs: string;
  user: ResolvedUser;
  files: { hosts: string; hostname: string; resolvConf: string };
  initPath: string;
  /** The binds, `--mount`s and tmpfs mounts (the volumes step). */
  mounts: Mount[];
  /** The network namespace to join (the network step). */
  network: NetworkAttachment['namespace'];
}

export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * A process's environment: the lists merged (a later VAR= replaces an earlier one in place), with
 * Docker's defaults for what none of them sets: the usual PATH (an image may set none), HOSTNAME,
 * the user's HOME, and TERM with a terminal. Used for the container's process and for exec.
 */
export function processEnv(lists: string[][], d: { home: string; hostname: string; tty: boolean }): string[] {
  const env = new Map<string, string>();
  for (const kv of lists.flat()) {
    const eq = kv.indexOf('=');
    env.set(eq > 0 ? kv.slice(0, eq) : kv, kv);
  }
  if (!env.has('PATH')) env.set('PATH', `PATH=${DEFAULT_PATH}`);
  if (!env.has('HOSTNAME')) env.set('HOSTNAME', `HOSTNAME=${d.hostname}`);
  if (!env.has('HOME')) env.set('HOME', `HOME=${d.home}`);
  if (d.tty && !env.has('TERM')) env.set('TERM', 'TERM=xterm');
  return [...env.values()];
}

/** Containers created before create recorded the default hostname have none in their config. */
export function containerHostname(r: ContainerRecord): string {
  return r.config.Hostname || r.id.slice(0, 12);
}

/** Translate a container's Docker-shaped record into the runtime's plain ContainerSpec. */
export function containerSpec(i: SpecInputs): ContainerSpec {
  const { record: r } = i;
  const hc = r.hostConfig;
  const cfg = r.config;
  const hostname = containerHostname(r);
  const env = processEnv([cfg.Env ?? []], { home: i.user.home, hostname, tty: cfg.Tty ?? false });
  // The runtime's 'none' is a new namespace of its own, with loopback only.
  const network: ContainerSpec['network'] = i.network.mode === 'new' ? { mode: 'none' } : i.network;
  return {
    id: r.id,
    rootfs: i.rootfs,
    readonlyRootfs: hc.ReadonlyRootfs ?? false,
    args: [r.path, ...r.args],
    env,
    cwd: cfg.WorkingDir || '/',
    user: { uid: i.user.uid, gid: i.user.gid, additionalGids: i.user.additionalGids },
    hostname,
    domainname: cfg.Domainname || undefined,
    tty: cfg.Tty ?? false,
    openStdin: cfg.OpenStdin ?? false,
    stdinOnce: cfg.StdinOnce ?? false,
    mounts: i.mounts,
    files: i.files,
    network,
    ipc: hc.IpcMode === 'host' ? 'host' : 'private',
    pid: hc.PidMode === 'host' ? 'host' : 'private',
    uts: hc.UTSMode === 'host' ? 'host' : 'private',
    privileged: hc.Privileged ?? false,
    capAdd: hc.CapAdd ?? [],
    capDrop: hc.CapDrop ?? [],
    securityOpt: hc.SecurityOpt ?? [],
    sysctls: hc.Sysctls ?? {},
    rlimits: (hc.Ulimits ?? []).map((u) => ({ type: `RLIMIT_${u.Name.toUpperCase()}`, soft: u.Soft, hard: u.Hard })),
    shmSize: hc.ShmSize || DEFAULT_SHM_SIZE,
    devices: (hc.Devices ?? []).map((d) => ({
      pathOnHost: d.PathOnHost,
      pathInContainer: d.PathInContainer || d.PathOnHost,
      permissions: d.CgroupPermissions || 'rwm',
    })),
    resources: runtimeResources(hc),
    cgroupParent: hc.CgroupParent || undefined,
    cgroupns: hc.CgroupnsMode || undefined,
    init: hc.Init ? { path: i.initPath } : undefined,
    stopSignal: cfg.StopSignal,
    oomScoreAdj: hc.OomScoreAdj || undefined,
    annotations: hc.Annotations ?? undefined,
    maskedPaths: hc.MaskedPaths ?? undefined,
    readonlyPaths: hc.ReadonlyPaths ?? undefined,
  };
}

/** A restart policy's checks, shared by create and update, with Docker's texts. */
export function validateRestartPolicy(r: NonNullable<HostConfig['RestartPolicy']>): void {
  if (r.Name && !['no', 'always', 'unless-stopped', 'on-failure'].includes(r.Name)) {
    throw new InvalidArgumentError(`invalid restart policy: unknown policy '${r.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  if (r.Name && r.Name !== 'on-failure' && (r.MaximumRetryCount ?? 0) > 0) {
    throw new InvalidArgumentError(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  }
  if ((r.MaximumRetryCount ?? 0) < 0) throw new InvalidArgumentError('invalid restart policy: maximum retry count cannot be negative');
}

/**
 * Check what can be checked at create time, with Docker's messages. `exposed` is the request's
 * ExposedPorts; the image's EXPOSE is not the client's to fix, so it is not checked here.
 */
export async function validateHostConfig(hc: HostConfig, exposed?: Record<string, unknown> | null): Promise<string[]> {
  // The capabilities only select rules; any set shows whether the options and a profile parse.
  parseSecurityOpt(hc.SecurityOpt ?? [], [], false);
  await validateMounts(hc);
  validatePorts(exposed, hc.PortBindings);
  const r = hc.RestartPolicy;
  if (r) validateRestartPolicy(r);
  if (hc.AutoRemove && r?.Name && r.Name !== 'no') {
    throw new InvalidArgumentError(`conflicting options: cannot use auto-remove and restart policy`);
  }
  if (hc.CgroupnsMode && hc.CgroupnsMode !== 'host' && hc.CgroupnsMode !== 'private') {
    throw new InvalidArgumentError(`invalid cgroup namespace mode: ${hc.CgroupnsMode}`);
  }
  // Whether the network exists the network service answers (NetworkPort.check), at create.
  return checkResources(hc, false);
}
