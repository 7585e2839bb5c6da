import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ContainerCreateRequest, ContainerCreateResponse, ContainerInspect, ContainerWaitResponse, HostConfig } from '../api/types/index.js';
import { ApiError, readProgress } from '../client/index.js';
import { Exit, pipeStreams, sendSize, type Env } from './session.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** The flags `run` and `create` share (docker's names). */
export function addCreateOptions(cmd: Command): Command {
  return cmd
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('--name <string>', 'Assign a name to the container')
    .option('-e, --env <list>', 'Set environment variables', collect)
    .option('--env-file <list>', 'Read in a file of environment variables', collect)
    .option('-w, --workdir <string>', 'Working directory inside the container')
    .option('-u, --user <string>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('--entrypoint <string>', 'Overwrite the default ENTRYPOINT of the image')
    .option('-h, --hostname <string>', 'Container host name')
    .option('--domainname <string>', 'Container NIS domain name')
    .option('-l, --label <list>', 'Set meta data on a container', collect)
    .option('--label-file <list>', 'Read in a line delimited file of labels', collect)
    .option('--restart <string>', 'Restart policy to apply when a container exits', 'no')
    .option('--init', 'Run an init inside the container that forwards signals and reaps processes')
    .option('--stop-signal <string>', 'Signal to stop the container')
    .option('--stop-timeout <int>', 'Timeout (in seconds) to stop a container')
    .option('--network, --net <string>', 'Connect a container to a network', 'default')
    .option('--privileged', 'Give extended privileges to this container')
    .option('--cap-add <list>', 'Add Linux capabilities', collect)
    .option('--cap-drop <list>', 'Drop Linux capabilities', collect)
    .option('--security-opt <list>', 'Security Options', collect)
    .option('--read-only', "Mount the container's root filesystem as read only")
    .option('--tmpfs <list>', 'Mount a tmpfs directory', collect)
    .option('-v, --volume <list>', 'Bind mount a volume', collect)
    .option('-m, --memory <bytes>', 'Memory limit')
    .option('--cpus <decimal>', 'Number of CPUs')
    .option('--cpu-shares <int>', 'CPU shares (relative weight)')
    .option('--pids-limit <int>', 'Tune container pids limit (set -1 for unlimited)')
    .option('--ulimit <ulimit>', 'Ulimit options', collect)
    .option('--sysctl <map>', 'Sysctl options', collect)
    .option('--shm-size <bytes>', 'Size of /dev/shm')
    .option('--add-host <list>', 'Add a custom host-to-IP mapping (host:ip)', collect)
    .option('--dns <list>', 'Set custom DNS servers', collect)
    .option('--log-driver <string>', 'Logging driver for the container')
    .option('--log-opt <list>', 'Log driver options', collect)
    .option('--runtime <string>', 'Runtime to use for this container')
    .option('-p, --publish <list>', "Publish a container's port(s) to the host", collect)
    .option('--expose <list>', 'Expose a port or a range of ports', collect)
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .option('--pull <string>', 'Pull image before running ("always", "missing", "never")', 'missing')
    .option('-a, --attach <list>', 'Attach to STDIN, STDOUT or STDERR', collect);
}

/** "512m" -> bytes, as docker's RAMInBytes. */
export function parseBytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)b?$/i.exec(v.trim());
  if (!m) throw new Exit(125, `invalid size: '${v}'`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[m[2].toLowerCase() as ''];
  return Math.round(Number(m[1]) * mult);
}

function readEnvFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Exit(125, `open ${path}: no such file or directory`);
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => (l.includes('=') ? l : process.env[l] !== undefined ? `${l}=${process.env[l]}` : l));
}

function envList(list: string[] = []): string[] {
  // `-e NAME` takes NAME from our own environment, as docker does.
  return list.map((e) => (e.includes('=') ? e : process.env[e] !== undefined ? `${e}=${process.env[e]}` : e));
}

