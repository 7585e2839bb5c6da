import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type { ImageDeleteItem, ImageHistoryItem, ImagePruneResponse, ImageSummary } from '../api/types/index.js';
import { readProgress } from '../client/index.js';
import { confirm } from './containers.js';
import { ago, goTime, humanSize, render } from './format.js';
import { Exit, clientOf, type Env } from './session.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

function shortId(id: string, noTrunc: boolean): string {
  return noTrunc ? id : id.replace(/^sha256:/, '').slice(0, 12);
}

const IMAGE_HEADERS: Record<string, string> = {
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  ID: 'IMAGE ID',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
};

export function imageCommands(program: Command, image: Command, env: Env, commands: Command[]): void {
  const c = clientOf(env);
  const both = (name: string, aliases: string[], build: (cmd: Command) => Command) => {
    commands.push(build(program.command(name)));
    for (const a of aliases) commands.push(build(image.command(a)));
  };

  both('images', ['ls', 'list'], (cmd) =>
    cmd
      .description('List images')
      .argument('[repository]')
      .option('-a, --all', 'Show all images (default hides intermediate images)')
      .option('-q, --quiet', 'Only show image IDs')
      .option('--digests', 'Show digests')
      .option('--no-trunc', "Don't truncate output")
      .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
      .option('--format <string>', 'Format output using a custom template')
      .action(async (repo: string | undefined, o) => {
        const f: Record<string, string[]> = {};
        for (const kv of o.filter ?? []) {
          const i = kv.indexOf('=');
          (f[kv.slice(0, i)] ??= []).push(kv.slice(i + 1));
        }
        if (repo) (f.reference ??= []).push(repo);
        const list = await c.json<ImageSummary[]>('GET', '/images/json', { query: { all: Boolean(o.all), digests: Boolean(o.digests), filters: Object.keys(f).length ? JSON.stringify(f) : undefined } });
        const noTrunc = o.trunc === false;
        const rows = list.flatMap((img) => {
          const tags = img.RepoTags?.length ? img.RepoTags : ['<none>:<none>'];
          return tags.map((t) => {
            const i = t.lastIndexOf(':');
            return {
              Repository: t.slice(0, i),
              Tag: t.slice(i + 1),
              ID: shortId(img.Id, noTrunc),
              Digest: img.RepoDigests?.[0]?.split('@')[1] ?? '<none>',
              CreatedSince: ago(img.Created),
              CreatedAt: goTime(img.Created),
              Size: humanSize(img.Size),
              Containers: img.Containers < 0 ? 'N/A' : String(img.Containers),
            };
          });
        });
        const seen = new Set<string>();
        const quiet = o.quiet ? rows.filter((r) => (seen.has(r.ID) ? false : (seen.add(r.ID), true))) : rows;
        const format: string = o.format ?? (o.quiet ? '{{.ID}}' : `table {{.Repository}}\t{{.Tag}}${o.digests ? '\t{{.Digest}}' : ''}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}`);
        env.stdout.write(render(format, o.quiet && !o.format ? quiet : rows, IMAGE_HEADERS));
      }),
  );

  both('history', ['history'], (cmd) =>
    cmd
      .description('Show the history of an image')
      .argument('<image>')
      .option('-H, --human [bool]', 'Print sizes and dates in human readable format', (v) => v !== 'false', true)
      .option('--no-trunc', "Don't truncate output")
      .option('-q, --quiet', 'Only show image IDs')
      .option('--format <string>', 'Format output using a custom template')
      .action(async (ref: string, o) => {
        const items = await c.json<ImageHistoryItem[]>('GET', `/images/${ref}/history`);
        const noTrunc = o.trunc === false;
        const rows = items.map((h) => {
          let by = h.CreatedBy.replace(/\s+/g, ' ');
          if (!noTrunc && [...by].length > 45) by = [...by].slice(0, 44).join('') + '…';
          return {
            ID: h.Id === '<missing>' ? '<missing>' : shortId(h.Id, noTrunc),
            CreatedSince: o.human === false ? goTime(h.Created) : ago(h.Created),
            CreatedAt: goTime(h.Created),
            CreatedBy: by,
            Size: o.human === false ? String(h.Size) : humanSize(h.Size),
            Comment: h.Comment,
          };
        });
        const format: string = o.format ?? (o.quiet ? '{{.ID}}' : 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}');
        env.stdout.write(render(format, rows, { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' }));
      }),
  );

  both('tag', ['tag'], (cmd) =>
    cmd
      .description('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE')
      .argument('<source>')
      .argument('<target>')
      .action(async (src: string, target: string) => {
        const i = target.lastIndexOf(':');
        const [repo, tag] = i > target.lastIndexOf('/') ? [target.slice(0, i), target.slice(i + 1)] : [target, 'latest'];
        await c.call('POST', `/images/${src}/tag`, { query: { repo, tag } });
      }),
  );

  both('rmi', ['rm', 'remove'], (cmd) =>
    cmd
      .description('Remove one or more images')
      .argument('<images...>')
      .option('-f, --force', 'Force removal of the image')
      .option('--no-prune', 'Do not delete untagged parents')
      .action(async (refs: string[], o) => {
        let failed = false;
        for (const ref of refs) {
          try {
            const items = await c.json<ImageDeleteItem[]>('DELETE', `/images/${ref}`, { query: { force: Boolean(o.force), noprune: o.prune === false } });
            for (const it of items) env.stdout.write(it.Untagged ? `Untagged: ${it.Untagged}\n` : `Deleted: ${it.Deleted}\n`);
          } catch (err) {
            failed = true;
            env.stderr.write(`Error response from daemon: ${(err as Error).message}\n`);
          }
        }
        if (failed) throw new Exit(1);
      }),
  );

  both('import', ['import'], (cmd) =>
    cmd
      .description('Import the contents from a tarball to create a filesystem image')
      .argument('<file>')
      .argument('[repository]')
      .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect)
      .option('-m, --message <string>', 'Set commit message for imported image')
      .option('--platform <string>', 'Set platform if server is multi-platform capable')
      .action(async (file: string, repository: string | undefined, o) => {
        if (/^https?:\/\//.test(file)) throw new Exit(1, 'importing from a URL is not supported; download the file and import it');
        let repo: string | undefined;
        let tag: string | undefined;
        if (repository) {
          const i = repository.lastIndexOf(':');
          [repo, tag] = i > repository.lastIndexOf('/') ? [repository.slice(0, i), repository.slice(i + 1)] : [repository, undefined];
        }
        const input = file === '-' ? env.stdin : createReadStream(file);
        const res = await c.stream('POST', '/images/create', { query: { fromSrc: '-', repo, tag, message: o.message, platform: o.platform, changes: o.change }, input });
        const error = await readProgress(res, (m) => m.status && env.stdout.write(`${m.status}\n`));
        if (error) throw new Exit(1, error);
      }),
  );

  both('load', ['load'], (cmd) =>
    cmd
      .description('Load an image from a tar archive or STDIN')
      .option('-i, --input <string>', 'Read from tar archive file, instead of STDIN')
      .option('-q, --quiet', 'Suppress the load output')
      .action(async (o) => {
        if (!o.input && env.stdin.isTTY) throw new Exit(1, 'requested load from stdin, but stdin is empty');
        const res = await c.stream('POST', '/images/load', { query: { quiet: Boolean(o.quiet) }, input: o.input ? createReadStream(o.input) : env.stdin });
        const error = await readProgress(res, (m) => m.stream && env.stdout.write(m.stream));
        if (error) throw new Exit(1, error);
      }),
  );

  both('save', ['save'], (cmd) =>
    cmd
      .description('Save one or more images to a tar archive (streamed to STDOUT by default)')
      .argument('<images...>')
      .option('-o, --output <string>', 'Write to a file, instead of STDOUT')
      .action(async (refs: string[], o) => {
        if (!o.output && env.stdout.isTTY) throw new Exit(1, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
        const res = await c.stream('GET', '/images/get', { query: { names: refs } });
        await pipeline(res, o.output ? createWriteStream(o.output) : env.stdout, { end: Boolean(o.output) });
      }),
  );

  commands.push(
    image
      .command('prune')
      .description('Remove unused images')
      .option('-a, --all', 'Remove all unused images, not just dangling ones')
      .option('-f, --force', 'Do not prompt for confirmation')
      .option('--filter <filter>', 'Provide filter values', collect)
      .action(async (o) => {
        const q = o.all ? 'WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue? [y/N] ' : 'WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ';
        if (!o.force && !(await confirm(env, q))) return;
        const f: Record<string, string[]> = { dangling: [o.all ? 'false' : 'true'] };
        for (const kv of o.filter ?? []) {
          const i = kv.indexOf('=');
          (f[kv.slice(0, i)] ??= []).push(kv.slice(i + 1));
        }
        const r = await c.json<ImagePruneResponse>('POST', '/images/prune', { query: { filters: JSON.stringify(f) } });
        if (r.ImagesDeleted?.length) {
          env.stdout.write('Deleted Images:\n');
          for (const it of r.ImagesDeleted) env.stdout.write(it.Untagged ? `untagged: ${it.Untagged}\n` : `deleted: ${it.Deleted}\n`);
          env.stdout.write('\n');
        }
        env.stdout.write(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
      }),
  );
}
