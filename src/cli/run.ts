import type { Command } from 'commander';
import type { ContainerCreateRequest, ContainerWaitResponse } from '../types/index.js';
import { ApiError, readProgress } from '../client/index.js';
import { commandPath, errorText, isNotFound, newCommand, requireArgs } from './command.js';
import { addCreateFlags, addRunFlags, buildCreateRequest, type CreateFlags } from './createopts.js';
import { Exit, type Session } from './session.js';
import { checkTty, followAttached, pumpStreams } from './streams.js';

/** docker's exit code for a container that could not start: 127 no command, 126 not executable, else 125. */
export function startFailureCode(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied|cannot execute/i.test(message)) return 126;
  return 125;
}

/** The fully qualified `name:tag` docker prints in "Unable to find image". */
export function normalizeImageRef(ref: string): string {
  if (ref.includes('@')) return ref;
  const slash = ref.lastIndexOf('/');
  return ref.lastIndexOf(':') > slash ? ref : `${ref}:latest`;
}

/** Creates the container; a missing image is pulled first (unless --pull=never), as docker's CLI does. */
export async function createContainer(s: Session, req: ContainerCreateRequest, f: CreateFlags): Promise<string> {
  const c = s.client;
  const create = async () => {
    const r = await c.containerCreate(req, f.name, f.platform);
    for (const w of r.Warnings ?? []) s.err(`WARNING: ${w}\n`);
    return r.Id;
  };
  if (f.pull === 'always') await pull(s, req.Image!, f.platform);
  try {
    return await create();
  } catch (err) {
    if (!(isNotFound(err) && /No such image/i.test((err as Error).message)) || f.pull === 'never') throw err;
  }
  s.err(`Unable to find image '${normalizeImageRef(req.Image!)}' locally\n`);
  await pull(s, req.Image!, f.platform);
  return create();
}

/** docker's normalized name: `busybox` → `docker.io/library/busybox`, as its CLI sends it. */
export function fullName(name: string): string {
  const first = name.split('/')[0];
  const hasDomain = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasDomain) return name;
  return `docker.io/${name.includes('/') ? name : `library/${name}`}`;
}

async function pull(s: Session, image: string, platform?: string): Promise<void> {
  const ref = normalizeImageRef(image);
  const at = ref.indexOf('@');
  const colon = ref.lastIndexOf(':');
  const [fromImage, tag] = at >= 0 ? [ref.slice(0, at), ref.slice(at + 1)] : [ref.slice(0, colon), ref.slice(colon + 1)];
  const res = await s.client.imagePull(fullName(fromImage), tag, platform);
  const error = await readProgress(res, (m) => {
    if (m.status && !m.progressDetail?.total) s.err(`${m.id ? `${m.id}: ` : ''}${m.status}\n`);
  });
  if (error) throw new ApiError(500, error);
}

/** docker's "docker: <error>\n\nRun 'docker run --help' …" block, with our program name. */
function runError(s: Session, cmd: Command, err: unknown, code: number): Exit {
  return new Exit(code, `${s.prog}: ${errorText(err)}\n\nRun '${commandPath(s, cmd)} --help' for more information`);
}

/** The create request; a flag value docker would refuse is reported as its CLI does (125). */
function requestFromFlags(s: Session, cmd: Command, image: string, command: string[], f: CreateFlags): ContainerCreateRequest {
  try {
    return buildCreateRequest(image, command, f, s.env);
  } catch (err) {
    throw err instanceof Exit ? runError(s, cmd, err, err.code) : err;
  }
}

export function runCommand(s: Session): Command {
  const cmd = newCommand('run', 'Create and run a new container from an image', '[OPTIONS] IMAGE [COMMAND] [ARG...]');
  addRunFlags(addCreateFlags(cmd))
    .argument('[args...]')
    .passThroughOptions()
    .action(async (args: string[], f: CreateFlags) => {
      requireArgs(s, cmd, args, 1);
      throw new Exit(await runContainer(s, cmd, args[0], args.slice(1), f));
    });
  return cmd;
}

export function createCommand(s: Session): Command {
  const cmd = newCommand('create', 'Create a new container', '[OPTIONS] IMAGE [COMMAND] [ARG...]');
  addCreateFlags(cmd)
    .argument('[args...]')
    .passThroughOptions()
    .action(async (args: string[], f: CreateFlags) => {
      requireArgs(s, cmd, args, 1);
      // create has no -d: the attach flags are recorded for a later `start -a`, as docker's are.
      const req = requestFromFlags(s, cmd, args[0], args.slice(1), f);
      // docker 28 exits 1 when the daemon refuses a create (125 is for its flag errors).
      s.out(`${await createContainer(s, req, f)}\n`);
    });
  return cmd;
}

async function runContainer(s: Session, cmd: Command, image: string, command: string[], f: CreateFlags): Promise<number> {
  const c = s.client;
  const req = requestFromFlags(s, cmd, image, command, f);
  checkTty(s, Boolean(req.Tty), Boolean(req.AttachStdin));
  let id: string;
  try {
    id = await createContainer(s, req, f);
  } catch (err) {
    throw runError(s, cmd, err, 125);
  }

  if (f.detach) {
    // docker 28 prints the ID as soon as the container exists, even if it then fails to start.
    s.out(`${id}\n`);
    try {
      await c.containerStart(id);
    } catch (err) {
      throw runError(s, cmd, err, startFailureCode((err as Error).message));
    }
    return 0;
  }

  const tty = Boolean(f.tty);
  const attached = req.AttachStdin || req.AttachStdout || req.AttachStderr;
  const conn = attached
    ? await c.containerAttach(id, { stdin: req.AttachStdin, stdout: req.AttachStdout, stderr: req.AttachStderr, detachKeys: f.detachKeys })
    : undefined;
  // Asked for before start, so an exit right after start isn't missed.
  const waiting: Promise<ContainerWaitResponse> = c.containerWait(id, f.rm ? 'removed' : 'next-exit');
  waiting.catch(() => {});
  const resize = (h: number, w: number) => void c.containerResize(id, h, w).catch(() => {});
  const pumping = conn ? pumpStreams(s, conn, { tty, stdin: Boolean(req.AttachStdin), resize }) : Promise.resolve();

  try {
    await c.containerStart(id);
  } catch (err) {
    conn?.destroy();
    await pumping;
    throw runError(s, cmd, err, startFailureCode((err as Error).message));
  }
  return followAttached(s, { id, tty, sigProxy: f.sigProxy !== false, stdin: Boolean(conn && req.AttachStdin), pumping, waiting, resize });
}
