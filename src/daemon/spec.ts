import { isIP } from 'node:net';
import { capabilities, parseDeviceCgroupRule, parseSecurityOpt, type ContainerSpec, type IpcNamespace, type JoinNamespace } from '../runtime/index.js';
import type { HostConfig } from '../types/index.js';
import { validatePorts } from '../network/index.js';
import { readFileSync } from 'node:fs';
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
  /** Other containers' namespaces for `--ipc container:<c>` and `--pid container:<c>`, found running. */
  joins?: { ipc?: JoinNamespace & { shm: string }; pid?: JoinNamespace };
  /** A shareable container's /dev/shm: the tmpfs the start sequence mounted on the host. */
  shm?: string;
  /** The legacy `--link` variables, under the container's own Env. */
  linkEnv?: string[];
  /** Its user namespace (userns-remap). */
  userns?: ContainerSpec['userns'];
}

/** The annotation that carries `wharf run --systemd`: `always`, `true` (the default: by command) or `false`. */
export const SYSTEMD_ANNOTATION = 'io.wharf.systemd';
/** The commands that make a container a systemd one (Podman's list, with systemd's own paths). */
const SYSTEMD_COMMANDS = ['/sbin/init', '/usr/sbin/init', '/usr/local/sbin/init', '/usr/lib/systemd/systemd', '/lib/systemd/systemd'];
/** systemd's signal to shut down cleanly (SIGTERM only makes it re-execute). */
export const SYSTEMD_STOP_SIGNAL = 'SIGRTMIN+3';

/** Whether a container runs systemd as PID 1, so gets what it needs to boot (Podman's `--systemd`). */
export function isSystemdContainer(command: string, hc: HostConfig): boolean {
  const mode = hc.Annotations?.[SYSTEMD_ANNOTATION] ?? 'true';
  if (mode === 'always') return true;
  if (mode === 'false') return false;
  return SYSTEMD_COMMANDS.includes(command) || command.split('/').pop() === 'systemd';
}

/** `container:<name|id>` of an IpcMode or PidMode, else undefined. */
export function joinedContainer(mode: string | undefined): string | undefined {
  return mode?.startsWith('container:') ? mode.slice('container:'.length) : undefined;
}

function ipcNamespace(mode: string | undefined, join: SpecInputs['joins'], shm: string | undefined): IpcNamespace {
  if (join?.ipc) return join.ipc;
  if (shm) return { shm };
  if (mode === 'host') return 'host';
  if (mode === 'none') return 'none';
  return 'private';
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
    // A name without a value (Config.Env keeps `Foo` as given) sets nothing: runc refuses an
    // entry without '=', and the process should not inherit an earlier list's Foo either.
    if (eq < 0) env.delete(kv);
    else if (eq > 0) env.set(kv.slice(0, eq), kv);
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
  const systemd = isSystemdContainer(r.path, hc);
  // systemd and the tools under it read `container` to know they run in one (Podman sets it too).
  const env = processEnv([systemd ? ['container=wharf'] : [], i.linkEnv ?? [], cfg.Env ?? []], { home: i.user.home, hostname, tty: cfg.Tty ?? false });
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
    ipc: ipcNamespace(hc.IpcMode, i.joins, i.shm),
    pid: i.joins?.pid ?? (hc.PidMode === 'host' ? 'host' : 'private'),
    uts: hc.UTSMode === 'host' ? 'host' : 'private',
    userns: i.userns,
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
    deviceCgroupRules: hc.DeviceCgroupRules?.length ? hc.DeviceCgroupRules : undefined,
    systemd: systemd || undefined,
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
  validateIsolation(hc);
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
  for (const h of hc.ExtraHosts ?? []) checkExtraHost(h);
  // overlay2's answer where its upper directories are not on xfs with project quotas, as here.
  if (Object.keys(hc.StorageOpt ?? {}).length) throw new InvalidArgumentError("--storage-opt is supported only for overlay over xfs with 'pquota' mount option");
  // Whether the network exists the network service answers (NetworkPort.check), at create.
  return checkResources(hc, false);
}

/**
 * `--gpus` and other device requests: wharf has no device driver (dockerd has one only with
 * NVIDIA's container toolkit), so each is refused with dockerd's text, at start as dockerd does,
 * rather than run without the devices asked for.
 */
export function refuseDeviceRequests(hc: HostConfig): void {
  const req = hc.DeviceRequests?.[0];
  if (!req) return;
  const caps = `[${(req.Capabilities ?? []).map((c) => `[${c.join(' ')}]`).join(' ')}]`;
  throw new InvalidArgumentError(`could not select device driver ${JSON.stringify(req.Driver ?? '')} with capabilities: ${caps}`);
}

/**
 * The namespace modes, capabilities, devices and OOM score of a create, with dockerd's texts
 * (400): what the runtime would refuse only at start is refused before the container exists.
 */
