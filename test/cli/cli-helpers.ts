import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createIssuer, type TestIssuer } from '../helpers/issuer.js';
import {
  runCli,
  startServerProcess,
  tempDir,
  type CliResult,
  type ServerProcess,
} from '../helpers/process.js';

/**
 * Parsed JSON output: the tests check its fields at run time, against the API's own answer.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export const ADMIN = 'cli-test-admin-token-0123456789';

/** Every administrator command, with arguments that pass the CLI's own checks. */
export const ADMIN_COMMANDS: string[][] = [
  ['add', 'eyJ.eyJ.sig'],
  ['list'],
  ['status'],
  ['delete', '1'],
  ['usage'],
  ['history'],
  ['users', 'list'],
  ['users', 'show', '1'],
  ['users', 'add', 'ada', '--iamid', 'okta'],
  ['users', 'disable', '1'],
  ['users', 'enable', '1'],
  ['users', 'remove', '1'],
  ['tokens', 'create', 'x', '--permission', 'USER_ADMIN'],
  ['tokens', 'list'],
  ['tokens', 'revoke', '1'],
  ['audit'],
  ['events'],
  ['webhooks', 'list'],
  ['webhooks', 'add', 'http://127.0.0.1:9/hook'],
  ['webhooks', 'remove', '1'],
  ['webhooks', 'test', '1'],
  ['webhooks', 'deliveries', '1'],
];

export interface Licensor {
  server: ServerProcess;
  url: string;
  dir: string;
  dataDir: string;
  issuer: TestIssuer;
  /** The environment for an administrator: LICENSOR_URL and LICENSOR_TOKEN of this server. */
  env: Record<string, string>;
  /** Runs the real `licensor` binary as the administrator (extra env on top). */
  run(args: string[], options?: { env?: Record<string, string>; input?: string }): Promise<CliResult>;
}

/**
 * A real server process on a fresh data directory, trusting a test issuer, with an administrator
 * token (unless `adminToken: false`: then the server writes DATA_DIR/admin-token itself).
 */
export async function startLicensor(
  t: TestContext,
  options: { adminToken?: boolean } = {},
): Promise<Licensor> {
  const dir = tempDir(t, 'licensor-cli-');
  const dataDir = join(dir, 'data');
  const issuer = createIssuer();
  const pub = join(dir, 'issuer.pub');
  writeFileSync(pub, issuer.publicKey.export({ type: 'spki', format: 'pem' }));
  const server = await startServerProcess(t, {
    LICENSOR_DATA_DIR: dataDir,
    LICENSOR_TRUSTED_KEYS: pub,
    LICENSOR_LOG_LEVEL: 'warn',
    // These tests send dozens of bad tokens on purpose; the failure limiter would answer 429.
    LICENSOR_AUTH_FAILURE_LIMIT: 'off',
    ...(options.adminToken === false ? {} : { LICENSOR_ADMIN_TOKEN: ADMIN }),
  });
  const env = { LICENSOR_URL: server.url, LICENSOR_TOKEN: ADMIN, NO_COLOR: '1' };
  return {
    server,
    url: server.url,
    dir,
    dataDir,
    issuer,
    env,
    run: (args, runOptions = {}) =>
      runCli(args, {
        env: { ...env, ...runOptions.env },
        ...(runOptions.input !== undefined && { input: runOptions.input }),
      }),
  };
}

function show(res: CliResult): string {
  return `exit ${res.code}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`;
}

/** Nothing a person should not see: no stack trace, no internal error text. */
export function assertNoStack(res: CliResult): void {
  assert.ok(!res.stderr.includes('    at '), `a stack trace:\n${show(res)}`);
  assert.ok(!res.stderr.includes('node:internal'), `internals:\n${show(res)}`);
}

/** Exit 0, nothing on stderr. */
export function assertOk(res: CliResult): string {
  assert.equal(res.code, 0, show(res));
  assert.equal(res.stderr, '', show(res));
  // Not a terminal: never a colour (or any other escape sequence).
  assert.ok(!res.stdout.includes('\u001b'), `an escape sequence:\n${show(res)}`);
  return res.stdout;
}

/** Exit 0 with JSON on stdout; returns it parsed. */
export function okJson<T = Json>(res: CliResult): T {
  assertOk(res);
  try {
    return JSON.parse(res.stdout) as T;
  } catch {
    assert.fail(`stdout is not JSON:\n${show(res)}`);
  }
}

/** Exit 1 with `licensor: CODE: detail` on stderr and nothing on stdout. */
export function assertRefused(res: CliResult, code: string): void {
  assert.equal(res.code, 1, show(res));
  assert.match(res.stderr, new RegExp(`^licensor: ${code}: \\S`), show(res));
  assert.equal(res.stderr.trim().split('\n').length, 1, `one line:\n${show(res)}`);
  assert.equal(res.stdout, '', show(res));
  assertNoStack(res);
}

/** Exit 2, a message on stderr, nothing on stdout. */
export function assertUsage(res: CliResult, pattern?: RegExp): void {
  assert.equal(res.code, 2, show(res));
  assert.notEqual(res.stderr.trim(), '', show(res));
  if (pattern) assert.match(res.stderr, pattern, show(res));
  assert.equal(res.stdout, '', show(res));
  assertNoStack(res);
}

/** Adds a key through the API directly, for tests about other commands. */
export async function addKeyDirect(l: Licensor, claims: Record<string, unknown> = {}): Promise<Json> {
  const res = await fetch(`${l.url}/admin/license`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
    body: JSON.stringify({ licenseKey: l.issuer.issue(claims) }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
}

/** GET a route with the administrator token, to compare the CLI's --json with the API's own JSON. */
export async function apiGet(l: Licensor, path: string): Promise<Json> {
  const res = await fetch(`${l.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(res.status, 200, path);
  return res.json();
}
