import type { Command } from 'commander';
import type { ImageHistoryItem, ImageSummary } from '../types/index.js';
import { forEachName, newCommand, requireArgs } from './command.js';
import { render, sortedKeys } from './format.js';
import { shortId } from '../util/index.js';
import { ago, ellipsis, goTime, humanSize, rfc3339 } from './human.js';
import { collect, FORMAT_TABLE_HELP, parseFilters, splitRepoTag } from './opts.js';
import type { Session } from './session.js';

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

interface ImagesFlags {
  all?: boolean;
  quiet?: boolean;
  digests?: boolean;
  trunc?: boolean;
  filter?: string[];
  format?: string;
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
    .action(async (args: string[], f: ImagesFlags) => {
      requireArgs(s, cmd, args, 0, 1);
      const filters = parseFilters(f.filter) ?? {};
      if (args[0]) (filters.reference ??= []).push(args[0]);
      const list = await s.client.imageList({ all: f.all, digests: f.digests, filters });
      list.sort((a, b) => b.Created - a.Created);
      let rows = imageRows(list, { trunc: f.trunc !== false, digests: f.digests });
      if (f.quiet && !f.format) {
        const seen = new Set<string>();
        rows = rows.filter((r) => !seen.has(r.ID) && Boolean(seen.add(r.ID)));
      }
      const table = `table {{.Repository}}\t{{.Tag}}${f.digests ? '\t{{.Digest}}' : ''}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}`;
      const format = f.format ?? (f.quiet ? '{{.ID}}' : table);
      s.out(render(format === 'table' ? table : format, rows, IMAGE_HEADERS));
    });
}

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
    .action(async (args: string[], f: { format?: string; human?: boolean; trunc?: boolean; quiet?: boolean }) => {
      requireArgs(s, cmd, args, 1, 1);
      const items = await s.client.imageHistory(args[0]);
      const rows = historyRows(items, { trunc: f.trunc !== false, human: f.human !== false });
      // docker's table has a CREATED AT column when sizes and dates are raw.
      const table = `table {{.ID}}\t${f.human === false ? '{{.CreatedAt}}' : '{{.CreatedSince}}'}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}`;
      const format = f.format ?? (f.quiet ? '{{.ID}}' : table);
      s.out(render(format === 'table' ? table : format, rows, { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' }));
    });
}

export function tagCommand(s: Session): Command {
  const cmd = newCommand('tag', 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]');
  return cmd.argument('[args...]').action(async (args: string[]) => {
    requireArgs(s, cmd, args, 2, 2);
    const { repo, tag } = splitRepoTag(args[1]);
    await s.client.imageTag(args[0], repo, tag ?? 'latest');
  });
}

export function rmiCommand(s: Session, name = 'rmi'): Command {
  const cmd = newCommand(name, 'Remove one or more images', '[OPTIONS] IMAGE [IMAGE...]');
  return cmd
    .argument('[images...]')
    .option('-f, --force', 'Force removal of the image')
    .option('--no-prune', 'Do not delete untagged parents')
    .option('--platform <string>', 'Remove only the given platform variant')
    .action(async (refs: string[], f: { force?: boolean; prune?: boolean }) => {
      requireArgs(s, cmd, refs, 1);
      await forEachName(s, refs, async (ref) => {
        for (const it of await s.client.imageRemove(ref, { force: f.force, noprune: f.prune === false })) {
          if (it.Untagged) s.out(`Untagged: ${it.Untagged}\n`);
          if (it.Deleted) s.out(`Deleted: ${it.Deleted}\n`);
        }
      });
    });
}
