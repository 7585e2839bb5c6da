import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { CLI_VERSION, givenFlags, newCommand } from '../../command.js';
import { bytesSize, render } from '../../format/index.js';
import { FORMAT_HELP } from '../../opts.js';
import type { IO, Session } from '../../session.js';

export interface InfoOptions {
  format?: string;
}

/** `info`: the client's and the daemon's summary as docker prints it, then the daemon's warnings on stderr. */
export async function info(client: Pick<Client, 'info'>, opts: InfoOptions, io: IO): Promise<number> {
  const i = await client.info();
  if (opts.format) {
    io.stdout.write(render(opts.format, [i]));
    return 0;
  }
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
  io.stdout.write(lines.join('\n') + '\n');
  for (const w of i.Warnings ?? []) io.stderr.write(`${w}\n`);
  return 0;
}

export function infoCommand(s: Session): Command {
  const cmd = newCommand('info', 'Display system-wide information', '[OPTIONS]');
  return cmd.option('-f, --format <string>', FORMAT_HELP).action(async () => {
    await info(s.client, givenFlags<InfoOptions>(cmd), s.io);
  });
}
