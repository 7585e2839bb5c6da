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
 * The calls every container may make: Docker's default allow-list (moby/profiles, the x86-64
 * part). Anything else, a syscall newer than this list included, fails with EPERM, so a kernel
 * that grows a call does not grow what a container can reach. Names this host's libseccomp does
 * not know are skipped by the runtime, which answers calls above the highest one it knows with
 * ENOSYS (so that libc falls back to an older call).
 */
const ALLOWED = [
  'accept', 'accept4', 'access', 'adjtimex', 'alarm', 'bind', 'brk', 'cachestat', 'capget', 'capset', 'chdir',
  'chmod', 'chown', 'chown32', 'clock_adjtime', 'clock_adjtime64', 'clock_getres', 'clock_getres_time64',
  'clock_gettime', 'clock_gettime64', 'clock_nanosleep', 'clock_nanosleep_time64', 'close', 'close_range', 'connect',
  'copy_file_range', 'creat', 'dup', 'dup2', 'dup3', 'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old',
  'epoll_pwait', 'epoll_pwait2', 'epoll_wait', 'epoll_wait_old', 'eventfd', 'eventfd2', 'execve', 'execveat', 'exit',
  'exit_group', 'faccessat', 'faccessat2', 'fadvise64', 'fadvise64_64', 'fallocate', 'fanotify_mark', 'fchdir',
  'fchmod', 'fchmodat', 'fchmodat2', 'fchown', 'fchown32', 'fchownat', 'fcntl', 'fcntl64', 'fdatasync', 'fgetxattr',
  'flistxattr', 'flock', 'fork', 'fremovexattr', 'fsetxattr', 'fstat', 'fstat64', 'fstatat64', 'fstatfs',
  'fstatfs64', 'fsync', 'ftruncate', 'ftruncate64', 'futex', 'futex_requeue', 'futex_time64', 'futex_wait',
  'futex_waitv', 'futex_wake', 'futimesat', 'getcpu', 'getcwd', 'getdents', 'getdents64', 'getegid', 'getegid32',
  'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getgroups', 'getgroups32', 'getitimer', 'getpeername', 'getpgid',
  'getpgrp', 'getpid', 'getppid', 'getpriority', 'getrandom', 'getresgid', 'getresgid32', 'getresuid', 'getresuid32',
  'getrlimit', 'get_robust_list', 'getrusage', 'getsid', 'getsockname', 'getsockopt', 'get_thread_area', 'gettid',
  'gettimeofday', 'getuid', 'getuid32', 'getxattr', 'getxattrat', 'inotify_add_watch', 'inotify_init',
  'inotify_init1', 'inotify_rm_watch', 'io_cancel', 'ioctl', 'io_destroy', 'io_getevents', 'io_pgetevents',
  'io_pgetevents_time64', 'ioprio_get', 'ioprio_set', 'io_setup', 'io_submit', 'ipc', 'kill', 'landlock_add_rule',
  'landlock_create_ruleset', 'landlock_restrict_self', 'lchown', 'lchown32', 'lgetxattr', 'link', 'linkat', 'listen',
  'listmount', 'listxattr', 'listxattrat', 'llistxattr', '_llseek', 'lremovexattr', 'lseek', 'lsetxattr', 'lstat',
  'lstat64', 'madvise', 'map_shadow_stack', 'membarrier', 'memfd_create', 'memfd_secret', 'mincore', 'mkdir',
  'mkdirat', 'mknod', 'mknodat', 'mlock', 'mlock2', 'mlockall', 'mmap', 'mmap2', 'mprotect', 'mq_getsetattr',
  'mq_notify', 'mq_open', 'mq_timedreceive', 'mq_timedreceive_time64', 'mq_timedsend', 'mq_timedsend_time64',
  'mq_unlink', 'mremap', 'mseal', 'msgctl', 'msgget', 'msgrcv', 'msgsnd', 'msync', 'munlock', 'munlockall', 'munmap',
  'name_to_handle_at', 'nanosleep', 'newfstatat', '_newselect', 'open', 'openat', 'openat2', 'pause', 'pidfd_open',
  'pidfd_send_signal', 'pipe', 'pipe2', 'pkey_alloc', 'pkey_free', 'pkey_mprotect', 'poll', 'ppoll', 'ppoll_time64',
  'prctl', 'pread64', 'preadv', 'preadv2', 'prlimit64', 'process_mrelease', 'pselect6', 'pselect6_time64',
  'pwrite64', 'pwritev', 'pwritev2', 'read', 'readahead', 'readlink', 'readlinkat', 'readv', 'recv', 'recvfrom',
  'recvmmsg', 'recvmmsg_time64', 'recvmsg', 'remap_file_pages', 'removexattr', 'removexattrat', 'rename', 'renameat',
  'renameat2', 'restart_syscall', 'riscv_hwprobe', 'rmdir', 'rseq', 'rt_sigaction', 'rt_sigpending',
  'rt_sigprocmask', 'rt_sigqueueinfo', 'rt_sigreturn', 'rt_sigsuspend', 'rt_sigtimedwait', 'rt_sigtimedwait_time64',
  'rt_tgsigqueueinfo', 'sched_getaffinity', 'sched_getattr', 'sched_getparam', 'sched_get_priority_max',
  'sched_get_priority_min', 'sched_getscheduler', 'sched_rr_get_interval', 'sched_rr_get_interval_time64',
  'sched_setaffinity', 'sched_setattr', 'sched_setparam', 'sched_setscheduler', 'sched_yield', 'seccomp', 'select',
  'semctl', 'semget', 'semop', 'semtimedop', 'semtimedop_time64', 'send', 'sendfile', 'sendfile64', 'sendmmsg',
  'sendmsg', 'sendto', 'setfsgid', 'setfsgid32', 'setfsuid', 'setfsuid32', 'setgid', 'setgid32', 'setgroups',
  'setgroups32', 'setitimer', 'setpgid', 'setpriority', 'setregid', 'setregid32', 'setresgid', 'setresgid32',
  'setresuid', 'setresuid32', 'setreuid', 'setreuid32', 'setrlimit', 'set_robust_list', 'setsid', 'setsockopt',
  'set_thread_area', 'set_tid_address', 'setuid', 'setuid32', 'setxattr', 'setxattrat', 'shmat', 'shmctl', 'shmdt',
  'shmget', 'shutdown', 'sigaltstack', 'signalfd', 'signalfd4', 'sigprocmask', 'sigreturn', 'socketcall',
  'socketpair', 'splice', 'stat', 'stat64', 'statfs', 'statfs64', 'statmount', 'statx', 'symlink', 'symlinkat',
  'sync', 'sync_file_range', 'syncfs', 'sysinfo', 'tee', 'tgkill', 'time', 'timer_create', 'timer_delete',
  'timer_getoverrun', 'timer_gettime', 'timer_gettime64', 'timer_settime', 'timer_settime64', 'timerfd_create',
  'timerfd_gettime', 'timerfd_gettime64', 'timerfd_settime', 'timerfd_settime64', 'times', 'tkill', 'truncate',
  'truncate64', 'ugetrlimit', 'umask', 'uname', 'unlink', 'unlinkat', 'uretprobe', 'utime', 'utimensat',
  'utimensat_time64', 'utimes', 'vfork', 'vmsplice', 'wait4', 'waitid', 'waitpid', 'write', 'writev',
  // x86 only.
  'arch_prctl', 'modify_ldt',
];

