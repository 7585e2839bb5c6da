import type { Command } from 'commander';
import type { Client, Filters } from '../../../client/index.js';
import { givenFlags, newCommand } from '../../command.js';
import { collect, parseFilters } from '../../opts.js';
import type { IO, Session } from '../../session.js';
import { confirmPrune, listing, printPruned, type Pruned } from '../pruned.js';

export interface PruneOptions {
  filter?: string[];
  /** No question asked. */
  force?: boolean;
}

/** Removes the stopped containers; `system prune` does it first. */
export async function pruneStoppedContainers(client: Pick<Client, 'containerPrune'>, filters: Filters | undefined): Promise<Pruned> {
  const r = await client.containerPrune(filters);
  return { output: listing('Deleted Containers', r.ContainersDeleted), reclaimed: r.SpaceReclaimed ?? 0 };
}

/** `container prune`: after docker's question (unless -f), removes the stopped containers and prints what it freed. */
export async function pruneContainers(client: Pick<Client, 'containerPrune'>, opts: PruneOptions, io: IO): Promise<number> {
  if (!(await confirmPrune(io, opts.force, 'WARNING! This will remove all stopped containers.'))) return 0;
  printPruned(io, [await pruneStoppedContainers(client, parseFilters(opts.filter))]);
  return 0;
}

export function containerPruneCommand(s: Session): Command {
  const cmd = newCommand('prune', 'Remove all stopped containers', '[OPTIONS]');
  return cmd
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async () => {
      await pruneContainers(s.client, givenFlags<PruneOptions>(cmd), s.io);
    });
}
