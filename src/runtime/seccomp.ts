import { release } from 'node:os';
import { InvalidArgumentError } from '../util/index.js';

/** The seccomp part of the OCI runtime config. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls: OciSyscallRule[];
}

export interface OciSyscallRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[];
}

const EPERM = 1;
const ENOSYS = 38;

/** The ABIs an x86-64 process can make system calls through; a filter must cover each. */
const X86_ARCHES = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];

/**
 * What the default profile withholds, and the capabilities that give each group back (any one of
 * them). It is the set Docker's default profile keeps out of a container: calls that reach
 * state no namespace isolates (keyrings, modules, clocks, swap, kexec), that build new namespaces
 * or mounts (the way in to most container escapes), or that are kernel attack surface with no use
 * in a container. Everything else is allowed, so a program never fails on a call the list forgot.
 */
const WITHHELD: { names: string[]; unlessCaps?: string[]; errno?: number }[] = [
  { names: ['add_key', 'keyctl', 'request_key'] },
  { names: ['io_uring_setup', 'io_uring_enter', 'io_uring_register'] },
  { names: ['create_module', 'get_kernel_syms', 'query_module', 'nfsservctl', 'uselib', 'ustat', 'sysfs', '_sysctl', 'vm86', 'vm86old'] },
  {
    names: [
      'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lookup_dcookie', 'mount', 'mount_setattr', 'move_mount',
      'open_tree', 'pivot_root', 'quotactl', 'quotactl_fd', 'setns', 'swapoff', 'swapon', 'umount', 'umount2', 'unshare',
    ],
    unlessCaps: ['CAP_SYS_ADMIN'],
  },
  // Docker answers clone3 with "not implemented", so that libc falls back to clone, whose flags a filter can see.
  { names: ['clone3'], unlessCaps: ['CAP_SYS_ADMIN'], errno: ENOSYS },
  { names: ['bpf'], unlessCaps: ['CAP_SYS_ADMIN', 'CAP_BPF'] },
  { names: ['perf_event_open'], unlessCaps: ['CAP_SYS_ADMIN', 'CAP_PERFMON'] },
  { names: ['syslog'], unlessCaps: ['CAP_SYS_ADMIN', 'CAP_SYSLOG'] },
  { names: ['name_to_handle_at'], unlessCaps: ['CAP_SYS_ADMIN', 'CAP_DAC_READ_SEARCH'] },
  { names: ['open_by_handle_at'], unlessCaps: ['CAP_DAC_READ_SEARCH'] },
  { names: ['userfaultfd', 'kcmp', 'pidfd_getfd', 'process_madvise'], unlessCaps: ['CAP_SYS_PTRACE'] },
  { names: ['acct'], unlessCaps: ['CAP_SYS_PACCT'] },
  { names: ['init_module', 'finit_module', 'delete_module'], unlessCaps: ['CAP_SYS_MODULE'] },
  { names: ['kexec_load', 'kexec_file_load', 'reboot'], unlessCaps: ['CAP_SYS_BOOT'] },
  { names: ['iopl', 'ioperm'], unlessCaps: ['CAP_SYS_RAWIO'] },
  { names: ['clock_adjtime', 'clock_settime', 'settimeofday', 'stime'], unlessCaps: ['CAP_SYS_TIME'] },
  { names: ['get_mempolicy', 'mbind', 'set_mempolicy', 'move_pages'], unlessCaps: ['CAP_SYS_NICE'] },
  { names: ['vhangup'], unlessCaps: ['CAP_SYS_TTY_CONFIG'] },
];

/** clone() flags that make new namespaces: CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET. */
const NAMESPACE_FLAGS = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000];

/** wharf's default profile for a container with these (effective) capabilities. */
export function defaultSeccomp(caps: string[]): OciSeccomp {
  const has = (names: string[] | undefined) => names?.some((c) => caps.includes(c)) ?? false;
  const syscalls: OciSyscallRule[] = WITHHELD.filter((g) => !has(g.unlessCaps)).map((g) => ({
    names: g.names,
    action: 'SCMP_ACT_ERRNO',
    errnoRet: g.errno ?? EPERM,
  }));
  if (!caps.includes('CAP_SYS_ADMIN')) {
    // One rule per flag: a filter compares masked values for equality, and any of them must refuse.
    for (const flag of NAMESPACE_FLAGS) {
      syscalls.push({ names: ['clone'], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM, args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }] });
    }
  }
  return { defaultAction: 'SCMP_ACT_ALLOW', architectures: X86_ARCHES, syscalls };
}

