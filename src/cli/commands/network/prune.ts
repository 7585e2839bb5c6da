import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { givenFlags, newCommand } from '../../command.js';
import type { IO, Session } from '../../session.js';
import { confirmPrune, listing } from '../pruned.js';
import { filterArg } from './ls.js';

export interface NetworkPruneOptions {
  filter?: string[];
  force?: boolean;
}

/** `network prune`: after docker's question (unless -f), the deleted networks; no space line, as docker's. */
export async function pruneNetworks(client: Pick<Client, 'networkPrune'>, o: NetworkPruneOptions, io: IO): Promise<number> {
  if (!(await confirmPrune(io, o.force, 'WARNING! This will remove all custom networks not used by at least one container.'))) return 0;
  const filters: Record<string, string[]> = {};
  for (const kv of o.filter ?? []) {
    const i = kv.indexOf('=');
    (filters[kv.slice(0, i).trim().toLowerCase()] ??= []).push(kv.slice(i + 1));
  }
  const r = await client.networkPrune(Object.keys(filters).length ? filters : undefined);
  io.stdout.write(listing('Deleted Networks', r.NetworksDeleted));
  return 0;
}

export function networkPruneCommand(s: Session): Command {
  const cmd = newCommand('prune', 'Remove all unused networks', '[OPTIONS]');
  return cmd
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', filterArg)
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async () => {
      await pruneNetworks(s.client, givenFlags<NetworkPruneOptions>(cmd), s.io);
    });
}
