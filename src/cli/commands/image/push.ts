import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { exitWith, givenFlags, newCommand, requireArgs } from '../../command.js';
import { loadConfig, note, withLoginRetry } from '../../credentials.js';
import { displayJsonMessages, renderOptionsFor } from '../../format/jsonmessage.js';
import { parsePlatform, type PlatformSpec } from '../../../util/index.js';
import { refName, refString } from '../../reference.js';
import { hintsEnabled, type IO, type Session } from '../../session.js';
import { discard, taggedRef, type PullOptions } from './pull.js';

/** push takes pull's options: -a, --platform, -q, and --disable-content-trust taken and ignored. */
export type PushOptions = PullOptions;

export type PushClient = Pick<Client, 'imagePush'>;

const PLATFORM_NOTE = `Using --platform pushes only the specified platform manifest of a multi-platform image index.
Other components, like attestations, will not be included.
To push the complete multi-platform image, remove the --platform flag.
`;

/**
 * `push NAME[:TAG]`: the daemon's progress (its last line gives the manifest's digest and size);
 * with -q only the fully qualified name once it is pushed.
 */
export async function push(client: PushClient, args: [string], opts: PushOptions, io: IO): Promise<number> {
  let platform: PlatformSpec | undefined;
  if (opts.platform) {
    try {
      platform = parsePlatform(opts.platform);
    } catch (err) {
      io.stderr.write(`Invalid platform ${opts.platform}`);
      throw err;
    }
    note(io.stdout, PLATFORM_NOTE);
  }
  const ref = taggedRef(args[0], opts, io);
  if (ref.digest) throw new Error('cannot push a digest reference');
  const config = await loadConfig(opts.configDir, io);
  const res = await withLoginRetry(io, config, ref.domain, 'push', (auth) => client.imagePush(refName(ref), opts.allTags ? undefined : ref.tag, auth, platform), opts.hints);
  const out = opts.quiet ? discard : io.stdout;
  // The aux line (Tag, Digest, Size) repeats the digest line the stream shows before it.
  await displayJsonMessages(res, out, renderOptionsFor(out, { onAux: () => {} }));
  if (opts.quiet) io.stdout.write(`${refString(ref)}\n`);
  return 0;
}

export function pushCommand(s: Session): Command {
  const cmd = newCommand('push', 'Upload an image to a registry', '[OPTIONS] NAME[:TAG]');
  return cmd
    .argument('[args...]')
    .option('-a, --all-tags', 'Push all tags of an image to the repository')
    .option('--disable-content-trust', 'Skip image signing (default true)')
    .option(
      '--platform <string>',
      "Push a platform-specific manifest as a single-platform image to the registry.\nImage index won't be pushed, meaning that other manifests, including attestations won't be preserved.\n'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)",
    )
    .option('-q, --quiet', 'Suppress verbose output')
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 1, 1);
      exitWith(await push({ imagePush: (...a) => s.client.imagePush(...a) }, [args[0]], { ...givenFlags<Omit<PushOptions, 'configDir'>>(cmd), configDir: s.configDir, hints: hintsEnabled(s.env) }, s.io));
    });
}
