import { Option, type Command } from 'commander';
import type { Client } from '../../../client/index.js';
import type { IPAMConfig, NetworkCreateRequest } from '../../../types/index.js';
import { givenFlags, newCommand, requireArgs } from '../../command.js';
import { Exit } from '../../errors.js';
import { collect, splitKeyValue } from '../../opts.js';
import type { IO, Session } from '../../session.js';

export interface NetworkCreateOptions {
  driver?: string;
  subnet?: string[];
  ipRange?: string[];
  gateway?: string[];
  auxAddress?: string[];
  internal?: boolean;
  attachable?: boolean;
  ingress?: boolean;
  configOnly?: boolean;
  configFrom?: string;
  scope?: string;
  label?: string[];
  opt?: string[];
  ipamDriver?: string;
  ipamOpt?: string[];
  ipv4?: boolean;
  ipv6?: boolean;
}

/** An IPv4 or IPv6 address as a number and its width in bits; undefined if it is not one (Go's net.ParseIP). */
function ipBits(ip: string): { n: bigint; bits: number } | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) {
    const o = v4.slice(1).map(Number);
    if (o.some((x, i) => x > 255 || (v4[i + 1].length > 1 && v4[i + 1].startsWith('0')))) return undefined;
    return { n: o.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n), bits: 32 };
  }
  if (!ip.includes(':') || ip.includes('%')) return undefined;
  let tail: number[] = [];
  let text = ip;
  const embedded = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (embedded) {
    const v = ipBits(embedded[2]);
    if (!v) return undefined;
    tail = [Number(v.n >> 16n), Number(v.n & 0xffffn)];
    text = embedded[1].endsWith('::') ? embedded[1] : embedded[1].slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  if ([...head, ...rest].some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  const fill = 8 - head.length - rest.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined;
  const all = [...head.map((g) => parseInt(g, 16)), ...Array(halves.length === 2 ? fill : 0).fill(0), ...rest.map((g) => parseInt(g, 16)), ...tail];
  return { n: all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n), bits: 128 };
}

/** Go's net.ParseCIDR, with its error text. */
function parseCidr(s: string): { n: bigint; bits: number; prefix: number } {
  const slash = s.indexOf('/');
  const ip = slash < 0 ? undefined : ipBits(s.slice(0, slash));
  const prefix = slash < 0 || !/^\d{1,3}$/.test(s.slice(slash + 1)) ? NaN : Number(s.slice(slash + 1));
  if (!ip || !(prefix <= ip.bits)) throw new Error(`invalid CIDR address: ${s}`);
  return { ...ip, prefix };
}

/** docker's subnetMatches: whether `data` (an address or a CIDR) is inside `subnet`. */
function subnetMatches(subnet: string, data: string): boolean {
  let s: ReturnType<typeof parseCidr>;
  try {
    s = parseCidr(subnet);
  } catch (err) {
    throw new Exit(1, `invalid subnet: ${(err as Error).message}`);
  }
  let ip: { n: bigint; bits: number } | undefined;
  if (data.includes('/')) {
    try {
      ip = parseCidr(data);
    } catch (err) {
      throw new Exit(1, (err as Error).message);
    }
  } else ip = ipBits(data);
  if (!ip) return false;
  // Go's Contains sees an IPv4 address in an IPv4 network only (and the v4-in-v6 forms; not needed here).
  if (ip.bits !== s.bits) return false;
  const shift = BigInt(s.bits - s.prefix);
  return ip.n >> shift === s.n >> shift;
}

