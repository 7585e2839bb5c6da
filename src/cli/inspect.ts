import type { Command } from 'commander';
import { errorText, isNotFound, newCommand, requireArgs } from './command.js';
import { indentJson, render } from './format.js';
import { FORMAT_HELP } from './opts.js';
import { TemplateError } from './template.js';
import { Exit, type Session } from './session.js';

type Kind = 'container' | 'image';

interface InspectFlags {
  format?: string;
  size?: boolean;
  type?: string;
}

/** Looks a name up as each kind in turn; undefined when none has it. */
async function lookup(s: Session, name: string, kinds: Kind[], size: boolean): Promise<unknown> {
  for (const k of kinds) {
    try {
      return k === 'container' ? await s.client.containerInspect(name, size) : await s.client.imageInspect(name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return undefined;
}

/** Prints inspect results: a 4-space indented JSON array, or the template per object. */
export function printInspect(s: Session, items: unknown[], format?: string): void {
  if (!format) s.out(indentJson(items) + '\n');
  else if (format === 'json') s.out(JSON.stringify(items) + '\n');
  else s.out(render(format, items));
}

/** `inspect`, `container inspect` and `image inspect`: `kind` fixes the type for the latter two. */
export function inspectCommand(s: Session, kind?: Kind): Command {
  const cmd = newCommand('inspect', kind ? `Display detailed information on one or more ${kind}s` : 'Return low-level information on Docker objects', kind ? `[OPTIONS] ${kind.toUpperCase()} [${kind.toUpperCase()}...]` : '[OPTIONS] NAME|ID [NAME|ID...]')
    .argument('[names...]')
    .option('-f, --format <string>', FORMAT_HELP);
  if (kind !== 'image') cmd.option('-s, --size', kind ? 'Display total file sizes' : 'Display total file sizes if the type is container');
  if (!kind) cmd.option('--type <string>', 'Only inspect objects of the given type');
  cmd.action(async (names: string[], f: InspectFlags) => {
    requireArgs(s, cmd, names, 1);
    const type = kind ?? f.type;
    if (type && type !== 'container' && type !== 'image') {
      throw new Exit(1, `unknown type: "${type}": must be one of "config", "container", "image", "network", "node", "plugin", "secret", "service", "task", "volume"`);
    }
    // A template that does not parse is refused before any lookup, with docker's words and code.
    if (f.format && f.format !== 'json') {
      try {
        render(f.format, []);
      } catch (err) {
        if (err instanceof TemplateError) throw new Exit(64, `template parsing error: ${err.message}`);
        throw err;
      }
    }
    const kinds: Kind[] = type ? [type as Kind] : ['container', 'image'];
    const found: unknown[] = [];
    const errors: string[] = [];
    for (const n of names) {
      try {
        const v = await lookup(s, n, kinds, Boolean(f.size));
        if (v === undefined) errors.push(type ? `Error response from daemon: No such ${type}: ${n}` : `Error: No such object: ${n}`);
        else found.push(v);
      } catch (err) {
        errors.push(errorText(err));
      }
    }
    // docker prints what it found (even an empty array, or an empty line for a template) before the errors.
    if (!found.length && f.format && f.format !== 'json') s.out('\n');
    else printInspect(s, found, f.format);
    if (errors.length) throw new Exit(1, errors.join('\n'));
  });
  return cmd;
}
