import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import type { ImageHistoryItem } from '../../../types/index.js';
import { shortId } from '../../../util/index.js';
import { givenFlags, newCommand, requireArgs } from '../../command.js';
import { ago, ellipsis, humanSize, render, rfc3339, sortedKeys } from '../../format/index.js';
import { FORMAT_TABLE_HELP } from '../../opts.js';
import type { IO, Session } from '../../session.js';

export interface HistoryOptions {
  format?: string;
  /** false: -H=false / --no-human, raw sizes and RFC 3339 dates. */
  human?: boolean;
  /** false: --no-trunc. */
  trunc?: boolean;
  quiet?: boolean;
  /** Taken, as docker takes it; wharf's images have one platform. */
  platform?: string;
}

const HISTORY_HEADERS = { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' };

export function historyRows(items: ImageHistoryItem[], opts: { trunc: boolean; human: boolean; now?: number }) {
  return items.map((h) => {
    const by = h.CreatedBy.replace(/\t/g, ' ');
    return sortedKeys({
      Comment: h.Comment,
      CreatedAt: rfc3339(h.Created),
      CreatedBy: opts.trunc ? ellipsis(by, 45) : by,
      CreatedSince: opts.human ? ago(h.Created, opts.now) : rfc3339(h.Created),
      ID: h.Id === '<missing>' || !opts.trunc ? h.Id : shortId(h.Id),
      Size: opts.human ? humanSize(h.Size) : String(h.Size),
    }, '*image.historyContext');
  });
}

/** `history IMAGE`: its layers, newest first, as docker's table or in the --format asked for. */
export async function history(client: Pick<Client, 'imageHistory'>, image: string, opts: HistoryOptions, io: IO): Promise<number> {
  const items = await client.imageHistory(image);
  const rows = historyRows(items, { trunc: opts.trunc !== false, human: opts.human !== false });
  // docker's table has a CREATED AT column when sizes and dates are raw.
  const table = `table {{.ID}}\t${opts.human === false ? '{{.CreatedAt}}' : '{{.CreatedSince}}'}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}`;
  const format = opts.format ?? (opts.quiet ? '{{.ID}}' : table);
  io.stdout.write(render(format === 'table' ? table : format, rows, HISTORY_HEADERS));
  return 0;
}

export function historyCommand(s: Session): Command {
  const cmd = newCommand('history', 'Show the history of an image', '[OPTIONS] IMAGE');
  return cmd
    .argument('[args...]')
    .option('--format <string>', FORMAT_TABLE_HELP)
    .option('-H, --human', 'Print sizes and dates in human readable format (default true)')
    .option('--no-human', 'Print sizes and dates as raw values')
    .option('--no-trunc', "Don't truncate output")
    .option('--platform <string>', 'Show history for the given platform')
    .option('-q, --quiet', 'Only show image IDs')
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 1, 1);
      await history(s.client, args[0], givenFlags<HistoryOptions>(cmd), s.io);
    });
}
