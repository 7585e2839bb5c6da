import { InvalidArgumentError, type Command } from 'commander';
import type { Client } from '../../../client/index.js';
import type { NetworkResource } from '../../../types/index.js';
import { shortId } from '../../../util/index.js';
import { givenFlags, newCommand } from '../../command.js';
import { naturalCompare, render, sortedKeys } from '../../format/index.js';
import { FORMAT_TABLE_HELP, parseFilters } from '../../opts.js';
import type { IO, Session } from '../../session.js';

export const NETWORK_HEADERS: Record<string, string> = {
  ID: 'NETWORK ID',
  Name: 'NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  IPv4: 'IPV4',
  IPv6: 'IPV6',
  Internal: 'INTERNAL',
  Labels: 'LABELS',
  CreatedAt: 'CREATED AT',
  Label: 'LABEL',
};

/**
 * An RFC 3339 time as Go's time.Time String() prints it, nanoseconds kept and trailing zeros
 * dropped: "2026-12-01 10:00:00.123456789 +0000 UTC". The API's text is used, not a Date, which
 * would lose the nanoseconds.
 */
export function goTimeString(rfc3339: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(rfc3339);
  if (!m) return rfc3339;
  const frac = (m[3] ?? '').replace(/0+$/, '');
  const zone = m[4] === 'Z' ? '+0000 UTC' : `${m[4].replace(':', '')} ${m[4].replace(':', '')}`;
  return `${m[1]} ${m[2]}${frac ? `.${frac}` : ''} ${zone}`;
}

/** One row of `network ls` with docker's placeholder names; `Label` is a method as in docker. */
export function networkRow(n: NetworkResource & { EnableIPv4?: boolean }, opts: { trunc: boolean }) {
  const labels = n.Labels ?? {};
  const row = sortedKeys({
    CreatedAt: goTimeString(n.Created),
    Driver: n.Driver,
    ID: opts.trunc ? shortId(n.Id) : n.Id,
    // The CLI prints the field it decoded: an API that sends no EnableIPv4 reads false.
    IPv4: String(n.EnableIPv4 ?? false),
    IPv6: String(n.EnableIPv6 ?? false),
    Internal: String(n.Internal ?? false),
    Labels: Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    Name: n.Name,
    Scope: n.Scope,
  });
  return Object.defineProperty(row, 'Label', { value: (k: string) => labels[k] ?? '', enumerable: false }) as typeof row & { Label(k: string): string };
}

export interface NetworkListOptions {
  quiet?: boolean;
  /** false: --no-trunc. */
  trunc?: boolean;
  filter?: string[];
  format?: string;
}

/** --filter as docker's flag takes it: `name=value`, else a flag error (exit 125). */
export function filterArg(v: string, prev: string[] = []): string[] {
  if (!v.includes('=')) throw new InvalidArgumentError('bad format of filter (expected name=value)');
  return [...prev, v];
}

/** `network ls`: the networks in natural order of their names, as docker's table or the --format asked for. */
export async function listNetworks(client: Pick<Client, 'networkList'>, opts: NetworkListOptions, io: IO): Promise<number> {
  const list = await client.networkList(parseFilters(opts.filter));
  list.sort((a, b) => naturalCompare(a.Name, b.Name));
  const rows = list.map((n) => networkRow(n, { trunc: opts.trunc !== false }));
  const table = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';
  // A --format wins over -q, as docker's does.
  const format = opts.format ?? (opts.quiet ? '{{.ID}}' : '');
  io.stdout.write(render(format === '' || format === 'table' ? table : format, rows, NETWORK_HEADERS));
  return 0;
}

export function networkLsCommand(s: Session): Command {
  const cmd = newCommand('ls', 'List networks', '[OPTIONS]');
  return cmd
    .option('-f, --filter <filter>', 'Provide filter values (e.g. "driver=bridge")', filterArg)
    .option('--format <string>', FORMAT_TABLE_HELP)
    .option('--no-trunc', 'Do not truncate the output')
    .option('-q, --quiet', 'Only display network IDs')
    .action(async () => {
      await listNetworks(s.client, givenFlags<NetworkListOptions>(cmd), s.io);
    });
}
