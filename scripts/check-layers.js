#!/usr/bin/env node
// Enforces the Layout rules of DESIGN.md on src/: the dependency direction between folders, that
// a folder is entered only through its index.ts, that an index.ts re-exports only its own folder,
// and that the modules of a folder form no import cycle. Imports are read with TypeScript's own
// parser, so `import()`, `import x = require()`, re-exports and `import('x').T` types all count.
//
//   node scripts/check-layers.js [project-root]     (default: the checkout this script is in)
//
// One problem per line, naming the file, the import and the rule; exit status 1 on any problem.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative, dirname, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

/**
 * Folder -> the folders it may import besides itself; `null` means anything. DESIGN.md:
 * `cmd -> cli -> compose -> client -> types -> util`, `cmd -> api -> daemon -> {build, image,
 * storage, runtime, network, volume} -> util`, `build -> image`, `registry -> image`, `web` like
 * cli; `types` may be imported by every folder and imports only `util`. On the client side a
 * layer may use any layer below it (cli talks to client directly, not only through compose); on
 * the server side each layer sees only the next one down, because the API only translates and
 * must reach storage, runtime and the rest through the daemon's services.
 */
export const ALLOWED = {
  util: [],
  types: ['util'],
  client: ['types', 'util'],
  compose: ['client', 'types', 'util'],
  cli: ['compose', 'client', 'types', 'util'],
  web: ['compose', 'client', 'types', 'util'],
  api: ['daemon', 'types', 'util'],
  daemon: ['build', 'image', 'storage', 'runtime', 'network', 'volume', 'types', 'util'],
  build: ['image', 'types', 'util'],
  registry: ['image', 'types', 'util'],
  image: ['types', 'util'],
  storage: ['types', 'util'],
  runtime: ['types', 'util'],
  network: ['types', 'util'],
  volume: ['types', 'util'],
  cmd: null, // the composition root
};

function walk(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** `./x.js` -> the .ts file tsc compiles to it (NodeNext specifiers name the output). */
function resolveSpecifier(fromFile, spec) {
  const base = resolve(dirname(fromFile), spec);
  const candidates = [base.replace(/\.(m|c)?js$/, '.$1ts'), base, base + '.ts', join(base, 'index.ts')];
  return candidates.find((c) => c.endsWith('.ts') && existsSync(c)) ?? base;
}

const specifierText = (node) => (node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined);

function allTypeOnly(elements) {
  return elements.length > 0 && elements.every((e) => e.isTypeOnly);
}

/**
 * Every module a file refers to. `typeOnly` marks references erased at run time (`import type`,
 * all-`type` specifier lists, `import('x').T` in a type). `bindings` are the local names an
 * import declares, so a later `export { name }` can be traced to where it came from.
 */
export function readImports(file, text = readFileSync(file, 'utf8')) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const refs = [];
  const localExports = [];
  const add = (node, spec, kind, typeOnly, bindings = []) => {
    if (spec === undefined) return;
    const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    refs.push({ spec, kind, typeOnly, bindings, line: line + 1 });
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const bindings = [];
      let typeOnly = false;
      if (clause) {
        if (clause.name) bindings.push(clause.name.text);
        const nb = clause.namedBindings;
        if (nb && ts.isNamespaceImport(nb)) bindings.push(nb.name.text);
        if (nb && ts.isNamedImports(nb)) for (const e of nb.elements) bindings.push(e.name.text);
        typeOnly = clause.isTypeOnly || (!clause.name && !!nb && ts.isNamedImports(nb) && allTypeOnly(nb.elements));
      }
      add(node, specifierText(node.moduleSpecifier), 'import', typeOnly, bindings);
    } else if (ts.isExportDeclaration(node)) {
      const clause = node.exportClause;
      const typeOnly = node.isTypeOnly || (!!clause && ts.isNamedExports(clause) && allTypeOnly(clause.elements));
      if (node.moduleSpecifier) add(node, specifierText(node.moduleSpecifier), 're-export', typeOnly);
      else if (clause && ts.isNamedExports(clause)) {
        for (const e of clause.elements) localExports.push({ name: (e.propertyName ?? e.name).text, node: e });
      }
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const exported = node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
      add(node, specifierText(node.moduleReference.expression), exported ? 're-export' : 'import', node.isTypeOnly, [node.name.text]);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword) add(node, specifierText(node.arguments[0]), 'import()', false);
      else if (ts.isIdentifier(callee) && callee.text === 'require') add(node, specifierText(node.arguments[0]), 'require()', false);
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg)) add(node, specifierText(arg.literal), 'import() type', true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  // `import { x } from '../other/index.js'; export { x };` re-exports as surely as `export ... from`.
  for (const { name, node } of localExports) {
    const from = refs.find((r) => r.kind === 'import' && r.bindings.includes(name));
    if (from) {
      const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
      refs.push({ spec: from.spec, kind: 're-export', typeOnly: from.typeOnly, bindings: [], line: line + 1, via: name });
    }
  }
  return refs;
}