/** A profile in Docker's format, as the docker CLI sends it for `--security-opt seccomp=<file>`. */
interface DockerProfile {
  defaultAction?: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  flags?: string[];
  syscalls?: {
    name?: string;
    names?: string[];
    action?: string;
    errnoRet?: number;
    args?: { index: number; value: number; valueTwo?: number; op: string }[];
    includes?: { caps?: string[]; arches?: string[]; minKernel?: string };
    excludes?: { caps?: string[]; arches?: string[] };
  }[];
}

const NATIVE_ARCH = 'SCMP_ARCH_X86_64';
/** The architecture name profiles use (Go's). */
const GOARCH = 'amd64';

function kernelAtLeast(min: string): boolean {
  const [a, b] = release().split(/[.-]/).map(Number);
  const [c, d] = min.split('.').map(Number);
  return a > c || (a === c && b >= (d || 0));
}

/**
 * A Docker-format profile turned into the runtime's form, for a container with `caps`: rules
 * that need capabilities it lacks (or exclude ones it has), another architecture or a newer
 * kernel are left out, as dockerd does.
 */
export function seccompFromDockerProfile(json: string, caps: string[]): OciSeccomp {
  let p: DockerProfile;
  try {
    p = JSON.parse(json) as DockerProfile;
  } catch (err) {
    throw new InvalidArgumentError(`Decoding seccomp profile failed: ${(err as Error).message}`);
  }
  if (!p || typeof p !== 'object' || typeof p.defaultAction !== 'string') {
    throw new InvalidArgumentError('Decoding seccomp profile failed: the profile has no defaultAction');
  }
  let architectures = p.architectures;
  const native = p.archMap?.find((m) => m.architecture === NATIVE_ARCH);
  if (native) architectures = [native.architecture, ...(native.subArchitectures ?? [])];
  const syscalls: OciSyscallRule[] = [];
  for (const s of p.syscalls ?? []) {
    const names = s.names ?? (s.name ? [s.name] : []);
    if (!names.length || typeof s.action !== 'string') {
      throw new InvalidArgumentError('Decoding seccomp profile failed: each syscall rule needs names and an action');
    }
    const inc = s.includes ?? {};
    const exc = s.excludes ?? {};
    if (inc.caps?.some((c) => !caps.includes(c))) continue;
    if (exc.caps?.some((c) => caps.includes(c))) continue;
    if (inc.arches?.length && !inc.arches.includes(GOARCH)) continue;
    if (exc.arches?.includes(GOARCH)) continue;
    if (inc.minKernel && !kernelAtLeast(inc.minKernel)) continue;
    syscalls.push({ names, action: s.action, errnoRet: s.errnoRet, args: s.args?.length ? s.args : undefined });
  }
  return { defaultAction: p.defaultAction, defaultErrnoRet: p.defaultErrnoRet, architectures, flags: p.flags, syscalls };
}

/**
 * What `--security-opt` asks for. Seccomp: none for `seccomp=unconfined` and for privileged
 * containers (as with Docker), the given profile for `seccomp=<profile JSON>`, else the default.
 * apparmor and label options are accepted and have no effect: this host runs neither.
 */
export function parseSecurityOpt(opts: string[], caps: string[], privileged: boolean): { noNewPrivileges: boolean; seccomp?: OciSeccomp } {
  let noNewPrivileges = false;
  let profile: string | undefined;
  for (const o of opts) {
    if (o === 'no-new-privileges') {
      noNewPrivileges = true;
      continue;
    }
    // Docker's texts: "1" when the option has no value, "2" when the key or the value is unknown.
    const sep = o.search(/[:=]/);
    if (sep < 0) throw new InvalidArgumentError(`invalid --security-opt 1: "${o}"`);
    const key = o.slice(0, sep);
    const value = o.slice(sep + 1).trim();
    if (key === 'no-new-privileges') {
      const b = goBool(value);
      if (b === undefined) throw new InvalidArgumentError(`invalid --security-opt 2: "${o}"`);
      noNewPrivileges = b;
    } else if (key === 'seccomp') {
      profile = value;
    } else if (key !== 'apparmor' && key !== 'label') {
      throw new InvalidArgumentError(`invalid --security-opt 2: "${o}"`);
    }
  }
  if (privileged || profile === 'unconfined') return { noNewPrivileges };
  if (!profile || profile === 'builtin') return { noNewPrivileges, seccomp: defaultSeccomp(caps) };
  if (!profile.startsWith('{')) {
    throw new InvalidArgumentError(`Invalid --security-opt: "seccomp=${profile}": give the profile's JSON (the docker CLI reads the file for you), "unconfined" or "builtin"`);
  }
  return { noNewPrivileges, seccomp: seccompFromDockerProfile(profile, caps) };
}

/** Go's strconv.ParseBool, which dockerd uses for option values. */
function goBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}
