import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { exitWith, givenFlags, newCommand, requireArgs } from '../../command.js';
import { errorText, isNotFound } from '../../errors.js';
import type { IO, Session } from '../../session.js';

export interface NetworkRmOptions {
  /** Networks that do not exist are no error. */
  force?: boolean;
}

/**
 * `network rm NETWORK...`: each removed name printed as it goes; the failures after, then
 * docker 28's "exit status 1" line, exit 1.
 */
export async function removeNetworks(client: Pick<Client, 'networkRemove'>, names: string[], o: NetworkRmOptions, io: IO): Promise<number> {
  const errors: string[] = [];
  for (const n of names) {
    try {
      await client.networkRemove(n);
      io.stdout.write(`${n}\n`);
    } catch (err) {
      if (o.force && isNotFound(err)) continue;
      errors.push(errorText(err));
    }
  }
  if (!errors.length) return 0;
  io.stderr.write(`${errors.join('\n')}\nexit status 1\n`);
  return 1;
}

export function networkRmCommand(s: Session): Command {
  const cmd = newCommand('rm', 'Remove one or more networks', 'NETWORK [NETWORK...]');
  return cmd
    .argument('[names...]')
    .option('-f, --force', 'Do not error if the network does not exist')
    .action(async (names: string[]) => {
      requireArgs(s, cmd, names, 1);
      exitWith(await removeNetworks(s.client, names, givenFlags<NetworkRmOptions>(cmd), s.io));
    });
}
