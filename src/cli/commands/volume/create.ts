import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { givenFlags, newCommand } from '../../command.js';
import { Exit } from '../../errors.js';
import { collect, splitKeyValue } from '../../opts.js';
import type { IO, Session } from '../../session.js';

export interface VolumeCreateOptions {
  name?: string;
  driver?: string;
  opt?: string[];
  label?: string[];
}

function keyValues(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const [k, v] = splitKeyValue(kv);
    out[k] = v ?? '';
  }
  return out;
}

/** `volume create [NAME]`: the name given (as argument or --name), or the one the daemon chose, printed. */
export async function createVolume(client: Pick<Client, 'volumeCreate'>, arg: string | undefined, o: VolumeCreateOptions, io: IO): Promise<number> {
  if (arg && o.name && arg !== o.name) throw new Exit(1, `conflicting options: cannot specify a volume-name through both --name and as a positional arg`);
  const v = await client.volumeCreate({ Name: arg ?? o.name ?? '', Driver: o.driver ?? 'local', DriverOpts: keyValues(o.opt), Labels: keyValues(o.label) });
  io.stdout.write(`${v.Name}\n`);
  return 0;
}

export function volumeCreateCommand(s: Session): Command {
  const cmd = newCommand('create', 'Create a volume', '[OPTIONS] [VOLUME]');
  return cmd
    .argument('[name]')
    .option('-d, --driver <string>', 'Specify volume driver name', 'local')
    .option('--label <list>', 'Set metadata for a volume', collect)
    .option('--name <string>', 'Specify volume name')
    .option('-o, --opt <map>', 'Set driver specific options', collect)
    .action(async (name: string | undefined) => {
      await createVolume(s.client, name, givenFlags<VolumeCreateOptions>(cmd), s.io);
    });
}
