import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { refuseTerminal, writeArchive } from '../../archives.js';
import { givenFlags, newCommand, requireArgs } from '../../command.js';
import type { IO, Session } from '../../session.js';

export interface ExportOptions {
  /** A file to write; stdout (not a terminal) when not given. */
  output?: string;
}

/** `export CONTAINER`: its file system as a tar archive. */
export async function exportContainer(client: Pick<Client, 'containerExport'>, container: string, opts: ExportOptions, io: IO): Promise<number> {
  refuseTerminal(io, opts.output);
  await writeArchive(io, await client.containerExport(container), opts.output);
  return 0;
}

export function exportCommand(s: Session): Command {
  const cmd = newCommand('export', "Export a container's filesystem as a tar archive", '[OPTIONS] CONTAINER');
  return cmd
    .argument('[args...]')
    .option('-o, --output <string>', 'Write to a file, instead of STDOUT')
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 1, 1);
      await exportContainer(s.client, args[0], givenFlags<ExportOptions>(cmd), s.io);
    });
}
