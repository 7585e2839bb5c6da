import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { exitWith, newCommand, requireArgs } from '../../command.js';
import type { IO, Session } from '../../session.js';

/** `port` has no options. */
export type PortOptions = Record<string, never>;

/**
 * `port CONTAINER [PRIVATE_PORT[/PROTO]]`: "80/tcp -> 0.0.0.0:8080" lines, or the host
 * addresses of one port (exit 1 if it is not published).
 */
export async function port(client: Pick<Client, 'containerInspect'>, args: [string, string?], _opts: PortOptions, io: IO): Promise<number> {
  const [container, wanted] = args;
  const info = await client.containerInspect(container);
  const ports = info.NetworkSettings?.Ports ?? {};
  const addr = (ip: string | undefined, hostPort: string | undefined) => `${ip && ip.includes(':') ? `[${ip}]` : ip || '0.0.0.0'}:${hostPort ?? ''}`;
  if (wanted) {
    const [number, proto = 'tcp'] = wanted.split('/');
    const binds = ports[`${number}/${proto}`];
    if (!binds?.length) {
      io.stderr.write(`Error: No public port '${wanted}' published for ${container}\n`);
      return 1;
    }
    for (const b of binds) io.stdout.write(`${addr(b.HostIp, b.HostPort)}\n`);
    return 0;
  }
  const keys = Object.keys(ports).sort((a, b) => parseInt(a) - parseInt(b) || a.localeCompare(b));
  for (const k of keys) for (const b of ports[k] ?? []) io.stdout.write(`${k} -> ${addr(b.HostIp, b.HostPort)}\n`);
  return 0;
}

export function portCommand(s: Session): Command {
  const cmd = newCommand('port', 'List port mappings or a specific mapping for the container', 'CONTAINER [PRIVATE_PORT[/PROTO]]');
  return cmd.argument('[args...]').action(async (args: string[]) => {
    requireArgs(s, cmd, args, 1, 2);
    exitWith(await port(s.client, [args[0], args[1]], {}, s.io));
  });
}
