import { Command } from 'commander';
import { ApiError, ConnectError } from '../client/index.js';
import { CLI_VERSION, commandPath, newCommand, requireArgs } from './command.js';
import { CommandFailure, Exit } from './errors.js';
import { firstPositional, FlagError, flagErrorMessage, normalizeBooleanFlags } from './flags.js';
import { formatHelp } from './help.js';
import { Session, type ClientFactory, type IO } from './session.js';

/**
 * A command of the tree, built on demand. A call builds only the command it invokes (with its
 * module and what that imports), which is most of a short command's start-up time; help and
 * unknown names build them all.
 */
interface Lazy {
  aliases?: string[];
  build(s: Session, argv: string[]): Promise<Command>;
}

const lazy = (load: (s: Session) => Promise<Command>, ...aliases: string[]): Lazy => ({
  aliases,
  build: async (s) => {
    const c = await load(s);
    return aliases.length ? c.aliases(aliases) : c;
  },
});

/**
 * Adds to `parent` the command of `table` that `argv[at]` names, or every command if it names
 * none of them or help for `parent` is asked first (so that help lists them all and commander
 * reports an unknown one).
 */
async function addSelected(s: Session, parent: Command, table: Record<string, Lazy>, argv: string[], at: number): Promise<void> {
  const name = argv[at];
  const flags = argv.slice(0, at);
  // `wharf --version` needs no command at all.
  if (name === undefined && flags.some((a) => a === '--version' || a === '-v')) return;
  const help = flags.some((a) => a === '--help' || a === '-h');
  const picked = help ? undefined : Object.entries(table).find(([n, l]) => n === name || l.aliases?.includes(name!));
  for (const [, l] of picked ? [picked] : Object.entries(table)) parent.addCommand(await l.build(s, argv.slice(at + 1)));
}

/** A management command (`container`, `image`, `system`) grouping its subcommands. */
function group(name: string, description: string, children: Record<string, Lazy>): Lazy {
  return {
    build: async (s, argv) => {
      const g = newCommand(name, description, 'COMMAND').argument('[command]').enablePositionalOptions();
      await addSelected(s, g, children, argv, firstPositional(g, argv));
      g.action((sub: string | undefined) => {
        const path = commandPath(s, g);
        if (sub) throw new Exit(1, `${s.prog}: unknown command: ${path} ${sub}\n\nUsage:  ${path}\n\nRun '${path} --help' for more information`);
        // Without a subcommand, docker shows the group's help as a usage hint: on stderr.
        s.err(g.helpInformation());
      });
      return g;
    },
  };
}

// Each command's module, imported only when that command is built.
const attach = lazy(async (s) => (await import('./commands/container/attach.js')).attachCommand(s));
const commit = lazy(async (s) => (await import('./commands/container/commit.js')).commitCommand(s));
const cp = lazy(async (s) => (await import('./commands/container/cp.js')).cpCommand(s));
const create = lazy(async (s) => (await import('./commands/container/create.js')).createCommand(s));
const diff = lazy(async (s) => (await import('./commands/container/diff.js')).diffCommand(s));
const exec = lazy(async (s) => (await import('./commands/container/exec.js')).execCommand(s));
const exportCmd = lazy(async (s) => (await import('./commands/container/export.js')).exportCommand(s));
const kill = lazy(async (s) => (await import('./commands/container/kill.js')).killCommand(s));
const logs = lazy(async (s) => (await import('./commands/container/logs.js')).logsCommand(s));
const pause = lazy(async (s) => (await import('./commands/container/pause.js')).pauseCommand(s));
const port = lazy(async (s) => (await import('./commands/container/port.js')).portCommand(s));
const rename = lazy(async (s) => (await import('./commands/container/rename.js')).renameCommand(s));
const restart = lazy(async (s) => (await import('./commands/container/restart.js')).restartCommand(s));
const run = lazy(async (s) => (await import('./commands/container/run.js')).runCommand(s));
const start = lazy(async (s) => (await import('./commands/container/start.js')).startCommand(s));
const stop = lazy(async (s) => (await import('./commands/container/stop.js')).stopCommand(s));
const top = lazy(async (s) => (await import('./commands/container/top.js')).topCommand(s));
const stats = lazy(async (s) => (await import('./commands/container/stats.js')).statsCommand(s));
const update = lazy(async (s) => (await import('./commands/container/update.js')).updateCommand(s));
const unpause = lazy(async (s) => (await import('./commands/container/unpause.js')).unpauseCommand(s));
const wait = lazy(async (s) => (await import('./commands/container/wait.js')).waitCommand(s));
const build = lazy(async (s) => (await import('./commands/image/build.js')).buildCommand(s));
const history = lazy(async (s) => (await import('./commands/image/history.js')).historyCommand(s));
const importCmd = lazy(async (s) => (await import('./commands/image/import.js')).importCommand(s));
const pull = lazy(async (s) => (await import('./commands/image/pull.js')).pullCommand(s));
const push = lazy(async (s) => (await import('./commands/image/push.js')).pushCommand(s));
const load = lazy(async (s) => (await import('./commands/image/load.js')).loadCommand(s));
const save = lazy(async (s) => (await import('./commands/image/save.js')).saveCommand(s));
const tag = lazy(async (s) => (await import('./commands/image/tag.js')).tagCommand(s));
const events = lazy(async (s) => (await import('./commands/system/events.js')).eventsCommand(s));
const info = lazy(async (s) => (await import('./commands/system/info.js')).infoCommand(s));

