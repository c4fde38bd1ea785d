import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { inTransaction } from '../../src/store/postgres/postgres-connection.js';
import {
  migrate as migratePostgres,
  type Migration as PgMigration,
} from '../../src/store/postgres/postgres-migrations.js';
import {
  migrate as migrateSqlite,
  type Migration as SqliteMigration,
} from '../../src/store/sqlite/sqlite-migrations.js';
import { postgresSkipReason, TEST_DATABASE_URL, withSchema } from '../helpers/postgres.js';

/**
 * The one migration runner (src/store/migrations.ts) through each dialect, on a real database,
 * with migration lists of the test's own: every version not applied yet runs, in list order, and
 * a failing one leaves the database as it was.
 */
interface Dialect {
  /** Runs `versions` of the test's list (each creates table t<version> and logs its version). */
  migrate(versions: number[], failing?: number): Promise<void>;
  /** Tables t<n> that exist, the versions recorded, and the order migrations logged. */
  state(): Promise<{ tables: number[]; recorded: number[]; log: number[] }>;
}

const step = (v: number): string => `CREATE TABLE t${v} (id INTEGER); INSERT INTO log (v) VALUES (${v});`;

function runnerCases(
  name: string,
  skip: string | undefined,
  withDialect: (fn: (d: Dialect) => Promise<void>) => Promise<void>,
): void {
  describe(`migration runner: ${name}`, { skip }, () => {
    it('applies a version that arrives after a higher one was applied, and each version once', () =>
      withDialect(async (d) => {
        await d.migrate([1, 3]);
        await d.migrate([1, 2, 3, 4]);
        await d.migrate([1, 2, 3, 4]);
        assert.deepEqual(await d.state(), {
          tables: [1, 2, 3, 4],
          recorded: [1, 2, 3, 4],
          log: [1, 3, 2, 4],
        });
      }));

    it('a failing migration leaves the database as it was, the versions before it included', () =>
      withDialect(async (d) => {
        await d.migrate([1]);
        await assert.rejects(d.migrate([1, 2, 3], 3));
        assert.deepEqual(await d.state(), { tables: [1], recorded: [1], log: [1] });
      }));
  });
}

runnerCases('SQLite', undefined, async (fn) => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE log (seq INTEGER PRIMARY KEY AUTOINCREMENT, v INTEGER)');
  const list = (versions: number[], failing?: number): SqliteMigration[] =>
    versions.map((v) => ({
      version: v,
      name: `t${v}`,
      sql: step(v),
      run: () => {
        if (v === failing) throw new Error(`migration ${v} fails`);
      },
    }));
  try {
    await fn({
      // async: a failure is a rejection, as PostgreSQL's.
      migrate: async (versions, failing) => migrateSqlite(db, list(versions, failing)),
      state: () => {
        const col = (query: string): number[] =>
          db
            .prepare<[], { n: number }>(query)
            .all()
            .map((r) => r.n);
        return Promise.resolve({
          tables: col(
            "SELECT CAST(substr(name, 2) AS INTEGER) AS n FROM sqlite_master WHERE type = 'table' AND name GLOB 't[0-9]*' ORDER BY n",
          ),
          recorded: col('SELECT version AS n FROM schema_migrations ORDER BY version'),
          log: col('SELECT v AS n FROM log ORDER BY seq'),
        });
      },
    });
  } finally {
    db.close();
  }
});

runnerCases('PostgreSQL', await postgresSkipReason(), (fn) =>
  withSchema(async (schema) => {
    const pool = new pg.Pool({
      connectionString: TEST_DATABASE_URL,
      options: `-c search_path=${pg.escapeIdentifier(schema)}`,
      max: 2,
    });
    const list = (versions: number[], failing?: number): PgMigration[] =>
      versions.map((v) => ({
        version: v,
        name: `t${v}`,
        sql: step(v),
        run: () => (v === failing ? Promise.reject(new Error(`migration ${v} fails`)) : Promise.resolve()),
      }));
    try {
      await inTransaction(pool, async (c) => {
        await c.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
        await c.query('CREATE TABLE log (seq INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v INTEGER)');
      });
      await fn({
        migrate: (versions, failing) =>
          inTransaction(pool, (c) => migratePostgres(c, schema, list(versions, failing))),
        state: async () => {
          const col = async (query: string): Promise<number[]> =>
            (await pool.query<{ n: number }>(query)).rows.map((r) => Number(r.n));
          return {
            tables: await col(
              `SELECT substr(table_name, 2)::integer AS n FROM information_schema.tables
               WHERE table_schema = current_schema() AND table_name ~ '^t[0-9]+$' ORDER BY n`,
            ),
            recorded: await col('SELECT version AS n FROM schema_migrations ORDER BY version'),
            log: await col('SELECT v AS n FROM log ORDER BY seq'),
          };
        },
      });
    } finally {
      await pool.end();
    }
  }),
);
