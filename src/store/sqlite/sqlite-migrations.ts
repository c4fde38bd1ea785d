import type Database from 'better-sqlite3';
import { runMigrations, type Migration as StoreMigration } from '../migrations.js';
import { backfillSqliteIdentity } from './sqlite-identity-backfill.js';

/**
 * Versioned schema for SQLite. A migration is never edited once released: add a new one.
 * Timestamps are ISO 8601 UTC text with milliseconds, which sorts as time does.
 */
export type Migration = StoreMigration<Database.Database, void>;

/**
 * Applies the pending migrations (the runner of ../migrations.ts) in one IMMEDIATE transaction, so
 * two processes starting on one file apply each exactly once. Refuses a database written by a
 * newer Licensor.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[]): void {
  db.transaction(() =>
    runMigrations(migrations, {
      prepare: () =>
        db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
          version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`),
      appliedVersions: () =>
        db
          .prepare<[], { version: number }>('SELECT version FROM schema_migrations')
          .all()
          .map((r) => r.version),
      apply: (m) => {
        db.exec(m.sql);
        m.run?.(db);
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
          m.version,
          m.name,
          new Date().toISOString(),
        );
      },
    }),
  ).immediate();
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'licenses, users, tokens',
    sql: `
      CREATE TABLE licenses (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid        TEXT    NOT NULL,
        license_key TEXT    NOT NULL,
        payload     TEXT    NOT NULL,
        hard_delete INTEGER NOT NULL CHECK (hard_delete IN (0, 1)),
        added_at    TEXT    NOT NULL,
        updated_at  TEXT    NOT NULL,
        deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
        invalidated INTEGER NOT NULL DEFAULT 0 CHECK (invalidated IN (0, 1))
      );
      -- One live license per uuid; deleted ones stay beside it as history.
      CREATE UNIQUE INDEX licenses_live_uuid ON licenses (uuid) WHERE deleted = 0;
      CREATE INDEX licenses_uuid ON licenses (uuid);

      CREATE TABLE users (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        iamid            TEXT    NOT NULL,
        userid           TEXT    NOT NULL,
        name             TEXT,
        email            TEXT,
        user_type        TEXT    NOT NULL DEFAULT 'dataConsumer'
                                 CHECK (user_type IN ('dataConsumer', 'policyOwner')),
        created_at       TEXT    NOT NULL,
        last_activity_at TEXT,
        disabled         INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        UNIQUE (iamid, userid)
      );
      -- Counting active users reads only this index range, never the whole table.
      CREATE INDEX users_active ON users (disabled, last_activity_at);

      CREATE TABLE tokens (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        name        TEXT    NOT NULL,
        hash        TEXT    NOT NULL UNIQUE,
        permissions TEXT    NOT NULL,
        bootstrap   INTEGER NOT NULL DEFAULT 0 CHECK (bootstrap IN (0, 1)),
        created_at  TEXT    NOT NULL,
        revoked_at  TEXT
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
      CREATE TABLE activity_counts (
        day       TEXT    NOT NULL,
        user_type TEXT    NOT NULL,
        n         INTEGER NOT NULL,
        PRIMARY KEY (day, user_type)
      ) WITHOUT ROWID;
      INSERT INTO activity_counts (day, user_type, n)
        SELECT substr(last_activity_at, 1, 10), user_type, count(*) FROM users
        WHERE disabled = 0 AND last_activity_at IS NOT NULL GROUP BY 1, 2;

      CREATE TABLE usage_daily (
        day               TEXT    PRIMARY KEY,
        peak_active_users INTEGER NOT NULL,
        license_seats     INTEGER NOT NULL,
        hard_seats        INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE audit_events (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        at             TEXT    NOT NULL,
        actor_token_id INTEGER,
        actor_name     TEXT,
        action         TEXT    NOT NULL,
        target         TEXT,
        outcome        TEXT    NOT NULL CHECK (outcome IN ('success', 'refused')),
        code           TEXT,
        client_address TEXT    NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'snapshot generations, events outbox, seat alerts, failed authentications',
    sql: `
      -- Bumped in the transaction of every change to a part of the in-memory read snapshot, so a
      -- process that sees another's commit (data_version) reloads only the parts that changed.
      CREATE TABLE snapshot_generations (
        part TEXT    PRIMARY KEY,
        gen  INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO snapshot_generations (part, gen) VALUES ('licenses', 0), ('tokens', 0), ('users', 0);

      -- The outbox: every change's events, written in its transaction. merge_key makes events
      -- that are one per period (seats.refused per minute) one row whose count rises.
      CREATE TABLE events (
        seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        id        TEXT    NOT NULL UNIQUE,
        type      TEXT    NOT NULL,
        at        TEXT    NOT NULL,
        data      TEXT    NOT NULL,
        merge_key TEXT    UNIQUE
      );
      CREATE INDEX events_type ON events (type, seq);

      -- The seats.threshold levels (percent) that fired and have not been re-armed.
      CREATE TABLE seat_alerts (
        percent INTEGER PRIMARY KEY
      );

      -- Failed authentications, one row per minute and client address.
      CREATE TABLE auth_failures (
        minute         TEXT    NOT NULL,
        client_address TEXT    NOT NULL,
        count          INTEGER NOT NULL,
        first_at       TEXT    NOT NULL,
        last_at        TEXT    NOT NULL,
        PRIMARY KEY (minute, client_address)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    name: 'one identity per user: identity key, folded search text',
    // identity_key: (iamid, userid) with case, width, Unicode form and invisible characters
    // ignored, unique once backfilled; search_text: userid, name and email folded for search.
    // Both are computed in JavaScript by domain/user-identity.ts (docs/users.md).
    sql: `
      ALTER TABLE users ADD COLUMN identity_key TEXT;
      ALTER TABLE users ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
    `,
    run: backfillSqliteIdentity,
  },
  {
    version: 5,
    name: 'instance identity and its signing keys',
    // One row: the id every instance on this database shares. Keys: the newest signs, all are
    // published (docs/instance-identity.md). Both are created at start, once, by whichever
    // instance gets there first.
    sql: `
      CREATE TABLE instance_identity (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        instance_id TEXT    NOT NULL,
        created_at  TEXT    NOT NULL
      );
      CREATE TABLE instance_keys (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        private_key TEXT    NOT NULL,
        public_x    TEXT    NOT NULL UNIQUE,
        created_at  TEXT    NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'seat settings (user cap, when full), pending users',
    sql: `
      -- One row: the customer's cap and what a full site does with a new user (docs/seats.md).
      CREATE TABLE seat_settings (
        id        INTEGER PRIMARY KEY CHECK (id = 1),
        user_cap  INTEGER CHECK (user_cap IS NULL OR user_cap >= 0),
        when_full TEXT    NOT NULL CHECK (when_full IN ('refuse', 'queue'))
      );
      INSERT INTO seat_settings (id, user_cap, when_full) VALUES (1, NULL, 'refuse');
      INSERT INTO snapshot_generations (part, gen) VALUES ('settings', 0);

      -- A pending user is stored disabled (so no count of active users sees it) and pending.
      ALTER TABLE users ADD COLUMN pending INTEGER NOT NULL DEFAULT 0 CHECK (pending IN (0, 1));
      CREATE INDEX users_pending ON users (id) WHERE pending = 1;
    `,
  },
  {
    version: 7,
    name: 'webhook endpoints, deliveries, attempts; scheduled event keys',
    sql: `
      -- The secret signs deliveries, so it is kept as it is; docs/security.md says how it is protected.
      CREATE TABLE webhooks (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        url         TEXT    NOT NULL,
        events      TEXT    NOT NULL,
        description TEXT,
        secret      TEXT    NOT NULL,
        enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
        created_at  TEXT    NOT NULL,
        updated_at  TEXT    NOT NULL
      );

      -- One row per (event, endpoint) to deliver, written in the transaction of the event. A claim
      -- moves next_attempt_at a lease ahead, so no other process attempts it meanwhile.
      CREATE TABLE webhook_deliveries (
        webhook_id      INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
        event_id        TEXT    NOT NULL,
        state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT    NOT NULL,
        created_at      TEXT    NOT NULL,
        finished_at     TEXT,
        PRIMARY KEY (webhook_id, event_id)
      ) WITHOUT ROWID;
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);

      -- The delivery log: every attempt.
      CREATE TABLE webhook_attempts (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        webhook_id    INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
        event_id      TEXT    NOT NULL,
        attempt       INTEGER NOT NULL,
        at            TEXT    NOT NULL,
        duration_ms   INTEGER NOT NULL,
        status_code   INTEGER,
        error         TEXT,
        outcome       TEXT    NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
        next_retry_at TEXT
      );
      CREATE INDEX webhook_attempts_by_webhook ON webhook_attempts (webhook_id, id);

      -- Time-based events produced, one row per license and milestone: the unique key that makes
      -- every instance's scheduler produce each once.
      CREATE TABLE scheduled_events (
        license_id INTEGER NOT NULL,
        milestone  TEXT    NOT NULL,
        event_id   TEXT    NOT NULL,
        at         TEXT    NOT NULL,
        PRIMARY KEY (license_id, milestone)
      ) WITHOUT ROWID;

      -- When the scheduler started on this database: nothing due before it is produced.
      CREATE TABLE scheduler_state (
        id    INTEGER PRIMARY KEY CHECK (id = 1),
        since TEXT    NOT NULL
      );
      INSERT INTO scheduler_state (id, since) VALUES (1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
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
      ALTER TABLE usage_daily ADD COLUMN peak_data_consumers INTEGER;
      ALTER TABLE usage_daily ADD COLUMN peak_policy_owners INTEGER;
    `,
  },
];