const CONTAINER: Record<string, Lazy> = {
  attach,
  commit,
  cp,
  create,
  diff,
  exec,
  export: exportCmd,
  inspect: lazy(async (s) => (await import('./commands/system/inspect.js')).inspectCommand(s, 'container')),
  kill,
  logs,
  ls: lazy(async (s) => (await import('./commands/container/ls.js')).psCommand(s, 'ls'), 'list', 'ps'),
  pause,
  port,
  prune: lazy(async (s) => (await import('./commands/container/prune.js')).containerPruneCommand(s)),
  rename,
  restart,
  rm: lazy(async (s) => (await import('./commands/container/rm.js')).rmCommand(s), 'remove'),
  run,
  start,
  stats,
  stop,
  top,
  unpause,
  update,
  wait,
};
const IMAGE: Record<string, Lazy> = {
  build,
  history,
  import: importCmd,
  inspect: lazy(async (s) => (await import('./commands/system/inspect.js')).inspectCommand(s, 'image')),
  load,
  ls: lazy(async (s) => (await import('./commands/image/ls.js')).imagesCommand(s, 'ls'), 'list'),
  prune: lazy(async (s) => (await import('./commands/image/prune.js')).imagePruneCommand(s)),
  pull,
  push,
  rm: lazy(async (s) => (await import('./commands/image/rm.js')).rmiCommand(s, 'rm'), 'remove'),
  save,
  tag,
};
const NETWORK: Record<string, Lazy> = {
  connect: lazy(async (s) => (await import('./commands/network/connect.js')).networkConnectCommand(s)),
  create: lazy(async (s) => (await import('./commands/network/create.js')).networkCreateCommand(s)),
  disconnect: lazy(async (s) => (await import('./commands/network/connect.js')).networkDisconnectCommand(s)),
  inspect: lazy(async (s) => (await import('./commands/system/inspect.js')).inspectCommand(s, 'network')),
  ls: lazy(async (s) => (await import('./commands/network/ls.js')).networkLsCommand(s), 'list'),
  prune: lazy(async (s) => (await import('./commands/network/prune.js')).networkPruneCommand(s)),
  rm: lazy(async (s) => (await import('./commands/network/rm.js')).networkRmCommand(s), 'remove'),
};
const VOLUME: Record<string, Lazy> = {
  create: lazy(async (s) => (await import('./commands/volume/create.js')).volumeCreateCommand(s)),
  export: lazy(async (s) => (await import('./commands/volume/export.js')).volumeExportCommand(s)),
  import: lazy(async (s) => (await import('./commands/volume/export.js')).volumeImportCommand(s)),
  inspect: lazy(async (s) => (await import('./commands/system/inspect.js')).inspectCommand(s, 'volume')),
  ls: lazy(async (s) => (await import('./commands/volume/ls.js')).volumeLsCommand(s), 'list'),
  prune: lazy(async (s) => (await import('./commands/volume/prune.js')).volumePruneCommand(s)),
  rm: lazy(async (s) => (await import('./commands/volume/rm.js')).volumeRmCommand(s), 'remove'),
};
const BUILDER: Record<string, Lazy> = {
  build,
  prune: lazy(async (s) => (await import('./commands/builder/prune.js')).builderPruneCommand(s)),
};
const SYSTEM: Record<string, Lazy> = {
  df: lazy(async (s) => (await import('./commands/system/df.js')).systemDfCommand(s)),
  events,
  info,
  prune: lazy(async (s) => (await import('./commands/system/prune.js')).systemPruneCommand(s)),
};

