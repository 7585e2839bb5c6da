import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import type { ContainerUpdateRequest } from '../../../types/index.js';
import { exitWith, givenFlags, newCommand, requireArgs } from '../../command.js';
import { forEachName } from '../../errors.js';
import type { IO, Session } from '../../session.js';
import { addLimitFlags, limitResources, parseRestart, type CreateFlags } from './createopts.js';

/** The flags `update` takes: the cgroup limits and --restart. */
export type UpdateOptions = Pick<
  CreateFlags,
  'blkioWeight' | 'cpuPeriod' | 'cpuQuota' | 'cpuRtPeriod' | 'cpuRtRuntime' | 'cpuShares' | 'cpus' | 'cpusetCpus' | 'cpusetMems' | 'memory' | 'memoryReservation' | 'memorySwap' | 'pidsLimit' | 'restart'
>;

/** The update body for the flags given; undefined when none was (docker refuses that). */
export function updateRequest(opts: UpdateOptions): ContainerUpdateRequest | undefined {
  if (!Object.values(opts).some((v) => v !== undefined)) return undefined;
  const { CgroupParent: _p, CgroupnsMode: _n, ...resources } = limitResources(opts);
  return { ...resources, RestartPolicy: opts.restart !== undefined ? parseRestart(opts.restart) : undefined };
}

/**
 * `update`: new limits for each container in turn, echoing its name; the daemon's warnings go to
 * stderr, the failures are printed at the end (exit 1).
 */
export async function update(client: Pick<Client, 'containerUpdate'>, names: string[], opts: UpdateOptions, io: IO): Promise<number> {
  const req = updateRequest(opts);
  if (!req) {
    io.stderr.write('you must provide one or more flags when using this command\n');
    return 1;
  }
  const warnings: string[] = [];
  const code = await forEachName(io, names, async (n) => {
    const r = await client.containerUpdate(n, req);
    warnings.push(...(r.Warnings ?? []));
    io.stdout.write(`${n}\n`);
  });
  for (const w of warnings) io.stderr.write(`${w}\n`);
  return code;
}

export function updateCommand(s: Session): Command {
  const cmd = newCommand('update', 'Update configuration of one or more containers', '[OPTIONS] CONTAINER [CONTAINER...]');
  addLimitFlags(cmd, true);
  return cmd
    .argument('[names...]')
    .option('--restart <string>', 'Restart policy to apply when a container exits')
    .action(async (names: string[]) => {
      requireArgs(s, cmd, names, 1);
      exitWith(await update(s.client, names, givenFlags<UpdateOptions>(cmd), s.io));
    });
}
