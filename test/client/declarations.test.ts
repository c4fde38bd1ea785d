import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { ROOT, tempDir } from '../helpers/process.js';

/*
 * What a user of licensor/client compiles against: the .d.ts files `npm run build` writes to
 * dist/client (`npm test` builds first). They may reach dist/api (the wire contract) and the
 * package's own dependencies, nothing else of the server: no dist/http, dist/domain...
 */

interface Reach {
  /** Declaration files the client's types pull in from outside dist/client and dist/api. */
  outside: string[];
  /** Packages they pull in. */
  packages: string[];
  /** What does not compile in them, e.g. an import that does not resolve. */
  errors: string[];
}

/** Every file the .d.ts files of `dist/client` under `root` reach, as a consumer's compiler sees them. */
function reach(root: string): Reach {
  const clientDir = join(root, 'dist/client');
  const roots = readdirSync(clientDir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.d.ts'))
    .map((f) => join(clientDir, f));
  assert.ok(roots.length > 0, `no .d.ts files in ${clientDir}`);
  const program = ts.createProgram(roots, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    // A browser bundle's view: no @types/node unless a file asks for it.
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
    types: [],
    strict: true,
    noEmit: true,
    skipDefaultLibCheck: true,
  });
  const inside = (file: string, dir: string) => file.startsWith(join(root, 'dist', dir) + sep);
  const outside: string[] = [];
  const packages = new Set<string>();
  const errors: string[] = [];
  for (const file of program.getSourceFiles()) {
    if (program.isSourceFileDefaultLibrary(file)) continue;
    const path = file.fileName;
    const inPackage = /[/\\]node_modules[/\\]((?:@[^/\\]+[/\\])?[^/\\]+)/.exec(path);
    if (inPackage) packages.add(inPackage[1]!.replace('\\', '/'));
    else if (inside(path, 'client') || inside(path, 'api'))
      for (const d of [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)])
        errors.push(
          `${relative(root, path)}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
        );
    else outside.push(relative(root, path));
  }
  return { outside, packages: [...packages].sort(), errors };
}

test("licensor/client's declarations reach only dist/client, dist/api and the package's dependencies", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const { outside, packages, errors } = reach(ROOT);
  assert.deepEqual(outside, []);
  assert.deepEqual(errors, []);
  // typebox, for Static<>; a devDependency would be missing from a user's install.
  assert.ok(packages.includes('typebox'), packages.join(', '));
  for (const name of packages) assert.ok(name in pkg.dependencies, `${name} is not a dependency`);
});

test('the check sees an import of the server, and one that does not resolve', (t) => {
  const root = tempDir(t, 'licensor-dts-');
  const files = {
    'dist/client/index.d.ts':
      "export type { Problem } from './types.js';\nexport type { Missing } from './missing.js';\n",
    'dist/client/types.d.ts':
      "import type { ProblemCode } from '../api/common-schemas.js';\nimport type { LicensorError } from '../domain/errors.js';\nexport interface Problem { code: ProblemCode; error: LicensorError }\n",
    'dist/api/common-schemas.d.ts': "export type ProblemCode = 'INTERNAL_ERROR';\n",
    'dist/domain/errors.d.ts': 'export declare class LicensorError extends Error {}\n',
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const { outside, errors } = reach(root);
  assert.deepEqual(outside, [join('dist', 'domain', 'errors.d.ts')]);
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0]!, /index\.d\.ts: TS2307 /);
});
