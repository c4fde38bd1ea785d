import pg from 'pg';
import { describe } from 'node:test';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/postgres-migrations.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import {
  dropSchema,
  postgresSkipReason,
  TEST_DATABASE_URL,
  uniqueSchemaName,
  withTestClient,
} from '../helpers/postgres.js';
import {
  identityMigrationCases,
  type LegacyUser,
  type StoredIdentity,
  type V3Database,
} from './identity-migration.case.js';

const skip = await postgresSkipReason();
const LAST_ACTIVITY = '2026-05-31T12:00:00.000Z';

/** A schema as Licensor at version 3 left it: users written after migration 1, as they were then. */
async function buildV3(users: LegacyUser[]): Promise<V3Database> {
  const schema = uniqueSchemaName();
  const q = pg.escapeIdentifier(schema);
  await withTestClient(async (c) => {
    await c.query(`CREATE SCHEMA ${q}`);
    await c.query(`SET search_path = ${q}`);
    await c.query(`CREATE TABLE schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const apply = async (index: number): Promise<void> => {
      const m = POSTGRES_MIGRATIONS[index]!;
      await c.query(m.sql);
      await c.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    };
    await apply(0);
    for (const u of users)
      await c.query(
        `INSERT INTO users (iamid, userid, name, email, created_at, last_activity_at, disabled)
         VALUES ($1, $2, $3, $4, '2026-01-01T00:00:00.000Z', $5, $6)`,
        [u.iamid, u.userid, u.name ?? null, u.email ?? null, LAST_ACTIVITY, u.disabled ?? false],
      );
    await apply(1);
    await apply(2);
  });
  const inSchema = <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> =>
    withTestClient(async (c) => {
      await c.query(`SET search_path = ${q}`);
      return fn(c);
    });
  return {
    open: () => PostgresStore.open({ url: TEST_DATABASE_URL, schema, poolMax: 2, activityWindowDays: 30 }),
    exec: async (sql) => {
      await inSchema((c) => c.query(sql));
    },
    version: () =>
      inSchema(
        async (c) =>
          (await c.query<{ v: number }>('SELECT max(version) AS v FROM schema_migrations')).rows[0]!.v,
      ),
    users: () =>
      inSchema(async (c) => {
        const { rows: columns } = await c.query(
          `SELECT 1 FROM information_schema.columns
           WHERE table_schema = $1 AND table_name = 'users' AND column_name = 'identity_key'`,
          [schema],
        );
        const extra =
          columns.length > 0 ? 'identity_key, search_text' : 'NULL AS identity_key, NULL AS search_text';
        const { rows } = await c.query<StoredIdentity & { id: string }>(
          `SELECT id, iamid, userid, ${extra} FROM users ORDER BY id`,
        );
        return rows.map((row) => ({ ...row, id: Number(row.id) }));
      }),
    drop: () => dropSchema(schema),
  };
}

describe('PostgresStore', { skip: skip ?? false }, () => {
  identityMigrationCases('PostgresStore', buildV3);
});
