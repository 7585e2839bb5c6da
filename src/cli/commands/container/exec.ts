import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { exitWith, givenFlags, newCommand, requireArgs } from '../../command.js';
import { collect } from '../../opts.js';
import type { IO, Session } from '../../session.js';
import { checkTty, pumpStreams, sendSize } from '../../streams.js';
import { expandEnv, readVarFile } from './createopts.js';

export interface ExecOptions {
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  user?: string;
  workdir?: string;
  env?: string[];
  envFile?: string[];
  privileged?: boolean;
  detachKeys?: string;
  /** Our environment, where `-e NAME` and a bare NAME in an env file take their values. */
  localEnv?: Record<string, string | undefined>;
}

export type ExecClient = Pick<Client, 'execCreate' | 'execStartDetached' | 'execStartAttached' | 'execResize' | 'execInspect'>;

/**
 * `exec CONTAINER COMMAND [ARG...]`: runs the command in the container and exits with its
 * status; 0 at once with -d, and 0 if the user detached.
 */
export async function exec(client: ExecClient, args: [string, ...string[]], opts: ExecOptions, io: IO): Promise<number> {
  const [container, ...command] = args;
  const tty = Boolean(opts.tty);
  const stdin = Boolean(opts.interactive) && !opts.detach;
  checkTty(io, tty, stdin);
  const localEnv = opts.localEnv ?? {};
  const env = [...(opts.envFile ?? []).flatMap((p) => readVarFile(p, localEnv)), ...expandEnv(opts.env ?? [], localEnv)];
  const out = io.stdout;
  const { Id: execId } = await client.execCreate(container, {
    Cmd: command,
    Tty: tty,
    AttachStdin: stdin,
    AttachStdout: !opts.detach,
    AttachStderr: !opts.detach,
    User: opts.user,
    WorkingDir: opts.workdir,
    Env: env.length ? env : undefined,
    Privileged: Boolean(opts.privileged),
    DetachKeys: opts.detachKeys,
    ConsoleSize: tty && out.isTTY && out.rows && out.columns ? [out.rows, out.columns] : undefined,
  });
  if (opts.detach) {
    await client.execStartDetached(execId, { Tty: tty });
    return 0;
  }
  const conn = await client.execStartAttached(execId, { Tty: tty });
  const resize = (h: number, w: number) => void client.execResize(execId, h, w).catch(() => {});
  const pumping = pumpStreams(io, conn, { tty, stdin, resize });
  if (tty) sendSize(io, resize);
  await pumping;
  const r = await client.execInspect(execId);
  // Still running after the stream closed: the user detached.
  if (r.Running) return 0;
  return r.ExitCode ?? 0;
}

export function execCommand(s: Session): Command {
  const cmd = newCommand('exec', 'Execute a command in a running container', '[OPTIONS] CONTAINER COMMAND [ARG...]');
  return cmd
    .argument('[args...]')
    .option('-d, --detach', 'Detached mode: run command in the background')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('-e, --env <list>', 'Set environment variables', collect)
    .option('--env-file <list>', 'Read in a file of environment variables', collect)
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('--privileged', 'Give extended privileges to the command')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('-u, --user <string>', 'Username or UID (format: "<name|uid>[:<group|gid>]")')
    .option('-w, --workdir <string>', 'Working directory inside the container')
    .passThroughOptions()
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 2);
      exitWith(await exec(s.client, [args[0], ...args.slice(1)], { ...givenFlags<ExecOptions>(cmd), localEnv: s.env }, s.io));
    });
}
