import { Command, CommanderError } from 'commander';
import type { InfoResponse, SystemDfResponse, VersionResponse } from '../api/types/index.js';
import { ApiError, ConnectError, Client, readAll } from '../client/index.js';
import { containerCommands, printJsonOrFormat } from './containers.js';
import { humanSize, render } from './format.js';
import { imageCommands } from './images.js';
import { Exit, clientOf, type Env } from './session.js';

export const CLI_VERSION = '0.1.0';

/** Commands whose flag errors exit 125 in docker's CLI (the rest exit 1). */
const CREATE_COMMANDS = new Set(['run', 'create']);

function systemCommands(program: Command, env: Env, commands: Command[]): void {
  const c = clientOf(env);
  commands.push(
    program
      .command('inspect')
      .description('Return low-level information on Docker objects')
      .argument('<names...>')
      .option('-f, --format <string>', 'Format output using a custom template')
      .option('-s, --size', 'Display total file sizes if the type is container')
      .option('--type <string>', 'Return JSON for specified type')
      .action(async (names: string[], o) => {
        const out: unknown[] = [];
        let failed = false;
        for (const n of names) {
          const tries = o.type === 'image' ? ['image'] : o.type === 'container' ? ['container'] : ['container', 'image'];
          let found: unknown;
          for (const t of tries) {
            try {
              found = await c.json(t === 'container' ? 'GET' : 'GET', t === 'container' ? `/containers/${encodeURIComponent(n)}/json` : `/images/${n}/json`, {
                query: t === 'container' ? { size: Boolean(o.size) } : {},
              });
              break;
            } catch (err) {
              if (!(err instanceof ApiError && err.statusCode === 404)) throw err;
            }
          }
          if (found === undefined) {
            failed = true;
            env.stderr.write(`Error: No such ${o.type === 'image' ? 'image' : o.type === 'container' ? 'container' : 'object'}: ${n}\n`);
          } else out.push(found);
        }
        if (o.format) env.stdout.write(render(o.format, out as object[], {}));
        else printJsonOrFormat(env, out);
        if (failed) throw new Exit(1);
      }),
  );
  commands.push(
    program
      .command('version')
      .description('Show the Docker version information')
      .option('-f, --format <string>', 'Format output using a custom template')
      .action(async (o) => {
        const v = await c.json<VersionResponse>('GET', '/version');
        const data = { Client: { Version: CLI_VERSION, ApiVersion: '1.47', Os: process.platform, Arch: process.arch }, Server: v };
        if (o.format) return void env.stdout.write(render(o.format, [data], {}));
        env.stdout.write(
          `Client:\n Version:           ${CLI_VERSION}\n API version:       1.47\n Node.js version:   ${process.version}\n OS/Arch:           linux/${process.arch === 'x64' ? 'amd64' : process.arch}\n\n` +
            `Server:\n Engine:\n  Version:          ${v.Version}\n  API version:      ${v.ApiVersion} (minimum version ${v.MinAPIVersion})\n  OS/Arch:          ${v.Os}/${v.Arch}\n` +
            (v.Components ?? []).filter((x) => x.Name !== 'Engine').map((x) => ` ${x.Name}:\n  Version:          ${x.Version}\n`).join(''),
        );
      }),
  );
  commands.push(
    program
      .command('info')
      .description('Display system-wide information')
      .option('-f, --format <string>', 'Format output using a custom template')
      .action(async (o) => {
        const i = await c.json<InfoResponse>('GET', '/info');
        if (o.format) return void env.stdout.write(render(o.format, [i], {}));
        env.stdout.write(
          `Server:\n Containers: ${i.Containers}\n  Running: ${i.ContainersRunning}\n  Paused: ${i.ContainersPaused}\n  Stopped: ${i.ContainersStopped}\n Images: ${i.Images}\n` +
            ` Server Version: ${i.ServerVersion}\n Storage Driver: ${i.Driver}\n Logging Driver: ${i.LoggingDriver}\n Cgroup Driver: ${i.CgroupDriver}\n Cgroup Version: ${i.CgroupVersion}\n` +
            ` Default Runtime: ${i.DefaultRuntime}\n Kernel Version: ${i.KernelVersion}\n Operating System: ${i.OperatingSystem}\n CPUs: ${i.NCPU}\n Total Memory: ${humanSize(i.MemTotal)}\n Name: ${i.Name}\n ID: ${i.ID}\n Docker Root Dir: ${i.DockerRootDir}\n`,
        );
      }),
  );
  commands.push(
    program
      .command('events')
      .description('Get real time events from the server')
      .option('--since <string>', 'Show all events created since timestamp')
      .option('--until <string>', 'Stream events until this timestamp')
      .option('-f, --filter <filter>', 'Filter output based on conditions provided', (v: string, p: string[] = []) => [...p, v])
      .option('--format <string>', 'Format the output using the given Go template')
      .action(async (o) => {
        const f: Record<string, string[]> = {};
        for (const kv of o.filter ?? []) {
          const i = kv.indexOf('=');
          (f[kv.slice(0, i)] ??= []).push(kv.slice(i + 1));
        }
        const res = await c.stream('GET', '/events', { query: { since: o.since, until: o.until, filters: Object.keys(f).length ? JSON.stringify(f) : undefined } });
        let rest = '';
        for await (const chunk of res) {
          rest += (chunk as Buffer).toString();
          let nl;
          while ((nl = rest.indexOf('\n')) >= 0) {
            const line = rest.slice(0, nl);
            rest = rest.slice(nl + 1);
            if (!line.trim()) continue;
            const e = JSON.parse(line) as { Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> }; timeNano: number };
            if (o.format) {
              env.stdout.write(render(o.format, [e], {}));
              continue;
            }
            const when = new Date(e.timeNano / 1e6).toISOString().replace('Z', '000000+00:00');
            const attrs = Object.entries(e.Actor.Attributes ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(', ');
            env.stdout.write(`${when} ${e.Type} ${e.Action} ${e.Actor.ID}${attrs ? ` (${attrs})` : ''}\n`);
          }
        }
      }),
  );
}

