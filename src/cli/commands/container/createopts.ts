import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { ContainerCreateRequest, DeviceMapping, HealthConfig, HostConfig, MountSpec, RestartPolicy, ThrottleDevice, Ulimit, WeightDevice } from '../../../types/index.js';
import { errorMessage, parseGoDuration } from '../../../util/index.js';
import { CommandFailure, Exit } from '../../errors.js';
import { collect, floatArg, intArg, parseRamBytes, splitKeyValue } from '../../opts.js';
import { addHostArg, linkArg, networkArg, networkConfig, portConfig, type NetworkFlags } from './netopts.js';

export { parseExpose, parsePublish } from './netopts.js';

/** The parsed flags that run and create share (commander's camelCase names). */
export interface CreateFlags extends NetworkFlags {
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  rm?: boolean;
  name?: string;
  env?: string[];
  envFile?: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  hostname?: string;
  domainname?: string;
  label?: string[];
  labelFile?: string[];
  restart?: string;
  init?: boolean;
  stopSignal?: string;
  stopTimeout?: number;
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  securityOpt?: string[];
  readOnly?: boolean;
  tmpfs?: string[];
  volume?: string[];
  volumesFrom?: string[];
  mount?: string[];
  memory?: number;
  memorySwap?: number;
  cpus?: number;
  cpuShares?: number;
  pidsLimit?: number;
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuRtPeriod?: number;
  cpuRtRuntime?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  memoryReservation?: number;
  memorySwappiness?: number;
  oomKillDisable?: boolean;
  kernelMemory?: number;
  blkioWeight?: number;
  blkioWeightDevice?: WeightDevice[];
  deviceReadBps?: ThrottleDevice[];
  deviceWriteBps?: ThrottleDevice[];
  deviceReadIops?: ThrottleDevice[];
  deviceWriteIops?: ThrottleDevice[];
  cgroupParent?: string;
  cgroupns?: string;
  ulimit?: string[];
  sysctl?: string[];
  shmSize?: number;
  addHost?: string[];
  dns?: string[];
  dnsOption?: string[];
  dnsSearch?: string[];
  logDriver?: string;
  logOpt?: string[];
  runtime?: string;
  detachKeys?: string;
  sigProxy?: boolean;
  attach?: string[];
  platform?: string;
  pull?: string;
  /** -q: no pull output. */
  quiet?: boolean;
  netAlias?: string[];
  healthCmd?: string;
  /** Durations in nanoseconds, as the API takes them. */
  healthInterval?: number;
  healthTimeout?: number;
  healthStartPeriod?: number;
  healthStartInterval?: number;
  healthRetries?: number;
  /** false with --no-healthcheck (commander's negation). */
  healthcheck?: boolean;
  device?: string[];
  deviceCgroupRule?: string[];
  groupAdd?: string[];
  ipc?: string;
  pid?: string;
  uts?: string;
  userns?: string;
  oomScoreAdj?: number;
  systemd?: string;
}

/** The annotation wharfd reads for --systemd (the Engine API has no field for it). */
const SYSTEMD_ANNOTATION = 'io.wharf.systemd';

/** A device mode is r, w and m, each at most once. */
const validDeviceMode = (mode: string) => /^(?!.*(.).*\1)[rwm]{1,3}$/.test(mode);

/** docker's client-side check of --device: `host[:container][:mode]`, absolute paths. */
function deviceArg(v: string, prev: string[] = []): string[] {
  const parts = v.split(':');
  if (parts.length > 3 || !parts[0]) throw new InvalidArgumentError(`bad format for path: ${v}`);
  let target = parts[0];
  if (parts.length === 2 && !validDeviceMode(parts[1])) target = parts[1];
  if (parts.length === 3) {
    target = parts[1];
    if (!validDeviceMode(parts[2])) throw new InvalidArgumentError(`bad mode specified: ${parts[2]}`);
  }
  if (!target.startsWith('/')) throw new InvalidArgumentError(`${target} is not an absolute path`);
  return [...prev, v];
}

