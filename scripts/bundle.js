#!/usr/bin/env node
// Bundles the wharf CLI (dist/src/cmd/wharf.js and everything it imports) into one CommonJS
// file beside it, dist/src/cmd/wharf.bundle.cjs, which the `wharf` launcher (src/cmd/wharf.cts)
// runs with V8's code cache; then writes that cache from a run that declares every command.
// The daemon and `wharf registry` get bundles of their own. Runs after tsc (npm run build).
// Why: see src/cmd/wharf.cts and src/cmd/wharfd.ts.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const OUT = 'dist/src/cmd/wharf.bundle.cjs';

/**
 * commander loads child_process at start for executable subcommands, which wharf never uses;
 * loading it costs every command a few milliseconds (#12). Commander gets a stand-in that loads
 * the real module on first use.
 */
const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) => (args.importer.includes('/node_modules/commander/') ? { path: 'lazy-child-process', namespace: 'wharf-lazy' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'wharf-lazy' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, key) => require('node:child_process')[key] });",
      loader: 'js',
    }));
  },
};

/** What both bundles share: one CommonJS file for Node 20 beside the module it replaces. */
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  // The native addon is found from import.meta.url (src/util/native.ts); the bundle sits at the
  // same depth under dist/ as the module it replaces, so its own file URL finds the same path.
  define: { 'import.meta.url': '__wharf_bundle_url' },
  banner: { js: "const __wharf_bundle_url = require('node:url').pathToFileURL(__filename).href;" },
};

await build({ ...common, entryPoints: ['dist/src/cmd/wharf.js'], outfile: OUT, plugins: [lazyChildProcessForCommander] });
// `wharf registry` is a server with an entry of its own, loaded only for it (src/cmd/wharf.cts):
// bundled apart, and tree-shaken, it starts with some 7 MB less resident memory than its ES
// module graph (issue 11 keeps the server under 60 MB).
await build({ ...common, entryPoints: ['dist/src/cmd/wharf-registry.js'], outfile: 'dist/src/cmd/wharf-registry.bundle.cjs' });

// The daemon (src/cmd/wharfd.ts runs it). undici stays outside: only a pull or push loads it,
// and in the bundle its code would be read and held at every start.
await build({ ...common, entryPoints: ['dist/src/cmd/wharfd-main.js'], outfile: 'dist/src/cmd/wharfd.bundle.cjs', external: ['undici'] });

// The worker thread layers are extracted on (src/storage/apply-worker.ts), a few per pull or load.
await build({ ...common, entryPoints: ['dist/src/cmd/wharf-layer.js'], outfile: 'dist/src/cmd/wharf-layer.bundle.cjs' });
// The worker that makes the default image on a new data root, once (src/daemon/images.ts).
await build({ ...common, entryPoints: ['dist/src/cmd/wharf-default-image.js'], outfile: 'dist/src/cmd/wharf-default-image.bundle.cjs', external: ['undici'] });

// V8 holds a source with one character past U+00FF as a two-byte string: a 1 MB bundle would
// cost 2 MB of heap for good (a \u escape in the source keeps the bundle one-byte).
for (const f of [OUT, 'dist/src/cmd/wharf-registry.bundle.cjs', 'dist/src/cmd/wharfd.bundle.cjs', 'dist/src/cmd/wharf-layer.bundle.cjs', 'dist/src/cmd/wharf-default-image.bundle.cjs']) {
  const wide = /[^\u0000-\u00ff]/.exec(readFileSync(f, 'utf8'));
  if (wide) {
    console.error(`bundle: ${f} holds ${JSON.stringify(wide[0])} (U+${wide[0].codePointAt(0).toString(16)}): write it as a \\u escape in the source`);
    process.exit(1);
  }
}

// The launcher wraps the bundle as a CommonJS module body, where a #! line is a syntax error.
const text = readFileSync(OUT, 'utf8');
if (text.startsWith('#!')) writeFileSync(OUT, `//${text.slice(2)}`);

// tsc leaves the launcher without the mode a `bin` needs.
chmodSync('dist/src/cmd/wharf.cjs', 0o755);
rmSync('dist/src/cmd/wharf.bundle.cache', { force: true });
const warm = spawnSync(process.execPath, ['dist/src/cmd/wharf.cjs', '--help'], {
  env: { ...process.env, WHARF_WRITE_CODE_CACHE: '1' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (warm.status !== 0) {
  console.error(`bundle: 'wharf --help' from the bundle failed (${warm.status ?? warm.signal})`);
  process.exit(1);
}
