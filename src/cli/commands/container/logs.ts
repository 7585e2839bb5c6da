import type { Command } from 'commander';
import { copyRaw, demux, type Client } from '../../../client/index.js';
import { givenFlags, newCommand, requireArgs } from '../../command.js';
import { timestampArg } from '../../opts.js';
import type { IO, Session } from '../../session.js';

export interface LogsOptions {
  follow?: boolean;
  /** Lines from the end; every line (the daemon's default, "all") when not given. */
  tail?: string;
  timestamps?: boolean;
  /** A timestamp, or a duration back from now ("42m"). */
  since?: string;
  until?: string;
  details?: boolean;
}

/** `logs CONTAINER`: the container's output, on stdout and stderr as it wrote them (as is with a TTY). */
export async function logs(client: Pick<Client, 'containerInspect' | 'containerLogs'>, name: string, opts: LogsOptions, io: IO): Promise<number> {
  const info = await client.containerInspect(name);
  const res = await client.containerLogs(info.Id, {
    follow: opts.follow,
    tail: opts.tail,
    timestamps: opts.timestamps,
    since: timestampArg(opts.since),
    until: timestampArg(opts.until),
    details: opts.details,
  });
  if (info.Config.Tty) await copyRaw(res, (b) => io.stdout.write(b));
  else await demux(res, { stdout: (b) => io.stdout.write(b), stderr: (b) => io.stderr.write(b) });
  return 0;
}

export function logsCommand(s: Session): Command {
  const cmd = newCommand('logs', 'Fetch the logs of a container', '[OPTIONS] CONTAINER');
  return cmd
    .argument('[args...]')
    .option('--details', 'Show extra details provided to logs')
    .option('-f, --follow', 'Follow log output')
    .option('--since <string>', 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)')
    .option('-n, --tail <string>', 'Number of lines to show from the end of the logs', 'all')
    .option('-t, --timestamps', 'Show timestamps')
    .option('--until <string>', 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)')
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 1, 1);
      await logs(s.client, args[0], givenFlags<LogsOptions>(cmd), s.io);
    });
}
