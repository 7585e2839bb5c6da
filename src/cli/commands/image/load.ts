import type { Command } from 'commander';
import { readProgress, type Client } from '../../../client/index.js';
import { openArchive } from '../../archives.js';
import { exitWith, givenFlags, newCommand } from '../../command.js';
import type { IO, Session } from '../../session.js';

export interface LoadOptions {
  /** A file to read; stdin (not a terminal) when not given. */
  input?: string;
  /** Taken, as docker takes it; every platform in the archive is loaded. */
  platform?: string;
  quiet?: boolean;
}

/** `load`: loads a `docker save` archive, printing the daemon's progress; a failure it reports exits 1. */
export async function load(client: Pick<Client, 'imageLoad'>, opts: LoadOptions, io: IO): Promise<number> {
  if (!opts.input && io.stdin.isTTY) {
    io.stderr.write('requested load from stdin, but stdin is empty\n');
    return 1;
  }
  const input = opts.input ? await openArchive(opts.input) : io.stdin;
  const res = await client.imageLoad(input, Boolean(opts.quiet));
  const error = await readProgress(res, (m) => {
    if (m.stream) io.stdout.write(m.stream);
    else if (m.status && !opts.quiet) io.stdout.write(`${m.status}\n`);
  });
  if (!error) return 0;
  io.stderr.write(`${error}\n`);
  return 1;
}

export function loadCommand(s: Session): Command {
  const cmd = newCommand('load', 'Load an image from a tar archive or STDIN', '[OPTIONS]');
  return cmd
    .option('-i, --input <string>', 'Read from tar archive file, instead of STDIN')
    .option('--platform <string>', 'Load only the given platform variant')
    .option('-q, --quiet', 'Suppress the load output')
    .action(async () => {
      exitWith(await load(s.client, givenFlags<LoadOptions>(cmd), s.io));
    });
}
