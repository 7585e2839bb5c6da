import { InvalidArgumentError, type IdRange } from '../util/index.js';
import type { BlockDeviceLimit, ContainerSpec, ProcessUser, Resources } from './types.js';
import { parseSecurityOpt, type OciSeccomp } from './seccomp.js';

/** The parts of the OCI runtime specification (config.json) that wharf writes. */
export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname?: string;
  domainname?: string;
  mounts: OciMount[];
  annotations?: Record<string, string>;
  linux: {
    namespaces: { type: string; path?: string }[];
    uidMappings?: OciIdMapping[];
    gidMappings?: OciIdMapping[];
    resources: OciResources & { devices: NonNullable<OciResources['devices']> };
    cgroupsPath: string;
    sysctl?: Record<string, string>;
    devices?: OciDevice[];
    maskedPaths?: string[];
    readonlyPaths?: string[];
    seccomp?: OciSeccomp;
  };
}

export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface OciProcess {
  terminal: boolean;
  consoleSize?: { height: number; width: number };
  user: { uid: number; gid: number; additionalGids?: number[]; umask?: number };
  args: string[];
  env: string[];
  cwd: string;
  capabilities: { bounding: string[]; effective: string[]; permitted: string[]; inheritable?: string[]; ambient?: string[] };
  rlimits: { type: string; soft: number; hard: number }[];
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface OciDevice {
  path: string;
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

interface OciBlockDevice {
  major: number;
  minor: number;
}
export interface OciResources {
  devices?: { allow: boolean; type?: string; major?: number; minor?: number; access: string }[];
  memory?: { limit?: number; reservation?: number; swap?: number; disableOOMKiller?: boolean; swappiness?: number };
  cpu?: { shares?: number; quota?: number; period?: number; realtimePeriod?: number; realtimeRuntime?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
  blockIO?: {
    weight?: number;
    weightDevice?: (OciBlockDevice & { weight: number })[];
    throttleReadBpsDevice?: (OciBlockDevice & { rate: number })[];
    throttleWriteBpsDevice?: (OciBlockDevice & { rate: number })[];
    throttleReadIOPSDevice?: (OciBlockDevice & { rate: number })[];
    throttleWriteIOPSDevice?: (OciBlockDevice & { rate: number })[];
  };
}

/** Block devices' numbers by host path, found by the runtime (generateSpec stays pure). */
export type BlockDevices = Record<string, OciBlockDevice>;

/**
 * The cgroup limits of a container's resources: at create, and alone for `update` (what runc
 * update takes). A limit left unset is left out, so an update changes only what it names.
 */
export function ociResources(r: Resources, blockDevices: BlockDevices = {}): Omit<OciResources, 'devices'> {
  const out: Omit<OciResources, 'devices'> = {};
  if (r.memory || r.memoryReservation || r.memorySwap || r.oomKillDisable || r.memorySwappiness !== undefined) {
    out.memory = { limit: r.memory, reservation: r.memoryReservation, swap: r.memorySwap, disableOOMKiller: r.oomKillDisable, swappiness: r.memorySwappiness };
  }
  if (r.cpuShares || r.cpuQuota || r.cpuPeriod || r.cpuRealtimePeriod || r.cpuRealtimeRuntime || r.cpusetCpus || r.cpusetMems) {
    out.cpu = { shares: r.cpuShares, quota: r.cpuQuota, period: r.cpuPeriod, realtimePeriod: r.cpuRealtimePeriod, realtimeRuntime: r.cpuRealtimeRuntime, cpus: r.cpusetCpus, mems: r.cpusetMems };
  }
  if (r.pidsLimit) out.pids = { limit: r.pidsLimit };
  const dev = (l: BlockDeviceLimit) => {
    const d = blockDevices[l.path];
    if (!d) throw new InvalidArgumentError(`no such block device: ${l.path}`);
    return d;
  };
  const throttle = (list?: BlockDeviceLimit[]) => (list?.length ? list.map((l) => ({ ...dev(l), rate: l.value })) : undefined);
  const blockIO: NonNullable<OciResources['blockIO']> = {
    weight: r.blkioWeight || undefined,
    weightDevice: r.blkioWeightDevice?.length ? r.blkioWeightDevice.map((l) => ({ ...dev(l), weight: l.value })) : undefined,
    throttleReadBpsDevice: throttle(r.blkioReadBps),
    throttleWriteBpsDevice: throttle(r.blkioWriteBps),
    throttleReadIOPSDevice: throttle(r.blkioReadIops),
    throttleWriteIOPSDevice: throttle(r.blkioWriteIops),
  };
  if (Object.values(blockIO).some((v) => v !== undefined)) out.blockIO = blockIO;
  return out;
}

/** The host paths of the block devices a container's limits name. */
export function blockDevicePaths(r: Resources): string[] {
  return [...new Set([r.blkioWeightDevice, r.blkioReadBps, r.blkioWriteBps, r.blkioReadIops, r.blkioWriteIops].flatMap((l) => (l ?? []).map((d) => d.path)))];
}

/** Docker's default capability set. */
export const DEFAULT_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

export const ALL_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

const DEFAULT_MASKED = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
const DEFAULT_READONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Where the init binary appears inside the container, as with Docker. */
export const INIT_PATH_IN_CONTAINER = '/sbin/docker-init';

function normalizeCap(name: string, what: 'CapAdd' | 'CapDrop'): string {
  const up = name.toUpperCase();
  if (up === 'ALL') return 'ALL';
  const cap = up.startsWith('CAP_') ? up : `CAP_${up}`;
  if (!ALL_CAPS.includes(cap)) throw new InvalidArgumentError(`invalid ${what}: unknown capability: "${cap}"`);
  return cap;
}

/** The capability names of a kernel bit mask (as /proc/<pid>/status shows it in hex): bit n is capability n. */
export function capsFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim() || '0'}`);
  return ALL_CAPS.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/**
 * The capability set after --cap-add/--cap-drop, Docker's rules: an explicit add wins over drop
 * ALL. "All" (privileged, --cap-add ALL) and the defaults mean those the daemon itself holds
 * (`available`), so a daemon in a restricted sandbox still runs privileged containers; naming a
 * capability it lacks is an error.
 */
export function capabilities(spec: Pick<ContainerSpec, 'privileged' | 'capAdd' | 'capDrop'>, available: string[] = ALL_CAPS): string[] {
  if (spec.privileged) return [...available];
  const add = spec.capAdd.map((c) => normalizeCap(c, 'CapAdd'));
  const drop = spec.capDrop.map((c) => normalizeCap(c, 'CapDrop'));
  // As dockerd: --cap-add ALL wins over --cap-drop ALL, and then drops only the ones named.
  if (add.includes('ALL')) return available.filter((c) => !drop.includes(c));
  let caps = DEFAULT_CAPS.filter((c) => available.includes(c));
  if (drop.includes('ALL')) caps = [];
  else caps = caps.filter((c) => !drop.includes(c));
  for (const c of add) {
    if (c === 'ALL' || caps.includes(c)) continue;
    if (!available.includes(c)) throw new InvalidArgumentError(`cannot add capability ${c}: the daemon itself does not hold it (see CapBnd in /proc/<wharfd pid>/status)`);
    caps.push(c);
  }
  return caps;
}

function processUser(u: ProcessUser): OciProcess['user'] {
  return { uid: u.uid, gid: u.gid, additionalGids: u.additionalGids.length ? u.additionalGids : undefined, umask: 0o022 };
}

/** The process fields shared by the container's main process and exec'd processes. */
export function ociProcess(p: {
  args: string[];
  env: string[];
  cwd: string;
  user: ProcessUser;
  tty: boolean;
  caps: string[];
  rlimits: { type: string; soft: number; hard: number }[];
  consoleSize?: { height: number; width: number };
  oomScoreAdj?: number;
  noNewPrivileges: boolean;
}): OciProcess {
  return {
    terminal: p.tty,
    consoleSize: p.tty && p.consoleSize ? p.consoleSize : undefined,
    user: processUser(p.user),
    args: p.args,
    env: p.env,
    cwd: p.cwd,
    capabilities: { bounding: p.caps, effective: p.caps, permitted: p.caps },
    rlimits: p.rlimits,
    noNewPrivileges: p.noNewPrivileges,
    oomScoreAdj: p.oomScoreAdj,
  };
}

export function rlimits(spec: Pick<ContainerSpec, 'rlimits'>, nofileMax: number): { type: string; soft: number; hard: number }[] {
  const out = new Map<string, { type: string; soft: number; hard: number }>();
  // Docker's default is 1048576; the runtime can't raise the hard limit above the daemon's own.
  const nofile = Math.min(1048576, nofileMax);
  out.set('RLIMIT_NOFILE', { type: 'RLIMIT_NOFILE', soft: nofile, hard: nofile });
  for (const r of spec.rlimits) out.set(r.type, r);
  return [...out.values()];
}

/**
 * Build the OCI runtime config for a container. Pure: everything that needs the host (device
 * numbers, cgroup version) is passed in.
 */
export function generateSpec(
  spec: ContainerSpec,
  host: {
    cgroupV2: boolean;
    devices: OciDevice[];
    nofileMax: number;
    availableCaps: string[];
    /** On cgroup v1: where the host mounts the name=systemd hierarchy, if it does. */
    systemdHierarchy?: string;
    blockDevices?: BlockDevices;
  },
): OciSpec {
  const caps = capabilities(spec, host.availableCaps);
  const security = parseSecurityOpt(spec.securityOpt, caps, spec.privileged);
  const args = spec.init ? [INIT_PATH_IN_CONTAINER, '--', ...spec.args] : spec.args;
  const parent = spec.cgroupParent ? `/${spec.cgroupParent.replace(/^\/+|\/+$/g, '')}` : '/wharf';
  const cgroupsPath = `${parent}/${spec.id}`;
  // systemd writes its own cgroup (it makes one per unit). On v2 the cgroup namespace shows only
  // the container's own; on v1 every hierarchy would be writable, so systemdMounts binds one.
  const cgroupRw = host.cgroupV2 ? spec.privileged || Boolean(spec.systemd) : spec.privileged;

  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', spec.privileged ? 'rw' : 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', cgroupRw ? 'rw' : 'ro'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    ...shmMount(spec),
  ];
  if (spec.systemd) mounts.push(...systemdMounts(host.cgroupV2 ? undefined : host.systemdHierarchy, cgroupsPath));
  const userTargets = new Set(spec.mounts.map((m) => m.target));
  const hostFiles: [string, string][] = [
    ['/etc/resolv.conf', spec.files.resolvConf],
    ['/etc/hostname', spec.files.hostname],
    ['/etc/hosts', spec.files.hosts],
  ];
  for (const [dst, src] of hostFiles) {
    if (!userTargets.has(dst)) mounts.push({ destination: dst, type: 'bind', source: src, options: ['rbind', 'rprivate'] });
  }
  if (spec.init) mounts.push({ destination: INIT_PATH_IN_CONTAINER, type: 'bind', source: spec.init.path, options: ['rbind', 'ro', 'rprivate'] });
  for (const m of spec.mounts) mounts.push({ destination: m.target, type: m.type, source: m.source, options: m.options });
  // A user mount over a default one (say -v /x:/dev/shm) replaces it.
  const seen = new Set<string>();
  const finalMounts = mounts
    .reverse()
    .filter((m) => (seen.has(m.destination) ? false : (seen.add(m.destination), true)))
    .reverse();

  const namespaces: { type: string; path?: string }[] = [{ type: 'mount' }];
  // The runtime joins the user namespace first (runc orders them so): the others it joins or
  // makes are then that namespace's, as the network namespace made for it already is.
  if (spec.userns) namespaces.push({ type: 'user', ...(spec.userns.path ? { path: spec.userns.path } : {}) });
  if (spec.pid === 'private') namespaces.push({ type: 'pid' });
  else if (typeof spec.pid === 'object') namespaces.push({ type: 'pid', path: spec.pid.path });
  if (typeof spec.ipc === 'object' && spec.ipc.path) namespaces.push({ type: 'ipc', path: spec.ipc.path });
  else if (spec.ipc !== 'host') namespaces.push({ type: 'ipc' });
  if (spec.uts === 'private') namespaces.push({ type: 'uts' });
  if (spec.network.mode === 'none') namespaces.push({ type: 'network' });
  else if (spec.network.mode === 'path') namespaces.push({ type: 'network', path: spec.network.path });
  // As Docker: a private cgroup namespace on v2, the host's on v1, unless --cgroupns says.
  if (spec.cgroupns === 'private' || (spec.cgroupns === undefined && host.cgroupV2)) namespaces.push({ type: 'cgroup' });

  const resources: OciSpec['linux']['resources'] = {
    devices: spec.privileged
      ? [{ allow: true, access: 'rwm' }]
      : [
          { allow: false, access: 'rwm' },
          ...host.devices.map((d) => ({ allow: true, type: d.type, major: d.major, minor: d.minor, access: devicePermissions(spec, d.path) })),
          ...(spec.deviceCgroupRules ?? []).map(parseDeviceCgroupRule),
        ],
    ...ociResources(spec.resources, host.blockDevices),
  };

  return {
    ociVersion: '1.0.2',
    process: ociProcess({
      args,
      env: spec.env,
      cwd: spec.cwd,
      user: spec.user,
      tty: spec.tty,
      caps,
      rlimits: rlimits(spec, host.nofileMax),
      oomScoreAdj: spec.oomScoreAdj,
      noNewPrivileges: security.noNewPrivileges,
    }),
    root: { path: spec.rootfs, readonly: spec.readonlyRootfs },
    hostname: spec.uts === 'private' ? spec.hostname : undefined,
    domainname: spec.uts === 'private' ? spec.domainname : undefined,
    mounts: finalMounts,
    annotations: spec.annotations,
    linux: {
      namespaces,
      ...(spec.userns ? { uidMappings: ociIdMappings(spec.userns.idmap.uids), gidMappings: ociIdMappings(spec.userns.idmap.gids) } : {}),
      resources,
      cgroupsPath,
      sysctl: Object.keys(spec.sysctls).length ? spec.sysctls : undefined,
      devices: host.devices.length ? host.devices : undefined,
      maskedPaths: spec.privileged ? [] : (spec.maskedPaths ?? DEFAULT_MASKED),
      readonlyPaths: spec.privileged ? [] : (spec.readonlyPaths ?? DEFAULT_READONLY),
      seccomp: security.seccomp,
    },
  };
}

function ociIdMappings(ranges: IdRange[]): OciIdMapping[] {
  return ranges.map((r) => ({ containerID: r.containerId, hostID: r.hostId, size: r.size }));
}

function devicePermissions(spec: ContainerSpec, path: string): string {
  return spec.devices.find((d) => d.pathInContainer === path)?.permissions ?? 'rwm';
}

/**
 * /dev/shm by IPC mode, as Docker: none for `none`, the host's for `host`, a tmpfs the daemon
 * mounted for `shareable` and `container:<c>` (a mount in another container's namespace cannot be
 * bind-mounted, so a shared one must live in the host's).
 */
function shmMount(spec: ContainerSpec): OciMount[] {
  if (spec.ipc === 'none') return [];
  if (spec.ipc === 'host') return [{ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] }];
  if (typeof spec.ipc === 'object') return [{ destination: '/dev/shm', type: 'bind', source: spec.ipc.shm, options: ['rbind', 'rprivate'] }];
  return [{ destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${spec.shmSize}`] }];
}

