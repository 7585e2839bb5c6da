import { Command } from 'commander';
import { ApiError } from '../client/index.js';
import { Exit, type Session } from './session.js';

export const CLI_VERSION = '0.1.0';

/**
 * A command with docker's conventions: `--help` only (`-h` is --hostname on run), a docker-like
 * usage line, and a fixed argument count checked the way docker's CLI words it.
 */
export function newCommand(name: string, description: string, usage: string): Command {
  return new Command(name).description(description).usage(usage).helpOption('--help', 'Print usage').allowExcessArguments(true);
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

/**
 * Runs `fn` on each name; the rest still run after a failure, and the failures are printed
 * together at the end (docker: "Error response from daemon: …"), then `summary` of the failed
 * names if given, with exit code 1.
 */
export async function forEachName(s: Session, names: string[], fn: (name: string) => Promise<void>, summary?: (failed: string[]) => string): Promise<void> {
  const errors: string[] = [];
  const failed: string[] = [];
  for (const n of names) {
    try {
      await fn(n);
    } catch (err) {
      errors.push(errorText(err));
      failed.push(n);
    }
  }
  // docker reports the failures together, after the successes (start adds a summary line).
  if (errors.length) throw new Exit(1, [...errors, ...(summary ? [summary(failed)] : [])].join('\n'));
}

/** How docker's CLI shows an error: daemon errors with their prefix, others as they are. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return `Error response from daemon: ${err.message}`;
  return (err as Error).message;
}

/** Whether a daemon error is a 404 (no such container/image). */
export const isNotFound = (err: unknown): boolean => err instanceof ApiError && err.statusCode === 404;
