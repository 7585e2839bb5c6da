import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import type { Volume } from '../../../types/index.js';
import { givenFlags, newCommand } from '../../command.js';
import { render, sortedKeys } from '../../format/index.js';
import { FORMAT_TABLE_HELP, parseFilters } from '../../opts.js';
import type { IO, Session } from '../../session.js';
import { filterArg } from '../network/ls.js';

export const VOLUME_HEADERS: Record<string, string> = {
  Name: 'VOLUME NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  Mountpoint: 'MOUNTPOINT',
  Labels: 'LABELS',
  Links: 'LINKS',
  Size: 'SIZE',
  Label: 'LABEL',
};

/** One row of `volume ls` with docker's placeholder names; `Label` is a method as in docker. */
export function volumeRow(v: Volume) {
  const labels = v.Labels ?? {};
  const row = sortedKeys({
    Driver: v.Driver,
    Labels: Object.entries(labels)
      .map(([k, val]) => `${k}=${val}`)
      .join(','),
    Links: v.UsageData ? String(v.UsageData.RefCount) : 'N/A',
    Mountpoint: v.Mountpoint,
    Name: v.Name,
    Scope: v.Scope,
    Size: v.UsageData ? String(v.UsageData.Size) : 'N/A',
  });
  return Object.defineProperty(row, 'Label', { value: (k: string) => labels[k] ?? '', enumerable: false }) as typeof row & { Label(k: string): string };
}

export interface VolumeListOptions {
  quiet?: boolean;
  filter?: string[];
  format?: string;
}

/** `volume ls`: the volumes by name, as docker's table or the --format asked for. */
export async function listVolumes(client: Pick<Client, 'volumeList'>, opts: VolumeListOptions, io: IO): Promise<number> {
  const list = (await client.volumeList(parseFilters(opts.filter))).Volumes ?? [];
  list.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  const format = opts.format ?? (opts.quiet ? '{{.Name}}' : '');
  io.stdout.write(render(format === '' || format === 'table' ? 'table {{.Driver}}\t{{.Name}}' : format, list.map(volumeRow), VOLUME_HEADERS));
  return 0;
}

export function volumeLsCommand(s: Session): Command {
  const cmd = newCommand('ls', 'List volumes', '[OPTIONS]');
  return cmd
    .option('-f, --filter <filter>', "Provide filter values (e.g. \"dangling=true\")", filterArg)
    .option('--format <string>', FORMAT_TABLE_HELP)
    .option('-q, --quiet', 'Only display volume names')
    .action(async () => {
      await listVolumes(s.client, givenFlags<VolumeListOptions>(cmd), s.io);
    });
}
