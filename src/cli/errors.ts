import { ApiError } from '../client/index.js';
import type { IO } from './session.js';

/** Leaves the command with an exit code; `message` (if any) goes to stderr with a newline. */
export class Exit extends Error {
  override readonly name: string = 'Exit';
  constructor(
    readonly code: number,
    message = '',
  ) {
    super(message);
  }
}

/**
 * A failure that docker words with the program's name and a pointer to the command's help
 * (`docker: <message>\n\nRun 'docker run --help' for more information`), as run and create do.
 * The command function does not know its program's name or path; main() adds them.
 */
export class CommandFailure extends Exit {
  override readonly name = 'CommandFailure';
}

/** How docker's CLI shows an error: daemon errors with their prefix, others as they are. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return `Error response from daemon: ${err.message}`;
  return (err as Error).message;
}

/** Whether a daemon error is a 404 (no such container/image). */
export const isNotFound = (err: unknown): boolean => err instanceof ApiError && err.statusCode === 404;

/**
 * Runs `fn` on each name; the rest still run after a failure. The failures are printed together
 * at the end, after the successes, as docker does ("Error response from daemon: …"), then
 * `summary` of the failed names if given. Resolves with the exit code: 1 if any failed.
 */
export async function forEachName(io: IO, names: string[], fn: (name: string) => Promise<void>, summary?: (failed: string[]) => string): Promise<number> {
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
  if (!errors.length) return 0;
  io.stderr.write(`${[...errors, ...(summary ? [summary(failed)] : [])].join('\n')}\n`);
  return 1;
}
