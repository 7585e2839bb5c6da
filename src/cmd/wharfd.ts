#!/usr/bin/env node
/**
 * `wharfd` as installed (package.json `bin`) and as documented (`node dist/src/cmd/wharfd.js`).
 * It runs the daemon from one CommonJS bundle, `wharfd.bundle.cjs` (made by
 * scripts/bundle.js), when the build made one: the daemon's 150-odd ES modules cost some
 * 9 MB more resident memory as a module graph than as one bundle, and #12 keeps the idle daemon
 * near bare node. Without a bundle (a plain `tsc` build) it imports the module tree, which
 * behaves the same.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('./wharfd.bundle.cjs', import.meta.url));
if (existsSync(bundle)) createRequire(import.meta.url)(bundle);
else await import('./wharfd-main.js');
