import { Command, CommanderError } from 'commander';
import { ApiError, ConnectError } from '../client/index.js';
import { attachCommand, startCommand } from './attach.js';
import { commandPath, newCommand } from './command.js';
import { execCommand } from './exec.js';
import { templateErrorMessage } from './format.js';
import { historyCommand, imagesCommand, rmiCommand, tagCommand } from './images.js';
import { inspectCommand } from './inspect.js';
import { diffCommand, portCommand, topCommand } from './inspectors.js';
import { killCommand, pauseCommand, renameCommand, restartCommand, rmCommand, stopCommand, unpauseCommand, waitCommand } from './lifecycle.js';
import { logsCommand } from './logs.js';
import { containerPruneCommand, imagePruneCommand, systemPruneCommand } from './prune.js';
import { psCommand } from './ps.js';
import { createCommand, runCommand } from './run.js';
import { Exit, Session, type ClientFactory, type IO } from './session.js';
import { CLI_VERSION, eventsCommand, infoCommand, systemDfCommand, versionCommand } from './system.js';
import { commitCommand, exportCommand, importCommand, loadCommand, saveCommand } from './transfer.js';

/** A flag error from commander, with the command whose flags were wrong. */
class FlagError extends Error {
  constructor(
    readonly command: Command,
    readonly commanderError: CommanderError,
  ) {
    super(commanderError.message);
  }
}

/** A management command (`container`, `image`, `system`) grouping its subcommands. */
function group(s: Session, name: string, description: string, children: Command[]): Command {
  const g = newCommand(name, description, 'COMMAND').argument('[command]').enablePositionalOptions();
  for (const c of children) g.addCommand(c);
  g.action((sub: string | undefined) => {
    if (sub) throw new Exit(1, `${s.prog}: unknown command: ${commandPath(s, g)} ${sub}\n\nRun '${commandPath(s, g)} --help' for more information`);
    s.out(g.helpInformation());
  });
  return g;
}

const alias = (c: Command, ...names: string[]) => c.aliases(names);

/** Builds the `wharf` command tree around one session. */
export function buildProgram(s: Session): Command {
  const program = new Command(s.prog)
    .description('A self-sufficient runtime for containers (Docker-compatible)')
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
    });

  const topLevel = [
    runCommand(s),
    execCommand(s),
    psCommand(s),
    imagesCommand(s),
    versionCommand(s),
    infoCommand(s),
    attachCommand(s),
    commitCommand(s),
    createCommand(s),
    diffCommand(s),
    eventsCommand(s),
    exportCommand(s),
    historyCommand(s),
    importCommand(s),
    inspectCommand(s),
    killCommand(s),
    loadCommand(s),
    logsCommand(s),
    pauseCommand(s),
    portCommand(s),
    renameCommand(s),
    restartCommand(s),
    rmCommand(s),
    rmiCommand(s),
    saveCommand(s),
    startCommand(s),
    stopCommand(s),
    tagCommand(s),
    topCommand(s),
    unpauseCommand(s),
    waitCommand(s),
  ];
  for (const c of topLevel) program.addCommand(c);

  program.addCommand(
    group(s, 'container', 'Manage containers', [
      attachCommand(s),
      commitCommand(s),
      createCommand(s),
      diffCommand(s),
      execCommand(s),
      exportCommand(s),
      inspectCommand(s, 'container'),
      killCommand(s),
      logsCommand(s),
      alias(psCommand(s, 'ls'), 'ps', 'list'),
      pauseCommand(s),
      portCommand(s),
      containerPruneCommand(s),
      renameCommand(s),
      restartCommand(s),
      alias(rmCommand(s), 'remove'),
      runCommand(s),
      startCommand(s),
      stopCommand(s),
      topCommand(s),
      unpauseCommand(s),
      waitCommand(s),
    ]),
  );
  program.addCommand(
    group(s, 'image', 'Manage images', [
      historyCommand(s),
      importCommand(s),
      inspectCommand(s, 'image'),
      loadCommand(s),
      alias(imagesCommand(s, 'ls'), 'list'),
      imagePruneCommand(s),
      alias(rmiCommand(s, 'rm'), 'remove'),
      saveCommand(s),
      tagCommand(s),
    ]),
  );
  program.addCommand(group(s, 'system', 'Manage Docker', [systemDfCommand(s), eventsCommand(s), infoCommand(s), systemPruneCommand(s)]));

  configureTree(s, program);
  return program;
}