/** `--device /dev/x[:/dev/y][:rwm]` as the docker CLI sends it. */
export function parseDevice(v: string): DeviceMapping {
  const parts = v.split(':');
  let permissions = 'rwm';
  let dst = '';
  if (parts.length === 3) permissions = parts[2];
  if (parts.length >= 2) {
    if (parts.length === 2 && validDeviceMode(parts[1])) permissions = parts[1];
    else dst = parts[1];
  }
  return { PathOnHost: parts[0], PathInContainer: dst || parts[0], CgroupPermissions: permissions };
}

function deviceCgroupRuleArg(v: string, prev: string[] = []): string[] {
  if (!/^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$/.test(v)) throw new InvalidArgumentError(`invalid device cgroup format '${v}'`);
  return [...prev, v];
}

/** docker's client-side list of the sysctls that are namespaced (so a container may set them). */
function sysctlArg(v: string, prev: string[] = []): string[] {
  const eq = v.indexOf('=');
  const key = eq < 0 ? '' : v.slice(0, eq);
  const named = ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced'];
  if (!key || !(named.includes(key) || key.startsWith('net.') || key.startsWith('fs.mqueue.'))) {
    throw new InvalidArgumentError(`sysctl '${v}' is not allowed`);
  }
  return [...prev, v];
}