/**
 * Cycles among one folder's modules, as lists of files (first = last). Tarjan's strongly
 * connected components, then one concrete cycle through each component.
 */
function findCycles(nodes, edges) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const components = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (edges.get(v) ?? new Set()).has(v)) components.push(comp);
    }
  };
  for (const v of nodes) if (!idx.has(v)) strong(v);
  return components.map((comp) => {
    const inComp = new Set(comp);
    const start = [...comp].sort()[0];
    // Shortest way back to the start, breadth first, so the message shows a short loop.
    const prev = new Map([[start, null]]);
    const queue = [start];
    let last;
    while (queue.length && !last) {
      const v = queue.shift();
      for (const w of [...(edges.get(v) ?? [])].sort()) {
        if (!inComp.has(w)) continue;
        if (w === start) {
          last = v;
          break;
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [start];
    for (let v = last; v !== start; v = prev.get(v)) path.splice(1, 0, v);
    path.push(start);
    return { path, size: comp.length };
  });
}

/** All layering problems of the project at `root` (the folder holding src/), one message each. */
export function checkLayers(root) {
  const src = join(root, 'src');
  const rel = (p) => relative(root, p).split(sep).join('/');
  const folderOf = (file) => {
    const parts = relative(src, file).split(sep);
    return parts.length > 1 ? parts[0] : undefined;
  };
  const problems = [];
  const files = walk(src);
  const seenFolders = new Set();
  // Within one folder: module -> modules it needs when it is evaluated.
  const edges = new Map();

  for (const file of files) {
    const from = folderOf(file);
    if (from === undefined) {
      problems.push(`${rel(file)}: a module directly in src/ belongs to no folder; put it in the folder that owns it`);
      continue;
    }
    if (!(from in ALLOWED)) {
      if (!seenFolders.has(from)) problems.push(`${rel(join(src, from))}/: folder '${from}' has no layering rule in scripts/check-layers.js`);
      seenFolders.add(from);
      continue;
    }
    const allowed = ALLOWED[from];
    const isIndex = file === join(src, from, 'index.ts');
    for (const ref of readImports(file)) {
      if (!ref.spec.startsWith('.')) continue; // node: built-ins and packages
      const target = resolveSpecifier(file, ref.spec);
      if (!target.startsWith(src + sep)) continue;
      const to = folderOf(target);
      const at = `${rel(file)}:${ref.line}: ${ref.kind} '${ref.spec}'${ref.via ? ` (export { ${ref.via} })` : ''}`;
      if (to === from) {
        // Type-only references are erased by tsc and cannot make modules wait on each other at
        // load time; what a cycle costs is evaluation order (a module seeing another's exports
        // still uninitialised), so only references that survive compilation count. A dynamic
        // import() does count: deferring a dependency hides the loop from the loader, not from
        // the reader. (An `import { T }` used only as a type counts too: write `import type`.)
        if (!ref.typeOnly && target !== file) {
          if (!edges.has(file)) edges.set(file, new Set());
          edges.get(file).add(target);
        } else if (!ref.typeOnly) problems.push(`${at}: a module imports itself`);
        continue;
      }
      if (to === undefined) {
        problems.push(`${at}: imports a module directly in src/, which belongs to no folder`);
        continue;
      }
      if (allowed !== null && !allowed.includes(to)) {
        const may = allowed.length ? allowed.join(', ') : 'nothing in src/';
        problems.push(`${at}: '${from}' may not import '${to}' (it may import ${may})`);
      }
      if (isIndex && ref.kind === 're-export') {
        problems.push(`${at}: ${from}/index.ts may re-export only ${from}/'s own modules, not '${to}'`);
      }
      // Tests too: a test that reaches into another folder pins that folder's internals, and
      // breaks when they move although the public API did not change.
      if (target !== join(src, to, 'index.ts')) {
        problems.push(`${at}: reaches inside '${to}'; import ${to}/index.ts, which exports the folder's public API`);
      }
    }
  }

  const byFolder = new Map();
  for (const file of edges.keys()) {
    const f = folderOf(file);
    if (!byFolder.has(f)) byFolder.set(f, []);
    byFolder.get(f).push(file);
  }
  for (const [, nodes] of [...byFolder].sort()) {
    for (const { path, size } of findCycles(nodes.sort(), edges)) {
      const more = size > path.length - 1 ? ` (${size} modules in this cycle)` : '';
      problems.push(`${rel(path[0])}: import cycle ${path.map(rel).join(' -> ')}${more}: modules of one folder must not import each other in a loop`);
    }
  }
  return problems;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const root = resolve(process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url)));
  const problems = checkLayers(root);
  if (problems.length) {
    console.error(problems.join('\n'));
    console.error(`layering: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
    process.exit(1);
  }
  console.log('layering: ok');
}