/** Calls that come back with a capability (any one of those listed), as in Docker's profile. */
const BY_CAPABILITY: { caps: string[]; names: string[] }[] = [
  { caps: ['CAP_DAC_READ_SEARCH'], names: ['open_by_handle_at'] },
  {
    caps: ['CAP_SYS_ADMIN'],
    names: [
      'bpf', 'clone', 'clone3', 'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lookup_dcookie', 'lsm_get_self_attr',
      'lsm_list_modules', 'lsm_set_self_attr', 'mount', 'mount_setattr', 'move_mount', 'open_tree', 'perf_event_open', 'quotactl',
      'quotactl_fd', 'setdomainname', 'sethostname', 'setns', 'syslog', 'umount', 'umount2', 'unshare',
    ],
  },
  { caps: ['CAP_SYS_BOOT'], names: ['reboot'] },
  { caps: ['CAP_SYS_CHROOT'], names: ['chroot'] },
  { caps: ['CAP_SYS_MODULE'], names: ['delete_module', 'init_module', 'finit_module'] },
  { caps: ['CAP_SYS_PACCT'], names: ['acct'] },
  { caps: ['CAP_SYS_PTRACE'], names: ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace'] },
  { caps: ['CAP_SYS_RAWIO'], names: ['iopl', 'ioperm'] },
  { caps: ['CAP_SYS_TIME'], names: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'] },
  { caps: ['CAP_SYS_TTY_CONFIG'], names: ['vhangup'] },
  { caps: ['CAP_SYS_NICE'], names: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'] },
  { caps: ['CAP_SYSLOG'], names: ['syslog'] },
  { caps: ['CAP_BPF'], names: ['bpf'] },
  { caps: ['CAP_PERFMON'], names: ['perf_event_open'] },
];

/** Since Linux 4.8 a seccomp filter sees ptrace's effects, so ptrace can no longer get round it. */
const PTRACE_SINCE_4_8 = ['process_vm_readv', 'process_vm_writev', 'ptrace'];

/**
 * personality(2) only for the personas that change nothing a filter relies on: PER_LINUX,
 * PER_LINUX32, UNAME26 with either, and 0xffffffff (the query).
 */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/** socket(2)'s families: all but AF_ALG (38) and AF_VSOCK (40), which reach the host's kernel crypto and hypervisor. */
const AF_ALG = 38;
const AF_VSOCK = 40;

/** clone() flags that make new namespaces: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET. */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;

/** wharf's default profile for a container with these (effective) capabilities. */
export function defaultSeccomp(caps: string[]): OciSeccomp {
  const has = (c: string) => caps.includes(c);
  const allow = (names: string[], args?: OciSyscallRule['args']): OciSyscallRule => ({ names, action: 'SCMP_ACT_ALLOW', ...(args ? { args } : {}) });
  const syscalls: OciSyscallRule[] = [allow(ALLOWED)];
  if (kernelAtLeast('4.8')) syscalls.push(allow(PTRACE_SINCE_4_8));
  syscalls.push(
    allow(['socket'], [{ index: 0, value: AF_ALG, op: 'SCMP_CMP_LT' }]),
    allow(['socket'], [{ index: 0, value: AF_ALG + 1, op: 'SCMP_CMP_EQ' }]),
    allow(['socket'], [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_GT' }]),
  );
  for (const v of PERSONALITIES) syscalls.push(allow(['personality'], [{ index: 0, value: v, op: 'SCMP_CMP_EQ' }]));
  for (const g of BY_CAPABILITY) if (g.caps.some(has)) syscalls.push(allow(g.names));
  if (!has('CAP_SYS_ADMIN')) {
    // clone without namespace flags only: those flags masked off must leave 0.
    syscalls.push(allow(['clone'], [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]));
    // Docker answers clone3 with "not implemented", so that libc falls back to clone, whose flags a filter can see.
    syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  }
  return { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: EPERM, architectures: X86_ARCHES, syscalls };
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
