import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { exitWith, givenFlags, newCommand, requireArgs } from '../../command.js';
import { errorText, forEachName, isNotFound } from '../../errors.js';
import type { IO, Session } from '../../session.js';

export interface RemoveOptions {
  /** Kill a running container first; a missing container is then no failure. */
  force?: boolean;
  /** Remove its anonymous volumes too. */
  volumes?: boolean;
  /** Remove the legacy link NAME (`parent/alias`), not the container. */
  link?: boolean;
}

/**
 * `rm`: removes each container in turn and echoes its name; the failures are printed at the
 * end (exit 1). With --force a container that is not there is no failure: docker says so at
 * once and goes on.
 */
export function removeContainers(client: Pick<Client, 'containerRemove'>, names: string[], opts: RemoveOptions, io: IO): Promise<number> {
  return forEachName(io, names, async (n) => {
    try {
      await client.containerRemove(n, { force: opts.force, volumes: opts.volumes, link: opts.link });
    } catch (err) {
      if (!opts.force || !isNotFound(err)) throw err;
      io.stderr.write(`${errorText(err)}\n`);
      return;
    }
    io.stdout.write(`${n}\n`);
  });
}

export function rmCommand(s: Session, name = 'rm'): Command {
  const cmd = newCommand(name, 'Remove one or more containers', '[OPTIONS] CONTAINER [CONTAINER...]');
  return cmd
    .argument('[names...]')
    .option('-f, --force', 'Force the removal of a running container (uses SIGKILL)')
    .option('-l, --link', 'Remove the specified link')
    .option('-v, --volumes', 'Remove anonymous volumes associated with the container')
    .action(async (names: string[]) => {
      requireArgs(s, cmd, names, 1);
      exitWith(await removeContainers(s.client, names, givenFlags<RemoveOptions>(cmd), s.io));
    });
}
