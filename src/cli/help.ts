import type { Command, Option } from 'commander';

/**
 * Help in docker's layout (its cobra usage template and pflag's flag table), so that users and
 * scripts reading `--help` see the same usage line, sections and flag names as docker's.
 */

/** docker's width for help text that is not going to a terminal. */
const WIDTH = 80;

/** What `--help` shows besides the command itself: its other names, e.g. `docker container stop, docker stop`. */
export interface HelpExtras {
  aliases?: string;
}

/**
 * Splits `s` at the last space before `at` (or at an earlier newline), unless the rest would
 * fit with `slop` more characters: pflag's rule against orphan words on a last line.
 */
function splitLine(s: string, at: number, slop: number): [string, string] {
  if (at + slop > s.length) return [s, ''];
  const space = Math.max(s.lastIndexOf(' ', at - 1), s.lastIndexOf('\t', at - 1), s.lastIndexOf('\n', at - 1));
  if (space <= 0) return [s, ''];
  const nl = s.lastIndexOf('\n', at - 1);
  if (nl > 0 && nl < space) return [s.slice(0, nl), s.slice(nl + 1)];
  return [s.slice(0, space), s.slice(space + 1)];
}

/** A flag's description wrapped into the column that starts at `indent`, as pflag wraps it. */
export function wrapDescription(indent: number, width: number, text: string): string {
  let room = width - indent;
  let out = '';
  if (room < 24) {
    indent = 16;
    room = width - indent;
    out += '\n' + ' '.repeat(indent);
  }
  const pad = '\n' + ' '.repeat(indent);
  if (room < 24) return out + text.replaceAll('\n', pad);
  const slop = 5;
  let [line, rest] = splitLine(text, room - slop, slop);
  out += line.replaceAll('\n', pad);
  while (rest) {
    [line, rest] = splitLine(rest, room - slop, slop);
    out += pad + line.replaceAll('\n', pad);
  }
  return out;
}

/** The part of a flag before its description: `  -s, --signal string` or `      --rm`. */
function flagName(o: Option): string {
  const value = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1];
  const head = o.short ? `  ${o.short}, ${o.long}` : `      ${o.long}`;
  return value ? `${head} ${value}` : head;
}

/** A default the description does not already state, in pflag's words. */
function defaultText(o: Option): string {
  const d: unknown = o.defaultValue;
  if (d === undefined || d === false || d === '' || o.negate || /\(default /.test(o.description)) return '';
  return ` (default ${typeof d === 'string' ? JSON.stringify(d) : String(d)})`;
}

/**
 * The flags docker lists, sorted by name as pflag sorts them: not --help, and not commander's
 * `--no-X` twin of a `--X` flag.
 */
function listedOptions(cmd: Command): Option[] {
  const longs = new Set(cmd.options.map((o) => o.long));
  return cmd.options
    .filter((o) => !o.hidden && o.long !== '--help' && !(o.negate && longs.has(`--${o.long!.slice(5)}`)))
    .sort((a, b) => (a.long! < b.long! ? -1 : a.long! > b.long! ? 1 : 0));
}

/** pflag's flag table: names, a column at the longest name plus three, wrapped descriptions. */
export function flagTable(options: Option[], width = WIDTH - 1): string {
  const names = options.map(flagName);
  const column = Math.max(0, ...names.map((n) => n.length)) + 3;
  return options.map((o, i) => names[i] + ' '.repeat(column - names[i].length) + wrapDescription(column, width, o.description + defaultText(o))).join('\n');
}

/** docker's "Common Commands" that wharf has. */
const COMMON = new Set(['run', 'exec', 'ps', 'build', 'pull', 'push', 'images', 'login', 'logout', 'version', 'info']);

function commandList(commands: readonly Command[]): string {
  const width = Math.max(11, ...commands.map((c) => c.name().length)) + 1;
  return commands.map((c) => `  ${c.name().padEnd(width)}${c.summary() || c.description()}`).join('\n');
}

/** The full help of `cmd`, whose path is `path` (`docker container ls`). */
export function formatHelp(cmd: Command, path: string, extras: HelpExtras = {}): string {
  const subcommands = cmd.commands;
  const options = listedOptions(cmd);
  const parts: string[] = [];
  if (subcommands.length && !cmd.parent) {
    parts.push(`Usage:  ${path} [OPTIONS] COMMAND`, cmd.description());
    const sections: [string, Command[]][] = [
      ['Common Commands', subcommands.filter((c) => COMMON.has(c.name()))],
      ['Management Commands', subcommands.filter((c) => c.commands.length)],
      ['Commands', subcommands.filter((c) => !COMMON.has(c.name()) && !c.commands.length).sort((a, b) => (a.name() < b.name() ? -1 : 1))],
    ];
    for (const [title, list] of sections) if (list.length) parts.push(`${title}:\n${commandList(list)}`);
    parts.push(`Global Options:\n${flagTable(options)}`);
    parts.push(`Run '${path} COMMAND --help' for more information on a command.`);
  } else if (subcommands.length) {
    parts.push(`Usage:  ${path} COMMAND`, cmd.description());
    parts.push(`Commands:\n${commandList(subcommands)}`);
    parts.push(`Run '${path} COMMAND --help' for more information on a command.`);
  } else {
    parts.push(`Usage:  ${path} ${cmd.usage()}`, cmd.description());
    if (extras.aliases) parts.push(`Aliases:\n  ${extras.aliases}`);
    if (options.length) parts.push(`Options:\n${flagTable(options)}`);
  }
  return parts.join('\n\n') + '\n';
}
