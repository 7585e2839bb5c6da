#!/usr/bin/env node
// Runs the compiled tests with node's test runner. Node 20 takes no globs, so list them here.
// --unit: only the unit tests beside the code (dist/src/**, dist/scripts/**); default: unit +
// integration (dist/test/**).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const unitOnly = process.argv.includes('--unit');
const extra = process.argv.slice(2).filter((a) => a !== '--unit');

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = walk('dist/src', []);
walk('dist/scripts', files);
if (!unitOnly) walk('dist/test', files);
files.sort();
const filtered = extra.length ? files.filter((f) => extra.some((e) => f.includes(e))) : files;
if (filtered.length === 0) {
  console.error('no test files found; run `npm run build` first');
  process.exit(1);
}
// Integration tests each start a daemon; run files one at a time to keep the 2-core machine honest.
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...filtered], { stdio: 'inherit' });
process.exit(r.status ?? 1);
