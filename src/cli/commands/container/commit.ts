import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { givenFlags, newCommand, requireArgs } from '../../command.js';
import { collect, splitRepoTag } from '../../opts.js';
import type { IO, Session } from '../../session.js';

export interface CommitOptions {
  author?: string;
  /** Dockerfile instructions applied to the image's config. */
  change?: string[];
  message?: string;
  /** false: --no-pause; the container is paused during the commit otherwise. */
  pause?: boolean;
}

/** `commit CONTAINER [REPOSITORY[:TAG]]`: prints the new image's ID. */
export async function commit(client: Pick<Client, 'containerCommit'>, args: [string, string?], opts: CommitOptions, io: IO): Promise<number> {
  const [container, reference] = args;
  const { repo, tag } = reference ? splitRepoTag(reference) : { repo: undefined, tag: undefined };
  const r = await client.containerCommit({ container, repo, tag, author: opts.author, comment: opts.message, pause: opts.pause !== false, changes: opts.change });
  io.stdout.write(`${r.Id}\n`);
  return 0;
}

export function commitCommand(s: Session): Command {
  const cmd = newCommand('commit', "Create a new image from a container's changes", '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]');
  return cmd
    .argument('[args...]')
    .option('-a, --author <string>', 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect)
    .option('-m, --message <string>', 'Commit message')
    .option('-p, --pause', 'Pause container during commit (default true)')
    .option('--no-pause', 'Do not pause the container during commit')
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 1, 2);
      await commit(s.client, [args[0], args[1]], givenFlags<CommitOptions>(cmd), s.io);
    });
}
