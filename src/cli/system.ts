import type { Command } from 'commander';
import type { EventMessage, VersionResponse } from '../types/index.js';
import { ApiError, ConnectError, jsonLines } from '../client/index.js';
import { CLI_VERSION, newCommand } from './command.js';
import { formatter, prepareFormat, render, sortedKeys } from './format.js';
import { bytesSize, humanSize } from './human.js';
import { collect, FORMAT_HELP, FORMAT_TABLE_HELP, parseFilters, timestampArg } from './opts.js';
import { Exit, type Session } from './session.js';
import { API_VERSION } from '../types/index.js';

const goArch = (a: string) => ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' })[a] ?? a;

/**
 * Templates name the API version by its Go field, APIVersion, while JSON calls it ApiVersion:
 * the Go name is added for templates only (not enumerable, so `json .` is unchanged).
 */
function withGoNames<T extends { ApiVersion?: string }>(v: T): T {
  return Object.defineProperty({ ...v }, 'APIVersion', { value: v.ApiVersion, enumerable: false });
}

/** The server's version as docker's struct marshals it: component details sorted, BuildTime only when set. */
function goVersion(v: VersionResponse): object {
  const { BuildTime, ...rest } = v;
  const Components = v.Components.map((c) => ({ ...c, Details: c.Details && sortKeys(c.Details) }));
  return withGoNames({ ...rest, Components, ...(BuildTime ? { BuildTime } : {}) });
}

const sortKeys = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as T;

/** A component's details, every key in order and empty ones too, as docker's version template prints them. */
function detailLines(details?: Record<string, string>): string {
  return Object.entries(sortKeys(details ?? {}))
    .map(([k, v]) => `  ${`${k}:`.padEnd(18)}${v}\n`)
    .join('');
}

export function versionCommand(s: Session): Command {
  return newCommand('version', 'Show the Docker version information', '[OPTIONS]')
    .option('-f, --format <string>', FORMAT_HELP)
    .action(async (f: { format?: string }) => {
      const client = { Version: CLI_VERSION, ApiVersion: API_VERSION, DefaultAPIVersion: API_VERSION, GoVersion: process.version, Os: process.platform, Arch: goArch(process.arch), Context: 'default' };
      let server: VersionResponse | undefined;
      let failure: unknown;
      try {
        server = await s.client.versionInfo();
      } catch (err) {
        failure = err;
      }
      if (f.format) {
        s.out(render(f.format, [{ Client: withGoNames(client), Server: server ? goVersion(server) : null }]));
      } else {
        s.out(
          `Client:\n Version:           ${client.Version}\n API version:       ${client.ApiVersion}\n Node.js version:   ${client.GoVersion}\n OS/Arch:           ${client.Os}/${client.Arch}\n Context:           ${client.Context}\n`,
        );
        if (server) {
          s.out(
            `\nServer: ${server.Platform?.Name ?? ''}\n Engine:\n  Version:          ${server.Version}\n  API version:      ${server.ApiVersion} (minimum version ${server.MinAPIVersion})\n` +
              `  Go version:       ${server.GoVersion}\n  Git commit:       ${server.GitCommit}\n  Built:            ${server.BuildTime}\n  OS/Arch:          ${server.Os}/${server.Arch}\n  Experimental:     ${Boolean(server.Experimental)}\n` +
              (server.Components ?? [])
                .filter((c) => c.Name !== 'Engine')
                .map((c) => ` ${c.Name}:\n  Version:          ${c.Version}\n${detailLines(c.Details)}`)
                .join(''),
          );
        }
      }
      if (failure) {
        if (failure instanceof ApiError || failure instanceof ConnectError) throw failure;
        throw new Exit(1, (failure as Error).message);
      }
    });
}

