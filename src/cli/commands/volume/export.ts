import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { openArchive, refuseTerminal, writeArchive } from '../../archives.js';
import { givenFlags, newCommand, requireArgs } from '../../command.js';
import type { IO, Session } from '../../session.js';

export interface VolumeExportOptions {
  output?: string;
}

/**
 * wharf's `volume export NAME`: the volume's content as a tar on stdout (or -o FILE), through
 * the daemon's GET /volumes/{name}/export; never to a terminal, as `docker save`.
 */
export async function exportVolume(client: Pick<Client, 'volumeExport'>, name: string, o: VolumeExportOptions, io: IO): Promise<number> {
  refuseTerminal(io, o.output);
  await writeArchive(io, await client.volumeExport(name), o.output);
  return 0;
}

export interface VolumeImportOptions {
  input?: string;
}

/** wharf's `volume import NAME`: a tar from stdin (or -i FILE) extracted into the volume (POST /volumes/{name}/import), made when missing. */
export async function importVolume(client: Pick<Client, 'volumeImport'>, name: string, o: VolumeImportOptions, io: IO): Promise<number> {
  await client.volumeImport(name, o.input ? await openArchive(o.input) : io.stdin);
  return 0;
}

export function volumeExportCommand(s: Session): Command {
  const cmd = newCommand('export', "Write a volume's content to a tar archive (streamed to STDOUT by default)", '[OPTIONS] VOLUME');
  return cmd
    .argument('[name]')
    .option('-o, --output <string>', 'Write to a file, instead of STDOUT')
    .action(async (name: string | undefined) => {
      requireArgs(s, cmd, name ? [name] : [], 1);
      await exportVolume(s.client, name!, givenFlags<VolumeExportOptions>(cmd), s.io);
    });
}

export function volumeImportCommand(s: Session): Command {
  const cmd = newCommand('import', 'Fill a volume from a tar archive (read from STDIN by default)', '[OPTIONS] VOLUME');
  return cmd
    .argument('[name]')
    .option('-i, --input <string>', 'Read from a tar archive file, instead of STDIN')
    .action(async (name: string | undefined) => {
      requireArgs(s, cmd, name ? [name] : [], 1);
      await importVolume(s.client, name!, givenFlags<VolumeImportOptions>(cmd), s.io);
    });
}
