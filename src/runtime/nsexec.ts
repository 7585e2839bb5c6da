/**
 * Attached execs without a monitor (#12): wharfd starts native/nsexec.c as its own child, which
 * joins the container's cgroups and namespaces and becomes the process with the container's
 * capabilities, rlimits, no_new_privs and seccomp filter, as `runc exec` would, in a fraction of
 * runc's time. Detached execs stay on conmon: they must outlive wharfd, and this one dies with it.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import { NSEXEC_PATH, spawnPiped } from '../util/index.js';
import { ALL_CAPS } from './oci.js';
import type { OciSeccomp } from './seccomp.js';
import type { ExecProcess, ExecSession, Rlimit } from './types.js';

/** What the container's bundle says the exec inherits (config.json's process and linux.seccomp). */
export interface ContainerProcessSpec {
  caps: string[];
  rlimits: Rlimit[];
  noNewPrivileges: boolean;
  seccomp?: OciSeccomp;
  /** Where the helper keeps the compiled filter for the container's next execs. */
  seccompCache?: string;
}

/** A start failure the helper reported in runc's words; `code` is the exit code the docker CLI shows. */
export class NsexecStartError extends Error {
  constructor(
    readonly text: string,
    readonly code: number,
  ) {
    super(text);
  }
}

export const nsexecAvailable = (): boolean => existsSync(NSEXEC_PATH);

// Joined in this order: the user namespace first gives the rights for the rest; mnt last, so
// the others are opened while /proc is still the host's (the helper opens all before joining).
const NAMESPACES = ['user', 'ipc', 'uts', 'net', 'pid', 'cgroup', 'mnt'];

const RLIMITS: Record<string, number> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5, RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10, RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};

// libseccomp's action values (seccomp.h); ERRNO and TRACE carry their number in the low 16 bits.
const ACTIONS: Record<string, number> = {
  SCMP_ACT_KILL: 0,
  SCMP_ACT_KILL_THREAD: 0,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: 0x00050000,
  SCMP_ACT_TRACE: 0x7ff00000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_ALLOW: 0x7fff0000,
};
const OPS: Record<string, number> = { SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6, SCMP_CMP_MASKED_EQ: 7 };
const EPERM = 1;

function action(name: string, errno: number | undefined): number {
  const base = ACTIONS[name];
  if (base === undefined) throw new Error(`seccomp action ${name} is not supported for execs`);
  if (name === 'SCMP_ACT_ERRNO') return (base | ((errno ?? EPERM) & 0xffff)) >>> 0;
  if (name === 'SCMP_ACT_TRACE') return (base | ((errno ?? EPERM) & 0xffff)) >>> 0;
  return base;
}

/** The filter as the helper reads it: libseccomp's numbers, one rule per syscall name. */
export function seccompItems(s: OciSeccomp): string[] {
  const items = [`sc-default=${action(s.defaultAction, s.defaultErrnoRet)}`];
  const arches = s.architectures?.length ? s.architectures : ['SCMP_ARCH_X86_64'];
  for (const a of arches) items.push(`sc-arch=${a.replace(/^SCMP_ARCH_/, '').toLowerCase()}`);
  for (const r of s.syscalls) {
    const act = action(r.action, r.errnoRet);
    const args = (r.args ?? []).map((a) => {
      const op = OPS[a.op];
      if (op === undefined) throw new Error(`seccomp operator ${a.op} is not supported`);
      return ` ${a.index} ${op} ${BigInt(a.value)} ${BigInt(a.valueTwo ?? 0)}`;
    });
    for (const name of r.names) items.push(`sc-rule=${act} ${name}${args.join('')}`);
  }
  return items;
}

function capMask(caps: string[]): string {
  let mask = 0n;
  for (const c of caps) {
    const bit = ALL_CAPS.indexOf(c);
    if (bit >= 0) mask |= 1n << BigInt(bit);
  }
  return mask.toString(16);
}

interface CgroupMount {
  v2: boolean;
  options: Set<string>;
  root: string;
  mountPoint: string;
}

let cgroupMounts: CgroupMount[] | undefined;

