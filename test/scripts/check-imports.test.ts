import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
// @ts-expect-error: a plain ES module script, no declarations
import { checkImports } from '../../scripts/check-imports.js';

const check = checkImports as (root: string) => { files: number; problems: string[] };

/** A throwaway source tree: path → contents. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'licensor-imports-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('check:imports', () => {
  const clean = {
    'domain/rules.ts': "import { x } from './errors.js';\nimport { createHash } from 'node:crypto';\n",
    'domain/errors.ts': 'export const x = 1;\n',
    'api/schemas.ts': "import Type from 'typebox';\n",
    'client/client.ts': "import type { S } from '../api/schemas.js';\n",
    'http/app.ts': "import { x } from '../domain/rules.js';\nimport type { C } from './app-context.js';\n",
    'http/app-context.ts': "import type { Store } from '../store/store.js';\n",
    'http/routes/a.ts': "import type { C } from '../app-context.js';\n",
    'store/store.ts': "import type { R } from '../domain/rules.js';\n",
  };

  test('a tree that keeps the rules passes', (t) => {
    const root = tree(clean);
    t.after(() => rmSync(root, { recursive: true, force: true }));
    assert.deepEqual(check(root).problems, []);
  });

  test('a cycle is found, type-only imports included', (t) => {
    const root = tree({ ...clean, 'http/app-context.ts': "import type { A } from './routes/a.js';\n" });
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const { problems } = check(root);
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, /^import cycle: .*app-context\.ts -> .*routes\/a\.ts$/);
  });

  test('domain importing outside itself, or a package, is refused', (t) => {
    const root = tree({
      ...clean,
      'domain/rules.ts': "import type { C } from '../cli/main.js';\nimport Type from 'typebox';\n",
      'cli/main.ts': 'export const main = 1;\n',
    });
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const { problems } = check(root);
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0]!, /domain\/ may import only domain\//);
    assert.match(problems[1]!, /domain\/ imports no packages/);
  });

  test('the client importing the server, or a Node built-in, is refused', (t) => {
    const root = tree({
      ...clean,
      'client/client.ts': "import { x } from '../domain/errors.js';\nimport { readFile } from 'node:fs';\n",
    });
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const { problems } = check(root);
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0]!, /client\/ may import only client\/ and api\//);
    assert.match(problems[1]!, /imports no Node built-ins/);
  });

  test('the client may load a Node built-in with import() on the path that needs it', (t) => {
    const root = tree({
      ...clean,
      'client/client.ts':
        "import type { S } from '../api/schemas.js';\nexport async function read() {\n  const { readFile } = await import('node:fs/promises');\n  return readFile;\n}\n",
    });
    t.after(() => rmSync(root, { recursive: true, force: true }));
    assert.deepEqual(check(root).problems, []);
  });

  test("the repository's own src/ keeps the rules", () => {
    const { files, problems } = check('src');
    assert.deepEqual(problems, []);
    assert.ok(files > 100, `only ${files} files seen under src/`);
  });

  test('the command exits 1 on a problem and 0 on a clean tree', (t) => {
    const bad = tree({ ...clean, 'store/store.ts': "import type { C } from '../http/app.js';\n" });
    const good = tree(clean);
    t.after(() => {
      rmSync(bad, { recursive: true, force: true });
      rmSync(good, { recursive: true, force: true });
    });
    execFileSync(process.execPath, ['scripts/check-imports.js', good], { stdio: 'pipe' });
    assert.throws(
      () => execFileSync(process.execPath, ['scripts/check-imports.js', bad], { stdio: 'pipe' }),
      (err: { status?: number; stderr?: Buffer }) =>
        err.status === 1 && /import cycle/.test(String(err.stderr)),
    );
  });
});
