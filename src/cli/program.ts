import { Command, CommanderError, type Option } from 'commander';
import { ApiError, ConnectError } from '../client/index.js';
import { attachCommand, startCommand } from './attach.js';
import { commandPath, newCommand } from './command.js';
import { cpCommand } from './cp.js';
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
    cpCommand(s),
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
      cpCommand(s),
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

/** Commands whose first positional argument (image or container) starts the container's own argv. */
const PASS_THROUGH = new Set(['run', 'create', 'exec']);

/** Go's strconv.ParseBool spellings, which docker's boolean flags accept after `=`. */
const GO_BOOL: Record<string, boolean> = { 1: true, t: true, T: true, true: true, TRUE: true, True: true, 0: false, f: false, F: false, false: false, FALSE: false, False: false };

const findOption = (cmd: Command, flag: string): Option | undefined => cmd.options.find((o) => o.long === flag || o.short === flag);
const takesValue = (o: Option | undefined): boolean => Boolean(o && (o.required || o.optional));
const subcommand = (cmd: Command, name: string): Command | undefined => cmd.commands.find((c) => c.name() === name || c.aliases().includes(name));

/**
 * docker's `--flag=true|false` for a boolean flag of `cmd`, in commander's spelling: `--X` when
 * true, its opposite (`--no-X` / `--X`) when false, nothing if the opposite is the default.
 * Anything else is returned unchanged, for commander to take or refuse.
 */
function booleanSpelling(cmd: Command, arg: string): string[] {
  const m = /^(--[^=]+)=(.*)$/s.exec(arg);
  const value = m ? GO_BOOL[m[2]] : undefined;
  const option = m && findOption(cmd, m[1]);
  if (!m || value === undefined || !option || takesValue(option)) return [arg];
  if (value) return [m[1]];
  const opposite = m[1].startsWith('--no-') ? `--${m[1].slice(5)}` : `--no-${m[1].slice(2)}`;
  return findOption(cmd, opposite) ? [opposite] : [];
}

/** How many of the following arguments a flag consumes as its value (0 or 1). */
function valueArgs(cmd: Command, arg: string): number {
  if (arg.startsWith('--')) return !arg.includes('=') && takesValue(findOption(cmd, arg)) ? 1 : 0;
  // A cluster such as -it or -e=X / -eX: the first flag taking a value takes the rest, or the next argument.
  for (let i = 1; i < arg.length; i++) {
    if (takesValue(findOption(cmd, `-${arg[i]}`))) return i === arg.length - 1 ? 1 : 0;
  }
  return 0;
}

/**
 * Docker accepts `--flag=false` for booleans; commander knows only `--flag` and `--no-flag`.
 * Walks argv with the command tree so that flag values, and everything from the image or
 * container of run/create/exec on (the container's own arguments), are left untouched.
 */
export function normalizeBooleanFlags(argv: string[], program: Command): string[] {
  const out: string[] = [];
  let cmd = program;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--' || (!a.startsWith('-') && PASS_THROUGH.has(cmd.name()))) return [...out, ...argv.slice(i)];
    if (a.startsWith('-') && a !== '-') {
      out.push(...booleanSpelling(cmd, a));
      const n = valueArgs(cmd, a);
      out.push(...argv.slice(i + 1, i + 1 + n));
      i += n;
      continue;
    }
    cmd = subcommand(cmd, a) ?? cmd;
    out.push(a);
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
    await program.parseAsync(normalizeBooleanFlags(argv, program), { from: 'user' });
    return 0;
  } catch (err) {
    return report(s, err);
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
