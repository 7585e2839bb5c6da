#!/usr/bin/env -S node --
/**
 * The `wharf` command as installed (package.json `bin`). It runs the CLI from one CommonJS
 * bundle (`wharf.bundle.cjs`, made by scripts/bundle.js) compiled with V8's code cache
 * (`wharf.bundle.cache`): loading some sixty ES modules one by one and compiling them again at
 * every start cost more than all the rest of a short command (#12 asks the CLI to start within
 * 20 ms of bare node). Without a bundle (a plain `tsc` build) it imports the ES module entry,
 * `wharf.js`, which behaves the same, only slower to start.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Module = require('node:module');
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

const BUNDLE = join(__dirname, 'wharf.bundle.cjs');
const CACHE = join(__dirname, 'wharf.bundle.cache');

function readOptional(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Writes the code cache of what this run compiled. The build asks for it after a run that
 * declares every command (`--help`); a node upgrade makes V8 reject the old cache, and then
 * the first run writes a new one where it may (a read-only install just goes without).
 */
function saveCache(script: Script): void {
  const tmp = `${CACHE}.${process.pid}`;
  try {
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, CACHE);
  } catch {
    // Not ours to write (another user's install): the cache only saves time.
  }
}

function runBundle(source: Buffer): void {
  const cachedData = readOptional(CACHE);
  const script = new Script(Module.wrap(source.toString('utf8')), { filename: BUNDLE, cachedData });
  if (process.env.WHARF_WRITE_CODE_CACHE === '1' || (cachedData && script.cachedDataRejected)) process.once('exit', () => saveCache(script));
  const bundle = new Module(BUNDLE, module);
  bundle.filename = BUNDLE;
  const run = script.runInThisContext() as (exports: object, require: NodeRequire, module: Module, filename: string, dirname: string) => void;
  run.call(bundle.exports, bundle.exports, createRequire(BUNDLE), bundle, BUNDLE, __dirname);
}

/**
 * `wharf registry` is a long-running server with its own entry (an ES module): it goes there
 * before the CLI bundle is read, so the bundle holds none of it. The bundle also runs in a
 * vm.Script, which cannot `import()`. The registry has its own bundle (scripts/bundle.js).
 */
async function runRegistry(argv: string[]): Promise<void> {
  type Entry = { registryMain(argv: string[]): Promise<number> };
  const bundled = join(__dirname, 'wharf-registry.bundle.cjs');
  const mod = existsSync(bundled) ? (require(bundled) as Entry) : ((await import('./wharf-registry.js')) as Entry);
  process.exit(await mod.registryMain(argv));
}

if (process.argv[2] === 'registry') void runRegistry(process.argv.slice(3));
else {
  const source = readOptional(BUNDLE);
  if (source) runBundle(source);
  else void import('./wharf.js');
}
