import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import pg from 'pg';
import { ManualClock } from '../../src/domain/clock.js';
import { LicensorError } from '../../src/domain/errors.js';
import { DISABLE_INACTIVE_ACTION, DISABLE_INACTIVE_CHUNK } from '../../src/domain/user-bulk.js';
import { verifyLicenseKey } from '../../src/keys/license-jws.js';
import { LOCK_BOOTSTRAP_TOKEN, storeLockSql } from '../../src/store/postgres/postgres-connection.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { ChangeContext, NewUser } from '../../src/store/store.js';
import { createIssuer, DAY } from '../helpers/issuer.js';
import { postgresSkipReason, TEST_DATABASE_URL, withSchema, withTestClient } from '../helpers/postgres.js';
import { TEST_ACTOR } from './store-contract.js';

const skip = await postgresSkipReason();
const T = new Date('2026-06-01T12:00:00.000Z');
const HOUR = 3_600_000;

/**
 * Time under the lock (docs/seats.md#time-under-the-lock): a request that waited for a lock must
 * not decide with the instant it arrived at. User A's activity waits for A's row; meanwhile A
 * leaves the activity window and user C takes the seat A freed. When A's activity goes on, A is
 * inactive at any instant read after the wait, so it needs a seat, and there is none: refused.
 * Deciding with the instant read before the wait would count A as active and make 3 of 2.
 */
