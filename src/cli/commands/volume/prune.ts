import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { givenFlags, newCommand } from '../../command.js';
import type { IO, Session } from '../../session.js';
import { confirmPrune, listing, printPruned } from '../pruned.js';
import { filterArg } from '../network/ls.js';
import { parseFilters } from '../../opts.js';

export interface VolumePruneOptions {
  all?: boolean;
  filter?: string[];
  force?: boolean;
}

/** `volume prune`: unused anonymous volumes, or with -a every unused one; docker's question unless -f. */
export async function pruneVolumes(client: Pick<Client, 'volumePrune'>, o: VolumePruneOptions, io: IO): Promise<number> {
  const warning = o.all ? 'WARNING! This will remove all local volumes not used by at least one container.' : 'WARNING! This will remove anonymous local volumes not used by at least one container.';
  if (!(await confirmPrune(io, o.force, warning))) return 0;
  const filters = parseFilters(o.filter) ?? {};
  if (o.all) filters.all = ['true'];
  const r = await client.volumePrune(Object.keys(filters).length ? filters : undefined);
  printPruned(io, [{ output: listing('Deleted Volumes', r.VolumesDeleted), reclaimed: r.SpaceReclaimed ?? 0 }]);
  return 0;
}

export function volumePruneCommand(s: Session): Command {
  const cmd = newCommand('prune', 'Remove unused local volumes', '[OPTIONS]');
  return cmd
    .option('-a, --all', 'Remove all unused volumes, not just anonymous ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "label=<label>")', filterArg)
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async () => {
      await pruneVolumes(s.client, givenFlags<VolumePruneOptions>(cmd), s.io);
    });
}
