import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { exitWith, givenFlags, newCommand, requireArgs } from '../../command.js';
import { forEachName } from '../../errors.js';
import type { IO, Session } from '../../session.js';

export interface KillOptions {
  /** SIGKILL (the daemon's default) when not given. */
  signal?: string;
}

/** `kill`: signals each container in turn and echoes its name; the failures are printed at the end (exit 1). */
export function kill(client: Pick<Client, 'containerKill'>, names: string[], opts: KillOptions, io: IO): Promise<number> {
  return forEachName(io, names, async (n) => {
    await client.containerKill(n, opts.signal);
    io.stdout.write(`${n}\n`);
  });
}

export function killCommand(s: Session): Command {
  const cmd = newCommand('kill', 'Kill one or more running containers', '[OPTIONS] CONTAINER [CONTAINER...]');
  return cmd
    .argument('[names...]')
    .option('-s, --signal <string>', 'Signal to send to the container')
    .action(async (names: string[]) => {
      requireArgs(s, cmd, names, 1);
      exitWith(await kill(s.client, names, givenFlags<KillOptions>(cmd), s.io));
    });
}