/** Builds the whole `wharf` program around one environment. */
export function buildProgram(env: Env, setClient: (o: { host?: string; tls?: boolean; tlsverify?: boolean; tlscacert?: string; tlscert?: string; tlskey?: string }) => void): { program: Command; commands: Command[] } {
  const commands: Command[] = [];
  const program = new Command(env.prog)
    .description('A self-sufficient runtime for containers (Docker-compatible)')
    .option('-H, --host <list>', 'Daemon socket to connect to')
    .option('--tls', 'Use TLS; implied by --tlsverify')
    .option('--tlsverify', 'Use TLS and verify the remote')
    .option('--tlscacert <string>', 'Trust certs signed only by this CA')
    .option('--tlscert <string>', 'Path to TLS certificate file')
    .option('--tlskey <string>', 'Path to TLS key file')
    .option('-D, --debug', 'Enable debug mode')
    .version(`wharf version ${CLI_VERSION}`, '-v, --version', 'Print version information and quit')
    .enablePositionalOptions()
    .hook('preAction', (cmd) => setClient(cmd.optsWithGlobals()));
  const container = program.command('container').description('Manage containers');
  const image = program.command('image').description('Manage images');
  const system = program.command('system').description('Manage Docker');
  containerCommands(program, env, commands);
  imageCommands(program, image, env, commands);
  systemCommands(program, env, commands);
  // `container <cmd>` forms of the container commands.
  for (const name of ['run', 'create', 'start', 'stop', 'restart', 'kill', 'pause', 'unpause', 'rm', 'wait', 'rename', 'logs', 'exec', 'attach', 'top', 'port', 'diff', 'commit', 'export']) {
    container.command(name, { hidden: false }).helpOption(false).allowUnknownOption().allowExcessArguments().argument('[args...]').action(() => {});
  }
  container.command('ls').alias('ps').alias('list').allowUnknownOption().allowExcessArguments().argument('[args...]').action(() => {});
  container.command('inspect').allowUnknownOption().allowExcessArguments().argument('[args...]').action(() => {});
  container.command('prune').allowUnknownOption().allowExcessArguments().argument('[args...]').action(() => {});
  system
    .command('df')
    .description('Show docker disk usage')
    .action(async () => {
      const df = await clientOf(env).json<SystemDfResponse>('GET', '/system/df');
      const active = df.Containers.filter((c) => c.State === 'running').length;
      const rows = [
        { Type: 'Images', TotalCount: String(df.Images.length), Active: String(df.Images.filter((i) => i.Containers > 0).length), Size: humanSize(df.LayersSize), Reclaimable: humanSize(df.Images.filter((i) => i.Containers <= 0).reduce((n, i) => n + i.Size, 0)) },
        { Type: 'Containers', TotalCount: String(df.Containers.length), Active: String(active), Size: humanSize(df.Containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0)), Reclaimable: humanSize(df.Containers.filter((c) => c.State !== 'running').reduce((n, c) => n + (c.SizeRw ?? 0), 0)) },
        { Type: 'Local Volumes', TotalCount: '0', Active: '0', Size: '0B', Reclaimable: '0B' },
        { Type: 'Build Cache', TotalCount: '0', Active: '0', Size: '0B', Reclaimable: '0B' },
      ];
      env.stdout.write(render('table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}', rows, { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' }));
    });
  return { program, commands };
}

/** Rewrites `container ls ...` into `ps ...` and the like, so each command is defined once. */
export function normalizeArgv(args: string[]): string[] {
  const i = args.findIndex((a) => !a.startsWith('-'));
  if (i < 0) return args;
  // A global flag's value (-H x) is not the command.
  let idx = i;
  while (idx > 0 && ['-H', '--host', '--tlscacert', '--tlscert', '--tlskey'].includes(args[idx - 1])) {
    const j = args.slice(idx + 1).findIndex((a) => !a.startsWith('-'));
    if (j < 0) return args;
    idx = idx + 1 + j;
  }
  const [group, sub] = [args[idx], args[idx + 1]];
  const map: Record<string, Record<string, string>> = {
    container: { ls: 'ps', list: 'ps', ps: 'ps', prune: 'container-prune', inspect: 'inspect' },
    image: { inspect: 'inspect', remove: 'rmi' },
  };
  if (group === 'container' && sub && sub !== 'prune' && sub !== '--help') {
    const to = map.container[sub] ?? sub;
    const rest = args.slice(idx + 2);
    return [...args.slice(0, idx), to, ...(sub === 'inspect' ? ['--type', 'container'] : []), ...rest];
  }
  if (group === 'container' && sub === 'prune') return [...args.slice(0, idx), 'container-prune', ...args.slice(idx + 2)];
  if (group === 'image' && sub === 'inspect') return [...args.slice(0, idx), 'inspect', '--type', 'image', ...args.slice(idx + 2)];
  return args;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[], base: Omit<Env, 'client'>, makeClient: (o: Parameters<typeof Client.fromEnv>[0]) => Client): Promise<number> {
  const env = { ...base, client: undefined as unknown as Client } as Env;
  const { program, commands } = buildProgram(env, (o) => {
    env.client = makeClient(o);
  });
  const args = normalizeArgv(argv);
  const cmdName = args.find((a) => !a.startsWith('-')) ?? '';
  for (const cmd of [program, ...commands, ...program.commands]) {
    cmd.exitOverride();
    cmd.configureOutput({ writeOut: (s) => env.stdout.write(s), writeErr: (s) => env.stderr.write(s) });
  }
  try {
    await program.parseAsync(args, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof Exit) {
      if (err.message) env.stderr.write(`${err.message}\n`);
      return err.code;
    }
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return CREATE_COMMANDS.has(cmdName) ? 125 : 1;
    }
    if (err instanceof ApiError) {
      env.stderr.write(`Error response from daemon: ${err.message}\n`);
      return CREATE_COMMANDS.has(cmdName) ? 125 : 1;
    }
    if (err instanceof ConnectError) {
      env.stderr.write(`${err.message}\n`);
      return 1;
    }
    env.stderr.write(`${env.prog}: ${(err as Error).message}\n`);
    return 1;
  }
}

export { readAll };
