import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { exitWith, givenFlags, newCommand, requireArgs } from '../../command.js';
import { forEachName } from '../../errors.js';
import type { IO, Session } from '../../session.js';

export interface RemoveOptions {
  /** Untag an image used by several references, or used by a stopped container. */
  force?: boolean;
  /** false: --no-prune, untagged parents are kept. */
  prune?: boolean;
  /** Taken, as docker takes it; wharf's images have one platform. */
  platform?: string;
}

/**
 * `rmi`, `image rm`: removes each image in turn, printing what was untagged and deleted;
 * the failures are printed at the end (exit 1).
 */
export function removeImages(client: Pick<Client, 'imageRemove'>, refs: string[], opts: RemoveOptions, io: IO): Promise<number> {
  return forEachName(io, refs, async (ref) => {
    for (const it of await client.imageRemove(ref, { force: opts.force, noprune: opts.prune === false })) {
      if (it.Untagged) io.stdout.write(`Untagged: ${it.Untagged}\n`);
      if (it.Deleted) io.stdout.write(`Deleted: ${it.Deleted}\n`);
    }
  });
}

export function rmiCommand(s: Session, name = 'rmi'): Command {
  const cmd = newCommand(name, 'Remove one or more images', '[OPTIONS] IMAGE [IMAGE...]');
  return cmd
    .argument('[images...]')
    .option('-f, --force', 'Force removal of the image')
    .option('--no-prune', 'Do not delete untagged parents')
    .option('--platform <string>', 'Remove only the given platform variant')
    .action(async (refs: string[]) => {
      requireArgs(s, cmd, refs, 1);
      exitWith(await removeImages(s.client, refs, givenFlags<RemoveOptions>(cmd), s.io));
    });
}
