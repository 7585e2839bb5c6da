import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Compiled to dist/scripts/; the checker itself is plain JavaScript that runs without a build.
const CHECKER = fileURLToPath(new URL('../../scripts/check-layers.js', import.meta.url));
const { checkLayers } = (await import(CHECKER)) as { checkLayers(root: string): string[] };

/** A project root whose src/ holds `files` (path under src/ -> source). */
function tree(t: { after(fn: () => void): void }, files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'wharf-layers-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    const p = join(root, 'src', path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return root;
}

// A small house that keeps every rule; each test breaks one.
const CLEAN: Record<string, string> = {
  'util/index.ts': "export const id = (x: string) => x;\n",
  'types/index.ts': "import type { id } from '../util/index.js';\nexport type Id = ReturnType<typeof id>;\n",
  'runtime/index.ts': "export { run } from './run.js';\n",
  'runtime/run.ts': "import { id } from '../util/index.js';\nexport const run = () => id('x');\n",
  'daemon/index.ts': "export { Service } from './service.js';\nexport type { Port } from './ports.js';\n",
  // A cycle through types only is erased at compile time, and allowed.
  'daemon/ports.ts': "import type { Service } from './service.js';\nexport interface Port { owner: Service }\n",
  'daemon/service.ts': "import type { Port } from './ports.js';\nimport { run } from '../runtime/index.js';\nimport type { Id } from '../types/index.js';\nexport class Service { port?: Port; id: Id = run(); }\n",
  'daemon/service.test.ts': "import { Service } from './service.js';\nimport { run } from '../runtime/index.js';\nnew Service(); run();\n",
  'api/index.ts': "import { Service } from '../daemon/index.js';\nexport const api = () => new Service();\nexport const later = () => import('../daemon/index.js');\n",
  'cmd/wharfd.ts': "import { api } from '../api/index.js';\nimport { run } from '../runtime/index.js';\napi(); run();\n",
};

test('a tree that keeps the rules passes, type-only cycles and the composition root included', (t) => {
  assert.deepEqual(checkLayers(tree(t, CLEAN)), []);
});

test('an import() upward is caught like a static import', (t) => {
  const root = tree(t, { ...CLEAN, 'runtime/run.ts': "export const run = async () => (await import('../daemon/index.js')).Service;\n" });
  assert.deepEqual(checkLayers(root), [
    "src/runtime/run.ts:1: import() '../daemon/index.js': 'runtime' may not import 'daemon' (it may import types, util)",
  ]);
});

test('import = require() and import() types count too', (t) => {
  const root = tree(t, {
    ...CLEAN,
    'util/index.ts': "import api = require('../api/index.js');\nexport type A = typeof api;\nexport const id = (x: import('../types/index.js').Id) => x;\n",
  });
  assert.deepEqual(checkLayers(root), [
    "src/util/index.ts:1: import '../api/index.js': 'util' may not import 'api' (it may import nothing in src/)",
    "src/util/index.ts:3: import() type '../types/index.js': 'util' may not import 'types' (it may import nothing in src/)",
  ]);
});

test('a cycle among one folder\'s modules is named with its path', (t) => {
  const root = tree(t, {
    ...CLEAN,
    'daemon/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
    'daemon/b.ts': "export const b = async () => (await import('./c.js')).c;\n",
    'daemon/c.ts': "export { a as c } from './a.js';\n",
  });
  assert.deepEqual(checkLayers(root), [
    'src/daemon/a.ts: import cycle src/daemon/a.ts -> src/daemon/b.ts -> src/daemon/c.ts -> src/daemon/a.ts: modules of one folder must not import each other in a loop',
  ]);
});

test('an index.ts that re-exports another folder, directly or through an import', (t) => {
  const root = tree(t, {
    ...CLEAN,
    'daemon/index.ts': "export { Service } from './service.js';\nexport { run } from '../runtime/index.js';\nimport { id } from '../util/index.js';\nexport { id as ident };\n",
  });
  assert.deepEqual(checkLayers(root), [
    "src/daemon/index.ts:2: re-export '../runtime/index.js': daemon/index.ts may re-export only daemon/'s own modules, not 'runtime'",
    "src/daemon/index.ts:4: re-export '../util/index.js' (export { id }): daemon/index.ts may re-export only daemon/'s own modules, not 'util'",
  ]);
});

test('reaching inside another folder is refused, from code and from tests', (t) => {
  const root = tree(t, {
    ...CLEAN,
    'api/routes.ts': "import type { Service } from '../daemon/service.js';\nexport type S = Service;\n",
    'daemon/service.test.ts': "import { run } from '../runtime/run.js';\nrun();\n",
  });
  assert.deepEqual(checkLayers(root), [
    "src/api/routes.ts:1: import '../daemon/service.js': reaches inside 'daemon'; import daemon/index.ts, which exports the folder's public API",
    "src/daemon/service.test.ts:1: import '../runtime/run.js': reaches inside 'runtime'; import runtime/index.ts, which exports the folder's public API",
  ]);
});

test('a folder without a rule, and a module outside any folder, are errors', (t) => {
  const root = tree(t, { ...CLEAN, 'misc/a.ts': 'export {};\n', 'misc/b.ts': 'export {};\n', 'loose.ts': 'export {};\n' });
  assert.deepEqual(checkLayers(root), [
    'src/loose.ts: a module directly in src/ belongs to no folder; put it in the folder that owns it',
    "src/misc/: folder 'misc' has no layering rule in scripts/check-layers.js",
  ]);
});

test('the command prints one problem a line and exits 1; a clean tree exits 0', (t) => {
  const bad = tree(t, { ...CLEAN, 'types/index.ts': "import '../daemon/index.js';\nexport { run } from '../runtime/index.js';\n" });
  const r = spawnSync(process.execPath, [CHECKER, bad], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.deepEqual(r.stderr.trim().split('\n'), [
    "src/types/index.ts:1: import '../daemon/index.js': 'types' may not import 'daemon' (it may import util)",
    "src/types/index.ts:2: re-export '../runtime/index.js': 'types' may not import 'runtime' (it may import util)",
    "src/types/index.ts:2: re-export '../runtime/index.js': types/index.ts may re-export only types/'s own modules, not 'runtime'",
    'layering: 3 problems',
  ]);
  const ok = spawnSync(process.execPath, [CHECKER, tree(t, CLEAN)], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, 'layering: ok\n');
});
