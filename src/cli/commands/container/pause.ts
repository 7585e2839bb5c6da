import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { exitWith, newCommand, requireArgs } from '../../command.js';
import { forEachName } from '../../errors.js';
import type { IO, Session } from '../../session.js';

/** `pause` has no options. */
export type PauseOptions = Record<string, never>;

/** `pause`: freezes each container in turn and echoes its name; the failures are printed at the end (exit 1). */
export function pause(client: Pick<Client, 'containerPause'>, names: string[], _opts: PauseOptions, io: IO): Promise<number> {
  return forEachName(io, names, async (n) => {
    await client.containerPause(n);
    io.stdout.write(`${n}\n`);
  });
}

export function pauseCommand(s: Session): Command {
  const cmd = newCommand('pause', 'Pause all processes within one or more containers', 'CONTAINER [CONTAINER...]');
  return cmd.argument('[names...]').action(async (names: string[]) => {
    requireArgs(s, cmd, names, 1);
    exitWith(await pause(s.client, names, {}, s.io));
  });
}
