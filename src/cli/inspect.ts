import type { Command } from 'commander';
import { errorText, isNotFound, newCommand, requireArgs } from './command.js';
import { indentJson, render } from './format.js';
import { FORMAT_HELP } from './opts.js';
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
    if (type && type !== 'container' && type !== 'image') throw new Exit(1, `"${type}" is not a valid value for --type`);
    const kinds: Kind[] = type ? [type as Kind] : ['container', 'image'];
    const found: unknown[] = [];
    const errors: string[] = [];
    for (const n of names) {
      try {
        const v = await lookup(s, n, kinds, Boolean(f.size));
        if (v === undefined) errors.push(kind ? `Error response from daemon: No such ${kind}: ${n}` : `Error: No such ${type ?? 'object'}: ${n}`);
        else found.push(v);
      } catch (err) {
        errors.push(errorText(err));
      }
    }
    // docker prints what it found (even an empty array) before the errors.
    printInspect(s, found, f.format);
    if (errors.length) throw new Exit(1, errors.join('\n'));
  });
  return cmd;
}