/** The top level, in the order of docker's help: common commands first. */
const TOP: Record<string, Lazy> = {
  run,
  exec,
  ps: lazy(async (s) => (await import('./commands/container/ls.js')).psCommand(s)),
  build,
  pull,
  push,
  images: lazy(async (s) => (await import('./commands/image/ls.js')).imagesCommand(s)),
  login: lazy(async (s) => (await import('./commands/registry/login.js')).loginCommand(s)),
  logout: lazy(async (s) => (await import('./commands/registry/logout.js')).logoutCommand(s)),
  version: lazy(async (s) => (await import('./commands/system/version.js')).versionCommand(s)),
  info,
  attach,
  commit,
  cp,
  create,
  diff,
  events,
  export: exportCmd,
  history,
  import: importCmd,
  inspect: lazy(async (s) => (await import('./commands/system/inspect.js')).inspectCommand(s)),
  kill,
  load,
  logs,
  pause,
  port,
  rename,
  restart,
  rm: lazy(async (s) => (await import('./commands/container/rm.js')).rmCommand(s)),
  rmi: lazy(async (s) => (await import('./commands/image/rm.js')).rmiCommand(s)),
  save,
  start,
  stats,
  stop,
  tag,
  top,
  unpause,
  update,
  wait,
  builder: group('builder', 'Manage builds', BUILDER),
  container: group('container', 'Manage containers', CONTAINER),
  image: group('image', 'Manage images', IMAGE),
  network: group('network', 'Manage networks', NETWORK),
  system: group('system', 'Manage Docker', SYSTEM),
  volume: group('volume', 'Manage volumes', VOLUME),
};

const GROUPS: [string, Record<string, Lazy>][] = [
  ['builder', BUILDER],
  ['container', CONTAINER],
  ['image', IMAGE],
  ['network', NETWORK],
  ['system', SYSTEM],
  ['volume', VOLUME],
];
/** Group commands whose top-level twin has another name. */
const TWINS: Record<string, string> = { 'container ls': 'ps', 'image ls': 'images', 'image rm': 'rmi' };

/**
 * docker's "Aliases:" line for each command that is both in a group and at the top level
 * (`wharf container stop, wharf stop`), keyed by `group name` and by the top-level name.
 */
function aliasLines(prog: string): Map<string, string> {
  const lines = new Map<string, string>();
  for (const [group, table] of GROUPS) {
    for (const [name, l] of Object.entries(table)) {
      const key = `${group} ${name}`;
      // `inspect` at the top level is generic, not container inspect under another name; the
      // network commands have no top-level twins (`create` and `rm` there are container commands).
      const top = TWINS[key] ?? (name in TOP && name !== 'inspect' && group !== 'network' && group !== 'volume' ? name : undefined);
      if (!top && !l.aliases?.length) continue;
      const line = [name, ...(l.aliases ?? [])].map((n) => `${prog} ${group} ${n}`).concat(top ? [`${prog} ${top}`] : []).join(', ');
      lines.set(key, line);
      if (top) lines.set(top, line);
    }
  }
  return lines;
}

/**
 * Builds the `wharf` command tree around one session: with `argv`, only the path it invokes;
 * without, every command.
 */
