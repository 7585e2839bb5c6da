import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { newCommand, requireArgs } from '../../command.js';
import { splitRepoTag } from '../../opts.js';
import type { IO, Session } from '../../session.js';

/** `tag` has no options. */
export type TagOptions = Record<string, never>;

/** `tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]`: the target's tag is `latest` when it names none. */
export async function tag(client: Pick<Client, 'imageTag'>, args: [string, string], _opts: TagOptions, _io: IO): Promise<number> {
  const [source, target] = args;
  const { repo, tag: t } = splitRepoTag(target);
  await client.imageTag(source, repo, t ?? 'latest');
  return 0;
}

export function tagCommand(s: Session): Command {
  const cmd = newCommand('tag', 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]');
  return cmd.argument('[args...]').action(async (args: string[]) => {
    requireArgs(s, cmd, args, 2, 2);
    await tag(s.client, [args[0], args[1]], {}, s.io);
  });
}
