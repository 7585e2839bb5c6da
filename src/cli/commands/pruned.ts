import { confirm, type IO } from '../session.js';
import { humanSize } from '../format/index.js';

/** What one pruner printed and freed; `system prune` adds them up as docker does. */
export interface Pruned {
  output: string;
  reclaimed: number;
}

/** A pruner's section: its title and what it deleted, one per line; nothing when it deleted nothing. */
export function listing(title: string, lines: string[] | null | undefined): string {
  return lines?.length ? `${title}:\n${lines.join('\n')}\n\n` : '';
}

/** The pruners' sections, then docker's total. */
export function printPruned(io: IO, results: Pruned[]): void {
  for (const r of results) io.stdout.write(r.output);
  io.stdout.write(`Total reclaimed space: ${humanSize(results.reduce((n, r) => n + r.reclaimed, 0))}\n`);
}

/** docker's question before a prune, unless --force; anything but y/yes is no. */
export function confirmPrune(io: IO, force: boolean | undefined, warning: string): Promise<boolean> {
  return force ? Promise.resolve(true) : confirm(io, `${warning}\nAre you sure you want to continue? [y/N] `);
}
