import type { Command } from 'commander';
import type { ContainerInspect } from '../types/index.js';
import { forEachName, newCommand, requireArgs } from './command.js';
import { Exit, type Session } from './session.js';
import { checkTty, followAttached, pumpStreams } from './streams.js';
import { startFailureCode } from './run.js';

interface AttachFlags {
  stdin?: boolean;
  sigProxy?: boolean;
  detachKeys?: string;
}

function attachStreams(s: Session, info: ContainerInspect, stdin: boolean, detachKeys?: string) {
  const c = s.client;
  const resize = (h: number, w: number) => void c.containerResize(info.Id, h, w).catch(() => {});
  return c.containerAttach(info.Id, { stdin, stdout: true, stderr: true, detachKeys }).then((conn) => ({
    pumping: pumpStreams(s, conn, { tty: Boolean(info.Config.Tty), stdin, resize }),
    resize,
    conn,
  }));
}

export function attachCommand(s: Session): Command {
  const cmd = newCommand('attach', 'Attach local standard input, output, and error streams to a running container', '[OPTIONS] CONTAINER');
  return cmd
    .argument('[args...]')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('--no-stdin', 'Do not attach STDIN')
    .option('--sig-proxy', 'Proxy all received signals to the process (default true)')
    .option('--no-sig-proxy', 'Do not proxy signals')
    .action(async (args: string[], f: AttachFlags) => {
      requireArgs(s, cmd, args, 1, 1);
      const c = s.client;
      // Asked for first, as docker does, so an exit while we attach is not missed.
      const waiting = c.containerWait(args[0], 'not-running');
      waiting.catch(() => {});
      const info = await c.containerInspect(args[0]);
      if (!info.State.Running) throw new Exit(1, 'You cannot attach to a stopped container, start it first');
      if (info.State.Paused) throw new Exit(1, 'You cannot attach to a paused container, unpause it first');
      if (info.State.Restarting) throw new Exit(1, 'You cannot attach to a restarting container, wait until it is running');
      checkTty(s, Boolean(info.Config.Tty), f.stdin !== false);
      const stdin = f.stdin !== false && Boolean(info.Config.OpenStdin);
      const { pumping, resize } = await attachStreams(s, info, stdin, f.detachKeys);
      const code = await followAttached(s, { id: info.Id, tty: Boolean(info.Config.Tty), sigProxy: f.sigProxy !== false, stdin, pumping, waiting, resize });
      if (code) throw new Exit(code);
    });
}

interface StartFlags {
  attach?: boolean;
  interactive?: boolean;
  detachKeys?: string;
}

export function startCommand(s: Session): Command {
  const cmd = newCommand('start', 'Start one or more stopped containers', '[OPTIONS] CONTAINER [CONTAINER...]');
  return cmd
    .argument('[names...]')
    .option('-a, --attach', 'Attach STDOUT/STDERR and forward signals')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('-i, --interactive', "Attach container's STDIN")
    .action(async (names: string[], f: StartFlags) => {
      requireArgs(s, cmd, names, 1);
      const c = s.client;
      if (!f.attach && !f.interactive) {
        await forEachName(
          s,
          names,
          async (n) => {
            await c.containerStart(n, f.detachKeys);
            s.out(`${n}\n`);
          },
          (failed) => `Error: failed to start containers: ${failed.join(', ')}`,
        );
        return;
      }
      if (names.length > 1) throw new Exit(1, 'you cannot start and attach multiple containers at once');
      const info = await c.containerInspect(names[0]);
      const stdin = Boolean(f.interactive) && Boolean(info.Config.OpenStdin);
      const { pumping, resize, conn } = await attachStreams(s, info, stdin, f.detachKeys);
      const waiting = c.containerWait(info.Id, info.HostConfig.AutoRemove ? 'removed' : 'next-exit');
      waiting.catch(() => {});
      try {
        await c.containerStart(info.Id);
      } catch (err) {
        conn.destroy();
        await pumping;
        throw new Exit(startFailureCode((err as Error).message), `Error response from daemon: ${(err as Error).message}`);
      }
      const code = await followAttached(s, { id: info.Id, tty: Boolean(info.Config.Tty), sigProxy: true, stdin, pumping, waiting, resize });
      if (code) throw new Exit(code);
    });
}
