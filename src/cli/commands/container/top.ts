import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { newCommand, requireArgs } from '../../command.js';
import { tabulate } from '../../format/index.js';
import type { IO, Session } from '../../session.js';

/** `top` has no options of its own: what follows the container goes to ps. */
export type TopOptions = Record<string, never>;

/** `top CONTAINER [ps OPTIONS]`: the daemon's ps table, aligned like docker's. */
export async function top(client: Pick<Client, 'containerTop'>, args: [string, ...string[]], _opts: TopOptions, io: IO): Promise<number> {
  const [container, ...psArgs] = args;
  const r = await client.containerTop(container, psArgs.length ? psArgs.join(' ') : undefined);
  const lines = [r.Titles.join('\t'), ...r.Processes.map((p) => p.join('\t'))];
  // docker's top uses a wider minimum column than its other tables.
  io.stdout.write(tabulate(lines.join('\n') + '\n', { minWidth: 20 }));
  return 0;
}

export function topCommand(s: Session): Command {
  const cmd = newCommand('top', 'Display the running processes of a container', 'CONTAINER [ps OPTIONS]');
  return cmd
    .argument('[args...]')
    .passThroughOptions()
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 1);
      await top(s.client, [args[0], ...args.slice(1)], {}, s.io);
    });
}
