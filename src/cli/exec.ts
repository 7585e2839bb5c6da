import type { Command } from 'commander';
import { newCommand, requireArgs } from './command.js';
import { expandEnv, readVarFile } from './createopts.js';
import { collect } from './opts.js';
import { Exit, type Session } from './session.js';
import { checkTty, pumpStreams, sendSize } from './streams.js';

interface ExecFlags {
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  user?: string;
  workdir?: string;
  env?: string[];
  envFile?: string[];
  privileged?: boolean;
  detachKeys?: string;
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
    .action(async (args: string[], f: ExecFlags) => {
      requireArgs(s, cmd, args, 2);
      const [container, ...command] = args;
      const c = s.client;
      const tty = Boolean(f.tty);
      const stdin = Boolean(f.interactive) && !f.detach;
      checkTty(s, tty, stdin);
      const env = [...(f.envFile ?? []).flatMap((p) => readVarFile(p, s.env)), ...expandEnv(f.env ?? [], s.env)];
      const out = s.io.stdout;
      const { Id: execId } = await c.execCreate(container, {
        Cmd: command,
        Tty: tty,
        AttachStdin: stdin,
        AttachStdout: !f.detach,
        AttachStderr: !f.detach,
        User: f.user,
        WorkingDir: f.workdir,
        Env: env.length ? env : undefined,
        Privileged: Boolean(f.privileged),
        DetachKeys: f.detachKeys,
        ConsoleSize: tty && out.isTTY && out.rows && out.columns ? [out.rows, out.columns] : undefined,
      });
      if (f.detach) {
        await c.execStartDetached(execId, { Tty: tty });
        return;
      }
      const conn = await c.execStartAttached(execId, { Tty: tty });
      const resize = (h: number, w: number) => void c.execResize(execId, h, w).catch(() => {});
      const pumping = pumpStreams(s, conn, { tty, stdin, resize });
      if (tty) sendSize(s, resize);
      await pumping;
      const r = await c.execInspect(execId);
      // Still running after the stream closed: the user detached.
      if (r.Running) return;
      throw new Exit(r.ExitCode ?? 0);
    });
}
