import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { exitWith, newCommand, requireArgs } from '../../command.js';
import { errorText } from '../../errors.js';
import type { IO, Session } from '../../session.js';

/** `rename` has no options. */
export type RenameOptions = Record<string, never>;

/**
 * `rename OLD NEW`. A failure prints the daemon's error, then docker's own line naming the
 * container (exit 1).
 */
export async function rename(client: Pick<Client, 'containerRename'>, args: [string, string], _opts: RenameOptions, io: IO): Promise<number> {
  const [from, to] = args.map((a) => a.trim());
  if (!from || !to) {
    io.stderr.write('Error: Neither old nor new names may be empty\n');
    return 1;
  }
  try {
    await client.containerRename(from, to);
  } catch (err) {
    io.stderr.write(`${errorText(err)}\nError: failed to rename container named ${from}\n`);
    return 1;
  }
  return 0;
}

export function renameCommand(s: Session): Command {
  const cmd = newCommand('rename', 'Rename a container', 'CONTAINER NEW_NAME');
  return cmd.argument('[args...]').action(async (args: string[]) => {
    requireArgs(s, cmd, args, 2, 2);
    exitWith(await rename(s.client, [args[0], args[1]], {}, s.io));
  });
}
