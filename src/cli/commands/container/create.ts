import type { Command } from 'commander';
import type { ContainerCreateRequest } from '../../../types/index.js';
import type { Client } from '../../../client/index.js';
import { givenFlags, newCommand, requireArgs } from '../../command.js';
import { CommandFailure, errorText, Exit, isNotFound } from '../../errors.js';
import type { IO, Session } from '../../session.js';
import { addCreateFlags, buildCreateRequest, type CreateFlags } from './createopts.js';

export interface CreateOptions extends CreateFlags {
  /** Our environment, where `-e NAME` and a bare NAME in an env file take their values. */
  localEnv?: Record<string, string | undefined>;
  /** The directory of config.json, whose credentials a pull of a missing image sends. */
  configDir?: string;
}

export type CreateClient = Pick<Client, 'containerCreate' | 'imagePull'>;

/** The fully qualified `name:tag` docker prints in "Unable to find image". */
export function normalizeImageRef(ref: string): string {
  if (ref.includes('@')) return ref;
  const slash = ref.lastIndexOf('/');
  return ref.lastIndexOf(':') > slash ? ref : `${ref}:latest`;
}

/** docker's normalized name: `busybox` → `docker.io/library/busybox`, as its CLI sends it. */
export { fullName } from '../../../util/index.js';

/** docker's pull before a create: the progress on stderr (nothing with -q), the stored credentials sent. */
async function pull(client: CreateClient, io: IO, image: string, opts: CreateOptions): Promise<void> {
  const { pullRef, discard } = await import('../image/pull.js');
  const { parseNormalizedNamed } = await import('../../reference.js');
  const configDir = opts.configDir ?? (await import('../../configdir.js')).configDir(opts.localEnv ?? {});
  await pullRef(client, io, parseNormalizedNamed(image), { platform: opts.platform, out: opts.quiet ? discard : io.stderr, configDir });
}

/** Creates the container; a missing image is pulled first (unless --pull=never), as docker's CLI does. */
export async function createContainer(client: CreateClient, req: ContainerCreateRequest, opts: CreateOptions, io: IO): Promise<string> {
  const create = async () => {
    const r = await client.containerCreate(req, opts.name, opts.platform);
    for (const w of r.Warnings ?? []) io.stderr.write(`WARNING: ${w}\n`);
    return r.Id;
  };
  if (opts.pull === 'always') await pull(client, io, req.Image!, opts);
  try {
    return await create();
  } catch (err) {
    if (!(isNotFound(err) && /No such image/i.test((err as Error).message)) || opts.pull === 'never') throw err;
  }
  io.stderr.write(`Unable to find image '${normalizeImageRef(req.Image!)}' locally\n`);
  await pull(client, io, req.Image!, opts);
  return create();
}

/** The create request; a flag value docker would refuse is reported as its CLI does (125, with the help hint). */
export function requestFromOptions(image: string, command: string[], opts: CreateOptions): ContainerCreateRequest {
  try {
    return buildCreateRequest(image, command, opts, opts.localEnv);
  } catch (err) {
    throw err instanceof Exit ? new CommandFailure(err.code, errorText(err)) : err;
  }
}

/**
 * `create IMAGE [COMMAND] [ARG...]`: prints the new container's ID. create has no -d: the
 * attach flags are recorded for a later `start -a`, as docker's are. docker 28 exits 1 when the
 * daemon refuses a create (125 is for its flag errors).
 */
export async function create(client: CreateClient, args: [string, ...string[]], opts: CreateOptions, io: IO): Promise<number> {
  const req = requestFromOptions(args[0], args.slice(1), opts);
  io.stdout.write(`${await createContainer(client, req, opts, io)}\n`);
  return 0;
}

export function createCommand(s: Session): Command {
  const cmd = newCommand('create', 'Create a new container', '[OPTIONS] IMAGE [COMMAND] [ARG...]');
  addCreateFlags(cmd)
    .argument('[args...]')
    .passThroughOptions()
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 1);
      await create(s.client, [args[0], ...args.slice(1)], { ...givenFlags<CreateFlags>(cmd), localEnv: s.env, configDir: s.configDir }, s.io);
    });
  return cmd;
}
