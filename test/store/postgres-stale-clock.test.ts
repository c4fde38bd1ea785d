import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import pg from 'pg';
import { ManualClock } from '../../src/domain/clock.js';
import { LicensorError } from '../../src/domain/errors.js';
import { verifyLicenseKey } from '../../src/keys/license-jws.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { createIssuer, DAY } from '../helpers/issuer.js';
import { postgresSkipReason, TEST_DATABASE_URL, withSchema, withTestClient } from '../helpers/postgres.js';
import { TEST_ACTOR } from './store-contract.js';

const skip = await postgresSkipReason();

/**
 * Time under the lock (docs/seats.md#time-under-the-lock): a request that waited for a lock must
 * not decide with the instant it arrived at. User A's activity waits for A's row; meanwhile A
 * leaves the activity window and user C takes the seat A freed. When A's activity goes on, A is
 * inactive at any instant read after the wait, so it needs a seat, and there is none: refused.
 * Deciding with the instant read before the wait would count A as active and make 3 of 2.
 */
describe('PostgresStore: the clock is read under the lock', { skip: skip ?? false }, () => {
  it('activity that waited while its user aged out and the seat was taken stays within the limit', () =>
    withSchema(async (schema) => {
      const T = new Date('2026-06-01T12:00:00.000Z');
      const clock = new ManualClock(T);
      const ctx = { clock, actor: TEST_ACTOR };
      const options = { url: TEST_DATABASE_URL, schema, poolMax: 3, activityWindowDays: 1 };
      const [a, b] = [await PostgresStore.open(options), await PostgresStore.open(options)];
      const holder = new pg.Client({
        connectionString: TEST_DATABASE_URL,
        options: `-c search_path=${schema}`,
      });
      holder.on('error', () => undefined);
      try {
        const issuer = createIssuer(() => T);
        const key = issuer.issue({ seats: 2 });
        const { payload, claims } = verifyLicenseKey(key, issuer.ring);
        await a.addLicense({ licenseKey: key, payload, claims }, ctx);
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
        await holder.connect();
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
      } finally {
        await holder.end().catch(() => undefined);
        await a.close();
        await b.close();
      }
    }));
});

/** Waits until a connection of the schema's store waits for a row lock. */
async function waitUntilBlocked(schema: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    const blocked = await withTestClient(async (c) => {
      const { rows } = await c.query(
        `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
        [`%FROM users WHERE id = % FOR UPDATE%`],
      );
      return rows.length > 0;
    });
    if (blocked) return;
    await sleep(20);
  }
  throw new Error(`no connection of ${schema} waited for the row lock`);
}
