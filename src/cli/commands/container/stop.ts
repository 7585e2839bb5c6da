import { Option, type Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { exitWith, givenFlags, newCommand, requireArgs } from '../../command.js';
import { forEachName } from '../../errors.js';
import { intArg } from '../../opts.js';
import type { IO, Session } from '../../session.js';

export interface StopOptions {
  /** Seconds to wait before the kill; the container's own stop timeout when not given. */
  timeout?: number;
  /** The container's stop signal when not given. */
  signal?: string;
}

/** `stop`: stops each container in turn and echoes its name; the failures are printed at the end (exit 1). */
export function stop(client: Pick<Client, 'containerStop'>, names: string[], opts: StopOptions, io: IO): Promise<number> {
  return forEachName(io, names, async (n) => {
    await client.containerStop(n, opts);
    io.stdout.write(`${n}\n`);
  });
}

/** The flags of stop and restart: docker's `-t, --timeout`, and `--time`, its older name, still taken but not listed. */
export function addStopFlags(s: Session, cmd: Command): Command {
  return (
    cmd
      .option('-s, --signal <string>', 'Signal to send to the container')
      .option('-t, --timeout <int>', 'Seconds to wait before killing the container', intArg)
      .addOption(new Option('--time <int>', 'Seconds to wait before killing the container').argParser(intArg).hideHelp())
      // docker's notice, on stdout as docker prints it.
      .hook('preAction', () => {
        if (cmd.opts().time !== undefined) s.out('Flag --time has been deprecated, use --timeout instead\n');
      })
  );
}

/** The stop options of stop and restart from their flags. */
export function stopOptions(cmd: Command): StopOptions {
  const f = givenFlags<StopOptions & { time?: number }>(cmd);
  return { timeout: f.timeout ?? f.time, signal: f.signal };
}

export function stopCommand(s: Session): Command {
  const cmd = newCommand('stop', 'Stop one or more running containers', '[OPTIONS] CONTAINER [CONTAINER...]');
  return addStopFlags(s, cmd)
    .argument('[names...]')
    .action(async (names: string[]) => {
      requireArgs(s, cmd, names, 1);
      exitWith(await stop(s.client, names, stopOptions(cmd), s.io));
    });
}
