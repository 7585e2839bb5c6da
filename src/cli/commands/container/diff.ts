import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { newCommand, requireArgs } from '../../command.js';
import type { IO, Session } from '../../session.js';

/** `diff` has no options. */
export type DiffOptions = Record<string, never>;

/** `diff CONTAINER`: the changes to its file system, "C /etc", "A /x", "D /y". */
export async function diff(client: Pick<Client, 'containerChanges'>, container: string, _opts: DiffOptions, io: IO): Promise<number> {
  for (const ch of await client.containerChanges(container)) io.stdout.write(`${'CAD'[ch.Kind] ?? '?'} ${ch.Path}\n`);
  return 0;
}

export function diffCommand(s: Session): Command {
  const cmd = newCommand('diff', "Inspect changes to files or directories on a container's filesystem", 'CONTAINER');
  return cmd.argument('[args...]').action(async (args: string[]) => {
    requireArgs(s, cmd, args, 1, 1);
    await diff(s.client, args[0], {}, s.io);
  });
}
