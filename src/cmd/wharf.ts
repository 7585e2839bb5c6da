#!/usr/bin/env node
import { main } from '../cli/index.js';
import { Client } from '../client/index.js';

const code = await main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, (opts, env) => Client.from(opts, env), {
  prog: 'wharf',
  env: process.env,
});
// Leave only once what we wrote has drained: a piped stdout may still hold data.
process.exitCode = code;
let pending = 2;
const done = () => {
  if (--pending === 0) process.exit(code);
};
process.stdout.write('', done);
process.stderr.write('', done);
