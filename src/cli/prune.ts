import type { Command } from 'commander';
import { newCommand } from './command.js';
import { humanSize } from './human.js';
import { collect, parseFilters } from './opts.js';
import { confirm, type Session } from './session.js';

interface PruneFlags {
  all?: boolean;
  force?: boolean;
  filter?: string[];
}

export function containerPruneCommand(s: Session): Command {
  return newCommand('prune', 'Remove all stopped containers', '[OPTIONS]')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (f: PruneFlags) => {
      if (!f.force && !(await confirm(s, 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] '))) return;
      const r = await s.client.containerPrune(parseFilters(f.filter));
      if (r.ContainersDeleted?.length) s.out(`Deleted Containers:\n${r.ContainersDeleted.join('\n')}\n\n`);
      s.out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed ?? 0)}\n`);
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
      const filters = parseFilters(f.filter) ?? {};
      filters.dangling = [f.all ? 'false' : 'true'];
      const r = await s.client.imagePrune(filters);
      if (r.ImagesDeleted?.length) {
        s.out('Deleted Images:\n');
        for (const it of r.ImagesDeleted) s.out(it.Untagged ? `untagged: ${it.Untagged}\n` : `deleted: ${it.Deleted}\n`);
        s.out('\n');
      }
      s.out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed ?? 0)}\n`);
    });
}
