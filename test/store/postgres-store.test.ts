import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import pg from 'pg';
import { LicensorError, type ErrorCode } from '../../src/domain/errors.js';
import { verifyLicenseKey } from '../../src/keys/license-jws.js';
import { openStore } from '../../src/store/open-store.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/postgres-migrations.js';
import { storeLockSql } from '../../src/store/postgres/postgres-connection.js';
import { PostgresStore, type PostgresStoreOptions } from '../../src/store/postgres/postgres-store.js';
import { identityKey } from '../../src/domain/user-identity.js';
import type { UserRecord } from '../../src/domain/users.js';
import { DEFAULT_QUERY_TIMEOUT_MS, type ChangeContext, type Store } from '../../src/store/store.js';
import { createIssuer } from '../helpers/issuer.js';
import {
  createSchema,
  dropSchema,
  postgresSkipReason,
  TEST_DATABASE_URL,
  uniqueSchemaName,
  withSchema,
  withTestClient,
} from '../helpers/postgres.js';
import { licenseAddsContract } from './license-adds.case.js';
import { storeChangesContract } from './store-changes.case.js';
import { seatPolicyContract } from './seat-policy.case.js';
import { seatClaimsContract } from './seat-claims.case.js';
import { activeCount, fixed, storeContract } from './store-contract.js';
import { userBulkContract } from './user-bulk.case.js';
import { userIdentityContract } from './user-identity.case.js';
import { usagePeaksContract } from './usage-peaks.case.js';

const skip = await postgresSkipReason();

/** The schema each open store lives in, so cleanup can drop it and reopen can join it. */
const schemas = new Map<Store, string>();

async function openIn(schema: string, options: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
  const store = await PostgresStore.open({
    url: TEST_DATABASE_URL,
    schema,
    poolMax: 4,
    activityWindowDays: 30,
    ...options,
  });
  schemas.set(store, schema);
  return store;
}

function schemaOf(store: Store): string {
  const schema = schemas.get(store);
  assert.ok(schema, 'a store this file opened');
  return schema;
}

const q = pg.escapeIdentifier;

async function rejectsWithCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof LicensorError, `expected a LicensorError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/** A name for pg_stat_activity, so a test can find (and kill) only its own store's connections. */
function uniqueApplicationName(): string {
  return `licensor_test_${randomBytes(6).toString('hex')}`;
}

/** How many connections the named store has open, or only those waiting on a lock. */
async function storeConnections(applicationName: string, onlyWaiting = false): Promise<number> {
  return withTestClient(async (c) => {
    const { rows } = await c.query(
      `SELECT 1 FROM pg_stat_activity
       WHERE application_name = $1 ${onlyWaiting ? "AND wait_event_type = 'Lock'" : ''}`,
      [applicationName],
    );
    return rows.length;
  });
}

async function terminateConnections(applicationName: string, onlyWaiting = false): Promise<number> {
  return withTestClient(async (c) => {
    const { rows } = await c.query<{ pid: number }>(
      `SELECT pg_terminate_backend(pid) AS ok, pid FROM pg_stat_activity
       WHERE application_name = $1 ${onlyWaiting ? "AND wait_event_type = 'Lock'" : ''}`,
      [applicationName],
    );
    return rows.length;
  });
}

/** Waits until one of the store's connections is blocked waiting for a lock. */
async function waitForBlocked(applicationName: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    const blocked = await withTestClient(async (c) => {
      const { rows } = await c.query(
        `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
        [applicationName],
      );
      return rows.length > 0;
    });
    if (blocked) return;
    await sleep(20);
  }
  assert.fail('the store never blocked on the lock');
}

/** Holds an ACCESS EXCLUSIVE lock on a table of `schema` until the returned function is called. */
async function lockTable(schema: string, table: string): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  client.on('error', () => undefined);
  await client.connect();
  await client.query('BEGIN');
  await client.query(`LOCK TABLE ${q(schema)}.${q(table)} IN ACCESS EXCLUSIVE MODE`);
  return async () => {
    await client.query('ROLLBACK');
    await client.end();
  };
}

