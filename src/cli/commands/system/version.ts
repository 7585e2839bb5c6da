import type { Command } from 'commander';
import { ApiError, ConnectError, type Client } from '../../../client/index.js';
import { API_VERSION, type VersionResponse } from '../../../types/index.js';
import { CLI_VERSION, givenFlags, newCommand } from '../../command.js';
import { Exit } from '../../errors.js';
import { render } from '../../format/index.js';
import { FORMAT_HELP } from '../../opts.js';
import type { IO, Session } from '../../session.js';

export interface VersionOptions {
  format?: string;
}

const goArch = (a: string) => ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' })[a] ?? a;

/**
 * Templates name the API version by its Go field, APIVersion, while JSON calls it ApiVersion:
 * the Go name is added for templates only (not enumerable, so `json .` is unchanged).
 */
function withGoNames<T extends { ApiVersion?: string }>(v: T): T {
  return Object.defineProperty({ ...v }, 'APIVersion', { value: v.ApiVersion, enumerable: false });
}

const sortKeys = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as T;

/** The server's version as docker's struct marshals it: component details sorted, BuildTime only when set. */
function goVersion(v: VersionResponse): object {
  const { BuildTime, ...rest } = v;
  const Components = v.Components.map((c) => ({ ...c, Details: c.Details && sortKeys(c.Details) }));
  return withGoNames({ ...rest, Components, ...(BuildTime ? { BuildTime } : {}) });
}

/** A component's details, every key in order and empty ones too, as docker's version template prints them. */
function detailLines(details?: Record<string, string>): string {
  return Object.entries(sortKeys(details ?? {}))
    .map(([k, v]) => `  ${`${k}:`.padEnd(18)}${v}\n`)
    .join('');
}

/**
 * `version`: the client's version, then the server's. A daemon that cannot be reached still
 * gets the client's part printed, then the failure (exit 1).
 */
export async function version(client: Pick<Client, 'versionInfo'>, opts: VersionOptions, io: IO): Promise<number> {
  const ours = { Version: CLI_VERSION, ApiVersion: API_VERSION, DefaultAPIVersion: API_VERSION, GoVersion: process.version, Os: process.platform, Arch: goArch(process.arch), Context: 'default' };
  let server: VersionResponse | undefined;
  let failure: unknown;
  try {
    server = await client.versionInfo();
  } catch (err) {
    failure = err;
  }
  if (opts.format) {
    io.stdout.write(render(opts.format, [{ Client: withGoNames(ours), Server: server ? goVersion(server) : null }]));
  } else {
    io.stdout.write(
      `Client:\n Version:           ${ours.Version}\n API version:       ${ours.ApiVersion}\n Node.js version:   ${ours.GoVersion}\n OS/Arch:           ${ours.Os}/${ours.Arch}\n Context:           ${ours.Context}\n`,
    );
    if (server) {
      io.stdout.write(
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
  return 0;
}

export function versionCommand(s: Session): Command {
  const cmd = newCommand('version', 'Show the Docker version information', '[OPTIONS]');
  return cmd.option('-f, --format <string>', FORMAT_HELP).action(async () => {
    await version(s.client, givenFlags<VersionOptions>(cmd), s.io);
  });
}
