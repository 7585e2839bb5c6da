import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import type { ImageSummary } from '../../../types/index.js';
import { shortId } from '../../../util/index.js';
import { givenFlags, newCommand, requireArgs } from '../../command.js';
import { ago, goTime, humanSize, render, sortedKeys } from '../../format/index.js';
import { collect, FORMAT_TABLE_HELP, parseFilters, splitRepoTag } from '../../opts.js';
import type { IO, Session } from '../../session.js';

export const IMAGE_HEADERS: Record<string, string> = {
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  ID: 'IMAGE ID',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
  VirtualSize: 'SIZE',
};

/** `images` rows: one per tag, `<none>` for untagged images, as docker lists them. */
export function imageRows(list: ImageSummary[], opts: { trunc: boolean; digests?: boolean; now?: number }) {
  return list.flatMap((img) => {
    const tags = img.RepoTags?.filter((t) => t !== '<none>:<none>') ?? [];
    const digests = img.RepoDigests?.filter((d) => d !== '<none>@<none>') ?? [];
    const refs = tags.length ? tags.map((t) => splitRepoTag(t)) : digests.length ? [{ repo: digests[0].split('@')[0], tag: undefined }] : [{ repo: '<none>', tag: undefined }];
    return refs.map(({ repo, tag }) =>
      sortedKeys({
        Containers: img.Containers < 0 ? 'N/A' : String(img.Containers),
        CreatedAt: goTime(img.Created),
        CreatedSince: ago(img.Created, opts.now),
        Digest: digests.find((d) => d.startsWith(`${repo}@`))?.split('@')[1] ?? '<none>',
        ID: opts.trunc ? shortId(img.Id) : img.Id,
        Repository: repo,
        SharedSize: img.SharedSize < 0 ? 'N/A' : humanSize(img.SharedSize),
        Size: humanSize(img.Size),
        Tag: tag ?? '<none>',
        UniqueSize: img.SharedSize < 0 ? 'N/A' : humanSize(img.Size - img.SharedSize),
        VirtualSize: humanSize(img.VirtualSize ?? img.Size, 4),
      }, '*formatter.imageContext'),
    );
  });
}

export interface ListOptions {
  all?: boolean;
  quiet?: boolean;
  digests?: boolean;
  /** false: --no-trunc. */
  trunc?: boolean;
  filter?: string[];
  format?: string;
}

/**
 * `images [REPOSITORY[:TAG]]`, `image ls`: the images, newest first, one row per tag, as
 * docker's table or in the --format asked for; -q lists each ID once.
 */
export async function listImages(client: Pick<Client, 'imageList'>, args: [string?], opts: ListOptions, io: IO): Promise<number> {
  const filters = parseFilters(opts.filter) ?? {};
  if (args[0]) (filters.reference ??= []).push(args[0]);
  const list = await client.imageList({ all: opts.all, digests: opts.digests, filters });
  list.sort((a, b) => b.Created - a.Created);
  let rows = imageRows(list, { trunc: opts.trunc !== false, digests: opts.digests });
  if (opts.quiet && !opts.format) {
    const seen = new Set<string>();
    rows = rows.filter((r) => !seen.has(r.ID) && Boolean(seen.add(r.ID)));
  }
  const table = `table {{.Repository}}\t{{.Tag}}${opts.digests ? '\t{{.Digest}}' : ''}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}`;
  const format = opts.format ?? (opts.quiet ? '{{.ID}}' : table);
  io.stdout.write(render(format === 'table' ? table : format, rows, IMAGE_HEADERS));
  return 0;
}

export function imagesCommand(s: Session, name = 'images'): Command {
  const cmd = newCommand(name, 'List images', '[OPTIONS] [REPOSITORY[:TAG]]');
  return cmd
    .argument('[args...]')
    .option('-a, --all', 'Show all images (default hides intermediate images)')
    .option('--digests', 'Show digests')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('--format <string>', FORMAT_TABLE_HELP)
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only show image IDs')
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 0, 1);
      await listImages(s.client, [args[0]], givenFlags<ListOptions>(cmd), s.io);
    });
}
