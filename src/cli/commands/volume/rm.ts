import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { exitWith, givenFlags, newCommand, requireArgs } from '../../command.js';
import { errorText } from '../../errors.js';
import type { IO, Session } from '../../session.js';

export interface VolumeRmOptions {
  force?: boolean;
}

/** `volume rm VOLUME...`: each removed name printed; the failures after, then exit 1. */
export async function removeVolumes(client: Pick<Client, 'volumeRemove'>, names: string[], o: VolumeRmOptions, io: IO): Promise<number> {
  const errors: string[] = [];
  for (const n of names) {
    try {
      await client.volumeRemove(n, { force: o.force });
      io.stdout.write(`${n}\n`);
    } catch (err) {
      errors.push(errorText(err));
    }
  }
  if (!errors.length) return 0;
  io.stderr.write(`${errors.join('\n')}\n`);
  return 1;
}

export function volumeRmCommand(s: Session): Command {
  const cmd = newCommand('rm', 'Remove one or more volumes', '[OPTIONS] VOLUME [VOLUME...]');
  return cmd
    .argument('[names...]')
    .option('-f, --force', 'Force the removal of one or more volumes')
    .action(async (names: string[]) => {
      requireArgs(s, cmd, names, 1);
      exitWith(await removeVolumes(s.client, names, givenFlags<VolumeRmOptions>(cmd), s.io));
    });
}
