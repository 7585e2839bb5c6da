import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { exitWith, newCommand, requireArgs } from '../../command.js';
import { forEachName } from '../../errors.js';
import type { IO, Session } from '../../session.js';
import { addStopFlags, stopOptions, type StopOptions } from './stop.js';

export type RestartOptions = StopOptions;

/** `restart`: restarts each container in turn and echoes its name; the failures are printed at the end (exit 1). */
export function restart(client: Pick<Client, 'containerRestart'>, names: string[], opts: RestartOptions, io: IO): Promise<number> {
  return forEachName(io, names, async (n) => {
    await client.containerRestart(n, opts);
    io.stdout.write(`${n}\n`);
  });
}

export function restartCommand(s: Session): Command {
  const cmd = newCommand('restart', 'Restart one or more containers', '[OPTIONS] CONTAINER [CONTAINER...]');
  return addStopFlags(s, cmd)
    .argument('[names...]')
    .action(async (names: string[]) => {
      requireArgs(s, cmd, names, 1);
      exitWith(await restart(s.client, names, stopOptions(cmd), s.io));
    });
}
