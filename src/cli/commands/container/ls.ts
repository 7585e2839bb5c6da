import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import type { ContainerSummary, Port } from '../../../types/index.js';
import { shortId } from '../../../util/index.js';
import { givenFlags, newCommand } from '../../command.js';
import { ago, displayablePorts, ellipsis, goTime, humanSize, render, sortedKeys } from '../../format/index.js';
import { collect, FORMAT_TABLE_HELP, intArg, parseFilters } from '../../opts.js';
import type { IO, Session } from '../../session.js';

export const PS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Names: 'NAMES',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  Networks: 'NETWORKS',
  LocalVolumes: 'LOCAL VOLUMES',
  Label: 'LABEL',
};

/** docker's PORTS column: "0.0.0.0:8080->80/tcp, 443/tcp", runs of ports collapsed as docker does. */
export const formatPorts = (ports: Port[] = []): string => displayablePorts(ports);

/** One row of `ps` with docker's placeholder names; `Label` is a method as in docker. */
export function psRow(c: ContainerSummary, opts: { trunc: boolean; now?: number }) {
  const labels = c.Labels ?? {};
  const names = c.Names.map((n) => n.replace(/^\//, ''));
  const row = sortedKeys({
    Command: JSON.stringify(opts.trunc ? ellipsis(c.Command, 20) : c.Command),
    CreatedAt: goTime(c.Created),
    ID: opts.trunc ? shortId(c.Id) : c.Id,
    // Only an image ID is shortened; a reference such as busybox:1.36 is shown whole.
    Image: opts.trunc && /^sha256:/.test(c.Image) ? shortId(c.Image) : c.Image,
    Labels: Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    LocalVolumes: String((c.Mounts ?? []).filter((m) => m.Type === 'volume').length),
    Mounts: (c.Mounts ?? []).map((m) => (m.Name && opts.trunc ? ellipsis(m.Name, 15) : (m.Name ?? m.Source))).join(','),
    // Without --no-trunc docker hides the links (names with a slash inside).
    Names: (opts.trunc ? names.filter((n) => !n.includes('/')) : names).join(','),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {}).sort().join(','),
    Platform: null,
    Ports: formatPorts(c.Ports),
    RunningFor: ago(c.Created, opts.now),
    Size: c.SizeRw === undefined && c.SizeRootFs === undefined ? '0B' : sizeText(c.SizeRw ?? 0, c.SizeRootFs ?? 0),
    State: c.State,
    Status: c.Status,
  }, '*formatter.ContainerContext');
  // Not enumerable, so `json` rows leave it out as docker's do.
  return Object.defineProperty(row, 'Label', { value: (k: string) => labels[k] ?? '', enumerable: false }) as typeof row & { Label(k: string): string };
}

function sizeText(rw: number, rootFs: number): string {
  const srw = humanSize(rw);
  return rootFs > 0 ? `${srw} (virtual ${humanSize(rootFs)})` : srw;
}

export interface ListOptions {
  all?: boolean;
  quiet?: boolean;
  /** The n last created containers, of every state. */
  last?: number;
  latest?: boolean;
  size?: boolean;
  /** false: --no-trunc. */
  trunc?: boolean;
  filter?: string[];
  format?: string;
}

/** `ps`, `container ls`: the containers as docker's table, or in the --format asked for. */
export async function listContainers(client: Pick<Client, 'containerList'>, opts: ListOptions, io: IO): Promise<number> {
  const limit = opts.latest ? 1 : opts.last !== undefined && opts.last > 0 ? opts.last : undefined;
  const format = opts.format ?? (opts.quiet ? '{{.ID}}' : '');
  // A template that shows .Size asks for sizes like -s does; so does one that marshals the
  // whole row ({{json .}}), as docker's CLI finds by trying the template. The 'json'
  // shortcut is no template to try: docker asks for no sizes then.
  const size = Boolean(opts.size) || /\.Size\b|\bjson\s+\.\s*-?\}\}/.test(format);
  const list = await client.containerList({ all: opts.all || limit !== undefined, limit, size, filters: parseFilters(opts.filter) });
  const rows = list.map((c) => psRow(c, { trunc: opts.trunc !== false }));
  const table = `table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}${opts.size ? '\t{{.Size}}' : ''}`;
  io.stdout.write(render(format === '' || format === 'table' ? table : format, rows, PS_HEADERS));
  return 0;
}

export function psCommand(s: Session, name = 'ps'): Command {
  const cmd = newCommand(name, 'List containers', '[OPTIONS]');
  return cmd
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('--format <string>', FORMAT_TABLE_HELP)
    .option('-n, --last <int>', 'Show n last created containers (includes all states) (default -1)', intArg)
    .option('-l, --latest', 'Show the latest created container (includes all states)')
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only display container IDs')
    .option('-s, --size', 'Display total file sizes')
    .action(async () => {
      await listContainers(s.client, givenFlags<ListOptions>(cmd), s.io);
    });
}
