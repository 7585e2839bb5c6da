#!/usr/bin/env node
// Bundles the wharf CLI (dist/src/cmd/wharf.js and everything it imports) into one CommonJS
// file beside it, dist/src/cmd/wharf.bundle.cjs, which the `wharf` launcher (src/cmd/wharf.cts)
// runs with V8's code cache; then writes that cache from a run that declares every command.
// The daemon and `wharf registry` get bundles of their own. Runs after tsc (npm run build).
// Why: see src/cmd/wharf.cts and src/cmd/wharfd.cts.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const OUT = 'dist/src/cmd/wharf.bundle.cjs';

/**
 * A bundle plugin that hands `importers` a stand-in for each of the Node modules `names`,
 * which loads the real module on first use. The stand-in has a getter for every name the
 * module exports (as this build's node lists them), so a named import reads through to the
 * real module whenever it is used; a module-level use loads it at start again.
 */
function lazyBuiltins(pluginName, names, importers = /./) {
  const filter = new RegExp(`^(node:)?(${names.join('|')})$`);
  return {
    name: pluginName,
    setup(b) {
      b.onResolve({ filter }, (args) => {
        const name = args.path.replace(/^node:/, '');
        // The stand-in's own require is of the real module.
        if (args.namespace === 'wharf-lazy') return { path: `node:${name}`, external: true };
        return importers.test(args.importer) ? { path: name, namespace: 'wharf-lazy' } : undefined;
      });
      b.onLoad({ filter: /.*/, namespace: 'wharf-lazy' }, (args) => ({
        contents: [
          'let real;',
          `const load = () => (real ??= require('node:${args.path}'));`,
          `for (const key of ${JSON.stringify(Object.keys(require(args.path)))}) Object.defineProperty(exports, key, { enumerable: true, get: () => load()[key] });`,
        ].join('\n'),
        loader: 'js',
      }));
    },
  };
}

/**
 * commander loads child_process at start for executable subcommands, which wharf never uses;
 * loading it costs every command a few milliseconds (#12).
 */
const lazyChildProcessForCommander = lazyBuiltins('lazy-child-process-for-commander', ['child_process'], /\/node_modules\/commander\//);

/**
 * An idle daemon needs none of these: TLS (pulls, pushes, build's ADD of https URLs, a TLS
 * listener), UDP port forwarding, the layer workers and gzip. Loaded at start they cost some
 * 1.3 MB of resident memory, and #12 keeps the idle daemon under 50 MB.
 */
const lazyBuiltinsForDaemon = lazyBuiltins('lazy-builtins-for-daemon', ['tls', 'https', 'dgram', 'worker_threads', 'zlib']);

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

// The daemon (src/cmd/wharfd.cts runs it). undici stays outside: only a pull or push loads it,
// and in the bundle its code would be read and held at every start.
await build({ ...common, entryPoints: ['dist/src/cmd/wharfd-main.js'], outfile: 'dist/src/cmd/wharfd.bundle.cjs', external: ['undici'], plugins: [lazyBuiltinsForDaemon] });

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

// tsc leaves the launchers without the mode a `bin` needs.
for (const bin of ['dist/src/cmd/wharf.cjs', 'dist/src/cmd/wharfd.cjs']) chmodSync(bin, 0o755);
rmSync('dist/src/cmd/wharf.bundle.cache', { force: true });
const warm = spawnSync(process.execPath, ['dist/src/cmd/wharf.cjs', '--help'], {
  env: { ...process.env, WHARF_WRITE_CODE_CACHE: '1' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (warm.status !== 0) {
  console.error(`bundle: 'wharf --help' from the bundle failed (${warm.status ?? warm.signal})`);
  process.exit(1);
}
