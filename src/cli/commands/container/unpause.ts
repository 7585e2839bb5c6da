import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { exitWith, newCommand, requireArgs } from '../../command.js';
import { forEachName } from '../../errors.js';
import type { IO, Session } from '../../session.js';

/** `unpause` has no options. */
export type UnpauseOptions = Record<string, never>;

/** `unpause`: thaws each container in turn and echoes its name; the failures are printed at the end (exit 1). */
export function unpause(client: Pick<Client, 'containerUnpause'>, names: string[], _opts: UnpauseOptions, io: IO): Promise<number> {
  return forEachName(io, names, async (n) => {
    await client.containerUnpause(n);
    io.stdout.write(`${n}\n`);
  });
}

export function unpauseCommand(s: Session): Command {
  const cmd = newCommand('unpause', 'Unpause all processes within one or more containers', 'CONTAINER [CONTAINER...]');
  return cmd.argument('[names...]').action(async (names: string[]) => {
    requireArgs(s, cmd, names, 1);
    exitWith(await unpause(s.client, names, {}, s.io));
  });
}
