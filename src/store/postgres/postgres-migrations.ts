import pg from 'pg';
import type { PoolClient } from 'pg';
import { runMigrationsAsync, type Migration as StoreMigration } from '../migrations.js';
import { StoreStartupError } from '../startup-error.js';
import { LOCK_MIGRATIONS, LOCK_STORE } from './postgres-connection.js';
import { backfillPostgresIdentity } from './postgres-identity-backfill.js';

/**
 * Versioned schema for PostgreSQL, kept in step with sqlite-migrations.ts: the same tables, columns
 * and indexes, in PostgreSQL's own types. A migration is never edited once released: add a new one.
 */
export type Migration = StoreMigration<PoolClient, Promise<void>>;

/**
 * Applies the pending migrations (the runner of ../migrations.ts) in the caller's transaction under
 * an advisory lock, so several processes starting at once on one database apply each exactly once
 * and the others then find them applied. Creates `schema` when it is missing. Refuses a database
 * written by a newer Licensor.
 */
export async function migrate(
  client: PoolClient,
  schema: string | undefined,
  migrations: readonly Migration[],
): Promise<void> {
  await runMigrationsAsync(migrations, {
    prepare: async () => {
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_STORE, LOCK_MIGRATIONS]);
      if (schema !== undefined) await useSchema(client, schema);
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    },
    appliedVersions: async () =>
      (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) =>
        Number(r.version),
      ),
    apply: async (m) => {
      await client.query(m.sql);
      await m.run?.(client);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        m.version,
        m.name,
      ]);
    },
  });
}