export async function buildProgram(s: Session, argv: string[] = []): Promise<Command> {
  const program = new Command(s.prog)
    .description('A self-sufficient runtime for containers')
    .usage('[OPTIONS] COMMAND')
    .option('--config <string>', 'Location of client config files')
    .option('-c, --context <string>', 'Name of the context to use to connect to the daemon')
    .option('-D, --debug', 'Enable debug mode')
    .option('-H, --host <string>', 'Daemon socket to connect to')
    .option('-l, --log-level <string>', 'Set the logging level ("debug", "info", "warn", "error", "fatal")', 'info')
    .option('--tls', 'Use TLS; implied by --tlsverify')
    .option('--tlscacert <string>', 'Trust certs signed only by this CA')
    .option('--tlscert <string>', 'Path to TLS certificate file')
    .option('--tlskey <string>', 'Path to TLS key file')
    .option('--tlsverify', 'Use TLS and verify the remote')
    .version(`${s.prog} version ${CLI_VERSION}`, '-v, --version', 'Print version information and quit')
    .enablePositionalOptions()
    .hook('preAction', (_root, action) => {
      const o = action.optsWithGlobals();
      s.setConnectOptions({ host: o.host, tls: o.tls, tlsverify: o.tlsverify, tlscacert: o.tlscacert, tlscert: o.tlscert, tlskey: o.tlskey });
      s.setConfigFlag(o.config);
    });
  await addSelected(s, program, TOP, argv, firstPositional(program, argv));
  configureTree(s, program, aliasLines(s.prog));
  return program;
}

/** Every command reports through our streams and throws instead of exiting. */
function configureTree(s: Session, cmd: Command, aliases: Map<string, string>): void {
  cmd.exitOverride((err) => {
    throw new FlagError(cmd, err);
  });
  cmd.configureOutput({
    writeOut: (t) => s.out(t),
    writeErr: (t) => s.err(t),
    // main() prints flag errors in docker's words.
    outputError: () => {},
  });
  // A command that takes no arguments refuses them, as docker's NoArgs does.
  if (!cmd.registeredArguments.length && !cmd.commands.length && cmd.parent) {
    cmd.hook('preAction', (_c, action) => {
      if (action === cmd) requireArgs(s, cmd, cmd.args, 0, 0);
    });
  }
  const key = cmd.parent?.parent ? `${cmd.parent.name()} ${cmd.name()}` : cmd.name();
  cmd.configureHelp({ formatHelp: (c) => formatHelp(c, commandPath(s, c), { aliases: cmd.parent ? aliases.get(key) : undefined }) });
  for (const c of cmd.commands) configureTree(s, c, aliases);
}

/** Runs the CLI on `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[], io: IO, makeClient: ClientFactory, opts: { prog?: string; env?: Record<string, string | undefined> } = {}): Promise<number> {
  const s = new Session(io, makeClient, opts);
  const program = await buildProgram(s, argv);
  if (!argv.length) {
    // As docker does: help as a usage hint, on stderr.
    s.err(program.helpInformation());
    return 0;
  }
  let invoked: Command | undefined;
  program.hook('preAction', (_root, action) => {
    invoked = action;
  });
  try {
    await program.parseAsync(normalizeBooleanFlags(argv, program), { from: 'user' });
    return 0;
  } catch (err) {
    return await report(s, err, invoked, argv[argv.length - 1]);
  }
}

/** Prints a command's failure as docker's CLI does and gives its exit code. */
async function report(s: Session, err: unknown, invoked: Command | undefined, lastArg?: string): Promise<number> {
  if (err instanceof CommandFailure && invoked) {
    s.err(`${s.prog}: ${err.message}\n\nRun '${commandPath(s, invoked)} --help' for more information\n`);
    return err.code;
  }
  if (err instanceof Exit) {
    if (err.message) s.err(`${err.message}\n`);
    return err.code;
  }
  if (err instanceof FlagError) {
    const e = err.commanderError;
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    const path = commandPath(s, err.command);
    if (e.code === 'commander.unknownCommand') {
      const name = /unknown command '([^']+)'/.exec(e.message)?.[1] ?? '';
      s.err(`${s.prog}: unknown command: ${path} ${name}\n\nRun '${path} --help' for more information\n`);
      return 1;
    }
    s.err(`${flagErrorMessage(e, lastArg)}\n\nUsage:  ${path} ${err.command.usage()}\n\nRun '${path} --help' for more information\n`);
    // docker exits 125 for every flag error.
    return 125;
  }
  if (err instanceof ApiError) {
    s.err(`Error response from daemon: ${err.message}\n`);
    return 1;
  }
  if (err instanceof ConnectError) {
    s.err(`${err.message}\n`);
    return 1;
  }
  // Only a command that formats has loaded the template engine, so only then can this be its error.
  const tmpl = (await import('./format/index.js')).templateErrorMessage(err);
  if (tmpl) {
    s.err(`${tmpl}\n`);
    return 1;
  }
  s.err(`${(err as Error)?.message ?? String(err)}\n`);
  return 1;
}
