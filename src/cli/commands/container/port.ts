import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { exitWith, newCommand, requireArgs } from '../../command.js';
import { portLines } from '../../format/index.js';
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
  let key: string | undefined;
  if (wanted !== undefined) {
    const slash = wanted.indexOf('/');
    const [number, proto] = slash < 0 ? [wanted, ''] : [wanted.slice(0, slash), wanted.slice(slash + 1)];
    // Checked after the inspect, as docker does: an unknown container is the error shown first.
    const bad = !/^\d+$/.test(number) ? 'invalid syntax' : Number(number) > 65535 ? 'value out of range' : undefined;
    if (bad) {
      io.stderr.write(`Error: invalid port (${number}): strconv.ParseUint: parsing ${JSON.stringify(number)}: ${bad}\n`);
      return 1;
    }
    key = `${number}/${proto || 'tcp'}`;
  }
  const lines = portLines(info.NetworkSettings?.Ports, key);
  if (!lines) {
    io.stderr.write(`Error: No public port '${wanted}' published for ${container}\n`);
    return 1;
  }
  if (lines.length) io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

export function portCommand(s: Session): Command {
  const cmd = newCommand('port', 'List port mappings or a specific mapping for the container', 'CONTAINER [PRIVATE_PORT[/PROTO]]');
  return cmd.argument('[args...]').action(async (args: string[]) => {
    requireArgs(s, cmd, args, 1, 2);
    exitWith(await port(s.client, [args[0], args[1]], {}, s.io));
  });
}