function restartPolicy(v: string): HostConfig['RestartPolicy'] {
  const [name, count] = v.split(':');
  if (!['no', 'always', 'on-failure', 'unless-stopped'].includes(name)) throw new Exit(125, `invalid restart policy: ${v}`);
  if (count !== undefined && name !== 'on-failure') throw new Exit(125, `invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  return { Name: name as NonNullable<HostConfig['RestartPolicy']>['Name'], MaximumRetryCount: count ? Number(count) : 0 };
}

/** Builds the create request from run/create flags. */
export function createRequest(image: string, command: string[], o: Record<string, unknown>): ContainerCreateRequest {
  const opt = <T>(k: string) => o[k] as T | undefined;
  const attach = opt<string[]>('attach')?.map((s) => s.toLowerCase());
  const detached = Boolean(o.detach);
  const interactive = Boolean(o.interactive);
  const env = [...(opt<string[]>('envFile') ?? []).flatMap(readEnvFile), ...envList(opt<string[]>('env'))];
  const labels: Record<string, string> = {};
  for (const l of [...(opt<string[]>('labelFile') ?? []).flatMap(readEnvFile), ...(opt<string[]>('label') ?? [])]) {
    const i = l.indexOf('=');
    labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of opt<string[]>('publish') ?? []) {
    const parts = p.split(':');
    const ctr = parts.pop()!;
    const key = ctr.includes('/') ? ctr : `${ctr}/tcp`;
    exposed[key] = {};
    const hostPort = parts.pop() ?? '';
    (bindings[key] ??= []).push({ HostIp: parts.pop() ?? '', HostPort: hostPort });
  }
  for (const e of opt<string[]>('expose') ?? []) exposed[e.includes('/') ? e : `${e}/tcp`] = {};
  const tmpfs: Record<string, string> = {};
  for (const t of opt<string[]>('tmpfs') ?? []) {
    const i = t.indexOf(':');
    tmpfs[i < 0 ? t : t.slice(0, i)] = i < 0 ? '' : t.slice(i + 1);
  }
  const sysctls: Record<string, string> = {};
  for (const s of opt<string[]>('sysctl') ?? []) {
    const i = s.indexOf('=');
    sysctls[s.slice(0, i)] = s.slice(i + 1);
  }
  const logOpts: Record<string, string> = {};
  for (const s of opt<string[]>('logOpt') ?? []) {
    const i = s.indexOf('=');
    logOpts[s.slice(0, i)] = s.slice(i + 1);
  }
  const entrypoint = opt<string>('entrypoint');
  const hostConfig: HostConfig = {
    Binds: opt<string[]>('volume'),
    NetworkMode: opt<string>('network') ?? 'default',
    RestartPolicy: restartPolicy(opt<string>('restart') ?? 'no'),
    AutoRemove: Boolean(o.rm),
    Init: o.init ? true : undefined,
    Privileged: Boolean(o.privileged),
    CapAdd: opt<string[]>('capAdd'),
    CapDrop: opt<string[]>('capDrop'),
    SecurityOpt: opt<string[]>('securityOpt'),
    ReadonlyRootfs: Boolean(o.readOnly),
    Tmpfs: Object.keys(tmpfs).length ? tmpfs : undefined,
    Memory: o.memory ? parseBytes(String(o.memory)) : undefined,
    NanoCpus: o.cpus ? Math.round(Number(o.cpus) * 1e9) : undefined,
    CpuShares: o.cpuShares ? Number(o.cpuShares) : undefined,
    PidsLimit: o.pidsLimit ? Number(o.pidsLimit) : undefined,
    Ulimits: (opt<string[]>('ulimit') ?? []).map((u) => {
      const [name, lim] = u.split('=');
      const [soft, hard] = lim.split(':');
      return { Name: name, Soft: Number(soft), Hard: Number(hard ?? soft) };
    }),
    Sysctls: Object.keys(sysctls).length ? sysctls : undefined,
    ShmSize: o.shmSize ? parseBytes(String(o.shmSize)) : undefined,
    ExtraHosts: opt<string[]>('addHost'),
    Dns: opt<string[]>('dns'),
    LogConfig: o.logDriver || Object.keys(logOpts).length ? { Type: opt<string>('logDriver') ?? '', Config: logOpts } : undefined,
    Runtime: opt<string>('runtime'),
    PortBindings: Object.keys(bindings).length ? bindings : undefined,
  };
  return {
    Image: image,
    Cmd: command.length ? command : undefined,
    Entrypoint: entrypoint === undefined ? undefined : entrypoint === '' ? [''] : [entrypoint],
    Env: env.length ? env : undefined,
    WorkingDir: opt<string>('workdir'),
    User: opt<string>('user'),
    Hostname: opt<string>('hostname'),
    Domainname: opt<string>('domainname'),
    Labels: labels,
    Tty: Boolean(o.tty),
    OpenStdin: interactive,
    StdinOnce: interactive && !detached,
    AttachStdin: interactive && !detached,
    AttachStdout: !detached && (!attach || attach.includes('stdout')),
    AttachStderr: !detached && (!attach || attach.includes('stderr')),
    StopSignal: opt<string>('stopSignal'),
    StopTimeout: o.stopTimeout !== undefined ? Number(o.stopTimeout) : undefined,
    ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
    HostConfig: hostConfig,
  };
}

/** Creates the container, pulling (here: finding) the image first when needed, as docker's CLI does. */
export async function createContainer(env: Env, req: ContainerCreateRequest, name?: string): Promise<string> {
  const create = () => env.client.json<ContainerCreateResponse>('POST', '/containers/create', { query: { name }, body: req });
  try {
    return (await create()).Id;
  } catch (err) {
    if (!(err instanceof ApiError && err.statusCode === 404 && /No such image/.test(err.message))) throw err;
  }
  const ref = req.Image!.includes(':') || req.Image!.includes('@') ? req.Image! : `${req.Image}:latest`;
  env.stderr.write(`Unable to find image '${ref}' locally\n`);
  const [fromImage, tag] = ref.includes('@') ? ref.split('@') : [ref.slice(0, ref.lastIndexOf(':')), ref.slice(ref.lastIndexOf(':') + 1)];
  const res = await env.client.stream('POST', '/images/create', { query: { fromImage, tag } });
  const error = await readProgress(res, (m) => m.status && env.stderr.write(`${m.id ? m.id + ': ' : ''}${m.status}\n`));
  if (error) throw new ApiError(500, error);
  return (await create()).Id;
}

/** docker's exit code for a failed start: 127 missing command, 126 not executable, else 125. */
export function startFailureCode(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied|cannot execute/i.test(message)) return 126;
  return 125;
}

export async function runContainer(env: Env, image: string, command: string[], o: Record<string, unknown>): Promise<number> {
  const req = createRequest(image, command, o);
  const name = o.name as string | undefined;
  let id: string;
  try {
    id = await createContainer(env, req, name);
  } catch (err) {
    throw new Exit(125, `${env.prog}: ${err instanceof ApiError ? `Error response from daemon: ${err.message}` : (err as Error).message}\n\nRun '${env.prog} run --help' for more information`);
  }
  const c = env.client;
  if (o.detach) {
    try {
      await c.call('POST', `/containers/${id}/start`);
    } catch (err) {
      const msg = (err as Error).message;
      throw new Exit(startFailureCode(msg), `${env.prog}: Error response from daemon: ${msg}\n\nRun '${env.prog} run --help' for more information`);
    }
    env.stdout.write(`${id}\n`);
    return 0;
  }
  const tty = Boolean(o.tty);
  const conn = await c.hijack(`/containers/${id}/attach`, {
    query: { stream: true, stdin: Boolean(req.AttachStdin), stdout: Boolean(req.AttachStdout), stderr: Boolean(req.AttachStderr), detachKeys: o.detachKeys as string | undefined },
  });
  const waiting = c.json<ContainerWaitResponse>('POST', `/containers/${id}/wait`, { query: { condition: o.rm ? 'removed' : 'next-exit' } });
  waiting.catch(() => {});
  // Read from the attach stream before starting, so nothing the process writes (or the end) is missed.
  const onResize = (h: number, w: number) => void c.call('POST', `/containers/${id}/resize`, { query: { h, w } }).catch(() => {});
  const piping = pipeStreams(env, conn, { tty, stdin: Boolean(req.AttachStdin), onResize });
  try {
    await c.call('POST', `/containers/${id}/start`);
  } catch (err) {
    conn.destroy();
    await piping;
    const msg = (err as Error).message;
    throw new Exit(startFailureCode(msg), `${env.prog}: Error response from daemon: ${msg}\n\nRun '${env.prog} run --help' for more information`);
  }
  if (tty) sendSize(env, onResize);
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const proxy = (sig: string) => void c.call('POST', `/containers/${id}/kill`, { query: { signal: sig } }).catch(() => {});
  if (!tty && o.sigProxy !== false) for (const s of signals) process.on(s, proxy);
  await piping;
  for (const s of signals) process.off(s, proxy);
  // The stream ended: either the process exited or the user detached (the container still runs).
  const state = await c.json<ContainerInspect>('GET', `/containers/${id}/json`).catch(() => undefined);
  if (state && (state.State.Running || state.State.Paused) && !state.State.Restarting) {
    const done = await Promise.race([waiting.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 300))]);
    if (!done) return 0;
  }
  const res = await waiting;
  if (res.Error?.Message) env.stderr.write(`${res.Error.Message}\n`);
  return res.StatusCode;
}
