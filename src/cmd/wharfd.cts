#!/usr/bin/env node
/**
 * `wharfd` as installed (package.json `bin`) and as documented (`node dist/src/cmd/wharfd.cjs`).
 * It runs the daemon from one CommonJS bundle, `wharfd.bundle.cjs` (made by
 * scripts/bundle.js), when the build made one: the daemon's 150-odd ES modules cost some
 * 9 MB more resident memory as a module graph than as one bundle, and #12 keeps the idle daemon
 * near bare node. The launcher is CommonJS for the same reason: an ES module entry starts
 * Node's ES module loader, some 3 MB that the bundle never uses (only a pull's undici does,
 * and loads it then). Without a bundle (a plain `tsc` build) it imports the module tree, which
 * behaves the same.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const bundle = join(__dirname, 'wharfd.bundle.cjs');
if (existsSync(bundle)) require(bundle);
else void import('./wharfd-main.js');