/** The host's cgroup hierarchies; they do not move while wharfd runs. */
function hostCgroupMounts(): CgroupMount[] {
  if (cgroupMounts) return cgroupMounts;
  const out: CgroupMount[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const [fstype, , superOpts] = line.slice(dash + 3).split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const f = line.slice(0, dash).split(' ');
    const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    out.push({ v2: fstype === 'cgroup2', options: new Set(superOpts.split(',')), root: unescape(f[3]), mountPoint: unescape(f[4]) });
  }
  cgroupMounts = out;
  return out;
}

/** The cgroup.procs file of each hierarchy the process `pid` is in. */
export function cgroupProcsFiles(pid: number): string[] {
  const files: string[] = [];
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, id, controllers, path] = m;
    const wanted = controllers.split(',').filter(Boolean);
    const mount = hostCgroupMounts().find((c) => (id === '0' && !controllers ? c.v2 : !c.v2 && wanted.every((w) => c.options.has(w))));
    if (!mount) continue;
    const rel = mount.root !== '/' && path.startsWith(mount.root) ? path.slice(mount.root.length) : path;
    files.push(`${mount.mountPoint}${rel === '/' ? '' : rel}/cgroup.procs`);
  }
  return files;
}

let warming: Promise<void> | undefined;

/**
 * Gets the kernel ready for a process to join a container's cgroups soon (runc create's first
 * process, an attached exec's). Each move into a cgroup takes the kernel's cgroup thread-group
 * lock for writing, and the first taking after an idle spell waits out an RCU grace period
 * (5-20 ms on this 2-core VM), while one within some 10 ms of the last costs microseconds. So the daemon takes it once
 * now, on a pool thread, by moving itself into the cgroup it is already in (no move happens),
 * while the client's next request, or the helpers' starts, take their time; the process's own
 * join then finds it warm. Best effort: a failure only means the join pays the wait, as before.
 */
export function warmCgroupMoves(): Promise<void> {
  if (warming) return warming;
  const own = cgroupProcsFiles(process.pid)[0];
  if (!own) return Promise.resolve();
  warming = writeFile(own, `${process.pid}\n`)
    .catch(() => {})
    .finally(() => (warming = undefined));
  return warming;
}

/** The namespaces of `pid` that are not wharfd's own. */
function namespaceFiles(pid: number): string[] {
  const out: string[] = [];
  for (const ns of NAMESPACES) {
    const theirs = `/proc/${pid}/ns/${ns}`;
    let ino: number;
    try {
      ino = statSync(theirs).ino;
    } catch {
      continue;
    }
    if (ino !== statSync(`/proc/self/ns/${ns}`).ino) out.push(theirs);
  }
  return out;
}

/** The helper's job: NUL-terminated key=value items (see native/nsexec.c). */
export function jobItems(initPid: number, p: ExecProcess, c: ContainerProcessSpec): string[] {
  const items: string[] = [];
  for (const f of cgroupProcsFiles(initPid)) items.push(`cgroup=${f}`);
  for (const f of namespaceFiles(initPid)) items.push(`ns=${f}`);
  items.push(`uid=${p.user.uid}`, `gid=${p.user.gid}`, `groups=${p.user.additionalGids.join(',')}`);
  for (const r of c.rlimits) {
    const res = RLIMITS[r.type];
    if (res === undefined) throw new Error(`unknown rlimit ${r.type}`);
    items.push(`rlimit=${res} ${BigInt(r.soft)} ${BigInt(r.hard)}`);
  }
  const caps = capMask(c.caps);
  // As runc sets an exec's process.json today: bounding, effective and permitted alike, no inheritable or ambient.
  items.push(`caps=${caps} ${caps} ${caps} 0 0`);
  if (c.noNewPrivileges) items.push('nnp=1');
  if (c.seccomp) items.push(...seccompItems(c.seccomp));
  if (c.seccomp && c.seccompCache) items.push(`sc-cache=${c.seccompCache}`);
  items.push(`cwd=${p.cwd}`);
  for (const a of p.args) items.push(`arg=${a}`);
  for (const e of p.env) items.push(`env=${e}`);
  for (const i of items) if (i.includes('\0')) throw new Error('exec arguments and environment cannot contain NUL bytes');
  return items;
}

