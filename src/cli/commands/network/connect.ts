import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import type { EndpointSettings } from '../../../types/index.js';
import { givenFlags, newCommand, requireArgs } from '../../command.js';
import { Exit } from '../../errors.js';
import { collect, intArg } from '../../opts.js';
import type { Session } from '../../session.js';
import { linkArg } from '../container/netopts.js';

export interface NetworkConnectOptions {
  alias?: string[];
  ip?: string;
  ip6?: string;
  link?: string[];
  linkLocalIp?: string[];
  driverOpt?: string[];
  gwPriority?: number;
}

/** The EndpointConfig docker's CLI sends with connect: IPAMConfig, Aliases and DriverOpts always there. */
export function connectEndpoint(o: NetworkConnectOptions): EndpointSettings {
  const driverOpts: Record<string, string> = {};
  for (const kv of o.driverOpt ?? []) {
    const eq = kv.indexOf('=');
    if (eq < 0) throw new Exit(1, 'invalid key value pair format in driver options');
    driverOpts[kv.slice(0, eq).trim().toLowerCase()] = kv.slice(eq + 1).trim();
  }
  return {
    IPAMConfig: {
      ...(o.ip ? { IPv4Address: o.ip } : {}),
      ...(o.ip6 ? { IPv6Address: o.ip6 } : {}),
      ...(o.linkLocalIp?.length ? { LinkLocalIPs: o.linkLocalIp } : {}),
    },
    Links: o.link?.length ? o.link : null,
    Aliases: o.alias ?? [],
    DriverOpts: driverOpts,
    ...(o.gwPriority ? { GwPriority: o.gwPriority } : {}),
  };
}

export async function connectNetwork(client: Pick<Client, 'networkConnect'>, network: string, container: string, o: NetworkConnectOptions): Promise<number> {
  await client.networkConnect(network, { Container: container, EndpointConfig: connectEndpoint(o) });
  return 0;
}

export function networkConnectCommand(s: Session): Command {
  const cmd = newCommand('connect', 'Connect a container to a network', '[OPTIONS] NETWORK CONTAINER');
  return cmd
    .argument('[args...]')
    .option('--alias <strings>', 'Add network-scoped alias for the container', collect)
    .option('--driver-opt <strings>', 'driver options for the network', collect)
    .option('--gw-priority <int>', 'Highest gw-priority provides the default gateway. Accepts positive and negative values.', intArg)
    .option('--ip <string>', 'IPv4 address (e.g., "172.30.100.104")')
    .option('--ip6 <string>', 'IPv6 address (e.g., "2001:db8::33")')
    .option('--link <list>', 'Add link to another container', linkArg)
    .option('--link-local-ip <strings>', 'Add a link-local address for the container', collect)
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 2, 2);
      await connectNetwork(s.client, args[0], args[1], givenFlags<NetworkConnectOptions>(cmd));
    });
}

export function networkDisconnectCommand(s: Session): Command {
  const cmd = newCommand('disconnect', 'Disconnect a container from a network', '[OPTIONS] NETWORK CONTAINER');
  return cmd
    .argument('[args...]')
    .option('-f, --force', 'Force the container to disconnect from a network')
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 2, 2);
      await s.client.networkDisconnect(args[0], { Container: args[1], Force: Boolean(givenFlags<{ force?: boolean }>(cmd).force) });
    });
}
