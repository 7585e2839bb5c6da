import type { Command } from 'commander';
import { readProgress, type Client } from '../../../client/index.js';
import { openArchive } from '../../archives.js';
import { exitWith, givenFlags, newCommand, requireArgs } from '../../command.js';
import { collect, splitRepoTag } from '../../opts.js';
import type { IO, Session } from '../../session.js';

export interface ImportOptions {
  /** Dockerfile instructions applied to the image's config. */
  change?: string[];
  message?: string;
  platform?: string;
}

/**
 * `import file|- [REPOSITORY[:TAG]]`: a root file system tarball (a file, or stdin for `-`)
 * becomes an image; prints the daemon's progress, and a failure it reports exits 1.
 */
export async function importImage(client: Pick<Client, 'imageImport'>, args: [string, string?], opts: ImportOptions, io: IO): Promise<number> {
  const [file, repository] = args;
  if (/^https?:\/\//.test(file)) {
    io.stderr.write('importing from a URL is not supported by wharf: download the file and import it\n');
    return 1;
  }
  const { repo, tag } = repository ? splitRepoTag(repository) : { repo: undefined, tag: undefined };
  const input = file === '-' ? io.stdin : await openArchive(file);
  const res = await client.imageImport(input, { repo, tag, message: opts.message, changes: opts.change, platform: opts.platform });
  const error = await readProgress(res, (m) => {
    if (m.status) io.stdout.write(`${m.status}\n`);
  });
  if (!error) return 0;
  io.stderr.write(`${error}\n`);
  return 1;
}

export function importCommand(s: Session): Command {
  const cmd = newCommand('import', 'Import the contents from a tarball to create a filesystem image', '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]');
  return cmd
    .argument('[args...]')
    .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect)
    .option('-m, --message <string>', 'Set commit message for imported image')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 1);
      exitWith(await importImage(s.client, [args[0], args[1]], givenFlags<ImportOptions>(cmd), s.io));
    });
}