/** The IPAM configs of --subnet, --ip-range, --gateway and --aux-address, checked and paired as docker's CLI does. */
export function ipamConfig(o: NetworkCreateOptions): IPAMConfig[] {
  const subnets = o.subnet ?? [];
  const ranges = o.ipRange ?? [];
  const gateways = o.gateway ?? [];
  if (subnets.length < ranges.length || subnets.length < gateways.length) throw new Exit(1, 'every ip-range or gateway must have a corresponding subnet');
  const configs = new Map<string, IPAMConfig>();
  for (const s of subnets) {
    for (const k of configs.keys()) {
      if (subnetMatches(s, k) || subnetMatches(k, s)) throw new Exit(1, 'multiple overlapping subnet configuration is not supported');
    }
    configs.set(s, { Subnet: s });
  }
  const place = (value: string, field: 'IPRange' | 'Gateway', what: string, multiple: string) => {
    let match = false;
    for (const s of subnets) {
      if (!subnetMatches(s, value)) continue;
      const c = configs.get(s)!;
      if (c[field]) throw new Exit(1, `cannot configure multiple ${multiple} (${value}, ${c[field]}) ${field === 'IPRange' ? 'on' : 'for'} the same subnet (${s})`);
      c[field] = value;
      match = true;
    }
    if (!match) throw new Exit(1, `no matching subnet for ${what} ${value}`);
  };
  for (const r of ranges) place(r, 'IPRange', 'range', 'ranges');
  for (const g of gateways) place(g, 'Gateway', 'gateway', 'gateways');
  for (const kv of o.auxAddress ?? []) {
    const [key, addr = ''] = splitKeyValue(kv);
    let match = false;
    for (const s of subnets) {
      if (!subnetMatches(s, addr)) continue;
      const c = configs.get(s)!;
      c.AuxiliaryAddresses = { ...c.AuxiliaryAddresses, [key]: addr };
      match = true;
    }
    if (!match) throw new Exit(1, `no matching subnet for aux-address ${addr}`);
  }
  return subnets.map((s) => configs.get(s)!);
}

const kvMap = (list: string[] = []) => Object.fromEntries(list.map((kv) => splitKeyValue(kv)).map(([k, v]) => [k, v ?? '']));

/** The POST /networks/create body docker's CLI sends for these flags. */
export function networkCreateRequest(name: string, o: NetworkCreateOptions): NetworkCreateRequest {
  // Name comes last in docker's body (its field is embedded after the options).
  return {
    Driver: o.driver ?? 'bridge',
    Scope: o.scope ?? '',
    ...(o.ipv4 !== undefined ? { EnableIPv4: o.ipv4 } : {}),
    ...(o.ipv6 !== undefined ? { EnableIPv6: o.ipv6 } : {}),
    IPAM: { Driver: o.ipamDriver ?? 'default', Options: kvMap(o.ipamOpt), Config: ipamConfig(o) },
    Internal: Boolean(o.internal),
    Attachable: Boolean(o.attachable),
    Ingress: Boolean(o.ingress),
    ConfigOnly: Boolean(o.configOnly),
    ConfigFrom: o.configFrom ? { Network: o.configFrom } : null,
    Options: kvMap(o.opt),
    Labels: kvMap(o.label),
    Name: name,
  };
}

/** `network create NETWORK`: prints the new network's ID. */
export async function createNetwork(client: Pick<Client, 'networkCreate'>, name: string, o: NetworkCreateOptions, io: IO): Promise<number> {
  const r = await client.networkCreate(networkCreateRequest(name, o));
  io.stdout.write(`${r.Id}\n`);
  return 0;
}

export function networkCreateCommand(s: Session): Command {
  const cmd = newCommand('create', 'Create a network', '[OPTIONS] NETWORK');
  return cmd
    .argument('[name...]')
    .option('--attachable', 'Enable manual container attachment')
    .option('--aux-address <map>', 'Auxiliary IPv4 or IPv6 addresses used by Network driver (default map[])', collect)
    .option('--config-from <string>', 'The network from which to copy the configuration')
    .option('--config-only', 'Create a configuration only network')
    .option('-d, --driver <string>', 'Driver to manage the Network', 'bridge')
    .option('--gateway <strings>', 'IPv4 or IPv6 Gateway for the master subnet', collect)
    .option('--ingress', 'Create swarm routing-mesh network')
    .option('--internal', 'Restrict external access to the network')
    .option('--ip-range <strings>', 'Allocate container ip from a sub-range', collect)
    .option('--ipam-driver <string>', 'IP Address Management Driver', 'default')
    .option('--ipam-opt <map>', 'Set IPAM driver specific options (default map[])', collect)
    .option('--ipv4', 'Enable or disable IPv4 address assignment (default true)')
    .option('--ipv6', 'Enable or disable IPv6 address assignment')
    // `--ipv6=false` arrives as --no-ipv6 (see flags.ts); only a given value goes to the daemon.
    .addOption(new Option('--no-ipv4').hideHelp())
    .addOption(new Option('--no-ipv6').hideHelp())
    .option('--label <list>', 'Set metadata on a network', collect)
    .option('-o, --opt <map>', 'Set driver specific options (default map[])', collect)
    .option('--scope <string>', "Control the network's scope")
    .option('--subnet <strings>', 'Subnet in CIDR format that represents a network segment', collect)
    .action(async (names: string[]) => {
      requireArgs(s, cmd, names, 1, 1);
      await createNetwork(s.client, names[0], givenFlags<NetworkCreateOptions>(cmd), s.io);
    });
}
