import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { readProgress } from '../client/index.js';
import { newCommand, requireArgs } from './command.js';
import { collect, splitRepoTag } from './opts.js';
import { Exit, type Session } from './session.js';

/** Writes a tar stream to -o or to stdout, which must not be a terminal (docker's rule). */
async function writeArchive(s: Session, body: Readable, output: string | undefined): Promise<void> {
  if (output) {
    await pipeline(body, createWriteStream(output));
    return;
  }
  await pipeline(body, s.io.stdout, { end: false });
}

/**
 * Opens an archive to read before any request is made, so a missing file fails the way
 * docker's does (`open x.tar: no such file or directory`) instead of as a stream error
 * emitted after the upload has started.
 */
export async function openArchive(path: string): Promise<Readable> {
  try {
    return (await open(path, 'r')).createReadStream();
  } catch (err) {
    throw new Exit(1, `open ${path}: ${goErrno(err as NodeJS.ErrnoException)}`);
  }
}

/** Go's text for an errno ("no such file or directory"), from Node's "ENOENT: no such file or directory, open 'x'". */
function goErrno(err: NodeJS.ErrnoException): string {
  return err.message.replace(/^[A-Z0-9]+: /, '').replace(/, \w+ '.*'$/s, '');
}

function refuseTerminal(s: Session, output: string | undefined, message: string): void {
  if (!output && s.io.stdout.isTTY) throw new Exit(1, message);
}

export function exportCommand(s: Session): Command {
  const cmd = newCommand('export', "Export a container's filesystem as a tar archive", '[OPTIONS] CONTAINER');
  return cmd
    .argument('[args...]')
    .option('-o, --output <string>', 'Write to a file, instead of STDOUT')
    .action(async (args: string[], f: { output?: string }) => {
      requireArgs(s, cmd, args, 1, 1);
      refuseTerminal(s, f.output, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
      await writeArchive(s, await s.client.containerExport(args[0]), f.output);
    });
}

export function saveCommand(s: Session, name = 'save'): Command {
  const cmd = newCommand(name, 'Save one or more images to a tar archive (streamed to STDOUT by default)', '[OPTIONS] IMAGE [IMAGE...]');
  return cmd
    .argument('[images...]')
    .option('-o, --output <string>', 'Write to a file, instead of STDOUT')
    .option('--platform <string>', 'Save only the given platform variant')
    .action(async (refs: string[], f: { output?: string }) => {
      requireArgs(s, cmd, refs, 1);
      refuseTerminal(s, f.output, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
      await writeArchive(s, await s.client.imageSave(refs), f.output);
    });
}

export function loadCommand(s: Session, name = 'load'): Command {
  return newCommand(name, 'Load an image from a tar archive or STDIN', '[OPTIONS]')
    .option('-i, --input <string>', 'Read from tar archive file, instead of STDIN')
    .option('--platform <string>', 'Load only the given platform variant')
    .option('-q, --quiet', 'Suppress the load output')
    .action(async (f: { input?: string; quiet?: boolean }) => {
      if (!f.input && s.io.stdin.isTTY) throw new Exit(1, 'requested load from stdin, but stdin is empty');
      const input = f.input ? await openArchive(f.input) : s.io.stdin;
      const res = await s.client.imageLoad(input, Boolean(f.quiet));
      const error = await readProgress(res, (m) => {
        if (m.stream) s.out(m.stream);
        else if (m.status && !f.quiet) s.out(`${m.status}\n`);
      });
      if (error) throw new Exit(1, error);
    });
}

export function importCommand(s: Session, name = 'import'): Command {
  const cmd = newCommand(name, 'Import the contents from a tarball to create a filesystem image', '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]');
  return cmd
    .argument('[args...]')
    .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect)
    .option('-m, --message <string>', 'Set commit message for imported image')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .action(async (args: string[], f: { change?: string[]; message?: string; platform?: string }) => {
      requireArgs(s, cmd, args, 1);
      const [file, repository] = args;
      if (/^https?:\/\//.test(file)) throw new Exit(1, 'importing from a URL is not supported by wharf: download the file and import it');
      const { repo, tag } = repository ? splitRepoTag(repository) : { repo: undefined, tag: undefined };
      const input = file === '-' ? s.io.stdin : await openArchive(file);
      const res = await s.client.imageImport(input, { repo, tag, message: f.message, changes: f.change, platform: f.platform });
      const error = await readProgress(res, (m) => {
        if (m.status) s.out(`${m.status}\n`);
      });
      if (error) throw new Exit(1, error);
    });
}

export function commitCommand(s: Session): Command {
  const cmd = newCommand('commit', "Create a new image from a container's changes", '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]');
  return cmd
    .argument('[args...]')
    .option('-a, --author <string>', 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect)
    .option('-m, --message <string>', 'Commit message')
    .option('-p, --pause', 'Pause container during commit (default true)')
    .option('--no-pause', 'Do not pause the container during commit')
    .action(async (args: string[], f: { author?: string; change?: string[]; message?: string; pause?: boolean }) => {
      requireArgs(s, cmd, args, 1, 2);
      const { repo, tag } = args[1] ? splitRepoTag(args[1]) : { repo: undefined, tag: undefined };
      const r = await s.client.containerCommit({ container: args[0], repo, tag, author: f.author, comment: f.message, pause: f.pause !== false, changes: f.change });
      s.out(`${r.Id}\n`);
    });
}
