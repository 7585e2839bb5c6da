import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import type { ContainerInspect } from '../../../types/index.js';
import { exitWith, givenFlags, newCommand, requireArgs } from '../../command.js';
import type { IO, Session } from '../../session.js';
import { checkTty, followAttached, pumpStreams, type AttachedClient } from '../../streams.js';

export interface AttachOptions {
  /** false: --no-stdin. */
  stdin?: boolean;
  /** false: --no-sig-proxy. */
  sigProxy?: boolean;
  detachKeys?: string;
}

export type AttachStreamsClient = Pick<Client, 'containerAttach' | 'containerResize'>;

/** Attaches stdout and stderr (and stdin if asked) of a container and starts copying them; start -a does the same. */
export async function attachStreams(client: AttachStreamsClient, io: IO, info: ContainerInspect, stdin: boolean, detachKeys?: string) {
  const resize = (h: number, w: number) => void client.containerResize(info.Id, h, w).catch(() => {});
  const conn = await client.containerAttach(info.Id, { stdin, stdout: true, stderr: true, detachKeys });
  return { pumping: pumpStreams(io, conn, { tty: Boolean(info.Config.Tty), stdin, resize }), resize, conn };
}

/**
 * `attach`: follows a running container's streams until it exits (its exit code) or the user
 * detaches (0). A container that is not running is refused as docker refuses it (exit 1).
 */
export async function attach(client: AttachedClient & AttachStreamsClient & Pick<Client, 'containerWait'>, name: string, opts: AttachOptions, io: IO): Promise<number> {
  // Asked for first, as docker does, so an exit while we attach is not missed.
  const waiting = client.containerWait(name, 'not-running');
  waiting.catch(() => {});
  const info = await client.containerInspect(name);
  const refuse = (message: string) => (io.stderr.write(`${message}\n`), 1);
  if (!info.State.Running) return refuse('You cannot attach to a stopped container, start it first');
  if (info.State.Paused) return refuse('You cannot attach to a paused container, unpause it first');
  if (info.State.Restarting) return refuse('You cannot attach to a restarting container, wait until it is running');
  checkTty(io, Boolean(info.Config.Tty), opts.stdin !== false);
  const stdin = opts.stdin !== false && Boolean(info.Config.OpenStdin);
  const { pumping, resize } = await attachStreams(client, io, info, stdin, opts.detachKeys);
  return followAttached(client, io, { id: info.Id, tty: Boolean(info.Config.Tty), sigProxy: opts.sigProxy !== false, stdin, pumping, waiting, resize });
}

export function attachCommand(s: Session): Command {
  const cmd = newCommand('attach', 'Attach local standard input, output, and error streams to a running container', '[OPTIONS] CONTAINER');
  return cmd
    .argument('[args...]')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('--no-stdin', 'Do not attach STDIN')
    .option('--sig-proxy', 'Proxy all received signals to the process (default true)')
    .option('--no-sig-proxy', 'Do not proxy signals')
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 1, 1);
      exitWith(await attach(s.client, args[0], givenFlags<AttachOptions>(cmd), s.io));
    });
}
