#!/usr/bin/env -S node --
// `node --` ends node's own options: node 20 otherwise reads `--env-file` even among the
// script's arguments and exits when `wharf run --env-file <missing file>` names no file.
import { main } from '../cli/index.js';
import { Client } from '../client/index.js';

/**
 * A reader that went away (`wharf logs c | head`) is the end of the output, not a crash: quit
 * without a stack trace, with the 141 (128 + SIGPIPE) a shell reports for docker killed by SIGPIPE.
 */
function exitOnBrokenPipe(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') process.exit(141);
  throw err;
}
process.stdout.on('error', exitOnBrokenPipe);
process.stderr.on('error', exitOnBrokenPipe);

/**
 * `wharf registry` is a server, not an Engine API client: it runs from its own entry, loaded
 * only for it. The specifier is computed so that esbuild leaves it out of the CLI bundle and
 * other commands neither parse nor compile the registry's code.
 */
async function runRegistry(argv: string[]): Promise<void> {
  const entry = new URL('./wharf-registry.js', import.meta.url).href;
  const mod = (await import(entry)) as { registryMain(argv: string[]): Promise<number> };
  process.exit(await mod.registryMain(argv));
}

// No top-level await: the published CLI is one CommonJS bundle (scripts/bundle.js), which starts faster than ES modules.
if (process.argv[2] === 'registry') void runRegistry(process.argv.slice(3));
else void main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, (opts, env) => Client.from(opts, env), {
  prog: 'wharf',
  env: process.env,
}).then((code) => {
  // Leave only once what we wrote has drained: a piped stdout may still hold data.
  process.exitCode = code;
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
});
