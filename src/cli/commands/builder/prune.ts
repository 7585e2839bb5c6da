import { InvalidArgumentError, type Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { givenFlags, newCommand } from '../../command.js';
import { humanSize } from '../../format/index.js';
import { collect, parseFilters, parseRamBytes } from '../../opts.js';
import { confirm, type IO, type Session } from '../../session.js';

export interface BuilderPruneOptions {
  all?: boolean;
  filter?: string[];
  force?: boolean;
  keepStorage?: number;
}

/** docker's questions, asked on one line (its prompt.Confirm), unlike the other prunes'. */
const NORMAL_WARNING = 'WARNING! This will remove all dangling build cache. Are you sure you want to continue?';
const ALL_WARNING = 'WARNING! This will remove all build cache. Are you sure you want to continue?';

/** `builder prune`: after docker's question (unless -f), removes build cache and prints what it freed. */
export async function builderPrune(client: Pick<Client, 'buildPrune'>, opts: BuilderPruneOptions, io: IO): Promise<number> {
  const filters = parseFilters(opts.filter);
  if (!opts.force && !(await confirm(io, `${opts.all ? ALL_WARNING : NORMAL_WARNING} [y/N] `))) return 0;
  const r = await client.buildPrune({ all: opts.all, filters, keepStorage: opts.keepStorage });
  const ids = r.CachesDeleted ?? [];
  // docker prints the listing with Println, so a blank line follows it.
  if (ids.length) io.stdout.write(`Deleted build cache objects:\n${ids.map((id) => `${id}\n`).join('')}\n`);
  io.stdout.write(`Total reclaimed space: ${humanSize(r.SpaceReclaimed ?? 0, 4)}\n`);
  return 0;
}

const bytesArg = (v: string) => {
  try {
    return parseRamBytes(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

export function builderPruneCommand(s: Session): Command {
  const cmd = newCommand('prune', 'Remove build cache', '[OPTIONS]');
  return cmd
    .option('-a, --all', 'Remove all unused build cache, not just dangling ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=24h")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--keep-storage <bytes>', 'Amount of disk space to keep for cache', bytesArg)
    .action(async () => {
      await builderPrune(s.client, givenFlags<BuilderPruneOptions>(cmd), s.io);
    });
}