describe('PostgresStore: the clock is read under the lock', { skip: skip ?? false }, () => {
  it('activity that waited while its user aged out and the seat was taken stays within the limit', () =>
    twoStores(
      2,
      async ({ a, b, holder, clock, ctx, schema }) => {
        const userA = await a.createUser(
          { userid: 'a', iamid: 'idp', name: null, email: null, userType: 'dataConsumer' },
          ctx,
        );
        clock.set(T.getTime() + 3_600_000);
        await a.createUser(
          { userid: 'b', iamid: 'idp', name: null, email: null, userType: 'dataConsumer' },
          ctx,
        );

        // A is active for one more millisecond; its activity now waits for A's row.
        clock.set(T.getTime() + DAY - 1);
        await holder.query('BEGIN');
        await holder.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userA.id]);
        const activity = a.recordActivity(userA.id, ctx).then(
          () => 'recorded',
          (err: unknown) => (err instanceof LicensorError ? err.code : String(err)),
        );
        await waitUntilBlocked(schema);

        // A leaves the window; C takes the seat A held.
        clock.set(T.getTime() + DAY + 1);
        await b.createUser(
          { userid: 'c', iamid: 'idp', name: null, email: null, userType: 'dataConsumer' },
          ctx,
        );
        await holder.query('ROLLBACK');

        assert.equal(await activity, 'SEAT_LIMIT_REACHED');
        const active = await withTestClient(async (c) => {
          const { rows } = await c.query<{ n: number }>(
            `SELECT count(*)::integer AS n FROM ${pg.escapeIdentifier(schema)}.users
             WHERE NOT disabled AND last_activity_at >= $1`,
            [new Date(clock.now().getTime() - DAY)],
          );
          return rows[0]?.n;
        });
        assert.equal(active, 2, 'never one user more than licenseSeats');
        assert.equal((await a.readView(clock.now())).activeUserCount, 2);
      },
      1,
    ));
  // A login of a user well inside the window is one UPDATE without the seat lock; it reads its
  // time before it waits for the user's row. A login that stamped a later time while it waited
  // must keep that time: lastActivityAt never moves back.
  it('activity that waited for a later login of the same user keeps the later time', () =>
    twoStores(2, async ({ a, holder, clock, ctx, schema }) => {
      const user = await a.createUser(newUser('a'), ctx);
      const later = new Date(T.getTime() + 2 * HOUR);
      clock.set(T.getTime() + HOUR);
      await holder.query('BEGIN');
      await holder.query('UPDATE users SET last_activity_at = $1 WHERE id = $2', [later, user.id]);
      const activity = a.recordActivity(user.id, ctx);
      await waitUntilBlocked(schema, '%UPDATE users SET last_activity_at%');
      await holder.query('COMMIT');

      const { user: after, seatTaken } = await activity;
      assert.equal(seatTaken, false);
      assert.equal(after.lastActivityAt.toISOString(), later.toISOString());
      const { rows } = await holder.query<{ at: Date }>(
        'SELECT last_activity_at AS at FROM users WHERE id = $1',
        [user.id],
      );
      assert.equal(rows[0]?.at.toISOString(), later.toISOString(), 'lastActivityAt moved back');
    }));

  it('disabling inactive users dates its change at a time read after the rows are locked', () =>
    twoStores(2, async ({ a, holder, clock, ctx }) => {
      const user = await a.createUser(newUser('a'), ctx);
      clock.set(T.getTime() + 40 * DAY);
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [user.id]);
      const sweep = a.disableInactiveUsers(30, ctx, { dryRun: false });
      await waitUntilWaitingOn(holder, 1);
      const locked = new Date(T.getTime() + 40 * DAY + 5_000);
      clock.set(locked.getTime());
      await holder.query('ROLLBACK');

      const result = await sweep;
      assert.deepEqual(
        result.users.map((u) => [u.id, u.disabled]),
        [[user.id, true]],
      );
      const { entries } = await a.listAudit({ offset: 0, size: 10, action: DISABLE_INACTIVE_ACTION });
      assert.deepEqual(
        entries.map((e) => e.at.toISOString()),
        [locked.toISOString()],
      );
    }));

  it('disabling inactive users dates a later chunk at a time read after its own rows are locked', () =>
    twoStores(2, async ({ a, holder, clock, ctx }) => {
      // One chunk and one user more, inactive since T (more users than seats: written directly).
      const lastId = await insertInactiveUsers(holder, DISABLE_INACTIVE_CHUNK + 1);
      const first = new Date(T.getTime() + 40 * DAY);
      clock.set(first.getTime());
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [lastId]);
      const sweep = a.disableInactiveUsers(30, ctx, { dryRun: false });
      await waitUntilWaitingOn(holder, 1);
      const locked = new Date(first.getTime() + 5_000);
      clock.set(locked.getTime());
      await holder.query('ROLLBACK');

      assert.equal((await sweep).count, DISABLE_INACTIVE_CHUNK + 1);
      const { entries } = await a.listAudit({ offset: 0, size: 2, action: DISABLE_INACTIVE_ACTION });
      assert.deepEqual(
        entries.map((e) => [e.target, e.at.toISOString()]),
        [
          [`user:${lastId}`, locked.toISOString()],
          [`user:${lastId - 1}`, first.toISOString()],
        ],
      );
    }));

  it('disabling inactive users and a login of a user in a later chunk do not deadlock', () =>
    twoStores(2, async ({ a, b, holder, clock, ctx }) => {
      const lastId = await insertInactiveUsers(holder, DISABLE_INACTIVE_CHUNK + 1);
      clock.set(T.getTime() + 40 * DAY);
      // The holder keeps the users' activity counter: the sweep waits for it with its writes
      // done. Moving that counter after the first chunk (before locking the second) would let
      // the login below lock the last user, wait for the counter, and so wait for the sweep,
      // which would wait for the last user: a deadlock, which PostgreSQL breaks by failing one.
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM activity_counts WHERE day = $1 FOR UPDATE`, [
        T.toISOString().slice(0, 10),
      ]);
      const sweep = a.disableInactiveUsers(30, ctx, { dryRun: false });
      await waitUntilWaitingOn(holder, 1);
      const login = b.recordActivity(lastId, ctx).then(
        () => 'recorded',
        (err: unknown) => (err instanceof LicensorError ? err.code : String(err)),
      );
      // Both wait: the sweep for the counter, the login for the last user's row, which the sweep
      // holds (or, were the counter moved between chunks, for the counter too).
      await waitUntilWaitingOn(holder, 2);
      await holder.query('COMMIT');

      assert.equal((await sweep).count, DISABLE_INACTIVE_CHUNK + 1);
      assert.equal(await login, 'USER_DISABLED');
    }));

  it('a token create dates its token and audit entry at a time read after the bootstrap lock', () =>
    twoStores(2, async ({ a, holder, clock, ctx, schema }) => {
      await holder.query('BEGIN');
      await holder.query(storeLockSql(LOCK_BOOTSTRAP_TOKEN));
      const creating = a.createToken({ name: 'ci', hash: 'h1', permissions: ['USER_ADMIN'] }, ctx);
      await waitUntilBlocked(schema, '%pg_advisory_xact_lock%');
      const locked = new Date(T.getTime() + 5_000);
      clock.set(locked.getTime());
      await holder.query('ROLLBACK');

      const token = await creating;
      assert.equal(token.createdAt.toISOString(), locked.toISOString());
      const { entries } = await a.listAudit({ offset: 0, size: 10, action: 'token.create' });
      assert.deepEqual(
        entries.map((e) => e.at.toISOString()),
        [locked.toISOString()],
      );
    }));
});

/**
 * Waits until a connection of the schema's store waits for a lock in a statement like `pattern`
 * (an SQL LIKE pattern).
 */
async function waitUntilBlocked(
  schema: string,
  pattern: string | string[] = '%FROM users WHERE id = % FOR UPDATE%',
  connections = 1,
): Promise<void> {
  const patterns = typeof pattern === 'string' ? [pattern] : pattern;
  for (let i = 0; i < 250; i++) {
    const blocked = await withTestClient(async (c) => {
      const { rows } = await c.query(
        `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE ANY($1)`,
        [patterns],
      );
      return rows.length >= connections;
    });
    if (blocked) return;
    await sleep(20);
  }
  throw new Error(
    `no ${connections} connection(s) of ${schema} waited for a lock in ${patterns.join(' or ')}`,
  );
}

/**
 * Two stores on one fresh schema (with an activity window of `windowDays`, or the default), a
 * license of `seats` seats added at T, and a connection of its own (the holder) to take locks with.
 */
async function twoStores<T>(
  seats: number,
  fn: (s: {
    a: PostgresStore;
    b: PostgresStore;
    holder: pg.Client;
    clock: ManualClock;
    ctx: ChangeContext;
    schema: string;
  }) => Promise<T>,
  windowDays?: number,
): Promise<T> {
  return withSchema(async (schema) => {
    const clock = new ManualClock(T);
    const ctx = { clock, actor: TEST_ACTOR };
    const options = {
      url: TEST_DATABASE_URL,
      schema,
      poolMax: 3,
      ...(windowDays !== undefined && { activityWindowDays: windowDays }),
    };
    const [a, b] = [await PostgresStore.open(options), await PostgresStore.open(options)];
    const holder = new pg.Client({
      connectionString: TEST_DATABASE_URL,
      options: `-c search_path=${schema}`,
    });
    holder.on('error', () => undefined);
    try {
      const issuer = createIssuer(() => T);
      const key = issuer.issue({ seats });
      const { payload, claims } = verifyLicenseKey(key, issuer.ring);
      await a.addLicense({ licenseKey: key, payload, claims }, ctx);
      await holder.connect();
      return await fn({ a, b, holder, clock, ctx, schema });
    } finally {
      await holder.end().catch(() => undefined);
      await a.close();
      await b.close();
    }
  });
}

/**
 * Waits until `connections` backends wait, directly or through one other, for a lock `holder`
 * holds (by pid: a batch's text in pg_stat_activity is cut at 1 kB, so its statement may not show).
 */
async function waitUntilWaitingOn(holder: pg.Client, connections: number): Promise<void> {
  const pid = (holder as pg.Client & { processID: number }).processID;
  for (let i = 0; i < 250; i++) {
    const waiting = await withTestClient(async (c) => {
      const { rows } = await c.query<{ n: string }>(
        `WITH direct AS (SELECT pid FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid)))
         SELECT count(*) AS n FROM pg_stat_activity a
         WHERE a.pid IN (SELECT pid FROM direct)
            OR EXISTS (SELECT 1 FROM direct d WHERE d.pid = ANY(pg_blocking_pids(a.pid)))`,
        [pid],
      );
      return Number(rows[0]?.n) >= connections;
    });
    if (waiting) return;
    await sleep(20);
  }
  throw new Error(`no ${connections} connection(s) waited for the holder's locks`);
}

/**
 * `n` users last active at T, with their activity counter, written directly (beyond any seat
 * limit); answers the last one's id.
 */
async function insertInactiveUsers(holder: pg.Client, n: number): Promise<number> {
  const { rows } = await holder.query<{ id: string }>(
    `INSERT INTO users (iamid, userid, user_type, created_at, last_activity_at, identity_key, search_text)
       SELECT 'bim', 'u' || g, 'dataConsumer', $1, $1, 'bim:u' || g, '' FROM generate_series(1, $2) AS g
       RETURNING id`,
    [T, n],
  );
  await holder.query(
    `INSERT INTO activity_counts (day, user_type, n) VALUES ($1, 'dataConsumer', $2)
       ON CONFLICT (day, user_type) DO UPDATE SET n = activity_counts.n + EXCLUDED.n`,
    [T.toISOString().slice(0, 10), n],
  );
  return Math.max(...rows.map((r) => Number(r.id)));
}

function newUser(userid: string): NewUser {
  return { userid, iamid: 'idp', name: null, email: null, userType: 'dataConsumer' };
}
