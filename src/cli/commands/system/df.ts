import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import type { BuildCacheEntry, SystemDfResponse } from '../../../types/index.js';
import { givenFlags, newCommand } from '../../command.js';
import { humanSize, render, sortedKeys } from '../../format/index.js';
import { FORMAT_TABLE_HELP } from '../../opts.js';
import type { IO, Session } from '../../session.js';

export interface DfOptions {
  format?: string;
  /** Taken, as docker takes it; the summary is printed either way. */
  verbose?: boolean;
}

const DF_HEADERS = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };

/** The summary rows of `system df`, with docker's arithmetic. */
export function dfRows(df: SystemDfResponse) {
  const pct = (part: number, total: number) => (total > 0 ? ` (${Math.trunc((part * 100) / total)}%)` : '');
  const imgSize = df.LayersSize ?? df.Images.reduce((n, i) => n + i.Size, 0);
  // The layers' size less what images in use hold alone (unknown sizes count as nothing).
  const imgUsed = df.Images.filter((i) => i.Containers !== 0 && i.Size !== -1 && i.SharedSize !== -1).reduce((n, i) => n + i.Size - i.SharedSize, 0);
  const imgReclaim = imgSize - imgUsed;
  const ctrSize = df.Containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const ctrReclaim = df.Containers.filter((c) => c.State !== 'running' && c.State !== 'paused').reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const vols = df.Volumes ?? [];
  const volSize = vols.reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0);
  const volReclaim = vols.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0);
  // Shared records are counted once, under whoever owns them, as docker's df counts them.
  const cache = (df.BuildCache ?? []) as BuildCacheEntry[];
  const cacheSize = cache.filter((c) => !c.Shared).reduce((n, c) => n + c.Size, 0);
  const cacheReclaim = cache.filter((c) => !c.Shared && !c.InUse).reduce((n, c) => n + c.Size, 0);
  return [
    { Type: 'Images', TotalCount: String(df.Images.length), Active: String(df.Images.filter((i) => i.Containers > 0).length), Size: humanSize(imgSize, 4), Reclaimable: humanSize(imgReclaim, 4) + pct(imgReclaim, imgSize) },
    { Type: 'Containers', TotalCount: String(df.Containers.length), Active: String(df.Containers.filter((c) => c.State === 'running' || c.State === 'paused').length), Size: humanSize(ctrSize, 4), Reclaimable: humanSize(ctrReclaim, 4) + pct(ctrReclaim, ctrSize) },
    { Type: 'Local Volumes', TotalCount: String(vols.length), Active: String(vols.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length), Size: humanSize(volSize, 4), Reclaimable: humanSize(volReclaim, 4) + pct(volReclaim, volSize) },
    { Type: 'Build Cache', TotalCount: String(cache.length), Active: String(cache.filter((c) => c.InUse).length), Size: humanSize(cacheSize, 4), Reclaimable: humanSize(cacheReclaim, 4) },
  ].map((r) => sortedKeys(r));
}

/** `system df`: disk usage of images, containers, volumes and build cache, as docker's table or in the --format asked for. */
export async function df(client: Pick<Client, 'systemDf'>, opts: DfOptions, io: IO): Promise<number> {
  const rows = dfRows(await client.systemDf());
  const format = opts.format ?? 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';
  io.stdout.write(render(format, rows, DF_HEADERS));
  return 0;
}

export function systemDfCommand(s: Session): Command {
  const cmd = newCommand('df', 'Show docker disk usage', '[OPTIONS]');
  return cmd
    .option('--format <string>', FORMAT_TABLE_HELP)
    .option('-v, --verbose', 'Show detailed information on space usage')
    .action(async () => {
      await df(s.client, givenFlags<DfOptions>(cmd), s.io);
    });
}