/** Every command reports through our streams and throws instead of exiting. */
function configureTree(s: Session, cmd: Command): void {
  cmd.exitOverride((err) => {
    throw new FlagError(cmd, err);
  });
  cmd.configureOutput({
    writeOut: (t) => s.out(t),
    writeErr: (t) => s.err(t),
    // main() prints flag errors in docker's words.
    outputError: () => {},
  });
  for (const c of cmd.commands) configureTree(s, c);
}

/** Docker accepts `--flag=false` for booleans; commander spells that `--no-flag`. */
const NEGATABLE = new Set(['sig-proxy', 'pause', 'human', 'stdin', 'trunc']);
export function normalizeBooleanFlags(argv: string[]): string[] {
  const out: string[] = [];
  let passthrough = false;
  for (const a of argv) {
    const m = /^--([a-z-]+)=(true|false)$/.exec(a);
    if (a === '--') passthrough = true;
    if (!passthrough && m && NEGATABLE.has(m[1])) out.push(m[2] === 'true' ? `--${m[1]}` : `--no-${m[1]}`);
    else out.push(a);
  }
  return out;
}

/** Docker's wording for a flag error, from commander's. */
export function flagErrorMessage(err: CommanderError): string {
  const m = err.message.replace(/^error: /, '');
  let r: RegExpExecArray | null;
  if (err.code === 'commander.unknownOption' && (r = /unknown option '([^']+)'/.exec(m))) {
    const flag = r[1];
    return flag.startsWith('--') ? `unknown flag: ${flag.split('=')[0]}` : `unknown shorthand flag: '${flag[1]}' in ${flag}`;
  }
  if (err.code === 'commander.invalidArgument' && (r = /option '([^']+?)(?: <[^>]*>| \[[^\]]*\])?' argument '(.*)' is invalid\. ?(.*)$/s.exec(m))) {
    return `invalid argument "${r[2]}" for "${r[1]}" flag: ${r[3]}`;
  }
  if (err.code === 'commander.optionMissingArgument' && (r = /option '([^']+?)(?: <[^>]*>)?' argument missing/.exec(m))) {
    const long = r[1].split(/,\s*/).pop()!;
    return `flag needs an argument: ${long.startsWith('--') ? long : `'${long[1]}' in ${long}`}`;
  }
  return m;
}

/** Runs the CLI on `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[], io: IO, makeClient: ClientFactory, opts: { prog?: string; env?: Record<string, string | undefined> } = {}): Promise<number> {
  const s = new Session(io, makeClient, opts);
  const program = buildProgram(s);
  if (!argv.length) {
    s.out(program.helpInformation());
    return 0;
  }
  try {
    await program.parseAsync(normalizeBooleanFlags(argv), { from: 'user' });
    return 0;
  } catch (err) {
    return report(s, err);
  } finally {
    for (const undo of s.cleanups.splice(0)) undo();
  }
}

function report(s: Session, err: unknown): number {
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
    s.err(`${flagErrorMessage(e)}\n\nUsage:  ${path} ${err.command.usage()}\n\nRun '${path} --help' for more information\n`);
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
  const tmpl = templateErrorMessage(err);
  if (tmpl) {
    s.err(`${tmpl}\n`);
    return 1;
  }
  s.err(`${(err as Error)?.message ?? String(err)}\n`);
  return 1;
}
