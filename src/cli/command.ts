import { Command } from 'commander';
import { Exit } from './errors.js';
import type { Session } from './session.js';

/*
 * The commander side of a command. Each commands/<group>/<cmd>.ts holds three things:
 *  - `XxxOptions`, the command's typed options;
 *  - one plain function, `(client, args, opts, io)` (`(client, opts, io)` for a command without
 *    arguments), that asks only for the client methods it calls, writes only to `io`, and
 *    resolves with the exit code; it throws Exit for a failure that ends it early, and lets
 *    the client's errors through for main() to print as docker does;
 *  - `xxxCommand(session)`, the commander declaration (flags, help), whose action checks the
 *    argument count, reads the flags the user gave (givenFlags) and calls the function.
 * So a command's logic is tested with a fake client and in-memory streams, without a process.
 */

export const CLI_VERSION = '0.1.0';

/**
 * A command with docker's conventions: `--help` only (`-h` is --hostname on run), a docker-like
 * usage line, and a fixed argument count checked the way docker's CLI words it.
 */
export function newCommand(name: string, description: string, usage: string): Command {
  return new Command(name).description(description).usage(usage).helpOption('--help', 'Print usage').allowExcessArguments(true);
}

/**
 * The flags the user gave, by commander's camelCase names. A default that was not given is
 * left out (pflag's Changed(), as nerdctl asks it), so the daemon's own default applies and a
 * default shown in the help is never sent as if the user had typed it.
 */
export function givenFlags<T extends object>(cmd: Command): T {
  const given: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cmd.opts())) {
    const source = cmd.getOptionValueSource(k);
    if (source !== undefined && source !== 'default') given[k] = v;
  }
  return given as T;
}

/** Leaves with the exit code a command function resolved with, when it is not 0. */
export function exitWith(code: number | void): void {
  if (code) throw new Exit(code);
}

/**
 * docker's argument count checks (cli/required.go), with their words: an exact count, a range,
 * a minimum or a maximum; exits 1 as docker does. docker says "See" after a minimum and "Run"
 * after the others (its "SRun" typo after a maximum is not copied).
 */
export function requireArgs(s: Session, cmd: Command, args: unknown[], min: number, max = Infinity): void {
  if (args.length >= min && args.length <= max) return;
  const n = (k: number) => `${k} argument${k === 1 ? '' : 's'}`;
  let what: string;
  if (min === max) what = max === 0 ? 'accepts no arguments' : `requires ${n(min)}`;
  else if (max === Infinity) what = `requires at least ${n(min)}`;
  else if (min === 0) what = `requires at most ${n(max)}`;
  else what = `requires at least ${min} and at most ${n(max)}`;
  const verb = max === Infinity ? 'See' : 'Run';
  const path = commandPath(s, cmd);
  throw new Exit(1, `${s.prog}: '${path}' ${what}\n\nUsage:  ${path} ${cmd.usage()}\n\n${verb} '${path} --help' for more information`);
}

export function commandPath(s: Session, cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.parent ? c.name() : s.prog);
  return names.join(' ');
}
