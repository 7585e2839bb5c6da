#!/usr/bin/env node
import { main } from '../cli/index.js';
import { Client } from '../client/index.js';

const code = await main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, prog: 'wharf' }, (o) => Client.fromEnv(o));
// Let pending output drain before leaving with the code.
process.stdout.write('', () => process.exit(code));