/** How long output may trail the exit: what the process wrote is in the pipe by then; a child it left holding the pipe is not waited for. */
const DRAIN_MS = 100;

/**
 * Starts the process. Resolves once it runs, with its host pid; rejects with NsexecStartError
 * when it could not start (missing command, bad cwd...), with the helper's message otherwise.
 */
export async function nsexec(initPid: number, p: ExecProcess, c: ContainerProcessSpec): Promise<ExecSession> {
  const job = Buffer.from(jobItems(initPid, p, c).map((i) => `${i}\0`).join(''));
  const child = spawnPiped(NSEXEC_PATH, [], { fds: [p.stdin ? 'in' : 'ignore', 'out', 'out', 'in', 'out'] });
  const [stdin, stdoutPipe, stderrPipe, jobPipe, statusPipe] = child.pipes;
  // The session's streams end when the process's output does, or shortly after it exited (see DRAIN_MS).
  const stdout = relay(stdoutPipe);
  const stderr = relay(stderrPipe);
  stdin?.on('error', () => {});
  jobPipe.on('error', () => {});
  jobPipe.end(job);
  const statusLines = lines(statusPipe);
  const exitedProc = child.exited.then((x) => x.code ?? (x.signal !== null ? 128 + 15 : 255));
  const first = await statusLines.next();
  if (first === undefined || !first.startsWith('pid ')) {
    stdoutPipe.destroy();
    stderrPipe.destroy();
    stdin?.destroy();
    const code = await exitedProc;
    const m = first ? /^error (\d+) (.*)$/.exec(first) : null;
    if (m && Number(m[1]) !== 1) throw new NsexecStartError(m[2], Number(m[1]));
    throw new Error(m ? m[2] : `the exec helper ended (status ${code}) before the process started`);
  }
  const pid = Number(first.slice(4));
  const exited = statusLines.next().then(async (line) => {
    const m = line ? /^exit (\d+)$/.exec(line) : null;
    const code = m ? Number(m[1]) : await exitedProc;
    // The stream ends with the process, as with conmon: a background child keeping the pipe open does not hold the client.
    const drained = (s: PassThrough) => new Promise<void>((r) => (s.writableEnded ? r() : s.once('finish', () => r())));
    const timer = setTimeout(() => {
      stdoutPipe.destroy();
      stderrPipe.destroy();
    }, DRAIN_MS);
    await Promise.all([drained(stdout), drained(stderr)]);
    clearTimeout(timer);
    stdin?.destroy();
    return code;
  });
  return {
    pid,
    stdout,
    stderr,
    stdin,
    exited,
    close() {
      stdoutPipe.destroy();
      stderrPipe.destroy();
      stdin?.destroy();
    },
    // A TTY exec goes through conmon; this process has no terminal to size.
    resize: async () => {},
  };
}

/** The pipe's bytes as a stream that ends however the pipe goes: at its end, on error, or destroyed. */
function relay(pipe: Socket): PassThrough {
  const out = new PassThrough();
  pipe.on('data', (d: Buffer) => out.write(d));
  pipe.on('error', () => {});
  pipe.once('close', () => out.end());
  return out;
}

/** Line reader over the helper's status pipe: next() resolves with a line, or undefined at its end. */
function lines(stream: Readable): { next(): Promise<string | undefined> } {
  let buf = '';
  let ended = false;
  const waiting: ((l: string | undefined) => void)[] = [];
  const queue: string[] = [];
  const flush = () => {
    while (waiting.length && (queue.length || ended)) waiting.shift()!(queue.shift());
  };
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      queue.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    flush();
  });
  const end = () => {
    ended = true;
    flush();
  };
  stream.once('end', end);
  stream.once('close', end);
  stream.on('error', end);
  return {
    next: () =>
      new Promise((resolve) => {
        waiting.push(resolve);
        flush();
      }),
  };
}
