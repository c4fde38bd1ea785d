import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  createSchema,
  dropSchema,
  TEST_DATABASE_URL,
  uniqueSchemaName,
} from '../../test/helpers/postgres.js';

export type StoreKind = 'sqlite' | 'postgres';

const DAY_S = 86_400;

/**
 * Who the seeded users are. User i (1-based) is, in order:
 * - one of `today` users active earlier today (the pool the activity scenario logs in again:
 *   the per-login call of a user already active today, one row update, as docs/seats.md says);
 * - one of `window` users active 1 to 364 days ago (spread over the window, ~10 a day);
 * - old: last active 366 to 1465 days ago, outside the 365-day window, so they hold no seat.
 * Every tenth user is a policy owner. The licenses then have plenty of free seats for seat claims.
 */
export interface SeedPlan {
  total: number;
  today: number;
  window: number;
  now: Date;
}

/** How far before `now` user i's last activity is, in seconds: a SQL expression over `i`. */
function backSecondsSql(plan: SeedPlan, least: 'min' | 'least'): string {
  const t = plan.today;
  const w = plan.today + plan.window;
  const sinceMidnightS = Math.floor((plan.now.getTime() % (DAY_S * 1000)) / 1000);
  return `CASE WHEN i <= ${t} THEN ${least}((i % 600) + 1, ${sinceMidnightS})
     WHEN i <= ${w} THEN (1 + i % 363) * ${DAY_S} + i % ${DAY_S}
     ELSE (366 + i % 1100) * ${DAY_S} + i % ${DAY_S} END`;
}

const CHUNK = 50_000;

/** The bench's own access to one database: bulk seeding, lookups and the raw-SQL license loop. */
export interface BenchDb {
  /** Inserts users in chunks inside one transaction; `progress` gets the rows written so far. */
  seedUsers(plan: SeedPlan, progress: (done: number) => void): Promise<void>;
  /** Rebuilds activity_counts from users with the migrations' backfill GROUP BY. */
  recountActivity(): Promise<void>;
  /** Writes daily usage rows (usage_daily) as the server records them, replacing any for those days. */
  seedUsageHistory(days: readonly UsageRow[]): Promise<void>;
  /** Ids of users active since `since`, lowest first. */
  activeUserIds(since: Date, limit: number): Promise<number[]>;
  counts(): Promise<{ users: number; counters: number; licenses: number }>;
  /** Opens what the in-process license loop writes with: one INSERT per key, its own transaction. */
  licenseWriter(): Promise<LicenseWriter>;
  close(): Promise<void>;
}

export interface UsageRow {
  day: string;
  peak: number;
  /** The day's peak of each user type; null as on a day recorded before migration 9. */
  byType: { dataConsumer: number; policyOwner: number } | null;
  licenseSeats: number;
  hardSeats: number;
}

export interface LicenseWriter {
  /** How many inserts may run at once (1: better-sqlite3 is synchronous). */
  concurrency: number;
  insert(row: { uuid: string; key: string; payload: string; hardDelete: boolean; at: string }): Promise<void>;
  close(): Promise<void>;
}

/** One database per dataset: a SQLite file in a temporary directory, or a fresh PostgreSQL schema. */
export interface Target {
  store: StoreKind;
  /** Environment of the Licensor server for this database. */
  serverEnv: Record<string, string>;
  /** Environment of the baseline server for this database. */
  baselineEnv: Record<string, string>;
  dir: string;
  open(): Promise<BenchDb>;
  dispose(): Promise<void>;
}

export function benchTmpRoot(): string {
  return process.env.BENCH_TMPDIR ?? tmpdir();
}

