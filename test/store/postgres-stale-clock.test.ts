import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import pg from 'pg';
import { ManualClock } from '../../src/domain/clock.js';
import { LicensorError } from '../../src/domain/errors.js';
import { DISABLE_INACTIVE_ACTION } from '../../src/domain/user-bulk.js';
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
    twoStores(2, async ({ a, holder, clock, ctx, schema }) => {
      const user = await a.createUser(newUser('a'), ctx);
      clock.set(T.getTime() + 40 * DAY);
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [user.id]);
      const sweep = a.disableInactiveUsers(30, ctx, { dryRun: false });
      await waitUntilBlocked(schema, '%WHERE NOT disabled AND last_activity_at <%');
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
  pattern = '%FROM users WHERE id = % FOR UPDATE%',
): Promise<void> {
  for (let i = 0; i < 250; i++) {
    const blocked = await withTestClient(async (c) => {
      const { rows } = await c.query(
        `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
        [pattern],
      );
      return rows.length > 0;
    });
    if (blocked) return;
    await sleep(20);
  }
  throw new Error(`no connection of ${schema} waited for a lock in ${pattern}`);
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

function newUser(userid: string): NewUser {
  return { userid, iamid: 'idp', name: null, email: null, userType: 'dataConsumer' };
}