const bytesArg = (v: string) => {
  try {
    return parseRamBytes(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

/** A Go duration flag (`300ms`, `1m30s`), in nanoseconds. */
const durationArg = (v: string) => {
  try {
    return parseGoDuration(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

const RATE_HELP = 'The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb';

function deviceAndValue(v: string): [string, string] {
  const parts = v.split(':');
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw new InvalidArgumentError(`bad format: ${v}`);
  if (!parts[0].startsWith('/dev/')) throw new InvalidArgumentError(`bad format for device path: ${v}`);
  return [parts[0], parts[1]];
}

/** `--blkio-weight-device /dev/sda:200`, docker's checks and texts. */
export function weightDeviceArg(v: string, prev: WeightDevice[] = []): WeightDevice[] {
  const [path, w] = deviceAndValue(v);
  const weight = /^\d+$/.test(w) ? Number(w) : NaN;
  if (!(weight >= 10 && weight <= 1000)) throw new InvalidArgumentError(`invalid weight for device: ${v}`);
  return [...prev, { Path: path, Weight: weight }];
}

/** `--device-read-bps /dev/sda:1mb`: a rate in bytes with go-units' suffixes. */
export function bpsDeviceArg(v: string, prev: ThrottleDevice[] = []): ThrottleDevice[] {
  const [path, r] = deviceAndValue(v);
  let rate: number;
  try {
    rate = parseRamBytes(r);
  } catch {
    throw new InvalidArgumentError(`invalid rate for device: ${v}. ${RATE_HELP}`);
  }
  return [...prev, { Path: path, Rate: rate }];
}

/** `--device-read-iops /dev/sda:100`: operations per second, a plain number. */
export function iopsDeviceArg(v: string, prev: ThrottleDevice[] = []): ThrottleDevice[] {
  const [path, r] = deviceAndValue(v);
  if (!/^\d+$/.test(r)) throw new InvalidArgumentError(`invalid rate for device: ${v}. The correct format is <device-path>:<number>. Number must be a positive integer`);
  return [...prev, { Path: path, Rate: Number(r) }];
}

/** --cpus: docker sends 0 as "no limit"; wharf says what a limit can be instead of ignoring it. */
export function cpusArg(v: string): number {
  const n = floatArg(v);
  if (n === 0) throw new InvalidArgumentError('the number of CPUs must be at least 0.01 (leave --cpus out for no limit)');
  return n;
}

/** Declares the cgroup limit flags that run, create and (most of them) update share. */
export function addLimitFlags(cmd: Command, forUpdate = false): Command {
  cmd
    .option('--blkio-weight <uint16>', 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)', intArg)
    .option('--cpu-period <int>', 'Limit CPU CFS (Completely Fair Scheduler) period', intArg)
    .option('--cpu-quota <int>', 'Limit CPU CFS (Completely Fair Scheduler) quota', intArg)
    .option('--cpu-rt-period <int>', 'Limit CPU real-time period in microseconds', intArg)
    .option('--cpu-rt-runtime <int>', 'Limit CPU real-time runtime in microseconds', intArg)
    .option('-c, --cpu-shares <int>', 'CPU shares (relative weight)', intArg)
    .option('--cpus <decimal>', 'Number of CPUs', cpusArg)
    .option('--cpuset-cpus <string>', 'CPUs in which to allow execution (0-3, 0,1)')
    .option('--cpuset-mems <string>', 'MEMs in which to allow execution (0-3, 0,1)')
    .option('-m, --memory <bytes>', 'Memory limit', bytesArg)
    .option('--memory-reservation <bytes>', 'Memory soft limit', bytesArg)
    .option('--memory-swap <bytes>', "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", (v: string) => (v === '-1' ? -1 : bytesArg(v)))
    .option('--pids-limit <int>', 'Tune container pids limit (set -1 for unlimited)', intArg);
  if (forUpdate) return cmd;
  return cmd
    .option('--blkio-weight-device <list>', 'Block IO weight (relative device weight) (default [])', weightDeviceArg)
    .option('--cgroup-parent <string>', 'Optional parent cgroup for the container')
    .option('--cgroupns <string>', `Cgroup namespace to use (host|private)
'host':    Run the container in the Docker host's cgroup namespace
'private': Run the container in its own private cgroup namespace
'':        Use the cgroup namespace as configured by the
           default-cgroupns-mode option on the daemon (default)`)
    .option('--device-read-bps <list>', 'Limit read rate (bytes per second) from a device (default [])', bpsDeviceArg)
    .option('--device-read-iops <list>', 'Limit read rate (IO per second) from a device (default [])', iopsDeviceArg)
    .option('--device-write-bps <list>', 'Limit write rate (bytes per second) to a device (default [])', bpsDeviceArg)
    .option('--device-write-iops <list>', 'Limit write rate (IO per second) to a device (default [])', iopsDeviceArg)
    .option('--kernel-memory <bytes>', 'Kernel memory limit', bytesArg)
    .option('--memory-swappiness <int>', 'Tune container memory swappiness (0 to 100) (default -1)', intArg)
    .option('--oom-kill-disable', 'Disable OOM Killer');
}

/** The limit flags as the API's Resources (create's HostConfig, update's body). */
export function limitResources(f: CreateFlags): Partial<HostConfig> {
  if (f.cgroupns !== undefined && !['', 'host', 'private'].includes(f.cgroupns)) throw new CommandFailure(125, '--cgroupns: invalid CGROUP mode');
  const sw = f.memorySwappiness;
  if (sw !== undefined && sw !== -1 && (sw < 0 || sw > 100)) throw new CommandFailure(125, `invalid value: ${sw}. Valid memory swappiness range is 0-100`);
  return {
    Memory: f.memory,
    MemorySwap: f.memorySwap,
    MemoryReservation: f.memoryReservation,
    MemorySwappiness: f.memorySwappiness,
    KernelMemory: f.kernelMemory,
    OomKillDisable: f.oomKillDisable ? true : undefined,
    NanoCpus: f.cpus !== undefined ? Math.round(f.cpus * 1e9) : undefined,
    CpuShares: f.cpuShares,
    CpuPeriod: f.cpuPeriod,
    CpuQuota: f.cpuQuota,
    CpuRealtimePeriod: f.cpuRtPeriod,
    CpuRealtimeRuntime: f.cpuRtRuntime,
    CpusetCpus: f.cpusetCpus,
    CpusetMems: f.cpusetMems,
    PidsLimit: f.pidsLimit,
    BlkioWeight: f.blkioWeight,
    BlkioWeightDevice: f.blkioWeightDevice,
    BlkioDeviceReadBps: f.deviceReadBps,
    BlkioDeviceWriteBps: f.deviceWriteBps,
    BlkioDeviceReadIOps: f.deviceReadIops,
    BlkioDeviceWriteIOps: f.deviceWriteIops,
    CgroupParent: f.cgroupParent,
    CgroupnsMode: f.cgroupns as HostConfig['CgroupnsMode'],
  };
}

/** Declares docker's run/create flags on `cmd`. */
export function addCreateFlags(cmd: Command): Command {
  return addLimitFlags(cmd)
    .option('-a, --attach <list>', 'Attach to STDIN, STDOUT or STDERR', collect)
    .option('--add-host <list>', 'Add a custom host-to-IP mapping (host:ip)', addHostArg)
    .option('--cap-add <list>', 'Add Linux capabilities', collect)
    .option('--cap-drop <list>', 'Drop Linux capabilities', collect)
    .option('--device <list>', 'Add a host device to the container', deviceArg)
    .option('--device-cgroup-rule <list>', 'Add a rule to the cgroup allowed devices list', deviceCgroupRuleArg)
    .option('--group-add <list>', 'Add additional groups to join', collect)
    .option('--ipc <string>', 'IPC mode to use')
    .option('--oom-score-adj <int>', "Tune host's OOM preferences (-1000 to 1000)", intArg)
    .option('--pid <string>', 'PID namespace to use')
    .option('--uts <string>', 'UTS namespace to use')
    .option('--userns <string>', 'User namespace to use')
    .option('--systemd <mode>', 'Run in systemd mode ("true": when the command is systemd, "always", "false"); wharf only', 'true')
    .option('--dns <list>', 'Set custom DNS servers', collect)
    .option('--dns-option <list>', 'Set DNS options', collect)
    .option('--dns-search <list>', 'Set custom DNS search domains', collect)
    .option('--domainname <string>', 'Container NIS domain name')
    .option('--entrypoint <string>', 'Overwrite the default ENTRYPOINT of the image')
    .option('-e, --env <list>', 'Set environment variables', collect)
    .option('--env-file <list>', 'Read in a file of environment variables', collect)
    .option('--expose <list>', 'Expose a port or a range of ports', collect)
    .option('--health-cmd <string>', 'Command to run to check health')
    .option('--health-interval <duration>', 'Time between running the check (ms|s|m|h) (default 0s)', durationArg)
    .option('--health-retries <int>', 'Consecutive failures needed to report unhealthy', intArg)
    .option('--health-start-interval <duration>', 'Time between running the check during the start period (ms|s|m|h) (default 0s)', durationArg)
    .option('--health-start-period <duration>', 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)', durationArg)
    .option('--health-timeout <duration>', 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)', durationArg)
    .option('-h, --hostname <string>', 'Container host name')
    .option('--ip <string>', 'IPv4 address (e.g., 172.30.100.104)')
    .option('--ip6 <string>', 'IPv6 address (e.g., 2001:db8::33)')
    .option('--init', 'Run an init inside the container that forwards signals and reaps processes')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-l, --label <list>', 'Set meta data on a container', collect)
    .option('--label-file <list>', 'Read in a line delimited file of labels', collect)
    .option('--link <list>', 'Add link to another container', linkArg)
    .option('--log-driver <string>', 'Logging driver for the container')
    .option('--log-opt <list>', 'Log driver options', collect)
    .option('--mac-address <string>', 'Container MAC address (e.g., 92:d0:c6:0a:29:33)')
    .option('--mount <mount>', 'Attach a filesystem mount to the container', collect)
    .option('--name <string>', 'Assign a name to the container')
    .option('--no-healthcheck', 'Disable any container-specified HEALTHCHECK')
    .option('--network <network>', 'Connect a container to a network', networkArg)
    .option('--network-alias <list>', 'Add network-scoped alias for the container', collect)
    // docker's older names for --network and --network-alias, still taken but not listed.
    .addOption(new Option('--net <network>', 'Connect a container to a network').argParser(networkArg).hideHelp())
    .addOption(new Option('--net-alias <list>', 'Add network-scoped alias for the container').argParser(collect).hideHelp())
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .option('--privileged', 'Give extended privileges to this container')
    .option('-p, --publish <list>', "Publish a container's port(s) to the host", collect)
    .option('-P, --publish-all', 'Publish all exposed ports to random ports')
    .option('--pull <string>', 'Pull image before running ("always", "missing", "never")', 'missing')
    .option('-q, --quiet', 'Suppress the pull output')
    .option('--read-only', "Mount the container's root filesystem as read only")
    .option('--restart <string>', 'Restart policy to apply when a container exits', 'no')
    .option('--rm', 'Automatically remove the container and its associated anonymous volumes when it exits')
    .option('--runtime <string>', 'Runtime to use for this container')
    .option('--security-opt <list>', 'Security Options', collect)
    .option('--shm-size <bytes>', 'Size of /dev/shm', bytesArg)
    .option('--stop-signal <string>', 'Signal to stop the container')
    .option('--stop-timeout <int>', 'Timeout (in seconds) to stop a container', intArg)
    .option('--sysctl <map>', 'Sysctl options', sysctlArg)
    .option('--tmpfs <list>', 'Mount a tmpfs directory', collect)
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('--ulimit <ulimit>', 'Ulimit options', collect)
    .option('-u, --user <string>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('-v, --volume <list>', 'Bind mount a volume', collect)
    .option('--volumes-from <list>', 'Mount volumes from the specified container(s)', collect)
    .option('-w, --workdir <string>', 'Working directory inside the container');
}

/** The flags only `run` has. */
export function addRunFlags(cmd: Command): Command {
  return cmd
    .option('-d, --detach', 'Run container in background and print container ID')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('--sig-proxy', 'Proxy received signals to the process (default true)')
    .option('--no-sig-proxy', 'Do not proxy received signals to the process');
}

/** Lines of an env or label file: comments and blanks dropped; `NAME` alone takes our value. */
export function readVarFile(path: string, env: Record<string, string | undefined>, read: (p: string) => string = (p) => readFileSync(p, 'utf8')): string[] {
  let text: string;
  try {
    text = read(path);
  } catch {
    throw new Exit(125, `open ${path}: no such file or directory`);
  }
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, '');
    if (!line || line.startsWith('#')) continue;
    const [k, v] = splitKeyValue(line);
    if (v !== undefined) out.push(line);
    else if (env[k.trim()] !== undefined) out.push(`${k.trim()}=${env[k.trim()]}`);
  }
  return out;
}

/**
 * `seccomp=<file>` goes to the daemon as `seccomp=<the file's JSON>`, as the docker CLI sends it:
 * the profile is read on the client's side, where the file is.
 */
export function inlineSeccompProfile(opt: string, read: (p: string) => string = (p) => readFileSync(p, 'utf8')): string {
  const m = /^seccomp[=:](.*)$/s.exec(opt);
  if (!m || m[1] === 'unconfined' || m[1] === 'builtin') return opt;
  let text: string;
  try {
    text = read(m[1]);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : errorMessage(err);
    throw new Exit(125, `opening seccomp profile (${m[1]}) failed: open ${m[1]}: ${reason}`);
  }
  try {
    return `seccomp=${JSON.stringify(JSON.parse(text))}`;
  } catch (err) {
    throw new Exit(125, `compacting json for seccomp profile (${m[1]}) failed: ${errorMessage(err)}`);
  }
}

/** `-e NAME` takes NAME from our environment, and is dropped if we don't have it (docker's rule). */
export function expandEnv(list: string[], env: Record<string, string | undefined>): string[] {
  return list.flatMap((e) => (e.includes('=') ? [e] : env[e] !== undefined ? [`${e}=${env[e]}`] : []));
}

/**
 * docker's client-side reading of --restart: only the `name[:count]` form is checked here;
 * unknown names and a count on a policy other than on-failure are the daemon's to refuse.
 */
export function parseRestart(v: string): RestartPolicy {
  if (v === '') return { Name: 'no', MaximumRetryCount: 0 };
  const colon = v.indexOf(':');
  const [name, count] = colon < 0 ? [v, ''] : [v.slice(0, colon), v.slice(colon + 1)];
  if (colon >= 0 && !name) throw new Exit(125, 'invalid restart policy format: no policy provided before colon');
  if (count && !/^[+-]?\d+$/.test(count)) throw new Exit(125, 'invalid restart policy format: maximum retry count must be an integer');
  return { Name: name as RestartPolicy['Name'], MaximumRetryCount: count ? Number(count) : 0 };
}

/** `--mount type=bind,source=/a,target=/b,readonly` → a MountSpec. */
export function parseMount(spec: string): MountSpec {
  const m: MountSpec = { Type: 'volume' };
  for (const field of spec.split(',')) {
    const [k, v] = splitKeyValue(field.trim());
    const key = k.toLowerCase();
    switch (key) {
      case 'type':
        if (v !== 'bind' && v !== 'volume' && v !== 'tmpfs') throw new Exit(125, `invalid argument "${spec}" for "--mount" flag: invalid mount type: ${v}`);
        m.Type = v;
        break;
      case 'source':
      case 'src':
        m.Source = v;
        break;
      case 'target':
      case 'destination':
      case 'dst':
        m.Target = v;
        break;
      case 'readonly':
      case 'ro':
        m.ReadOnly = v === undefined || v === 'true' || v === '1';
        break;
      case 'bind-propagation':
        m.BindOptions = { ...m.BindOptions, Propagation: v };
        break;
      case 'tmpfs-size':
        m.TmpfsOptions = { ...m.TmpfsOptions, SizeBytes: parseRamBytes(v ?? '') };
        break;
      case 'tmpfs-mode':
        m.TmpfsOptions = { ...m.TmpfsOptions, Mode: parseInt(v ?? '', 8) };
        break;
      case 'volume-opt': {
        const [ok, ov] = splitKeyValue(v ?? '');
        if (ov === undefined) throw new Exit(125, `invalid argument "${spec}" for "--mount" flag: invalid volume-opt '${v ?? ''}'`);
        const dc = m.VolumeOptions?.DriverConfig ?? {};
        m.VolumeOptions = { ...m.VolumeOptions, DriverConfig: { ...dc, Options: { ...dc.Options, [ok]: ov } } };
        break;
      }
      case 'volume-label': {
        const [lk, lv] = splitKeyValue(v ?? '');
        m.VolumeOptions = { ...m.VolumeOptions, Labels: { ...m.VolumeOptions?.Labels, [lk]: lv ?? '' } };
        break;
      }
      case 'volume-driver':
        m.VolumeOptions = { ...m.VolumeOptions, DriverConfig: { ...m.VolumeOptions?.DriverConfig, Name: v } };
        break;
      case 'volume-nocopy':
        m.VolumeOptions = { ...m.VolumeOptions, NoCopy: v === undefined || v === 'true' };
        break;
      case 'consistency':
        m.Consistency = v;
        break;
      default:
        throw new Exit(125, `invalid argument "${spec}" for "--mount" flag: unexpected key '${k}' in '${field}'`);
    }
  }
  if (!m.Target) throw new Exit(125, `invalid argument "${spec}" for "--mount" flag: target is required`);
  return m;
}

export function parseUlimit(spec: string): Ulimit {
  const [name, limits] = splitKeyValue(spec);
  const m = limits === undefined ? null : /^(-?\d+)(?::(-?\d+))?$/.exec(limits);
  if (!m) throw new Exit(125, `invalid argument "${spec}" for "--ulimit" flag: invalid ulimit argument: ${spec}`);
  return { Name: name, Soft: Number(m[1]), Hard: Number(m[2] ?? m[1]) };
}

/**
 * The docker CLI's Healthcheck from the --health-* flags: none when no flag is given, `NONE`
 * for --no-healthcheck, and otherwise only what was given (the daemon fills the rest from the
 * image, a command included).
 */
export function healthConfig(f: CreateFlags): HealthConfig | undefined {
  const given =
    (f.healthCmd ?? '') !== '' ||
    (f.healthInterval ?? 0) !== 0 ||
    (f.healthTimeout ?? 0) !== 0 ||
    (f.healthStartPeriod ?? 0) !== 0 ||
    (f.healthRetries ?? 0) !== 0 ||
    (f.healthStartInterval ?? 0) !== 0;
  if (f.healthcheck === false) {
    if (given) throw new Exit(125, '--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!given) return undefined;
  const negative: [number | undefined, string][] = [
    [f.healthInterval, '--health-interval'],
    [f.healthTimeout, '--health-timeout'],
    [f.healthRetries, '--health-retries'],
    [f.healthStartPeriod, '--health-start-period'],
    [f.healthStartInterval, '--health-start-interval'],
  ];
  for (const [v, flag] of negative) if ((v ?? 0) < 0) throw new Exit(125, `${flag} cannot be negative`);
  return {
    Test: f.healthCmd ? ['CMD-SHELL', f.healthCmd] : undefined,
    Interval: f.healthInterval ?? 0,
    Timeout: f.healthTimeout ?? 0,
    StartPeriod: f.healthStartPeriod ?? 0,
    StartInterval: f.healthStartInterval ?? 0,
    Retries: f.healthRetries ?? 0,
  };
}

function keyValueMap(list: string[] | undefined, sep = '='): Record<string, string> | undefined {
  if (!list?.length) return undefined;
  const out: Record<string, string> = {};
  for (const item of list) {
    const i = item.indexOf(sep);
    out[i < 0 ? item : item.slice(0, i)] = i < 0 ? '' : item.slice(i + 1);
  }
  return out;
}

/** The POST /containers/create body for an image, a command and the run/create flags. */
export function buildCreateRequest(image: string, command: string[], f: CreateFlags, env: Record<string, string | undefined> = {}): ContainerCreateRequest {
  const attach = f.attach?.map((s) => s.toLowerCase());
  for (const a of attach ?? []) if (!['stdin', 'stdout', 'stderr'].includes(a)) throw new Exit(125, `invalid argument "${a}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`);
  if (f.detach && attach?.length) throw new Exit(125, 'Conflicting options: -a and -d');
  const detached = Boolean(f.detach);
  const interactive = Boolean(f.interactive);
  const envList = [...(f.envFile ?? []).flatMap((p) => readVarFile(p, env)), ...expandEnv(f.env ?? [], env)];
  const labels: Record<string, string> = {};
  for (const l of [...(f.labelFile ?? []).flatMap((p) => readVarFile(p, {})), ...(f.label ?? [])]) {
    const [k, v] = splitKeyValue(l);
    labels[k] = v ?? '';
  }
  const { exposed, bindings } = portConfig(f);
  const network = networkConfig({ ...f, networkAlias: [...(f.networkAlias ?? []), ...(f.netAlias ?? [])] });
  const tmpfs = keyValueMap(f.tmpfs, ':');
  const healthcheck = healthConfig(f);
  const restart = parseRestart(f.restart ?? 'no');
  if (f.rm && restart.Name !== 'no') throw new Exit(125, 'conflicting options: cannot specify both --restart and --rm');
  // docker's client-side checks of the namespace modes.
  if (f.pid && !(f.pid === 'host' || /^container:.+/.test(f.pid))) throw new Exit(125, '--pid: invalid PID mode');
  if (f.uts && f.uts !== 'host') throw new Exit(125, '--uts: invalid UTS mode');
  if (f.userns && f.userns !== 'host') throw new Exit(125, '--userns: invalid USER mode');
  const systemd = f.systemd ?? 'true';
  if (!['true', 'false', 'always'].includes(systemd)) throw new Exit(125, `invalid argument "${systemd}" for "--systemd" flag: use true, false or always`);
  const annotations = systemd === 'true' ? undefined : { [SYSTEMD_ANNOTATION]: systemd };
  const binds = (f.volume ?? []).filter((v) => v.includes(':'));
  const anonymous = (f.volume ?? []).filter((v) => !v.includes(':'));
  const hostConfig: HostConfig = {
    // docker's split: `-v /path` is an anonymous volume of the config, the rest are binds.
    Binds: binds.length ? binds : undefined,
    VolumesFrom: f.volumesFrom?.length ? f.volumesFrom : undefined,
    Mounts: f.mount?.length ? f.mount.map(parseMount) : undefined,
    NetworkMode: network.mode,
    RestartPolicy: restart,
    AutoRemove: Boolean(f.rm),
    Init: f.init ? true : undefined,
    Privileged: Boolean(f.privileged),
    CapAdd: f.capAdd,
    CapDrop: f.capDrop,
    SecurityOpt: f.securityOpt?.map((o) => inlineSeccompProfile(o)),
    ReadonlyRootfs: Boolean(f.readOnly),
    Tmpfs: tmpfs,
    ...limitResources(f),
    Ulimits: f.ulimit?.length ? f.ulimit.map(parseUlimit) : undefined,
    Sysctls: keyValueMap(f.sysctl),
    ShmSize: f.shmSize,
    ExtraHosts: f.addHost,
    Dns: f.dns,
    DnsOptions: f.dnsOption,
    DnsSearch: f.dnsSearch,
    LogConfig: f.logDriver || f.logOpt?.length ? { Type: f.logDriver ?? '', Config: keyValueMap(f.logOpt) ?? {} } : undefined,
    Runtime: f.runtime,
    PortBindings: Object.keys(bindings).length ? bindings : undefined,
    PublishAllPorts: f.publishAll ? true : undefined,
    Links: f.link?.length ? f.link : undefined,
    Devices: f.device?.length ? f.device.map(parseDevice) : undefined,
    DeviceCgroupRules: f.deviceCgroupRule,
    GroupAdd: f.groupAdd,
    IpcMode: f.ipc,
    PidMode: f.pid,
    UTSMode: f.uts,
    UsernsMode: f.userns,
    OomScoreAdj: f.oomScoreAdj,
    Annotations: annotations,
  };
  const entrypoint = f.entrypoint;
  const attachStd = (s: string) => !detached && (attach ? attach.includes(s) : s !== 'stdin' || interactive);
  return {
    Image: image,
    Cmd: command.length ? command : undefined,
    // An empty --entrypoint clears the image's entrypoint.
    Entrypoint: entrypoint === undefined ? undefined : entrypoint === '' ? [''] : [entrypoint],
    Env: envList.length ? envList : undefined,
    WorkingDir: f.workdir,
    User: f.user,
    Hostname: f.hostname,
    Domainname: f.domainname,
    Labels: labels,
    Tty: Boolean(f.tty),
    OpenStdin: interactive,
    // docker closes stdin after the first attach only when it is the one attached to it.
    StdinOnce: interactive && attachStd('stdin'),
    AttachStdin: attachStd('stdin'),
    AttachStdout: attachStd('stdout'),
    AttachStderr: attachStd('stderr'),
    StopSignal: f.stopSignal,
    StopTimeout: f.stopTimeout,
    Healthcheck: healthcheck,
    ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
    Volumes: anonymous.length ? Object.fromEntries(anonymous.map((v) => [v, {}])) : undefined,
    HostConfig: hostConfig,
    NetworkingConfig: Object.keys(network.endpoints).length ? { EndpointsConfig: network.endpoints } : undefined,
  };
}
