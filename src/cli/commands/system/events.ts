import type { Command } from 'commander';
import { jsonLines, type Client } from '../../../client/index.js';
import type { EventMessage } from '../../../types/index.js';
import { givenFlags, newCommand } from '../../command.js';
import { formatter, prepareFormat } from '../../format/index.js';
import { collect, FORMAT_HELP, parseFilters, timestampArg } from '../../opts.js';
import type { IO, Session } from '../../session.js';

export interface EventsOptions {
  filter?: string[];
  format?: string;
  /** A timestamp, or a duration back from now ("42m"). */
  since?: string;
  until?: string;
}

/**
 * An event as read by the CLI: timeNano (past 2^53) kept as its digits, since docker prints it
 * exactly and a JS number would round it.
 */
export type CliEvent = Omit<EventMessage, 'timeNano'> & { timeNano?: string };
const exactTimeNano = (line: string) => line.replace(/"timeNano":(\d+)/, '"timeNano":"$1"');

/** docker's event line: "2024-05-01T10:00:00.123456789Z container start <id> (image=…, name=…)". */
export function formatEvent(e: CliEvent): string {
  const nanos = e.timeNano ? BigInt(e.timeNano) : BigInt(e.time) * 1_000_000_000n;
  const secs = Number(nanos / 1_000_000_000n);
  const frac = String(nanos % 1_000_000_000n).padStart(9, '0');
  const when = new Date(secs * 1000).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
  const attrs = Object.entries(e.Actor?.Attributes ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `${when} ${e.Type} ${e.Action} ${e.Actor?.ID ?? ''}${attrs ? ` (${attrs})` : ''}`;
}

/** docker's events.Message as JSON: its field order, the legacy fields only when set, timeNano exact. */
export function eventJson(e: CliEvent): string {
  const { status, id, from, Type, Action, Actor, scope, time } = e;
  const fields = { ...(status ? { status } : {}), ...(id ? { id } : {}), ...(from ? { from } : {}), Type, Action, Actor, scope, time };
  return `${JSON.stringify(fields).slice(0, -1)},"timeNano":${e.timeNano ?? '0'}}`;
}

/** The event for a template: docker's templates name fields as Go does (.ID, .Status, .TimeNano). */
function eventRow(e: CliEvent): object {
  // Go's zero values for fields the message leaves out.
  const go = { Status: e.status ?? '', ID: e.id ?? '', From: e.from ?? '', Scope: e.scope ?? '', Time: e.time ?? 0, TimeNano: e.timeNano ?? '0' };
  return Object.defineProperties({ ...e }, Object.fromEntries(Object.entries(go).map(([k, value]) => [k, { value, enumerable: false }])));
}

/** `events`: one line per event as it comes, until --until or until interrupted. */
export async function events(client: Pick<Client, 'events'>, opts: EventsOptions, io: IO): Promise<number> {
  const res = await client.events({ since: timestampArg(opts.since), until: timestampArg(opts.until), filters: parseFilters(opts.filter) });
  const json = opts.format !== undefined && prepareFormat(opts.format).template === '{{json .}}';
  // Compiled once for the whole stream, not per event.
  const template = opts.format && !json ? formatter(opts.format) : undefined;
  const line = (e: CliEvent) => (json ? `${eventJson(e)}\n` : template ? template(eventRow(e)) : `${formatEvent(e)}\n`);
  for await (const e of jsonLines<CliEvent>(res, exactTimeNano)) io.stdout.write(line(e));
  return 0;
}

export function eventsCommand(s: Session): Command {
  const cmd = newCommand('events', 'Get real time events from the server', '[OPTIONS]');
  return cmd
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('--format <string>', FORMAT_HELP)
    .option('--since <string>', 'Show all events created since timestamp')
    .option('--until <string>', 'Stream events until this timestamp')
    .action(async () => {
      await events(s.client, givenFlags<EventsOptions>(cmd), s.io);
    });
}
