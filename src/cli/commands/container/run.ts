import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import type { ContainerWaitResponse } from '../../../types/index.js';
import { exitWith, givenFlags, newCommand, requireArgs } from '../../command.js';
import { CommandFailure, errorText } from '../../errors.js';
import type { IO, Session } from '../../session.js';
import { checkTty, followAttached, pumpStreams, startFailureCode, type AttachedClient } from '../../streams.js';
import { createContainer, requestFromOptions, type CreateClient, type CreateOptions } from './create.js';
import { addCreateFlags, addRunFlags, type CreateFlags } from './createopts.js';

/** run's options: create's, and -d, --detach-keys and --sig-proxy, which create's flags type already has. */
export type RunOptions = CreateOptions;

export type RunClient = CreateClient & AttachedClient & Pick<Client, 'containerStart' | 'containerAttach' | 'containerWait' | 'containerResize'>;

/** docker's "docker: <error>" failure of run, with the exit code it gives. */
const failure = (err: unknown, code: number) => new CommandFailure(code, errorText(err));

/**
 * `run IMAGE [COMMAND] [ARG...]`: create, attach, start, and the container's exit status once
 * its streams end (0 if the user detached). With -d, the ID and 0 once it has started. An
 * engine failure exits 125, a command that cannot be run 126 or 127 (thrown as CommandFailure).
 */
export async function run(client: RunClient, args: [string, ...string[]], opts: RunOptions, io: IO): Promise<number> {
  const req = requestFromOptions(args[0], args.slice(1), opts);
  checkTty(io, Boolean(req.Tty), Boolean(req.AttachStdin));
  let id: string;
  try {
    id = await createContainer(client, req, opts, io);
  } catch (err) {
    throw failure(err, 125);
  }

  if (opts.detach) {
    // docker 28 prints the ID as soon as the container exists, even if it then fails to start.
    io.stdout.write(`${id}\n`);
    try {
      await client.containerStart(id);
    } catch (err) {
      throw failure(err, startFailureCode((err as Error).message));
    }
    return 0;
  }

  const tty = Boolean(opts.tty);
  const attached = req.AttachStdin || req.AttachStdout || req.AttachStderr;
  const conn = attached
    ? await client.containerAttach(id, { stdin: req.AttachStdin, stdout: req.AttachStdout, stderr: req.AttachStderr, detachKeys: opts.detachKeys })
    : undefined;
  // Asked for before start, so an exit right after start isn't missed.
  const waiting: Promise<ContainerWaitResponse> = client.containerWait(id, opts.rm ? 'removed' : 'next-exit');
  waiting.catch(() => {});
  const resize = (h: number, w: number) => void client.containerResize(id, h, w).catch(() => {});
  const pumping = conn ? pumpStreams(io, conn, { tty, stdin: Boolean(req.AttachStdin), resize }) : Promise.resolve();

  try {
    await client.containerStart(id);
  } catch (err) {
    conn?.destroy();
    await pumping;
    throw failure(err, startFailureCode((err as Error).message));
  }
  return followAttached(client, io, { id, tty, sigProxy: opts.sigProxy !== false, stdin: Boolean(conn && req.AttachStdin), pumping, waiting, resize });
}

export function runCommand(s: Session): Command {
  const cmd = newCommand('run', 'Create and run a new container from an image', '[OPTIONS] IMAGE [COMMAND] [ARG...]');
  addRunFlags(addCreateFlags(cmd))
    .argument('[args...]')
    .passThroughOptions()
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 1);
      exitWith(await run(s.client, [args[0], ...args.slice(1)], { ...givenFlags<CreateFlags>(cmd), localEnv: s.env, configDir: s.configDir }, s.io));
    });
  return cmd;
}
