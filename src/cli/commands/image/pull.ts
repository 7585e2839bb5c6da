import { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { exitWith, givenFlags, newCommand, requireArgs } from '../../command.js';
import { loadConfig, withLoginRetry } from '../../credentials.js';
import { displayJsonMessages, renderOptionsFor } from '../../format/jsonmessage.js';
import { apiTag, isNameOnly, parseNormalizedNamed, refName, refString, withDefaultTag, type NamedRef } from '../../reference.js';
import { hintsEnabled, type IO, type Output, type Session } from '../../session.js';

export interface PullOptions {
  allTags?: boolean;
  platform?: string;
  quiet?: boolean;
  /** Taken and ignored: content trust is gone from docker too. */
  disableContentTrust?: boolean;
  /** The directory of config.json. */
  configDir: string;
  /** DOCKER_CLI_HINTS: docker's extra lines when asking for a login. */
  hints?: boolean;
}

export type PullClient = Pick<Client, 'imagePull'>;

/** Output that is thrown away: what `-q` draws the stream on. */
export const discard: Output = Object.assign(new Writable({ write: (_c, _e, cb) => cb() }), { isTTY: false });

/**
 * Pulls `ref` with the credentials stored for its registry and draws the daemon's progress on
 * `out`; an error the daemon reports in the stream rejects (StreamError).
 */
export async function pullRef(client: PullClient, io: IO, ref: NamedRef, opts: { all?: boolean; platform?: string; out: Output; configDir: string; hints?: boolean }): Promise<void> {
  const config = await loadConfig(opts.configDir, io);
  const res = await withLoginRetry(io, config, ref.domain, 'pull', (auth) => client.imagePull(refName(ref), opts.all ? undefined : apiTag(ref), opts.platform, auth), opts.hints);
  await displayJsonMessages(res, opts.out, renderOptionsFor(opts.out));
}

/**
 * `pull NAME[:TAG|@DIGEST]`: "Using default tag" for a bare name, the daemon's progress, then
 * the fully qualified name (all that -q prints). docker's texts for bad references.
 */
/**
 * The reference pull and push work on: a tag and -a exclude each other; a bare name without -a
 * gets `latest`, which docker announces unless -q.
 */
export function taggedRef(name: string, opts: { allTags?: boolean; quiet?: boolean }, io: IO): NamedRef {
  const ref = parseNormalizedNamed(name);
  if (opts.allTags && !isNameOnly(ref)) throw new Error("tag can't be used with --all-tags/-a");
  if (opts.allTags || !isNameOnly(ref)) return ref;
  const tagged = withDefaultTag(ref);
  if (!opts.quiet) io.stdout.write(`Using default tag: ${tagged.tag}\n`);
  return tagged;
}

export async function pull(client: PullClient, args: [string], opts: PullOptions, io: IO): Promise<number> {
  const ref = taggedRef(args[0], opts, io);
  await pullRef(client, io, ref, { all: opts.allTags, platform: opts.platform, out: opts.quiet ? discard : io.stdout, configDir: opts.configDir, hints: opts.hints });
  io.stdout.write(`${refString(ref)}\n`);
  return 0;
}

export function pullCommand(s: Session): Command {
  const cmd = newCommand('pull', 'Download an image from a registry', '[OPTIONS] NAME[:TAG|@DIGEST]');
  return cmd
    .argument('[args...]')
    .option('-a, --all-tags', 'Download all tagged images in the repository')
    .option('--disable-content-trust', 'Skip image verification (default true)')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .option('-q, --quiet', 'Suppress verbose output')
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 1, 1);
      const flags = givenFlags<Omit<PullOptions, 'configDir'>>(cmd);
      const platform = flags.platform ?? (s.env.DOCKER_DEFAULT_PLATFORM || undefined);
      exitWith(await pull({ imagePull: (...a) => s.client.imagePull(...a) }, [args[0]], { ...flags, platform, configDir: s.configDir, hints: hintsEnabled(s.env) }, s.io));
    });
}