export async function createTarget(store: StoreKind): Promise<Target> {
  const dir = mkdtempSync(join(benchTmpRoot(), 'licensor-bench-'));
  if (store === 'sqlite') {
    const file = join(dir, 'licensor.sqlite');
    return {
      store,
      dir,
      serverEnv: { LICENSOR_DATA_DIR: dir },
      baselineEnv: { BENCH_BASELINE_SQLITE: file },
      open: async () => openSqlite(file),
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const schema = uniqueSchemaName('licensor_bench');
  await createSchema(schema);
  const url = withSearchPath(TEST_DATABASE_URL, schema);
  return {
    store,
    dir,
    serverEnv: { DATABASE_URL: url, LICENSOR_DATA_DIR: dir },
    baselineEnv: { BENCH_BASELINE_PG: url },
    open: async () => openPostgres(url),
    dispose: async () => {
      rmSync(dir, { recursive: true, force: true });
      await dropSchema(schema);
    },
  };
}

/** The URL with `options=-c search_path=<schema>`, as docs/deployment.md describes. */
export function withSearchPath(url: string, schema: string): string {
  const sep = url.includes('?') ? '&' : '?';
  return `${url}${sep}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

function openSqlite(file: string): BenchDb {
  const db = new Database(file, { timeout: 30_000 });
  db.pragma('journal_mode = WAL');
  return {
    seedUsers: async (plan, progress) => {
      // Bulk load: nothing is acknowledged to anyone, so no fsync per statement.
      db.pragma('synchronous = OFF');
      db.pragma('cache_size = -131072');
      const insert = db.prepare(
        `WITH RECURSIVE seq(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM seq WHERE i < ?),
           back(i, s) AS (SELECT i, ${backSecondsSql(plan, 'min')} FROM seq)
         INSERT INTO users (iamid, userid, name, email, user_type, created_at, last_activity_at, disabled,
                            identity_key, search_text)
         SELECT 'bench', 'seed-' || printf('%08d', i), 'Seed User ' || i, 'seed' || i || '@example.com',
                CASE WHEN i % 10 = 0 THEN 'policyOwner' ELSE 'dataConsumer' END,
                strftime('%Y-%m-%dT%H:%M:%fZ', ?, '-' || (s + 2592000) || ' seconds'),
                strftime('%Y-%m-%dT%H:%M:%fZ', ?, '-' || s || ' seconds'),
                0,
                -- What identityColumns() (src/domain/user-identity.ts) gives for these ASCII values.
                '["bench","seed-' || printf('%08d', i) || '"]',
                'seed-' || printf('%08d', i) || char(31) || 'seed user ' || i || char(31) || 'seed' || i || '@example.com'
         FROM back`,
      );
      const now = plan.now.toISOString();
      db.exec('BEGIN IMMEDIATE');
      try {
        for (let from = 1; from <= plan.total; from += CHUNK) {
          const to = Math.min(plan.total, from + CHUNK - 1);
          insert.run(from, to, now, now);
          progress(to);
          // Let the progress line reach the terminal between chunks.
          await new Promise((r) => setImmediate(r));
        }
        db.exec('COMMIT');
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
      db.pragma('synchronous = FULL');
    },
    seedUsageHistory: async (days) => {
      const insert = db.prepare(
        `INSERT OR REPLACE INTO usage_daily
           (day, peak_active_users, peak_data_consumers, peak_policy_owners, license_seats, hard_seats)
         VALUES (?, ?, ?, ?, ?, ?)`,
      );
      db.transaction(() => {
        for (const d of days)
          insert.run(
            d.day,
            d.peak,
            d.byType?.dataConsumer ?? null,
            d.byType?.policyOwner ?? null,
            d.licenseSeats,
            d.hardSeats,
          );
      }).immediate();
    },
    recountActivity: async () => {
      db.transaction(() => {
        db.exec('DELETE FROM activity_counts');
        // The backfill of migration 2, verbatim.
        db.exec(`INSERT INTO activity_counts (day, user_type, n)
          SELECT substr(last_activity_at, 1, 10), user_type, count(*) FROM users
          WHERE disabled = 0 AND last_activity_at IS NOT NULL GROUP BY 1, 2`);
      }).immediate();
      // Fold the bulk load into the database file, so the server does not read through a huge WAL.
      db.pragma('wal_checkpoint(TRUNCATE)');
    },
    activeUserIds: async (since, limit) =>
      db
        .prepare<[string, number], { id: number }>(
          'SELECT id FROM users WHERE disabled = 0 AND last_activity_at >= ? ORDER BY id LIMIT ?',
        )
        .all(since.toISOString(), limit)
        .map((r) => r.id),
    counts: async () => {
      const n = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
      return {
        users: n('SELECT count(*) AS n FROM users'),
        counters: n('SELECT coalesce(sum(n), 0) AS n FROM activity_counts'),
        licenses: n('SELECT count(*) AS n FROM licenses'),
      };
    },
    licenseWriter: async () => {
      const w = new Database(file, { timeout: 30_000 });
      // The store's own durability: a committed add survives a power cut.
      w.pragma('journal_mode = WAL');
      w.pragma('synchronous = FULL');
      const insert = w.prepare(
        'INSERT INTO licenses (uuid, license_key, payload, hard_delete, added_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      );
      const tx = w.transaction(
        (r: { uuid: string; key: string; payload: string; hardDelete: boolean; at: string }) =>
          insert.run(r.uuid, r.key, r.payload, r.hardDelete ? 1 : 0, r.at, r.at),
      );
      return {
        concurrency: 1,
        insert: async (row) => {
          tx.immediate(row);
        },
        close: async () => {
          w.close();
        },
      };
    },
    close: async () => {
      db.close();
    },
  };
}

function openPostgres(url: string): BenchDb {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => undefined);
  return {
    seedUsers: async (plan, progress) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        // Bulk load: nothing is acknowledged to anyone, so no wait for the WAL flush.
        await client.query('SET LOCAL synchronous_commit = off');
        const back = backSecondsSql(plan, 'least');
        for (let from = 1; from <= plan.total; from += CHUNK) {
          const to = Math.min(plan.total, from + CHUNK - 1);
          await client.query(
            `INSERT INTO users (iamid, userid, name, email, user_type, created_at, last_activity_at, disabled,
                                identity_key, search_text)
             SELECT 'bench', 'seed-' || lpad(i::text, 8, '0'), 'Seed User ' || i, 'seed' || i || '@example.com',
                    CASE WHEN i % 10 = 0 THEN 'policyOwner' ELSE 'dataConsumer' END,
                    $3::timestamptz - make_interval(secs => s + 2592000),
                    $3::timestamptz - make_interval(secs => s),
                    false,
                    -- What identityColumns() (src/domain/user-identity.ts) gives for these ASCII values.
                    '["bench","seed-' || lpad(i::text, 8, '0') || '"]',
                    'seed-' || lpad(i::text, 8, '0') || chr(31) || 'seed user ' || i || chr(31) || 'seed' || i || '@example.com'
             FROM generate_series($1::bigint, $2::bigint) AS g(i),
                  LATERAL (SELECT (${back})::double precision AS s) AS b`,
            [from, to, plan.now.toISOString()],
          );
          progress(to);
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    seedUsageHistory: async (days) => {
      await pool.query(
        `INSERT INTO usage_daily
           (day, peak_active_users, peak_data_consumers, peak_policy_owners, license_seats, hard_seats)
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
         ON CONFLICT (day) DO UPDATE SET peak_active_users = EXCLUDED.peak_active_users,
           peak_data_consumers = EXCLUDED.peak_data_consumers, peak_policy_owners = EXCLUDED.peak_policy_owners,
           license_seats = EXCLUDED.license_seats, hard_seats = EXCLUDED.hard_seats`,
        [
          days.map((d) => d.day),
          days.map((d) => d.peak),
          days.map((d) => d.byType?.dataConsumer ?? null),
          days.map((d) => d.byType?.policyOwner ?? null),
          days.map((d) => d.licenseSeats),
          days.map((d) => d.hardSeats),
        ],
      );
    },
    recountActivity: async () => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('DELETE FROM activity_counts');
        // The backfill of migration 2, verbatim.
        await client.query(`INSERT INTO activity_counts (day, user_type, n)
          SELECT to_char(last_activity_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), user_type, count(*) FROM users
          WHERE NOT disabled AND last_activity_at IS NOT NULL GROUP BY 1, 2`);
        await client.query('COMMIT');
        // Autovacuum would get there after a bulk load; the planner needs the statistics now.
        await client.query('VACUUM ANALYZE users');
        await client.query('VACUUM ANALYZE activity_counts');
        // Write the bulk load back now, or the checkpointer does it during the measurements (spread
        // over minutes) and every commit's fsync queues behind it. Needs superuser or pg_checkpoint.
        await client.query('CHECKPOINT').catch((err: unknown) => {
          process.stderr.write(`\n  (CHECKPOINT after seeding refused: ${String(err)})\n`);
        });
      } finally {
        client.release();
      }
    },
    activeUserIds: async (since, limit) => {
      const { rows } = await pool.query<{ id: string }>(
        'SELECT id FROM users WHERE NOT disabled AND last_activity_at >= $1 ORDER BY id LIMIT $2',
        [since.toISOString(), limit],
      );
      return rows.map((r) => Number(r.id));
    },
    counts: async () => {
      const { rows } = await pool.query<{ users: string; counters: string; licenses: string }>(
        `SELECT (SELECT count(*) FROM users) AS users,
                (SELECT coalesce(sum(n), 0) FROM activity_counts) AS counters,
                (SELECT count(*) FROM licenses) AS licenses`,
      );
      const r = rows[0]!;
      return { users: Number(r.users), counters: Number(r.counters), licenses: Number(r.licenses) };
    },
    licenseWriter: async () => {
      // As many connections as the store's pool: the server may run that many adds at once.
      const writers = new pg.Pool({ connectionString: url, max: 10 });
      writers.on('error', () => undefined);
      return {
        concurrency: 10,
        insert: async (row) => {
          const client = await writers.connect();
          try {
            await client.query('BEGIN');
            await client.query(
              `INSERT INTO licenses (uuid, license_key, payload, hard_delete, added_at, updated_at)
               VALUES ($1, $2, $3::json, $4, $5::timestamptz, $5::timestamptz)`,
              [row.uuid, row.key, row.payload, row.hardDelete, row.at],
            );
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw err;
          } finally {
            client.release();
          }
        },
        close: () => writers.end(),
      };
    },
    close: () => pool.end(),
  };
}

/** Whether PostgreSQL answers on the test database URL; resolves to a reason when it does not. */
export async function postgresUnavailable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function postgresVersion(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}
