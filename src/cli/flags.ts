import type { Command, CommanderError, Option } from 'commander';

/*
 * argv as docker's pflag reads it, for commander: `--flag=false` for booleans, where a command's
 * own flags end, and flag errors in docker's words.
 */

/** A flag error from commander, with the command whose flags were wrong. */
export class FlagError extends Error {
  constructor(
    readonly command: Command,
    readonly commanderError: CommanderError,
  ) {
    super(commanderError.message);
  }
}

/** Index of the first argument that is not a flag of `cmd` or a flag's value; argv.length if none. */
export function firstPositional(cmd: Command, argv: string[]): number {
  let i = 0;
  while (i < argv.length && argv[i].startsWith('-') && argv[i] !== '-' && argv[i] !== '--') i += 1 + valueArgs(cmd, argv[i]);
  return argv[i] === '--' ? argv.length : Math.min(i, argv.length);
}

/** Commands whose first positional argument (image or container) starts the container's own argv. */
const PASS_THROUGH = new Set(['run', 'create', 'exec']);

/** Go's strconv.ParseBool spellings, which docker's boolean flags accept after `=`. */
const GO_BOOL: Record<string, boolean> = { 1: true, t: true, T: true, true: true, TRUE: true, True: true, 0: false, f: false, F: false, false: false, FALSE: false, False: false };

const findOption = (cmd: Command, flag: string): Option | undefined => cmd.options.find((o) => o.long === flag || o.short === flag);
const takesValue = (o: Option | undefined): boolean => Boolean(o && (o.required || o.optional));
const subcommand = (cmd: Command, name: string): Command | undefined => cmd.commands.find((c) => c.name() === name || c.aliases().includes(name));

/**
 * docker's `--flag=true|false` (or `-f=false`) for a boolean flag of `cmd`, in commander's spelling: `--X` when
 * true, its opposite (`--no-X` / `--X`) when false, nothing if the opposite is the default.
 * Anything else is returned unchanged, for commander to take or refuse.
 */
function booleanSpelling(cmd: Command, arg: string): string[] {
  const m = /^(--[^=]+|-[^-=])=(.*)$/s.exec(arg);
  const value = m ? GO_BOOL[m[2]] : undefined;
  const option = m && findOption(cmd, m[1]);
  if (!m || value === undefined || !option || takesValue(option) || !option.long) return [arg];
  if (value) return [m[1]];
  const opposite = option.long.startsWith('--no-') ? `--${option.long.slice(5)}` : `--no-${option.long.slice(2)}`;
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

/**
 * Docker's wording for a flag error, from commander's. A missing value is reported in the
 * spelling the user typed (`'e' in -e` or `--env`): the flag missing its value is the last argument.
 */
export function flagErrorMessage(err: CommanderError, lastArg = ''): string {
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
    const short = /^-[^-]/.test(lastArg) ? lastArg[lastArg.length - 1] : undefined;
    // docker names the shorthand alone, even typed in a cluster (-ie).
    if (short) return `flag needs an argument: '${short}' in -${short}`;
    return `flag needs an argument: ${long.startsWith('--') ? long : `'${long[1]}' in ${long}`}`;
  }
  return m;
}

