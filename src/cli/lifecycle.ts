import { Option, type Command } from 'commander';
import { errorText, forEachName, isNotFound, newCommand, requireArgs } from './command.js';
import { intArg } from './opts.js';
import { Exit, type Session } from './session.js';

/** A command that does one call per named container and echoes each name done, as stop/kill/rm do. */
function perContainer(s: Session, name: string, description: string, fn: (id: string, f: Record<string, unknown>) => Promise<void | false>, usage = '[OPTIONS] CONTAINER [CONTAINER...]'): Command {
  const cmd = newCommand(name, description, usage);
  return cmd.argument('[names...]').action(async (names: string[], f: Record<string, unknown>) => {
    requireArgs(s, cmd, names, 1);
    await forEachName(s, names, async (n) => {
      // false: nothing done, and nothing to echo.
      if ((await fn(n, f)) !== false) s.out(`${n}\n`);
    });
  });
}

/** stop/restart options: docker's `-t, --timeout`, and `--time`, its older name, still taken but not listed. */
const stopOptions = (f: Record<string, unknown>) => ({ timeout: (f.timeout ?? f.time) as number | undefined, signal: f.signal as string | undefined });
const addStopFlags = (s: Session, cmd: Command) =>
  cmd
    .option('-s, --signal <string>', 'Signal to send to the container')
    .option('-t, --timeout <int>', 'Seconds to wait before killing the container', intArg)
    .addOption(new Option('--time <int>', 'Seconds to wait before killing the container').argParser(intArg).hideHelp())
    // docker's notice, on stdout as docker prints it.
    .hook('preAction', () => {
      if (cmd.opts().time !== undefined) s.out('Flag --time has been deprecated, use --timeout instead\n');
    });

export function stopCommand(s: Session): Command {
  return addStopFlags(s, perContainer(s, 'stop', 'Stop one or more running containers', (n, f) => s.client.containerStop(n, stopOptions(f))));
}

export function restartCommand(s: Session): Command {
  return addStopFlags(s, perContainer(s, 'restart', 'Restart one or more containers', (n, f) => s.client.containerRestart(n, stopOptions(f))));
}

export function killCommand(s: Session): Command {
  return perContainer(s, 'kill', 'Kill one or more running containers', (n, f) => s.client.containerKill(n, f.signal as string | undefined)).option(
    '-s, --signal <string>',
    'Signal to send to the container',
  );
}

export function pauseCommand(s: Session): Command {
  return perContainer(s, 'pause', 'Pause all processes within one or more containers', (n) => s.client.containerPause(n), 'CONTAINER [CONTAINER...]');
}

export function unpauseCommand(s: Session): Command {
  return perContainer(s, 'unpause', 'Unpause all processes within one or more containers', (n) => s.client.containerUnpause(n), 'CONTAINER [CONTAINER...]');
}

export function rmCommand(s: Session, name = 'rm'): Command {
  const remove = async (n: string, f: Record<string, unknown>) => {
    try {
      await s.client.containerRemove(n, { force: Boolean(f.force), volumes: Boolean(f.volumes) });
    } catch (err) {
      // With --force a container that is not there is no failure: docker says so and goes on, exit 0.
      if (!f.force || !isNotFound(err)) throw err;
      s.err(`${errorText(err)}\n`);
      return false;
    }
  };
  return perContainer(s, name, 'Remove one or more containers', remove)
    .option('-f, --force', 'Force the removal of a running container (uses SIGKILL)')
    .option('-l, --link', 'Remove the specified link')
    .option('-v, --volumes', 'Remove anonymous volumes associated with the container');
}

export function waitCommand(s: Session): Command {
  const cmd = newCommand('wait', 'Block until one or more containers stop, then print their exit codes', 'CONTAINER [CONTAINER...]');
  return cmd.argument('[names...]').action(async (names: string[]) => {
    requireArgs(s, cmd, names, 1);
    await forEachName(s, names, async (n) => {
      const r = await s.client.containerWait(n, 'not-running');
      s.out(`${r.StatusCode}\n`);
    });
  });
}

export function renameCommand(s: Session): Command {
  const cmd = newCommand('rename', 'Rename a container', 'CONTAINER NEW_NAME');
  return cmd.argument('[args...]').action(async (args: string[]) => {
    requireArgs(s, cmd, args, 2, 2);
    const [from, to] = args.map((a) => a.trim());
    if (!from || !to) throw new Exit(1, 'Error: Neither old nor new names may be empty');
    try {
      await s.client.containerRename(from, to);
    } catch (err) {
      // docker prints the daemon's error, then its own line naming the container.
      s.err(`${errorText(err)}\n`);
      throw new Exit(1, `Error: failed to rename container named ${from}`);
    }
  });
}
