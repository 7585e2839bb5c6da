import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { refuseTerminal, writeArchive } from '../../archives.js';
import { givenFlags, newCommand, requireArgs } from '../../command.js';
import type { IO, Session } from '../../session.js';

export interface SaveOptions {
  /** A file to write; stdout (not a terminal) when not given. */
  output?: string;
  /** Taken, as docker takes it; the archive has the platform wharf has. */
  platform?: string;
}

/** `save IMAGE [IMAGE...]`: the images as one `docker save` tar archive. */
export async function save(client: Pick<Client, 'imageSave'>, refs: string[], opts: SaveOptions, io: IO): Promise<number> {
  refuseTerminal(io, opts.output);
  await writeArchive(io, await client.imageSave(refs), opts.output);
  return 0;
}

export function saveCommand(s: Session): Command {
  const cmd = newCommand('save', 'Save one or more images to a tar archive (streamed to STDOUT by default)', '[OPTIONS] IMAGE [IMAGE...]');
  return cmd
    .argument('[images...]')
    .option('-o, --output <string>', 'Write to a file, instead of STDOUT')
    .option('--platform <string>', 'Save only the given platform variant')
    .action(async (refs: string[]) => {
      requireArgs(s, cmd, refs, 1);
      await save(s.client, refs, givenFlags<SaveOptions>(cmd), s.io);
    });
}
