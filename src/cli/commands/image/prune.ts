import type { Command } from 'commander';
import type { Client, Filters } from '../../../client/index.js';
import { givenFlags, newCommand } from '../../command.js';
import { collect, parseFilters } from '../../opts.js';
import type { IO, Session } from '../../session.js';
import { confirmPrune, listing, printPruned, type Pruned } from '../pruned.js';

export interface PruneOptions {
  /** Every image no container uses, not only the dangling ones. */
  all?: boolean;
  filter?: string[];
  /** No question asked. */
  force?: boolean;
}

/** Removes the dangling images, or with `all` every image no container uses. */
export async function pruneUnusedImages(client: Pick<Client, 'imagePrune'>, filters: Filters | undefined, all: boolean): Promise<Pruned> {
  const r = await client.imagePrune({ ...(filters ?? {}), dangling: [all ? 'false' : 'true'] });
  const lines = (r.ImagesDeleted ?? []).map((it) => (it.Untagged ? `untagged: ${it.Untagged}` : `deleted: ${it.Deleted}`));
  return { output: listing('Deleted Images', lines), reclaimed: r.SpaceReclaimed ?? 0 };
}

/** `image prune`: after docker's question (unless -f), removes unused images and prints what it freed. */
export async function pruneImages(client: Pick<Client, 'imagePrune'>, opts: PruneOptions, io: IO): Promise<number> {
  const warning = opts.all
    ? 'WARNING! This will remove all images without at least one container associated to them.'
    : 'WARNING! This will remove all dangling images.';
  if (!(await confirmPrune(io, opts.force, warning))) return 0;
  printPruned(io, [await pruneUnusedImages(client, parseFilters(opts.filter), opts.all ?? false)]);
  return 0;
}

export function imagePruneCommand(s: Session): Command {
  const cmd = newCommand('prune', 'Remove unused images', '[OPTIONS]');
  return cmd
    .option('-a, --all', 'Remove all unused images, not just dangling ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async () => {
      await pruneImages(s.client, givenFlags<PruneOptions>(cmd), s.io);
    });
}
