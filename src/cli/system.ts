import type { Command } from 'commander';
import type { EventMessage, VersionResponse } from '../api/types/index.js';
import { ApiError, ConnectError, jsonLines } from '../client/index.js';
import { CLI_VERSION, newCommand } from './command.js';
import { formatter, render } from './format.js';
import { bytesSize, humanSize } from './human.js';
import { collect, FORMAT_HELP, FORMAT_TABLE_HELP, parseFilters, timestampArg } from './opts.js';
import { Exit, type Session } from './session.js';
import { API_VERSION } from '../api/types/index.js';

const goArch = (a: string) => ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' })[a] ?? a;

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
        s.out(render(f.format, [{ Client: client, Server: server ?? null }]));
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
                .map((c) => ` ${c.Name}:\n  Version:          ${c.Version}\n${c.Details?.GitCommit ? `  GitCommit:        ${c.Details.GitCommit}\n` : ''}`)
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

/** docker's event line: "2024-05-01T10:00:00.123456789Z container start <id> (image=…, name=…)". */
export function formatEvent(e: EventMessage): string {
  const nanos = BigInt(Math.round(e.timeNano ?? e.time * 1e9));
  const secs = Number(nanos / 1_000_000_000n);
  const frac = String(nanos % 1_000_000_000n).padStart(9, '0');
  const when = new Date(secs * 1000).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
  const attrs = Object.entries(e.Actor?.Attributes ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `${when} ${e.Type} ${e.Action} ${e.Actor?.ID ?? ''}${attrs ? ` (${attrs})` : ''}`;
}

export function eventsCommand(s: Session): Command {
  return newCommand('events', 'Get real time events from the server', '[OPTIONS]')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('--format <string>', FORMAT_HELP)
    .option('--since <string>', 'Show all events created since timestamp')
    .option('--until <string>', 'Stream events until this timestamp')
    .action(async (f: { filter?: string[]; format?: string; since?: string; until?: string }) => {
      const res = await s.client.events({ since: timestampArg(f.since), until: timestampArg(f.until), filters: parseFilters(f.filter) });
      // Compiled once for the whole stream, not per event.
      const line = f.format ? formatter(f.format) : (e: EventMessage) => `${formatEvent(e)}\n`;
      for await (const e of jsonLines<EventMessage>(res)) s.out(line(e));
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
      const imgReclaim = df.Images.filter((i) => i.Containers <= 0).reduce((n, i) => n + i.Size - Math.max(0, i.SharedSize), 0);
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
      ];
      const format = f.format ?? 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';
      s.out(render(format, rows, { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' }));
    });
}
