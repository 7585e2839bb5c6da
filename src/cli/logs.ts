import type { Command } from 'commander';
import { copyRaw, demux } from '../client/index.js';
import { newCommand, requireArgs } from './command.js';
import { timestampArg } from './opts.js';
import type { Session } from './session.js';

interface LogsFlags {
  follow?: boolean;
  tail?: string;
  timestamps?: boolean;
  since?: string;
  until?: string;
  details?: boolean;
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
    .action(async (args: string[], f: LogsFlags) => {
      requireArgs(s, cmd, args, 1, 1);
      const info = await s.client.containerInspect(args[0]);
      const res = await s.client.containerLogs(info.Id, {
        follow: f.follow,
        tail: f.tail,
        timestamps: f.timestamps,
        since: timestampArg(f.since),
        until: timestampArg(f.until),
        details: f.details,
      });
      if (info.Config.Tty) await copyRaw(res, (b) => s.io.stdout.write(b));
      else await demux(res, { stdout: (b) => s.io.stdout.write(b), stderr: (b) => s.io.stderr.write(b) });
    });
}
