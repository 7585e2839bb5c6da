import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { exitWith, givenFlags, newCommand, requireArgs } from '../../command.js';
import { forEachName } from '../../errors.js';
import type { IO, Session } from '../../session.js';
import { followAttached, startFailureCode, type AttachedClient } from '../../streams.js';
import { attachStreams, type AttachStreamsClient } from './attach.js';

export interface StartOptions {
  /** Follow the container's output (one container only), exiting with its status. */
  attach?: boolean;
  /** Attach stdin too (implies attach). */
  interactive?: boolean;
  detachKeys?: string;
}

export type StartClient = AttachedClient & AttachStreamsClient & Pick<Client, 'containerStart' | 'containerWait'>;

/**
 * `start`: starts each container and echoes its name, with docker's summary of those that
 * failed (exit 1). Attached (-a/-i), one container only: its streams are followed until it
 * exits, and a start that fails exits 125/126/127 as run does.
 */
export async function start(client: StartClient, names: string[], opts: StartOptions, io: IO): Promise<number> {
  if (!opts.attach && !opts.interactive) {
    return forEachName(
      io,
      names,
      async (n) => {
        await client.containerStart(n, opts.detachKeys);
        io.stdout.write(`${n}\n`);
      },
      (failed) => `Error: failed to start containers: ${failed.join(', ')}`,
    );
  }
  if (names.length > 1) {
    io.stderr.write('you cannot start and attach multiple containers at once\n');
    return 1;
  }
  const info = await client.containerInspect(names[0]);
  const stdin = Boolean(opts.interactive) && Boolean(info.Config.OpenStdin);
  const { pumping, resize, conn } = await attachStreams(client, io, info, stdin, opts.detachKeys);
  const waiting = client.containerWait(info.Id, info.HostConfig.AutoRemove ? 'removed' : 'next-exit');
  waiting.catch(() => {});
  try {
    await client.containerStart(info.Id);
  } catch (err) {
    conn.destroy();
    await pumping;
    io.stderr.write(`Error response from daemon: ${(err as Error).message}\n`);
    return startFailureCode((err as Error).message);
  }
  return followAttached(client, io, { id: info.Id, tty: Boolean(info.Config.Tty), sigProxy: true, stdin, pumping, waiting, resize });
}

export function startCommand(s: Session): Command {
  const cmd = newCommand('start', 'Start one or more stopped containers', '[OPTIONS] CONTAINER [CONTAINER...]');
  return cmd
    .argument('[names...]')
    .option('-a, --attach', 'Attach STDOUT/STDERR and forward signals')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('-i, --interactive', "Attach container's STDIN")
    .action(async (names: string[]) => {
      requireArgs(s, cmd, names, 1);
      exitWith(await start(s.client, names, givenFlags<StartOptions>(cmd), s.io));
    });
}
