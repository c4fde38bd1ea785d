/**
 * Disabling inactive users keeps its memory bounded however many users it takes: it loads, decides
 * and writes DISABLE_INACTIVE_CHUNK users at a time and keeps only the first ones it names
 * (docs/users.md#disabling-inactive-users). Each store sweeps its users in a child process whose
 * heap is too small to hold them all at once: holding every user, its plan and its audit entry,
 * 100,000 users took 633 MB (SQLite) and 50,000 about 300 MB (PostgreSQL), and the child runs out
 * of memory.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { postgresSkipReason, TEST_DATABASE_URL, withSchema, withTestClient } from '../helpers/postgres.js';
import { childEnv, ROOT, tempDir } from '../helpers/process.js';

const skip = await postgresSkipReason();

/** The child's V8 heap limit: enough for a store and a chunk, not for every user at once. */
const HEAP_MB = 48;
const NOW = '2026-06-01T00:00:00.000Z';
/** Every user was last active then: all of them are inactive for 90 days at NOW. */
const LONG_AGO = '2020-01-01T00:00:00.000Z';
const INSERT_USERS = `INSERT INTO users (iamid, userid, created_at, last_activity_at, identity_key, search_text)`;

/**
 * Sweeps in a child with a small heap; resolves with what it printed. The child runs the built
 * store in dist/ (`npm test` builds it first; run `npm run build` before running this file alone).
 */
function sweepInSmallHeap(open: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const store = (path: string): string => pathToFileURL(join(ROOT, 'dist/store', path)).href;
  const script = `
    const { SqliteStore } = await import(${JSON.stringify(store('sqlite/sqlite-store.js'))});
    const { PostgresStore } = await import(${JSON.stringify(store('postgres/postgres-store.js'))});
    const store = await ${open};
    const now = new Date(${JSON.stringify(NOW)});
    const actor = { tokenId: 1, tokenName: 'sweep', clientAddress: '127.0.0.1' };
    const done = await store.disableInactiveUsers(90, { clock: { now: () => now }, actor }, { dryRun: false });
    await store.close();
    console.log(JSON.stringify({ count: done.count, listed: done.users.length, seatsFreed: done.seatsFreed }));
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [`--max-old-space-size=${HEAP_MB}`, '--input-type=module', '-e', script],
      // A sweep that hangs is killed and fails the test rather than holding up the suite.
      { cwd: ROOT, env: childEnv({}), timeout: 180_000 },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function assertSwept(result: { code: number | null; stdout: string; stderr: string }, users: number): void {
  assert.equal(result.code, 0, `the sweep's process failed:\n${result.stderr.slice(-2000)}`);
  assert.deepEqual(JSON.parse(result.stdout.trim()), { count: users, listed: 100, seatsFreed: 0 });
}

describe(`disabling inactive users in a ${HEAP_MB} MB heap`, () => {
  it('SQLite: 100,000 users, every one disabled and audited', async (t) => {
    const users = 100_000;
    const file = join(tempDir(t), 'licensor.db');
    await SqliteStore.open({ filename: file }).close();
    const db = new Database(file);
    try {
      db.exec(`WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < ${users})
        ${INSERT_USERS} SELECT 'bim', 'u' || x, '${LONG_AGO}', '${LONG_AGO}', 'bim:u' || x, '' FROM g`);
    } finally {
      db.close();
    }
    assertSwept(await sweepInSmallHeap(`SqliteStore.open({ filename: ${JSON.stringify(file)} })`), users);
    const after = new Database(file, { readonly: true });
    try {
      const count = (sql: string): unknown => (after.prepare(sql).get() as { n: unknown }).n;
      assert.equal(count('SELECT count(*) AS n FROM users WHERE disabled = 0'), 0);
      assert.equal(
        count(`SELECT count(*) AS n FROM audit_events WHERE action = 'user.disable-inactive'`),
        users,
      );
    } finally {
      after.close();
    }
  });

  it('PostgreSQL: 50,000 users, every one disabled and audited', { skip: skip ?? false }, () =>
    withSchema(async (schema) => {
      const users = 50_000;
      await (await PostgresStore.open({ url: TEST_DATABASE_URL, schema })).close();
      await withTestClient(async (c) => {
        await c.query(`SET search_path = ${schema}`);
        await c.query(
          `${INSERT_USERS} SELECT 'bim', 'u' || g, '${LONG_AGO}', '${LONG_AGO}', 'bim:u' || g, ''
             FROM generate_series(1, ${users}) AS g`,
        );
      });
      const open = `PostgresStore.open(${JSON.stringify({ url: TEST_DATABASE_URL, schema })})`;
      assertSwept(await sweepInSmallHeap(open), users);
      await withTestClient(async (c) => {
        await c.query(`SET search_path = ${schema}`);
        const count = async (sql: string): Promise<number> => Number((await c.query(sql)).rows[0].n);
        assert.equal(await count('SELECT count(*) AS n FROM users WHERE NOT disabled'), 0);
        assert.equal(
          await count(`SELECT count(*) AS n FROM audit_events WHERE action = 'user.disable-inactive'`),
          users,
        );
      });
    }),
  );
});
