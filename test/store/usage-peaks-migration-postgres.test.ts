import { describe } from 'node:test';
import pg, { type PoolClient } from 'pg';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/postgres-migrations.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import {
  dropSchema,
  postgresSkipReason,
  TEST_DATABASE_URL,
  uniqueSchemaName,
  withTestClient,
} from '../helpers/postgres.js';
import { usagePeaksMigrationCases, type LegacyDay, type V8Database } from './usage-peaks-migration.case.js';

const skip = await postgresSkipReason();

/** A schema as Licensor at version 8 left it, with `days` of usage history. */
async function buildV8(days: LegacyDay[]): Promise<V8Database> {
  const schema = uniqueSchemaName();
  const q = pg.escapeIdentifier(schema);
  await withTestClient(async (c) => {
    await c.query(`CREATE SCHEMA ${q}`);
    await c.query(`SET search_path = ${q}`);
    await c.query(`CREATE TABLE schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    for (const m of POSTGRES_MIGRATIONS.filter((m) => m.version <= 8)) {
      await c.query(m.sql);
      // A migration's step only queries, which a plain client does as a pooled one would.
      await m.run?.(c as unknown as PoolClient);
      await c.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    }
    for (const d of days)
      await c.query(
        'INSERT INTO usage_daily (day, peak_active_users, license_seats, hard_seats) VALUES ($1, $2, $3, $4)',
        [d.day, d.peakActiveUsers, d.licenseSeats, d.hardSeats],
      );
  });
  return {
    open: () => PostgresStore.open({ url: TEST_DATABASE_URL, schema, poolMax: 2, activityWindowDays: 30 }),
    version: () =>
      withTestClient(async (c) => {
        await c.query(`SET search_path = ${q}`);
        return (await c.query<{ v: number }>('SELECT max(version) AS v FROM schema_migrations')).rows[0]!.v;
      }),
    drop: () => dropSchema(schema),
  };
}

describe('PostgresStore', { skip: skip ?? false }, () => {
  usagePeaksMigrationCases('PostgresStore', buildV8);
});
