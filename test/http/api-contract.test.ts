import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import ts from 'typescript';
import { ROOT } from '../helpers/process.js';

/*
 * src/http/api-contract.ts holds only types: it is "tested" by compiling it. Each case changes one
 * side of one list in memory (the files on disk are untouched) and expects that file to stop
 * compiling, naming the value that differs.
 */
const CHECKS = join(ROOT, 'src/http/api-contract.ts');
const { config } = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (path) => ts.sys.readFile(path));
const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT);

/** Parsed files, shared by the compilations: each parses and binds only the file it changes. */
const parsed = new Map<string, ts.SourceFile>();

/** The diagnostics of api-contract.ts (and of the program) with `edits` applied: file → [from, to]. */
function compile(edits: Record<string, [string, string]> = {}): { checks: string[]; all: number } {
  const host = ts.createCompilerHost({ ...options, noEmit: true });
  const getSourceFile = host.getSourceFile.bind(host);
  const changed = new Set<string>();
  host.getSourceFile = (path, language, onError) => {
    const edit = Object.entries(edits).find(([file]) => join(ROOT, file) === path)?.[1];
    if (edit === undefined) {
      const file = parsed.get(path) ?? getSourceFile(path, language, onError);
      if (file !== undefined) parsed.set(path, file);
      return file;
    }
    const text = readFileSync(path, 'utf8');
    assert.ok(text.includes(edit[0]), `${path} no longer holds ${edit[0]}`);
    changed.add(path);
    return ts.createSourceFile(path, text.replace(edit[0], edit[1]), language);
  };
  const program = ts.createProgram([CHECKS], { ...options, noEmit: true }, host);
  assert.equal(changed.size, Object.keys(edits).length, 'every edit was applied');
  // Only this file is checked (the rest of the program is, as far as its types need): the whole
  // program once, with nothing changed.
  const file = program.getSourceFile(CHECKS);
  const diagnostics =
    Object.keys(edits).length === 0
      ? ts.getPreEmitDiagnostics(program)
      : [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
  return {
    checks: diagnostics
      .filter((d) => d.file?.fileName === CHECKS)
      .map((d) => `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`),
    all: diagnostics.length,
  };
}

function assertRefused(
  edits: Record<string, [string, string]>,
  value: string,
  side: 'onlyInDomain' | 'onlyInApi',
) {
  const { checks } = compile(edits);
  assert.equal(checks.length, 1, checks.join('\n'));
  assert.match(checks[0]!, /^TS2344: /);
  assert.ok(checks[0]!.includes(`${side}: ${value}`), checks[0]);
}

describe('the wire contract and the domain hold the same values (src/http/api-contract.ts)', () => {
  test('as they are, everything compiles', () => {
    assert.deepEqual(compile(), { checks: [], all: 0 });
    // The file is where the checks are: it must stay in the build.
    assert.match(readFileSync(CHECKS, 'utf8'), /export type ContractChecks/);
  });

  test('an error code in the domain table that the API does not publish', () => {
    assertRefused(
      { 'src/domain/errors.ts': ['  SHUTTING_DOWN: 503,', '  SHUTTING_DOWN: 503,\n  NEW_CODE: 409,'] },
      '"NEW_CODE"',
      'onlyInDomain',
    );
  });

  test('a problem code the API publishes with no status in the error table', () => {
    assertRefused(
      { 'src/api/common-schemas.ts': ["  'SHUTTING_DOWN',", "  'SHUTTING_DOWN',\n  'NEW_CODE',"] },
      '"NEW_CODE"',
      'onlyInApi',
    );
  });

  test('an event type on one side only', () => {
    assertRefused(
      { 'src/domain/events.ts': ["  'ping',", "  'ping',\n  'license.renamed',"] },
      '"license.renamed"',
      'onlyInDomain',
    );
    assertRefused({ 'src/api/event-schemas.ts': ["  'ping',\n", ''] }, '"ping"', 'onlyInDomain');
  });

  test('a key refusal code on one side only', () => {
    assertRefused(
      {
        'src/api/license-schemas.ts': [
          "  'LICENSE_HARD_DELETED',\n] as const",
          "  'LICENSE_HARD_DELETED',\n  'LICENSE_NOT_FOUND',\n] as const",
        ],
      },
      '"LICENSE_NOT_FOUND"',
      'onlyInApi',
    );
  });

  test('a limit that differs', () => {
    assertRefused(
      { 'src/domain/user-bulk.ts': ['MAX_INACTIVE_DAYS = 3650;', 'MAX_INACTIVE_DAYS = 3651;'] },
      '3651',
      'onlyInDomain',
    );
    assertRefused(
      { 'src/api/user-schemas.ts': ['DISABLE_INACTIVE_LISTED = 100;', 'DISABLE_INACTIVE_LISTED = 50;'] },
      '50',
      'onlyInApi',
    );
    assertRefused(
      { 'src/api/webhook-schemas.ts': ['MAX_WEBHOOK_URL_LENGTH = 2048;', 'MAX_WEBHOOK_URL_LENGTH = 4096;'] },
      '4096',
      'onlyInApi',
    );
  });

  test('a value a schema spells out that the domain never produces', () => {
    assertRefused(
      {
        'src/api/license-schemas.ts': [
          "      Type.Literal('deleted'),\n",
          "      Type.Literal('deleted'),\n      Type.Literal('archived'),\n",
        ],
      },
      '"archived"',
      'onlyInApi',
    );
    assertRefused(
      {
        'src/api/user-schemas.ts': [
          "Type.Literal('policyOwner')]",
          "Type.Literal('policyOwner'), Type.Literal('auditor')]",
        ],
      },
      '"auditor"',
      'onlyInApi',
    );
    assertRefused(
      { 'src/domain/seat-policy.ts': ["'refuse' | 'queue'", "'refuse' | 'queue' | 'wait'"] },
      '"wait"',
      'onlyInDomain',
    );
  });

  test("the Problem example's status differs from its code's in the error table", () => {
    assertRefused(
      { 'src/api/common-schemas.ts': ['  status: 400,\n', '  status: 404,\n'] },
      '400',
      'onlyInDomain',
    );
  });
});
