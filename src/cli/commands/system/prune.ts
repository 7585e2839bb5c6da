import type { Command } from 'commander';
import type { Client, Filters } from '../../../client/index.js';
import { givenFlags, newCommand } from '../../command.js';
import { collect, parseFilters } from '../../opts.js';
import { confirm, type IO, type Session } from '../../session.js';
import { pruneStoppedContainers } from '../container/prune.js';
import { pruneUnusedImages } from '../image/prune.js';
import { listing, printPruned, type Pruned } from '../pruned.js';

export interface PruneOptions {
  /** Every image no container uses, and all the build cache. */
  all?: boolean;
  filter?: string[];
  /** No question asked. */
  force?: boolean;
  /** Anonymous volumes too. */
  volumes?: boolean;
}

export type SystemPruneClient = Pick<Client, 'containerPrune' | 'imagePrune' | 'networkPrune' | 'volumePrune' | 'buildPrune'>;

async function pruneNetworks(client: SystemPruneClient, filters: Filters | undefined): Promise<Pruned> {
  const r = await client.networkPrune(filters);
  return { output: listing('Deleted Networks', r.NetworksDeleted), reclaimed: 0 };
}

async function pruneVolumes(client: SystemPruneClient, filters: Filters | undefined): Promise<Pruned> {
  const r = await client.volumePrune(filters);
  return { output: listing('Deleted Volumes', r.VolumesDeleted), reclaimed: r.SpaceReclaimed ?? 0 };
}

async function pruneBuildCache(client: SystemPruneClient, filters: Filters | undefined, all: boolean): Promise<Pruned> {
  const r = await client.buildPrune({ all, filters });
  return { output: listing('Deleted build cache objects', r.CachesDeleted), reclaimed: r.SpaceReclaimed ?? 0 };
}

/**
 * `system prune`: after docker's question listing what goes (unless -f), stopped containers,
 * unused networks, (anonymous volumes,) images and build cache, and the total freed.
 */
export async function pruneSystem(client: SystemPruneClient, opts: PruneOptions, io: IO): Promise<number> {
  const all = opts.all ?? false;
  const what = [
    'all stopped containers',
    'all networks not used by at least one container',
    ...(opts.volumes ? ['all anonymous volumes not used by at least one container'] : []),
    all ? 'all images without at least one container associated to them' : 'all dangling images',
    all ? 'all build cache' : 'unused build cache',
  ];
  const warning = `WARNING! This will remove:\n${what.map((w) => `  - ${w}\n`).join('')}\nAre you sure you want to continue? [y/N] `;
  if (!opts.force && !(await confirm(io, warning))) return 0;
  const filters = parseFilters(opts.filter);
  // Containers first: images they used become unused.
  const results = [await pruneStoppedContainers(client, filters), await pruneNetworks(client, filters)];
  if (opts.volumes) results.push(await pruneVolumes(client, filters));
  results.push(await pruneUnusedImages(client, filters, all), await pruneBuildCache(client, filters, all));
  printPruned(io, results);
  return 0;
}

export function systemPruneCommand(s: Session): Command {
  const cmd = newCommand('prune', 'Remove unused data', '[OPTIONS]');
  return cmd
    .option('-a, --all', 'Remove all unused images not just dangling ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "label=<key>=<value>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--volumes', 'Prune anonymous volumes')
    .action(async () => {
      await pruneSystem(s.client, givenFlags<PruneOptions>(cmd), s.io);
    });
}
