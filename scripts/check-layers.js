#!/usr/bin/env node
// Fails when a module imports against the dependency direction of DESIGN.md, or reaches into
// another folder other than through its index.ts.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const SRC = resolve('src');
// folder -> folders it may import (besides itself)
const ALLOWED = {
  util: [],
  'types': ['util'],
  api: ['daemon', 'types', 'util'],
  client: ['types', 'util'],
  cli: ['client', 'compose', 'types', 'util'],
  compose: ['client', 'types', 'util'],
  daemon: ['image', 'storage', 'runtime', 'network', 'volume', 'build', 'types', 'util'],
  image: ['util', 'types'],
  storage: ['util'],
  runtime: ['util'],
  network: ['util'],
  volume: ['types', 'util'],
  build: ['image', 'util', 'types'],
  registry: ['image', 'util'],
  web: ['client', 'types', 'util'],
  cmd: null, // the composition root may import anything
};

function folderOf(file) {
  const rel = relative(SRC, file).split('/');
  return rel[0];
}

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const problems = [];
for (const file of walk(SRC)) {
  const from = folderOf(file);
  const allowed = ALLOWED[from];
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*from\s+['"](\.[^'"]+)['"]/gm)) {
    const target = resolve(dirname(file), m[1]);
    if (!target.startsWith(SRC)) continue;
    const to = folderOf(target);
    if (to === from) continue;
    if (allowed === undefined) {
      problems.push(`${relative('.', file)}: folder '${from}' has no layering rule`);
      continue;
    }
    if (allowed !== null && !allowed.includes(to)) {
      problems.push(`${relative('.', file)}: '${from}' may not import '${to}' (${m[1]})`);
    }
    const base = target.replace(/\.js$/, '');
    const folderRoot = join(SRC, to);
    if (!file.endsWith('.test.ts') && base !== join(folderRoot, 'index') && !(to === 'types' && base.startsWith(folderRoot))) {
      problems.push(`${relative('.', file)}: import '${to}' through its index.ts, not ${m[1]}`);
    }
  }
}
if (problems.length) {
  console.error('Layering violations:\n' + problems.join('\n'));
  process.exit(1);
}
console.log('layering: ok');