describe('PostgresStore', { skip: skip ?? false }, () => {
  const dropStoreSchema = async (store: Store): Promise<void> => {
    const schema = schemaOf(store);
    for (const [other, name] of schemas) if (name === schema) schemas.delete(other);
    await dropSchema(schema);
  };
  const reopen = (store: Store): Promise<Store> => openIn(schemaOf(store));
  storeContract('PostgresStore (contract)', () => openIn(uniqueSchemaName()), dropStoreSchema, { reopen });
  storeChangesContract('PostgresStore', () => openIn(uniqueSchemaName()), dropStoreSchema, { reopen });
  licenseAddsContract('PostgresStore', () => openIn(uniqueSchemaName()), dropStoreSchema);
  userIdentityContract('PostgresStore', () => openIn(uniqueSchemaName()), dropStoreSchema);
  seatPolicyContract('PostgresStore', () => openIn(uniqueSchemaName()), dropStoreSchema, reopen);
  seatClaimsContract('PostgresStore', () => openIn(uniqueSchemaName()), dropStoreSchema, reopen);
  userBulkContract('PostgresStore', () => openIn(uniqueSchemaName()), dropStoreSchema);
  usagePeaksContract('PostgresStore', () => openIn(uniqueSchemaName()), dropStoreSchema, reopen);

  describe('PostgresStore (migrations)', () => {
    it('three processes opening a fresh schema at once all succeed and apply each migration once', () =>
      withSchema(async (schema) => {
        const stores = await Promise.all([1, 2, 3].map(() => openIn(schema, { poolMax: 2 })));
        try {
          const rows = await withTestClient(async (c) => {
            const result = await c.query<{ version: number; n: number }>(
              `SELECT version, count(*)::integer AS n FROM ${q(schema)}.schema_migrations
               GROUP BY version ORDER BY version`,
            );
            return result.rows;
          });
          assert.deepEqual(
            rows,
            POSTGRES_MIGRATIONS.map((m) => ({ version: m.version, n: 1 })),
          );
          for (const store of stores) assert.deepEqual(await store.listLicenses(), []);
        } finally {
          for (const store of stores) await store.close();
        }
      }));

    it('creates its tables in its own schema only', () =>
      withSchema(async (schema) => {
        const store = await openIn(schema);
        await store.close();
        const tables = await withTestClient(async (c) => {
          const { rows } = await c.query<{ table_name: string }>(
            `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
            [schema],
          );
          return rows.map((r) => r.table_name);
        });
        assert.deepEqual(tables, [
          'activity_counts',
          'audit_events',
          'auth_failures',
          'events',
          'instance_identity',
          'instance_keys',
          'licenses',
          'scheduled_events',
          'scheduler_state',
          'schema_migrations',
          'seat_alerts',
          'seat_settings',
          'tokens',
          'usage_daily',
          'users',
          'webhook_attempts',
          'webhook_deliveries',
          'webhooks',
        ]);
      }));

    it('refuses a database written by a newer Licensor', () =>
      withSchema(async (schema) => {
        await (await openIn(schema)).close();
        const latest = POSTGRES_MIGRATIONS.at(-1)!.version;
        await withTestClient((c) =>
          c.query(
            `INSERT INTO ${q(schema)}.schema_migrations (version, name) VALUES ($1, 'from the future')`,
            [latest + 1],
          ),
        );
        await assert.rejects(openIn(schema), /newer than this Licensor knows/);
      }));

    it('refuses a schema name that is not a plain identifier, before connecting', async () => {
      for (const schema of ['', '1abc', 'a b', 'a"b', 'a;drop', 'x'.repeat(64)])
        await assert.rejects(
          PostgresStore.open({ url: 'postgres://nobody@127.0.0.1:1/none', schema }),
          /schema name/,
        );
    });

    it('openStore opens PostgreSQL for a postgres:// URL, honouring a search_path in the URL', () =>
      withSchema(async (schema) => {
        await createSchema(schema);
        const url = new URL(TEST_DATABASE_URL);
        url.searchParams.set('options', `-c search_path=${schema}`);
        const store = await openStore(
          { kind: 'postgres', url: url.toString(), queryTimeoutMs: DEFAULT_QUERY_TIMEOUT_MS },
          { activityWindowDays: 30 },
        );
        try {
          assert.equal(store.kind, 'postgres');
          await store.ping();
          const found = await withTestClient(async (c) => {
            const { rows } = await c.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [
              `${q(schema)}.licenses`,
            ]);
            return rows[0]?.t;
          });
          assert.ok(found);
        } finally {
          await store.close();
        }
      }));

    it('refuses to run when the URL chooses another schema than the one asked for', () =>
      withSchema(async (schema) => {
        await createSchema(schema);
        const url = new URL(TEST_DATABASE_URL);
        url.searchParams.set('options', `-c search_path=${schema}`);
        const asked = uniqueSchemaName();
        await assert.rejects(
          PostgresStore.open({ url: url.toString(), schema: asked }),
          /remove "options" from the database URL/,
        );
        const created = await withTestClient(async (c) => {
          const { rows } = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [asked]);
          return rows.length;
        });
        assert.equal(created, 0, 'the schema asked for is not left behind');
      }));
  });

  describe('PostgresStore (users)', () => {
    const issuer = createIssuer();
    const T0 = new Date('2026-06-01T12:00:00.123Z');
    const ms = (n: number): Date => new Date(T0.getTime() + n);
    const DAY_MS = 864e5;
    const ctxAt = (now: Date): ChangeContext & { activeSince: Date } => ({
      ...fixed(now),
      activeSince: new Date(now.getTime() - 30 * DAY_MS),
    });

    async function grantSeats(store: PostgresStore, seats: number): Promise<void> {
      const licenseKey = issuer.issue({ seats }, T0);
      const { payload, claims } = verifyLicenseKey(licenseKey, issuer.ring);
      await store.addLicense({ licenseKey, payload, claims }, fixed(T0));
    }

    /** Counters against a scan, in total and per type. */
    async function assertCountsAgree(store: PostgresStore, since: Date, expected: number): Promise<void> {
      const scanned = await store.listUsers({ offset: 0, size: 1000, active: true, activeSince: since });
      assert.equal(scanned.total, expected, `scan since ${since.toISOString()}`);
      assert.equal(await activeCount(store, since), expected, `counters since ${since.toISOString()}`);
      const summary = await store.usageSummary(since);
      const ofType = (type: string): number => scanned.users.filter((u) => u.userType === type).length;
      assert.equal(summary.dataConsumers.activeCount, ofType('dataConsumer'));
      assert.equal(summary.policyOwners.activeCount, ofType('policyOwner'));
    }

    it('migration 2 counts the users a version-1 database already holds', () =>
      withSchema(async (schema) => {
        // A database as the previous Licensor left it: migration 1 only, users written directly.
        await withTestClient(async (c) => {
          await c.query(`CREATE SCHEMA ${q(schema)}`);
          await c.query(`SET search_path = ${q(schema)}`);
          await c.query(`CREATE TABLE schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
          await c.query(POSTGRES_MIGRATIONS[0]!.sql);
          await c.query(
            "INSERT INTO schema_migrations (version, name) VALUES (1, 'licenses, users, tokens')",
          );
          const users: [string, string | null, boolean, string][] = [
            ['recent', ms(1).toISOString(), false, 'dataConsumer'],
            ['exactly-at', ms(0).toISOString(), false, 'policyOwner'],
            ['a-moment-before', ms(-1).toISOString(), false, 'dataConsumer'],
            ['disabled', ms(1).toISOString(), true, 'dataConsumer'],
            ['never-active', null, false, 'dataConsumer'],
            ['yesterday', ms(-DAY_MS).toISOString(), false, 'policyOwner'],
            // Late in the UTC day, early the next day in a zone east of UTC: the counter's day
            // must be the UTC one whatever the session's time zone.
            ['late-utc', '2026-06-01T23:30:00.000Z', false, 'dataConsumer'],
            ['next-day', '2026-06-02T00:00:00.000Z', false, 'policyOwner'],
          ];
          await c.query("SET TIME ZONE 'Asia/Tokyo'");
          for (const [userid, lastActivityAt, disabled, userType] of users)
            await c.query(
              `INSERT INTO users (iamid, userid, user_type, created_at, last_activity_at, disabled)
               VALUES ('bim', $1, $2, $3, $4, $5)`,
              [userid, userType, ms(-30 * DAY_MS).toISOString(), lastActivityAt, disabled],
            );
        });
        const store = await openIn(schema);
        try {
          const counters = await withTestClient(async (c) => {
            const { rows } = await c.query<{ day: string; user_type: string; n: string }>(
              `SELECT day, user_type, n FROM ${q(schema)}.activity_counts ORDER BY day, user_type`,
            );
            return rows.map((r) => `${r.day} ${r.user_type} ${r.n}`);
          });
          assert.deepEqual(counters, [
            '2026-05-31 policyOwner 1',
            '2026-06-01 dataConsumer 3',
            '2026-06-01 policyOwner 1',
            '2026-06-02 policyOwner 1',
          ]);
          await assertCountsAgree(store, T0, 4);
          await assertCountsAgree(store, ms(2), 2);
          await assertCountsAgree(store, ms(-DAY_MS), 6);
          await assertCountsAgree(store, ms(-DAY_MS + 1), 5);
          await assertCountsAgree(store, new Date('2026-06-02T00:00:00.000Z'), 1);
          // The store keeps the backfilled counters in step from here on.
          await grantSeats(store, 10);
          const listed = await store.listUsers({ offset: 0, size: 100, activeSince: new Date(0) });
          const byName = new Map(listed.users.map((u) => [u.userid, u]));
          await store.recordActivity(byName.get('yesterday')!.id, ctxAt(ms(2 * DAY_MS)));
          await store.updateUser(byName.get('late-utc')!.id, { disabled: true }, ctxAt(ms(2 * DAY_MS)));
          await store.updateUser(
            byName.get('recent')!.id,
            { userType: 'policyOwner' },
            ctxAt(ms(2 * DAY_MS)),
          );
          await store.deleteUser(byName.get('exactly-at')!.id, ctxAt(ms(2 * DAY_MS)));
          await assertCountsAgree(store, ms(-DAY_MS), 4);
          await assertCountsAgree(store, T0, 3);
          await assertCountsAgree(store, ms(DAY_MS), 1);
        } finally {
          await store.close();
        }
      }));

    /**
     * Holds one of the advisory locks of the store in `schema` from outside until the returned
     * function is called: the schema's key paired with LOCK_BOOTSTRAP_TOKEN (2) or LOCK_SEATS (3)
     * of postgres-connection.ts. Were the keys to drift, the tests waiting on them would fail.
     */
    async function holdStoreLock(schema: string, key: 2 | 3): Promise<() => Promise<void>> {
      // Taken as the store takes it (storeLockSql), on a connection whose schema is `schema`.
      const client = new pg.Client({
        connectionString: TEST_DATABASE_URL,
        options: `-c search_path=${pg.escapeIdentifier(schema)}`,
      });
      client.on('error', () => undefined);
      await client.connect();
      await client.query('BEGIN');
      await client.query(storeLockSql(key));
      return async () => {
        await client.query('ROLLBACK');
        await client.end();
      };
    }

    /** Settles `promise` within `ms`, or reports that it is still waiting. */
    async function within(promise: Promise<unknown>, timeoutMs = 3000): Promise<'settled' | 'waiting'> {
      const outcome = await Promise.race([
        promise.then(
          () => 'settled' as const,
          () => 'settled' as const,
        ),
        sleep(timeoutMs).then(() => 'waiting' as const),
      ]);
      return outcome;
    }

    it('changes that may take a seat wait for the seat lock; the others never do', () =>
      withSchema(async (schema) => {
        const applicationName = uniqueApplicationName();
        const store = await openIn(schema, { applicationName });
        try {
          await grantSeats(store, 10);
          const now = ms(0);
          const active = await store.createUser(
            { userid: 'active', iamid: 'bim', name: null, email: null, userType: 'dataConsumer' },
            ctxAt(now),
          );
          const other = await store.createUser(
            { userid: 'other', iamid: 'bim', name: null, email: null, userType: 'dataConsumer' },
            ctxAt(now),
          );
          const aged = await store.createUser(
            { userid: 'aged', iamid: 'bim', name: null, email: null, userType: 'dataConsumer' },
            ctxAt(ms(-40 * DAY_MS)),
          );
          const off = await store.createUser(
            { userid: 'off', iamid: 'bim', name: null, email: null, userType: 'dataConsumer' },
            ctxAt(now),
          );
          await store.updateUser(off.id, { disabled: true }, ctxAt(now));
          const release = await holdStoreLock(schema, 3);
          let waiting: Promise<unknown>[] = [];
          try {
            const later = ctxAt(ms(1000));
            // The hot path and everything that cannot raise the count go through.
            assert.equal((await store.recordActivity(active.id, later)).seatTaken, false);
            await store.updateUser(active.id, { userType: 'policyOwner', name: 'renamed' }, later);
            await store.updateUser(other.id, { disabled: true }, later);
            await store.deleteUser(other.id, later);
            await store.recordUsage(ms(1000));
            // Each of these may take a seat: it waits.
            waiting = [
              store.createUser(
                { userid: 'new', iamid: 'bim', name: null, email: null, userType: 'dataConsumer' },
                later,
              ),
              store.recordActivity(aged.id, later),
              store.updateUser(off.id, { disabled: false }, later),
            ];
            for (const call of waiting) assert.equal(await within(call, 300), 'waiting');
            await waitForBlocked(applicationName);
          } finally {
            await release();
          }
          const [created, activity, enabled] = await Promise.all(waiting);
          assert.equal((created as UserRecord).userid, 'new');
          assert.equal((activity as { seatTaken: boolean }).seatTaken, true);
          assert.equal((enabled as UserRecord).disabled, false);
          await assertCountsAgree(store, ctxAt(ms(1000)).activeSince, 4);
        } finally {
          await store.close();
        }
      }));

    it('createToken waits for the bootstrap token lock', () =>
      withSchema(async (schema) => {
        const applicationName = uniqueApplicationName();
        const store = await openIn(schema, { applicationName });
        try {
          const release = await holdStoreLock(schema, 2);
          let creating: Promise<unknown> | undefined;
          try {
            creating = store.createToken({ name: 'ci', hash: 'h1', permissions: ['USER_ADMIN'] }, fixed(T0));
            assert.equal(await within(creating, 300), 'waiting');
            await waitForBlocked(applicationName);
          } finally {
            await release();
          }
          await creating;
          assert.equal((await store.findTokenByHash('h1'))?.name, 'ci');
          assert.equal(await store.createBootstrapTokenIfNone('boot', T0), false);
        } finally {
          await store.close();
        }
      }));

    it("a store in another schema of the same database never waits for this one's locks", () =>
      withSchema(async (schema) => {
        const store = await openIn(schema);
        await grantSeats(store, 10);
        const other = `${schema}_other`;
        const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await admin.connect();
        await admin.query(`CREATE SCHEMA ${q(other)}`);
        const release = await holdStoreLock(other, 3);
        const releaseToken = await holdStoreLock(other, 2);
        try {
          // Seat and token locks held for another schema: this store's claims and token inserts go
          // through. With one key for the whole database, both would wait (docs/deployment.md).
          const creating = store.createUser(
            { userid: 'free', iamid: 'bim', name: null, email: null, userType: 'dataConsumer' },
            ctxAt(ms(0)),
          );
          assert.equal(await within(creating, 3000), 'settled');
          assert.equal((await creating).userid, 'free');
          const token = store.createToken(
            { name: 'ci', hash: 'h2', permissions: ['USER_ADMIN'] },
            ctxAt(ms(0)),
          );
          assert.equal(await within(token, 3000), 'settled');
          await token;
        } finally {
          await releaseToken();
          await release();
          await store.close();
          await admin.query(`DROP SCHEMA ${q(other)} CASCADE`);
          await admin.end();
        }
      }));

    it('a duplicate user that slips past the check is still USER_ALREADY_EXISTS', () =>
      withSchema(async (schema) => {
        const applicationName = uniqueApplicationName();
        const store = await openIn(schema, { applicationName });
        const intruder = new pg.Client({ connectionString: TEST_DATABASE_URL });
        intruder.on('error', () => undefined);
        await intruder.connect();
        try {
          await grantSeats(store, 10);
          // Another writer, not holding the seat lock, inserts the same user (spelt in another
          // case, so only the identity key's unique index stops the second) and has not committed:
          // the store's checks cannot see it, its insert waits on the unique index.
          await intruder.query('BEGIN');
          await intruder.query(
            `INSERT INTO ${q(schema)}.users (iamid, userid, created_at, last_activity_at, identity_key)
             VALUES ('BIM', 'Twin', now(), now(), $1)`,
            [identityKey('BIM', 'Twin')],
          );
          const refused = rejectsWithCode(
            store.createUser(
              { userid: 'twin', iamid: 'bim', name: null, email: null, userType: 'dataConsumer' },
              ctxAt(T0),
            ),
            'USER_ALREADY_EXISTS',
          );
          await waitForBlocked(applicationName);
          await intruder.query('COMMIT');
          await refused;
          // Nothing of the refused create was written: neither the counter nor the usage row.
          assert.equal(await activeCount(store, ctxAt(T0).activeSince), 0);
          const usage = await store.usageHistory('2026-06-01', '2026-06-01');
          assert.deepEqual(usage, []);
        } finally {
          await intruder.end();
          await store.close();
        }
      }));
  });

  describe('PostgresStore (faults)', () => {
    const issuer = createIssuer();

    it('a server that cannot be reached is STORE_UNAVAILABLE', async () => {
      await rejectsWithCode(
        PostgresStore.open({ url: 'postgres://postgres@127.0.0.1:1/test', connectTimeoutMs: 2000 }),
        'STORE_UNAVAILABLE',
      );
    });

    it('an idle connection the server drops is reported, never crashes, and is replaced', () =>
      withSchema(async (schema) => {
        const applicationName = uniqueApplicationName();
        const errors: Error[] = [];
        const store = await openIn(schema, { applicationName, onPoolError: (err) => errors.push(err) });
        try {
          await store.ping();
          const terminated = await terminateConnections(applicationName);
          assert.ok(terminated >= 1);
          // Each dropped connection (the pool's idle ones and the LISTEN one) is reported on its
          // own, in no set order: wait for all of them, or the ping below may still be handed an
          // idle connection whose end the pool has not read yet (seen once under load on Node 24).
          for (let i = 0; i < 100 && errors.length < terminated; i++) await sleep(20);
          assert.ok(errors.length >= 1, 'the pool reported the dropped connection');
          await store.ping();
          assert.deepEqual(await store.listLicenses(), []);
        } finally {
          await store.close();
        }
      }));

    it('a connection dropped during a read is STORE_UNAVAILABLE, and the store recovers', () =>
      withSchema(async (schema) => {
        const applicationName = uniqueApplicationName();
        const store = await openIn(schema, { applicationName, onPoolError: () => undefined });
        try {
          const unlock = await lockTable(schema, 'licenses');
          try {
            // Checked from the start: the rejection comes while this test is busy killing.
            const refused = rejectsWithCode(store.listLicenses(), 'STORE_UNAVAILABLE');
            await waitForBlocked(applicationName);
            assert.equal(await terminateConnections(applicationName, true), 1);
            await refused;
          } finally {
            await unlock();
          }
          assert.deepEqual(await store.listLicenses(), []);
        } finally {
          await store.close();
        }
      }));

    it('a connection dropped inside a write transaction is STORE_UNAVAILABLE and writes nothing', () =>
      withSchema(async (schema) => {
        const applicationName = uniqueApplicationName();
        const store = await openIn(schema, { applicationName, onPoolError: () => undefined });
        try {
          const licenseKey = issuer.issue();
          const { payload, claims } = verifyLicenseKey(licenseKey, issuer.ring);
          const unlock = await lockTable(schema, 'licenses');
          try {
            const refused = rejectsWithCode(
              store.addLicense({ licenseKey, payload, claims }, fixed(new Date())),
              'STORE_UNAVAILABLE',
            );
            await waitForBlocked(applicationName);
            assert.equal(await terminateConnections(applicationName, true), 1);
            await refused;
          } finally {
            await unlock();
          }
          assert.deepEqual(await store.listLicenses({ includeDeleted: true }), []);
          // The broken connection was not handed back: the next writes work.
          const added = await store.addLicense({ licenseKey, payload, claims }, fixed(new Date()));
          assert.equal(added.uuid, claims.uuid);
          await store.setBootstrapToken('hash', new Date());
        } finally {
          await store.close();
        }
      }));

    it('no free connection within the connect timeout is STORE_UNAVAILABLE', () =>
      withSchema(async (schema) => {
        const store = await openIn(schema, { poolMax: 1, connectTimeoutMs: 300 });
        try {
          const unlock = await lockTable(schema, 'licenses');
          let listing: Promise<unknown> | undefined;
          try {
            // The pool's only connection waits on the lock...
            listing = store.listLicenses();
            // ...so another call cannot get one in time.
            await rejectsWithCode(store.ping(), 'STORE_UNAVAILABLE');
          } finally {
            await unlock();
          }
          assert.deepEqual(await listing, []);
          await store.ping();
        } finally {
          await store.close();
        }
      }));

    it('close() answers the calls already waiting for a connection, then ends the pool', () =>
      withSchema(async (schema) => {
        // A connect timeout far longer than the test: a waiter the pool dropped at its end would
        // wait for it, and pg's timer does not keep the process alive.
        const applicationName = uniqueApplicationName();
        const store = await openIn(schema, { poolMax: 1, connectTimeoutMs: 60_000, applicationName });
        let closed: Promise<void> | undefined;
        try {
          const unlock = await lockTable(schema, 'licenses');
          let calls: Promise<unknown>[] = [];
          try {
            // The pool's only connection waits on the lock; the two after it wait for the connection.
            // Asked in this turn, they are queued by the time the first one waits on the lock.
            calls = [store.listLicenses(), store.listLicenses(), store.ping()];
            while ((await storeConnections(applicationName, true)) === 0) await sleep(5);
            closed = store.close();
            // Asked after close(): refused at once, whatever the pool holds.
            await assert.rejects(store.listLicenses(), /the database is closed/);
            // The lock is held until close() is past its listener (the store's only other
            // connection), the last thing it waits for before the pool: ended now, the pool would
            // drop the two waiters while the first call still holds the connection.
            while ((await storeConnections(applicationName)) > 1) await sleep(5);
            await sleep(100);
          } finally {
            await unlock();
          }
          const settled = await Promise.race([
            Promise.allSettled(calls),
            sleep(10_000).then(() => 'still waiting after 10 s' as const),
          ]);
          assert.deepEqual(
            typeof settled === 'string'
              ? settled
              : settled.map((o) => (o.status === 'fulfilled' ? 'done' : String(o.reason))),
            ['done', 'done', 'done'],
          );
          await closed;
        } finally {
          await (closed ?? store.close());
        }
      }));
  });
});
