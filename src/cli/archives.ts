import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LARGE_READ, goErrnoText } from '../util/index.js';
import { Exit } from './errors.js';
import type { IO } from './session.js';

/** Tar archives on our side of export, save, load and import. */

/**
 * Writes a tar stream to `output`, or to stdout, which must then not be a terminal (docker's
 * rule: "cowardly refusing to save to a terminal").
 */
export async function writeArchive(io: IO, body: Readable, output: string | undefined): Promise<void> {
  if (output) {
    await pipeline(body, createWriteStream(output, { highWaterMark: LARGE_READ }));
    return;
  }
  await pipeline(body, io.stdout, { end: false });
}

/** docker's refusal to write an archive to a terminal, checked before anything is asked of the daemon. */
export function refuseTerminal(io: IO, output: string | undefined): void {
  if (!output && io.stdout.isTTY) throw new Exit(1, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
}

/**
 * Opens an archive to read before any request is made, so a missing file fails the way
 * docker's does (`open x.tar: no such file or directory`) instead of as a stream error
 * emitted after the upload has started.
 */
export async function openArchive(path: string): Promise<Readable> {
  try {
    return (await open(path, 'r')).createReadStream({ highWaterMark: LARGE_READ });
  } catch (err) {
    throw new Exit(1, `open ${path}: ${goErrnoText(err)}`);
  }
}

