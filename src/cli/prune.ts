import type { Command } from 'commander';
import type { Filters } from '../client/index.js';
import { newCommand } from './command.js';
import { humanSize } from './human.js';
import { collect, parseFilters } from './opts.js';
import { confirm, type Session } from './session.js';

interface PruneFlags {
  all?: boolean;
  force?: boolean;
  filter?: string[];
  volumes?: boolean;
}

/** What one pruner printed and freed; `system prune` adds them up as docker does. */
interface Pruned {
  output: string;
  reclaimed: number;
}

function listing(title: string, lines: string[] | null | undefined): string {
  return lines?.length ? `${title}:\n${lines.join('\n')}\n\n` : '';
}

async function pruneContainers(s: Session, filters: Filters | undefined): Promise<Pruned> {
  const r = await s.client.containerPrune(filters);
  return { output: listing('Deleted Containers', r.ContainersDeleted), reclaimed: r.SpaceReclaimed ?? 0 };
}

async function pruneImages(s: Session, filters: Filters | undefined, all: boolean): Promise<Pruned> {
  const r = await s.client.imagePrune({ ...(filters ?? {}), dangling: [all ? 'false' : 'true'] });
  const lines = (r.ImagesDeleted ?? []).map((it) => (it.Untagged ? `untagged: ${it.Untagged}` : `deleted: ${it.Deleted}`));
  return { output: listing('Deleted Images', lines), reclaimed: r.SpaceReclaimed ?? 0 };
}

async function pruneNetworks(s: Session, filters: Filters | undefined): Promise<Pruned> {
  const r = await s.client.networkPrune(filters);
  return { output: listing('Deleted Networks', r.NetworksDeleted), reclaimed: 0 };
}

async function pruneVolumes(s: Session, filters: Filters | undefined): Promise<Pruned> {
  const r = await s.client.volumePrune(filters);
  return { output: listing('Deleted Volumes', r.VolumesDeleted), reclaimed: r.SpaceReclaimed ?? 0 };
}

async function pruneBuildCache(s: Session, filters: Filters | undefined, all: boolean): Promise<Pruned> {
  const r = await s.client.buildPrune({ all, filters });
  return { output: listing('Deleted build cache objects', r.CachesDeleted), reclaimed: r.SpaceReclaimed ?? 0 };
}

function report(s: Session, results: Pruned[]): void {
  for (const r of results) s.out(r.output);
  s.out(`Total reclaimed space: ${humanSize(results.reduce((n, r) => n + r.reclaimed, 0))}\n`);
}

export function containerPruneCommand(s: Session): Command {
  return newCommand('prune', 'Remove all stopped containers', '[OPTIONS]')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (f: PruneFlags) => {
      if (!f.force && !(await confirm(s, 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] '))) return;
      report(s, [await pruneContainers(s, parseFilters(f.filter))]);
    });
}

export function imagePruneCommand(s: Session): Command {
  return newCommand('prune', 'Remove unused images', '[OPTIONS]')
    .option('-a, --all', 'Remove all unused images, not just dangling ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (f: PruneFlags) => {
      const warning = f.all
        ? 'WARNING! This will remove all images without at least one container associated to them.'
        : 'WARNING! This will remove all dangling images.';
      if (!f.force && !(await confirm(s, `${warning}\nAre you sure you want to continue? [y/N] `))) return;
      report(s, [await pruneImages(s, parseFilters(f.filter), f.all ?? false)]);
    });
}

export function systemPruneCommand(s: Session): Command {
  return newCommand('prune', 'Remove unused data', '[OPTIONS]')
    .option('-a, --all', 'Remove all unused images not just dangling ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "label=<key>=<value>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--volumes', 'Prune anonymous volumes')
    .action(async (f: PruneFlags) => {
      const all = f.all ?? false;
      const what = [
        'all stopped containers',
        'all networks not used by at least one container',
        ...(f.volumes ? ['all anonymous volumes not used by at least one container'] : []),
        all ? 'all images without at least one container associated to them' : 'all dangling images',
        all ? 'all build cache' : 'unused build cache',
      ];
      const warning = `WARNING! This will remove:\n${what.map((w) => `  - ${w}\n`).join('')}\nAre you sure you want to continue? [y/N] `;
      if (!f.force && !(await confirm(s, warning))) return;
      const filters = parseFilters(f.filter);
      // Containers first: images they used become unused.
      const results = [await pruneContainers(s, filters), await pruneNetworks(s, filters)];
      if (f.volumes) results.push(await pruneVolumes(s, filters));
      results.push(await pruneImages(s, filters, all), await pruneBuildCache(s, filters, all));
      report(s, results);
    });
}