export function infoCommand(s: Session): Command {
  return newCommand('info', 'Display system-wide information', '[OPTIONS]')
    .option('-f, --format <string>', FORMAT_HELP)
    .action(async (f: { format?: string }) => {
      const i = await s.client.info();
      if (f.format) return void s.out(render(f.format, [i]));
      const lines = [
        'Client:',
        ` Version:    ${CLI_VERSION}`,
        ` Context:    default`,
        ` Debug Mode: false`,
        '',
        'Server:',
        ` Containers: ${i.Containers}`,
        `  Running: ${i.ContainersRunning}`,
        `  Paused: ${i.ContainersPaused}`,
        `  Stopped: ${i.ContainersStopped}`,
        ` Images: ${i.Images}`,
        ` Server Version: ${i.ServerVersion}`,
        ` Storage Driver: ${i.Driver}`,
        ...(i.DriverStatus ?? []).map(([k, v]) => `  ${k}: ${v}`),
        ` Logging Driver: ${i.LoggingDriver}`,
        ` Cgroup Driver: ${i.CgroupDriver}`,
        ` Cgroup Version: ${i.CgroupVersion}`,
        ` Default Runtime: ${i.DefaultRuntime}`,
        ` Kernel Version: ${i.KernelVersion}`,
        ` Operating System: ${i.OperatingSystem}`,
        ` OSType: ${i.OSType}`,
        ` Architecture: ${i.Architecture}`,
        ` CPUs: ${i.NCPU}`,
        ` Total Memory: ${bytesSize(i.MemTotal)}`,
        ` Name: ${i.Name}`,
        ` ID: ${i.ID}`,
        ` Docker Root Dir: ${i.DockerRootDir}`,
        ` Debug Mode: ${Boolean(i.Debug)}`,
        ` Experimental: ${Boolean(i.ExperimentalBuild)}`,
        ` Live Restore Enabled: ${Boolean(i.LiveRestoreEnabled)}`,
      ];
      s.out(lines.join('\n') + '\n');
      for (const w of i.Warnings ?? []) s.err(`${w}\n`);
    });
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

export function eventsCommand(s: Session): Command {
  return newCommand('events', 'Get real time events from the server', '[OPTIONS]')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('--format <string>', FORMAT_HELP)
    .option('--since <string>', 'Show all events created since timestamp')
    .option('--until <string>', 'Stream events until this timestamp')
    .action(async (f: { filter?: string[]; format?: string; since?: string; until?: string }) => {
      const res = await s.client.events({ since: timestampArg(f.since), until: timestampArg(f.until), filters: parseFilters(f.filter) });
      const json = f.format !== undefined && prepareFormat(f.format).template === '{{json .}}';
      // Compiled once for the whole stream, not per event.
      const template = f.format && !json ? formatter(f.format) : undefined;
      const line = (e: CliEvent) => (json ? `${eventJson(e)}\n` : template ? template(eventRow(e)) : `${formatEvent(e)}\n`);
      for await (const e of jsonLines<CliEvent>(res, exactTimeNano)) s.out(line(e));
    });
}

export function systemDfCommand(s: Session): Command {
  return newCommand('df', 'Show docker disk usage', '[OPTIONS]')
    .option('--format <string>', FORMAT_TABLE_HELP)
    .option('-v, --verbose', 'Show detailed information on space usage')
    .action(async (f: { format?: string }) => {
      const df = await s.client.systemDf();
      const pct = (part: number, total: number) => (total > 0 ? ` (${Math.trunc((part * 100) / total)}%)` : '');
      const imgSize = df.LayersSize ?? df.Images.reduce((n, i) => n + i.Size, 0);
      // docker's arithmetic: the layers' size less what images in use hold alone (unknown sizes count as nothing).
      const imgUsed = df.Images.filter((i) => i.Containers !== 0 && i.Size !== -1 && i.SharedSize !== -1).reduce((n, i) => n + i.Size - i.SharedSize, 0);
      const imgReclaim = imgSize - imgUsed;
      const ctrSize = df.Containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
      const ctrReclaim = df.Containers.filter((c) => c.State !== 'running' && c.State !== 'paused').reduce((n, c) => n + (c.SizeRw ?? 0), 0);
      const vols = df.Volumes ?? [];
      const volSize = vols.reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0);
      const volReclaim = vols.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0);
      const rows = [
        { Type: 'Images', TotalCount: String(df.Images.length), Active: String(df.Images.filter((i) => i.Containers > 0).length), Size: humanSize(imgSize, 4), Reclaimable: humanSize(imgReclaim, 4) + pct(imgReclaim, imgSize) },
        { Type: 'Containers', TotalCount: String(df.Containers.length), Active: String(df.Containers.filter((c) => c.State === 'running' || c.State === 'paused').length), Size: humanSize(ctrSize, 4), Reclaimable: humanSize(ctrReclaim, 4) + pct(ctrReclaim, ctrSize) },
        { Type: 'Local Volumes', TotalCount: String(vols.length), Active: String(vols.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length), Size: humanSize(volSize, 4), Reclaimable: humanSize(volReclaim, 4) + pct(volReclaim, volSize) },
        { Type: 'Build Cache', TotalCount: String(df.BuildCache?.length ?? 0), Active: '0', Size: '0B', Reclaimable: '0B' },
      ].map((r) => sortedKeys(r));
      const format = f.format ?? 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';
      s.out(render(format, rows, { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' }));
    });
}
