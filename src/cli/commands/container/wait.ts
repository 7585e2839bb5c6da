import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { exitWith, newCommand, requireArgs } from '../../command.js';
import { forEachName } from '../../errors.js';
import type { IO, Session } from '../../session.js';

/** `wait` has no options. */
export type WaitOptions = Record<string, never>;

/** `wait`: prints each container's exit code once it has stopped; the failures are printed at the end (exit 1). */
export function wait(client: Pick<Client, 'containerWait'>, names: string[], _opts: WaitOptions, io: IO): Promise<number> {
  return forEachName(io, names, async (n) => {
    const r = await client.containerWait(n, 'not-running');
    io.stdout.write(`${r.StatusCode}\n`);
  });
}

export function waitCommand(s: Session): Command {
  const cmd = newCommand('wait', 'Block until one or more containers stop, then print their exit codes', 'CONTAINER [CONTAINER...]');
  return cmd.argument('[names...]').action(async (names: string[]) => {
    requireArgs(s, cmd, names, 1);
    exitWith(await wait(s.client, names, {}, s.io));
  });
}