export function validateIsolation(hc: HostConfig): void {
  const ipc = hc.IpcMode ?? '';
  const validIpc = ['', 'private', 'shareable', 'host', 'none'].includes(ipc) || Boolean(joinedContainer(ipc));
  if (!validIpc) throw new InvalidArgumentError(`invalid IPC mode: ${ipc}`);
  const pid = hc.PidMode ?? '';
  if (!(pid === '' || pid === 'host' || (joinedContainer(pid) ?? '') !== '')) throw new InvalidArgumentError(`invalid PID mode: ${pid}`);
  if (hc.UTSMode && hc.UTSMode !== 'host') throw new InvalidArgumentError(`invalid UTS mode: ${hc.UTSMode}`);
  // dockerd without userns-remap has only the host's user namespace: "host" or nothing.
  if (hc.UsernsMode && hc.UsernsMode !== 'host') throw new InvalidArgumentError(`invalid USER mode: ${hc.UsernsMode}`);
  const oom = hc.OomScoreAdj ?? 0;
  if (oom < -1000 || oom > 1000) throw new InvalidArgumentError(`Invalid value ${oom}, range for oom score adj is [-1000, 1000]`);
  // Only the names are checked (any set does); which the daemon holds is the runtime's question at start.
  capabilities({ privileged: false, capAdd: hc.CapAdd ?? [], capDrop: [] });
  capabilities({ privileged: false, capAdd: [], capDrop: hc.CapDrop ?? [] });
  for (const rule of hc.DeviceCgroupRules ?? []) parseDeviceCgroupRule(rule);
  for (const d of hc.Devices ?? []) {
    if (!d.PathOnHost?.startsWith('/')) throw new InvalidArgumentError(`invalid device specification: "${d.PathOnHost ?? ''}": the host path must be absolute`);
    if (d.CgroupPermissions && !/^(?!.*(.).*\1)[rwm]{1,3}$/.test(d.CgroupPermissions)) {
      throw new InvalidArgumentError(`invalid device mode "${d.CgroupPermissions}" for "${d.PathOnHost}": use a combination of r, w and m`);
    }
  }
}

/** What cannot go with a user namespace of its own (userns-remap without `--userns host`), in dockerd's words. */
export function validateRemapped(hc: HostConfig): void {
  if (hc.UsernsMode === 'host') return;
  if (hc.Privileged) throw new InvalidArgumentError('privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode');
  if (hc.NetworkMode === 'host') throw new InvalidArgumentError("cannot share the host's network namespace when user namespaces are enabled");
  if (hc.PidMode === 'host') throw new InvalidArgumentError('cannot share the host PID namespace when user namespaces are enabled');
}

/** Whether the host kernel runs AppArmor (Debian's default kernels do; this project's CI hosts do not). */
function appArmorEnabled(): boolean {
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
  } catch {
    return false;
  }
}

/**
 * Create's warnings about security options that cannot take effect here. dockerd ignores an
 * AppArmor profile silently on a host without AppArmor; saying so costs nothing.
 */
export function securityWarnings(hc: HostConfig, apparmor: () => boolean = appArmorEnabled): string[] {
  const wanted = (hc.SecurityOpt ?? []).find((o) => /^apparmor[=:]/.test(o) && !/^apparmor[=:]unconfined$/.test(o));
  if (!wanted || apparmor()) return [];
  return [`AppArmor is not enabled on this host: the option "${wanted}" has no effect`];
}

/** An ExtraHosts entry as moby's ValidateExtraHost reads it: `name:address`, the first colon separating. */
function checkExtraHost(h: string): void {
  const sep = h.indexOf(':');
  if (sep <= 0) throw new InvalidArgumentError(`bad format for add-host: "${h}"`);
  const ip = h.slice(sep + 1);
  if (ip !== 'host-gateway' && isIP(ip.trim()) === 0) throw new InvalidArgumentError(`invalid IP address in add-host: "${ip}"`);
}

/**
 * The network settings that cannot go together, in moby's words (runconfig's validateNetMode):
 * a container that joins another's namespace takes its hostname, name servers, hosts and ports.
 * `given` is the request's own config, before the image's is merged in.
 */
export function validateNetMode(given: { Hostname?: string; ExposedPorts?: Record<string, unknown> | null }, hc: HostConfig): void {
  const mode = hc.NetworkMode ?? '';
  if (mode === 'container' || mode.startsWith('container:')) {
    if (mode.slice('container:'.length) === '') throw new InvalidArgumentError('invalid network mode: invalid container format container:<name|id>');
    if (given.Hostname) throw new InvalidArgumentError('conflicting options: hostname and the network mode');
    if (hc.Links?.length) throw new InvalidArgumentError("conflicting options: container type network can't be used with links. This would result in undefined behavior");
    if (hc.Dns?.length) throw new InvalidArgumentError('conflicting options: dns and the network mode');
    if (hc.ExtraHosts?.length) throw new InvalidArgumentError('conflicting options: custom host-to-IP mapping and the network mode');
    if (Object.keys(hc.PortBindings ?? {}).length || hc.PublishAllPorts) throw new InvalidArgumentError('conflicting options: port publishing and the container type network mode');
    if (Object.keys(given.ExposedPorts ?? {}).length) throw new InvalidArgumentError('conflicting options: port exposing and the container type network mode');
  }
  if (mode === 'host' && hc.Links?.length) throw new InvalidArgumentError("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
}
