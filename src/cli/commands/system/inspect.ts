import type { Command } from 'commander';
import type { Client } from '../../../client/index.js';
import { exitWith, givenFlags, newCommand, requireArgs } from '../../command.js';
import { errorText, Exit, isNotFound } from '../../errors.js';
import { indentJson, render } from '../../format/index.js';
import { TemplateError } from '../../gotemplate/index.js';
import { FORMAT_HELP } from '../../opts.js';
import type { IO, Session } from '../../session.js';

export type InspectKind = 'container' | 'image' | 'network' | 'volume';

export interface InspectOptions {
  format?: string;
  /** Containers' sizes too (SizeRw, SizeRootFs). */
  size?: boolean;
  /** Only objects of this type; containers first, then images, when not given. */
  type?: string;
  /** network inspect -v: the network's details across a swarm (the API's verbose). */
  verbose?: boolean;
}

export type InspectClient = Pick<Client, 'containerInspect' | 'imageInspect'> & Partial<Pick<Client, 'networkInspect' | 'volumeInspect'>>;

/** Looks a name up as each kind in turn; undefined when none has it. */
async function lookup(client: InspectClient, name: string, kinds: InspectKind[], opts: InspectOptions): Promise<unknown> {
  for (const k of kinds) {
    // The daemon's own 404 text ("network x not found") is what docker shows for a network.
    if (k === 'network') return await client.networkInspect!(name, { verbose: opts.verbose });
    if (k === 'volume') return await client.volumeInspect!(name);
    try {
      return k === 'container' ? await client.containerInspect(name, Boolean(opts.size)) : await client.imageInspect(name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return undefined;
}

/** Prints inspect results: a 4-space indented JSON array, or the template per object. */
function printInspect(io: IO, items: unknown[], format?: string): void {
  if (!format) io.stdout.write(indentJson(items) + '\n');
  else if (format === 'json') io.stdout.write(JSON.stringify(items) + '\n');
  else io.stdout.write(render(format, items));
}

/**
 * `inspect`, `container inspect`, `image inspect`: what was found is printed first (even an
 * empty array, or an empty line for a template), then the names not found (exit 1). A template
 * that does not parse is refused before any lookup, with docker's words and code (64).
 */
export async function inspect(client: InspectClient, names: string[], opts: InspectOptions, io: IO): Promise<number> {
  const type = opts.type;
  if (type && type !== 'container' && type !== 'image' && type !== 'network' && type !== 'volume') {
    throw new Exit(1, `unknown type: "${type}": must be one of "config", "container", "image", "network", "node", "plugin", "secret", "service", "task", "volume"`);
  }
  if (opts.format && opts.format !== 'json') {
    try {
      render(opts.format, []);
    } catch (err) {
      if (err instanceof TemplateError) throw new Exit(64, `template parsing error: ${err.message}`);
      throw err;
    }
  }
  const kinds: InspectKind[] = type ? [type as InspectKind] : ['container', 'image'];
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const n of names) {
    try {
      const v = await lookup(client, n, kinds, opts);
      if (v === undefined) errors.push(type ? `Error response from daemon: No such ${type}: ${n}` : `Error: No such object: ${n}`);
      else found.push(v);
    } catch (err) {
      errors.push(errorText(err));
    }
  }
  if (!found.length && opts.format && opts.format !== 'json') io.stdout.write('\n');
  else printInspect(io, found, opts.format);
  if (!errors.length) return 0;
  io.stderr.write(`${errors.join('\n')}\n`);
  return 1;
}

/** The inspect command of `kind` (container inspect, image inspect), or the top-level one, which looks at both. */
export function inspectCommand(s: Session, kind?: InspectKind): Command {
  const cmd = newCommand(
    'inspect',
    kind ? `Display detailed information on one or more ${kind}s` : 'Return low-level information on Docker objects',
    kind ? `[OPTIONS] ${kind.toUpperCase()} [${kind.toUpperCase()}...]` : '[OPTIONS] NAME|ID [NAME|ID...]',
  )
    .argument('[names...]')
    .option('-f, --format <string>', FORMAT_HELP);
  if (kind === 'network') cmd.option('-v, --verbose', 'Verbose output for diagnostics');
  else if (kind !== 'image' && kind !== 'volume') cmd.option('-s, --size', kind ? 'Display total file sizes' : 'Display total file sizes if the type is container');
  if (!kind) cmd.option('--type <string>', 'Only inspect objects of the given type');
  return cmd.action(async (names: string[]) => {
    requireArgs(s, cmd, names, 1);
    const opts = givenFlags<InspectOptions>(cmd);
    exitWith(await inspect(s.client, names, kind ? { ...opts, type: kind } : opts, s.io));
  });
}