/** Creates `schema` when it is missing, and checks that the connection's search_path is on it. */
async function useSchema(client: PoolClient, schema: string): Promise<void> {
  // Looked up first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the database even
  // when the schema is there, which a least-privilege role may not have.
  const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  if (found.rows.length === 0) await client.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
  const current = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
  // A URL carrying its own `options` parameter replaces the search_path this store asked for.
  if (current.rows[0]?.schema !== schema)
    throw new StoreStartupError(
      `the PostgreSQL connection uses schema "${current.rows[0]?.schema ?? '(none)'}", not "${schema}"; remove "options" from the database URL`,
    );
}

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'licenses, users, tokens',
    sql: `
      CREATE TABLE licenses (
        id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        uuid        TEXT        NOT NULL,
        license_key TEXT        NOT NULL,
        -- json, not jsonb: the payload is kept exactly as verified, as SQLite keeps its text. jsonb
        -- would reorder its members and refuse a "\\u0000" in an unknown claim that SQLite stores, so
        -- a key one store accepts would fail in the other. Nothing queries inside it.
        payload     JSON        NOT NULL,
        hard_delete BOOLEAN     NOT NULL,
        added_at    TIMESTAMPTZ NOT NULL,
        updated_at  TIMESTAMPTZ NOT NULL,
        deleted     BOOLEAN     NOT NULL DEFAULT false,
        invalidated BOOLEAN     NOT NULL DEFAULT false
      );
      -- One live license per uuid; deleted ones stay beside it as history.
      CREATE UNIQUE INDEX licenses_live_uuid ON licenses (uuid) WHERE NOT deleted;
      CREATE INDEX licenses_uuid ON licenses (uuid);

      CREATE TABLE users (
        id               BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        iamid            TEXT        NOT NULL,
        userid           TEXT        NOT NULL,
        name             TEXT,
        email            TEXT,
        user_type        TEXT        NOT NULL DEFAULT 'dataConsumer'
                                     CHECK (user_type IN ('dataConsumer', 'policyOwner')),
        created_at       TIMESTAMPTZ NOT NULL,
        last_activity_at TIMESTAMPTZ,
        disabled         BOOLEAN     NOT NULL DEFAULT false,
        UNIQUE (iamid, userid)
      );
      -- Counting active users reads only this index range, never the whole table.
      CREATE INDEX users_active ON users (disabled, last_activity_at);

      CREATE TABLE tokens (
        id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name        TEXT        NOT NULL,
        hash        TEXT        NOT NULL UNIQUE,
        permissions JSONB       NOT NULL,
        bootstrap   BOOLEAN     NOT NULL DEFAULT false,
        created_at  TIMESTAMPTZ NOT NULL,
        revoked_at  TIMESTAMPTZ
      );
    `,
  },
  {
    version: 2,
    name: 'activity counters, usage history, audit',
    sql: `
      -- Non-disabled users by the UTC day of their last activity and their type. The active user
      -- count is read from here (plus one day's index range), so it costs the same at a million
      -- users as at ten. Every user write keeps it in step in the same transaction.
      -- Days are 'YYYY-MM-DD' text, the keys utcDay() makes, compared as text: COLLATE "C" orders
      -- them bytewise whatever the database's collation, as SQLite does.
      CREATE TABLE activity_counts (
        day       TEXT COLLATE "C" NOT NULL,
        user_type TEXT             NOT NULL,
        n         BIGINT           NOT NULL,
        PRIMARY KEY (day, user_type)
      );
      INSERT INTO activity_counts (day, user_type, n)
        SELECT to_char(last_activity_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), user_type, count(*) FROM users
        WHERE NOT disabled AND last_activity_at IS NOT NULL GROUP BY 1, 2;

      -- BIGINT, as SQLite's INTEGER is 64-bit: seats add up over stacked licenses (each up to
      -- 2e9 with soft seats) and would overflow a 32-bit column.
      CREATE TABLE usage_daily (
        day               TEXT COLLATE "C" PRIMARY KEY,
        peak_active_users BIGINT           NOT NULL,
        license_seats     BIGINT           NOT NULL,
        hard_seats        BIGINT           NOT NULL
      );

      CREATE TABLE audit_events (
        id             BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at             TIMESTAMPTZ NOT NULL,
        actor_token_id BIGINT,
        actor_name     TEXT,
        action         TEXT        NOT NULL,
        target         TEXT,
        outcome        TEXT        NOT NULL CHECK (outcome IN ('success', 'refused')),
        code           TEXT,
        client_address TEXT        NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'snapshot generations, events outbox, seat alerts, failed authentications',
    sql: `
      -- One sequence per part of the in-memory read snapshot, advanced by every change to that
      -- part. Sequences take no row lock, so changes never queue on them; instances poll them as
      -- the backstop of LISTEN/NOTIFY (docs/performance.md#the-read-snapshot).
      CREATE SEQUENCE snapshot_gen_licenses;
      CREATE SEQUENCE snapshot_gen_tokens;
      CREATE SEQUENCE snapshot_gen_users;

      -- The outbox: every change's events, written in its transaction. json, not jsonb, for the
      -- same reason as licenses.payload: license events carry the payload exactly. merge_key makes
      -- events that are one per period (seats.refused per minute) one row whose count rises.
      CREATE TABLE events (
        seq       BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id        TEXT        NOT NULL UNIQUE,
        type      TEXT        NOT NULL,
        at        TIMESTAMPTZ NOT NULL,
        data      JSON        NOT NULL,
        merge_key TEXT        UNIQUE
      );
      CREATE INDEX events_type ON events (type, seq);

      -- The seats.threshold levels (percent) that fired and have not been re-armed.
      CREATE TABLE seat_alerts (
        percent INTEGER PRIMARY KEY
      );

      -- Failed authentications, one row per minute and client address.
      CREATE TABLE auth_failures (
        minute         TIMESTAMPTZ NOT NULL,
        client_address TEXT        NOT NULL,
        count          BIGINT      NOT NULL,
        first_at       TIMESTAMPTZ NOT NULL,
        last_at        TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (minute, client_address)
      );
    `,
  },
  {
    version: 4,
    name: 'one identity per user: identity key, folded search text',
    // identity_key: (iamid, userid) with case, width, Unicode form and invisible characters
    // ignored, unique and required once backfilled; search_text: userid, name and email folded for
    // search. Both are computed in JavaScript by domain/user-identity.ts (docs/users.md).
    sql: `
      ALTER TABLE users ADD COLUMN identity_key TEXT;
      ALTER TABLE users ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
    `,
    run: backfillPostgresIdentity,
  },
  {
    version: 5,
    name: 'instance identity and its signing keys',
    // One row: the id every instance on this database shares. Keys: the newest signs, all are
    // published (docs/instance-identity.md). Both are created at start, once, by whichever
    // instance gets there first.
    sql: `
      CREATE TABLE instance_identity (
        id          INTEGER     PRIMARY KEY CHECK (id = 1),
        instance_id TEXT        NOT NULL,
        created_at  TIMESTAMPTZ NOT NULL
      );
      CREATE TABLE instance_keys (
        id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        private_key TEXT        NOT NULL,
        public_x    TEXT        NOT NULL UNIQUE,
        created_at  TIMESTAMPTZ NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'seat settings (user cap, when full), pending users',
    sql: `
      -- One row: the customer's cap and what a full site does with a new user (docs/seats.md).
      -- Changed only under the seat lock, and read under it by every seat decision.
      CREATE TABLE seat_settings (
        id        INTEGER PRIMARY KEY CHECK (id = 1),
        user_cap  BIGINT CHECK (user_cap IS NULL OR user_cap >= 0),
        when_full TEXT   NOT NULL CHECK (when_full IN ('refuse', 'queue'))
      );
      INSERT INTO seat_settings (id, user_cap, when_full) VALUES (1, NULL, 'refuse');
      CREATE SEQUENCE snapshot_gen_settings;

      -- A pending user is stored disabled (so no count of active users sees it) and pending.
      ALTER TABLE users ADD COLUMN pending BOOLEAN NOT NULL DEFAULT false;
      CREATE INDEX users_pending ON users (id) WHERE pending;
    `,
  },
  {
    version: 7,
    name: 'webhook endpoints, deliveries, attempts; scheduled event keys',
    sql: `
      -- The secret signs deliveries, so it is kept as it is; docs/security.md says how it is protected.
      CREATE TABLE webhooks (
        id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        url         TEXT        NOT NULL,
        events      JSONB       NOT NULL,
        description TEXT,
        secret      TEXT        NOT NULL,
        enabled     BOOLEAN     NOT NULL DEFAULT true,
        created_at  TIMESTAMPTZ NOT NULL,
        updated_at  TIMESTAMPTZ NOT NULL
      );

      -- One row per (event, endpoint) to deliver, written in the transaction of the event. An
      -- instance claims rows FOR UPDATE SKIP LOCKED and moves next_attempt_at a lease ahead.
      CREATE TABLE webhook_deliveries (
        webhook_id      BIGINT      NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
        event_id        TEXT        NOT NULL,
        state           TEXT        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts        INTEGER     NOT NULL DEFAULT 0,
        next_attempt_at TIMESTAMPTZ NOT NULL,
        created_at      TIMESTAMPTZ NOT NULL,
        finished_at     TIMESTAMPTZ,
        PRIMARY KEY (webhook_id, event_id)
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);

      -- The delivery log: every attempt.
      CREATE TABLE webhook_attempts (
        id            BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        webhook_id    BIGINT      NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
        event_id      TEXT        NOT NULL,
        attempt       INTEGER     NOT NULL,
        at            TIMESTAMPTZ NOT NULL,
        duration_ms   INTEGER     NOT NULL,
        status_code   INTEGER,
        error         TEXT,
        outcome       TEXT        NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
        next_retry_at TIMESTAMPTZ
      );
      CREATE INDEX webhook_attempts_by_webhook ON webhook_attempts (webhook_id, id);

      -- Time-based events produced, one row per license and milestone: the unique key that makes
      -- every instance's scheduler produce each once.
      CREATE TABLE scheduled_events (
        license_id BIGINT      NOT NULL,
        milestone  TEXT        NOT NULL,
        event_id   TEXT        NOT NULL,
        at         TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (license_id, milestone)
      );

      -- When the scheduler started on this database: nothing due before it is produced.
      CREATE TABLE scheduler_state (
        id    INTEGER     PRIMARY KEY CHECK (id = 1),
        since TIMESTAMPTZ NOT NULL
      );
      INSERT INTO scheduler_state (id, since) VALUES (1, now());
    `,
  },
  {
    version: 8,
    name: 'audit entries name their target',
    // The target's name when the change was made (a user's userid, a token's name, a licensee),
    // so the log still names a user after it is removed (docs/audit.md). Older entries keep NULL.
    sql: `
      ALTER TABLE audit_events ADD COLUMN target_name TEXT;
      -- The console filters the log by action, newest first.
      CREATE INDEX audit_events_action ON audit_events (action, id);
    `,
  },
  {
    version: 9,
    name: 'daily usage peaks by user type',
    // Raised with the total from the same count (docs/usage-report.md#peaks-by-user-type). The days
    // recorded before this migration, the day of the upgrade included, keep NULL: only their total
    // is known, and a later raise of such a day leaves it NULL rather than a partial peak.
    sql: `
      ALTER TABLE usage_daily ADD COLUMN peak_data_consumers BIGINT;
      ALTER TABLE usage_daily ADD COLUMN peak_policy_owners BIGINT;
    `,
  },
];