/**
 * What systemd as PID 1 needs, as Podman prepares it: fresh tmpfs where systemd expects one
 * (it refuses to boot, or fails "to mount tmpfs at /run", without), and on a cgroup v1 host the
 * name=systemd hierarchy of the container's own cgroup, writable, over runc's read-only view.
 */
function systemdMounts(systemdHierarchy: string | undefined, cgroupsPath: string): OciMount[] {
  const tmpfs = (destination: string, mode: string, extra: string[] = []): OciMount => ({
    destination,
    type: 'tmpfs',
    source: 'tmpfs',
    options: ['rw', 'rprivate', 'nosuid', 'nodev', ...extra, `mode=${mode}`],
  });
  const out = [tmpfs('/run', '755'), tmpfs('/run/lock', '1777', ['noexec']), tmpfs('/tmp', '1777'), tmpfs('/var/log/journal', '755')];
  if (systemdHierarchy) {
    out.push({ destination: '/sys/fs/cgroup/systemd', type: 'bind', source: `${systemdHierarchy}${cgroupsPath}`, options: ['rbind', 'rw', 'nosuid', 'nodev', 'noexec', 'rprivate'] });
  }
  return out;
}

/** `c 1:3 rwm`, `b *:* m`: a device cgroup rule as the runtime takes it (a missing number is any). */
export function parseDeviceCgroupRule(rule: string): NonNullable<OciResources['devices']>[number] {
  const m = /^([acb]) (\d+|\*):(\d+|\*) ([rwm]{1,3})$/.exec(rule.trim());
  if (!m) throw new InvalidArgumentError(`invalid device cgroup format '${rule}'`);
  const num = (v: string) => (v === '*' ? undefined : Number(v));
  return { allow: true, type: m[1], major: num(m[2]), minor: num(m[3]), access: m[4] };
}
