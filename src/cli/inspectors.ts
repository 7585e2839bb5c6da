import type { Command } from 'commander';
import { newCommand, requireArgs } from './command.js';
import { tabulate } from './table.js';
import { Exit, type Session } from './session.js';

/** `top`: the daemon's ps table, aligned like docker (ps options pass through). */
export function topCommand(s: Session): Command {
  const cmd = newCommand('top', 'Display the running processes of a container', 'CONTAINER [ps OPTIONS]');
  return cmd
    .argument('[args...]')
    .passThroughOptions()
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 1);
      const r = await s.client.containerTop(args[0], args.length > 1 ? args.slice(1).join(' ') : undefined);
      const lines = [r.Titles.join('\t'), ...r.Processes.map((p) => p.join('\t'))];
      // docker's top uses a wider minimum column than its other tables.
      s.out(tabulate(lines.join('\n') + '\n', { minWidth: 20 }));
    });
}

/** `port`: "80/tcp -> 0.0.0.0:8080" lines, or just the host addresses for one port. */
export function portCommand(s: Session): Command {
  const cmd = newCommand('port', 'List port mappings or a specific mapping for the container', 'CONTAINER [PRIVATE_PORT[/PROTO]]');
  return cmd.argument('[args...]').action(async (args: string[]) => {
    requireArgs(s, cmd, args, 1, 2);
    const info = await s.client.containerInspect(args[0]);
    const ports = info.NetworkSettings?.Ports ?? {};
    const addr = (ip: string | undefined, port: string | undefined) => `${ip && ip.includes(':') ? `[${ip}]` : ip || '0.0.0.0'}:${port ?? ''}`;
    if (args[1]) {
      const [port, proto = 'tcp'] = args[1].split('/');
      const binds = ports[`${port}/${proto}`];
      if (!binds?.length) throw new Exit(1, `Error: No public port '${args[1]}' published for ${args[0]}`);
      for (const b of binds) s.out(`${addr(b.HostIp, b.HostPort)}\n`);
      return;
    }
    const keys = Object.keys(ports).sort((a, b) => parseInt(a) - parseInt(b) || a.localeCompare(b));
    for (const k of keys) for (const b of ports[k] ?? []) s.out(`${k} -> ${addr(b.HostIp, b.HostPort)}\n`);
  });
}

/** `diff`: "C /etc", "A /x", "D /y". */
export function diffCommand(s: Session): Command {
  const cmd = newCommand('diff', "Inspect changes to files or directories on a container's filesystem", 'CONTAINER');
  return cmd.argument('[args...]').action(async (args: string[]) => {
    requireArgs(s, cmd, args, 1, 1);
    for (const ch of await s.client.containerChanges(args[0])) s.out(`${'CAD'[ch.Kind] ?? '?'} ${ch.Path}\n`);
  });
}
