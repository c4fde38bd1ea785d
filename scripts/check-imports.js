#!/usr/bin/env node
/**
 * The layering rules of docs/architecture.md, checked on the source (`npm run check:imports`):
 *
 * - no import cycles, type-only imports included;
 * - `domain/` imports only `domain/` (and Node's built-ins): pure rules, no I/O layers;
 * - `api/` imports only `api/` (and packages): the wire contract stands alone;
 * - `client/` imports only `client/` and `api/` (and packages): the published client carries none
 *   of the server.
 *
 *   node scripts/check-imports.js [ROOT]     (ROOT defaults to src)
 *
 * Written here rather than taken from madge or dependency-cruiser: TypeScript's own
 * `preProcessFile` already lists every import (type-only and dynamic ones too), and the rules are
 * four lines of data; a tool would bring a dependency tree for what is one graph walk.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** What each top-level folder may import, besides itself; `packages`: npm packages allowed. */
const RULES = {
  domain: { folders: [], packages: false },
  api: { folders: [], packages: true },
  client: { folders: ['api'], packages: true },
};

function sourceFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The file a relative specifier names: `./x.js` is `./x.ts` in the source tree. */
function resolveSpecifier(from, specifier, known) {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.mjs$/, '.mts'),
    base,
    `${base}.ts`,
    join(base, 'index.ts'),
  ])
    if (known.has(candidate)) return candidate;
  return undefined;
}

/** The top-level folder of a file under root (`domain`, `http`...), or '' for a root file. */
function layerOf(root, file) {
  const parts = relative(root, file).split(sep);
  return parts.length > 1 ? parts[0] : '';
}

/** Strongly connected components of more than one file, or one file importing itself (Tarjan). */
function cycles(graph) {
  let index = 0;
  const stack = [];
  const onStack = new Set();
  const indexOf = new Map();
  const low = new Map();
  const found = [];
  const visit = (v) => {
    indexOf.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), indexOf.get(w)));
    }
    if (low.get(v) === indexOf.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? new Set()).has(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indexOf.has(v)) visit(v);
  return found;
}

/** Whether `specifier` is imported by an import or export statement, not only by import(). */
function isStatic(source, specifier) {
  const quoted = `['"]${specifier.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}['"]`;
  return new RegExp(
    `(^|\\n)\\s*(import|export)\\s[^;()]*?from\\s*${quoted}|(^|\\n)\\s*import\\s*${quoted}`,
  ).test(source);
}

export function checkImports(rootDir) {
  const root = resolve(rootDir);
  const files = sourceFiles(root);
  const known = new Set(files);
  const graph = new Map();
  const problems = [];
  for (const file of files) {
    const edges = new Set();
    graph.set(file, edges);
    const source = readFileSync(file, 'utf8');
    const { importedFiles } = ts.preProcessFile(source, true, true);
    const layer = layerOf(root, file);
    const rule = RULES[layer];
    for (const { fileName: specifier } of importedFiles) {
      const where = `${relative(process.cwd(), file)} imports '${specifier}'`;
      if (specifier.startsWith('.')) {
        const target = resolveSpecifier(file, specifier, known);
        if (target === undefined) {
          if (resolve(dirname(file), specifier).startsWith(root + sep) || !rule) continue;
          problems.push(
            `${where}: outside ${relative(process.cwd(), root)}/, which ${layer}/ may not import`,
          );
          continue;
        }
        edges.add(target);
        const targetLayer = layerOf(root, target);
        if (rule && targetLayer !== layer && !rule.folders.includes(targetLayer))
          problems.push(
            `${where}: ${layer}/ may import only ${[layer, ...rule.folders].map((f) => `${f}/`).join(' and ')}`,
          );
      } else if (rule && !specifier.startsWith('node:') && !rule.packages)
        problems.push(`${where}: ${layer}/ imports no packages`);
      else if (rule && specifier.startsWith('node:') && layer !== 'domain' && isStatic(source, specifier))
        // A dynamic import() runs only on the path that asks for it (a file on Node), so it may stay.
        problems.push(`${where}: ${layer}/ runs in browsers too, so it imports no Node built-ins statically`);
    }
  }
  for (const component of cycles(graph))
    problems.push(`import cycle: ${component.map((f) => relative(process.cwd(), f)).join(' -> ')}`);
  return { files: files.length, problems };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = process.argv[2] ?? 'src';
  const { files, problems } = checkImports(root);
  for (const problem of problems) process.stderr.write(`${problem}\n`);
  if (problems.length > 0) {
    process.stderr.write(`check:imports: ${problems.length} problem(s) in ${files} files under ${root}/\n`);
    process.exit(1);
  }
  process.stdout.write(`check:imports: ${files} files under ${root}/, no cycles, layers respected\n`);
}
