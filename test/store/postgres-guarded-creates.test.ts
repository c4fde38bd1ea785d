import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { ManualClock } from '../../src/domain/clock.js';
import { LicensorError } from '../../src/domain/errors.js';
import { LOCK_SEATS, storeLockSql } from '../../src/store/postgres/postgres-connection.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { UserRecord } from '../../src/domain/users.js';
import { createIssuer } from '../helpers/issuer.js';
import { postgresSkipReason, TEST_DATABASE_URL, withSchema } from '../helpers/postgres.js';
import { newUser } from './store-contract-helpers.js';
import { TEST_ACTOR } from './store-contract.js';

const skip = await postgresSkipReason();

const T = new Date('2026-06-01T00:00:00.000Z');

/**
 * Guarded batches of creates (docs/seats.md#guarded-batches): a PostgreSQL store decides a batch
 * of creates from what its last batch left and checks that under the seat lock in the same round
 * trip. Each test changes one thing that check must notice between two batches of one store (the
 * other store changes it), and checks that the batch is decided as if it had read everything under
 * the lock.
 */
describe('PostgresStore: batches of creates decided before the seat lock', { skip: skip ?? false }, () => {
  const clock = new ManualClock(T);
  const ctx = { clock, actor: TEST_ACTOR };
  const issuer = createIssuer(() => clock.now());

  async function withStores(
    seats: number,
    fn: (a: PostgresStore, b: PostgresStore, sql: pg.Client) => Promise<void>,
  ): Promise<void> {
    clock.set(T);
    await withSchema(async (schema) => {
      const a = await PostgresStore.open({ url: TEST_DATABASE_URL, schema });
      const b = await PostgresStore.open({ url: TEST_DATABASE_URL, schema });
      const sql = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema}` });
      sql.on('error', () => undefined);
      try {
        await sql.connect();
        await a.addLicense(issuer.newLicense({ seats }, clock.now()), ctx);
        await fn(a, b, sql);
      } finally {
        await sql.end().catch(() => undefined);
        await a.close();
        await b.close();
      }
    });
  }

  /** Creates asked for in one turn of the event loop (one batch): each one's user or refusal code. */
  function together(store: PostgresStore, ...ids: string[]): Promise<(UserRecord | string)[]> {
    return Promise.all(
      ids.map((userid) =>
        store.createUser(newUser({ userid }), ctx).catch((err: unknown) => {
          if (err instanceof LicensorError) return err.code;
          throw err;
        }),
      ),
    );
  }
  const created = (outcomes: (UserRecord | string)[]): number =>
    outcomes.filter((o) => typeof o !== 'string').length;

  /** A minute after T: the clock when the seat lock is let go in whileSeatLockHeld(). */
  const LATER = new Date(T.getTime() + 60_000);

  /**
   * `creates`, asked for while another session holds the seat lock for 2.5 s (past the 2 s a
   * create decided before the lock waits for it), the clock set to LATER 100 ms in.
   */
  async function whileSeatLockHeld<R>(sql: pg.Client, creates: () => Promise<R>): Promise<R> {
    await sql.query(`BEGIN; ${storeLockSql(LOCK_SEATS)}`);
    const outcome = creates();
    await sleep(100);
    clock.set(LATER);
    await sleep(2400);
    await sql.query('COMMIT');
    return outcome;
  }

  it('counts the users another instance created in between', () =>
    withStores(100, async (a, b) => {
      await a.setSeatSettings({ userCap: 5, whenFull: 'refuse' }, ctx);
      assert.equal(created(await together(a, 'a1', 'a2')), 2);
      assert.equal(created(await together(b, 'b1', 'b2', 'b3')), 3);
      // 5 of a cap of 5: decided from the 2 the first batch left, both would commit.
      assert.deepEqual(await together(a, 'a3', 'a4'), ['SEAT_LIMIT_REACHED', 'SEAT_LIMIT_REACHED']);
      assert.equal((await a.readView(clock.now())).activeUserCount, 5);
    }));

  it('holds to a cap another instance set in between', () =>
    withStores(100, async (a, b) => {
      assert.equal(created(await together(a, 'a1', 'a2')), 2);
      await b.setSeatSettings({ userCap: 3, whenFull: 'refuse' }, ctx);
      const outcomes = await together(a, 'a3', 'a4');
      assert.equal(created(outcomes), 1);
      assert.equal(outcomes[1], 'SEAT_LIMIT_REACHED');
    }));

  it('holds to the seats of the licenses as they are after another instance deleted one', () =>
    withStores(3, async (a, b) => {
      const more = await a.addLicense(issuer.newLicense({ seats: 100 }, clock.now()), ctx);
      assert.equal(created(await together(a, 'a1', 'a2')), 2);
      await b.deleteLicense(more.id, ctx);
      // 2 of 3 seats: one more. Decided from the licenses the first batch saw (103 seats), both
      // would commit.
      const outcomes = await together(a, 'a3', 'a4');
      assert.equal(created(outcomes), 1);
      assert.equal(outcomes[1], 'SEAT_LIMIT_REACHED');
    }));

  it('re-arms a threshold another instance left fired while users left', () =>
    withStores(10, async (a, b, sql) => {
      assert.equal(created(await together(a, 'a1', 'a2')), 2);
      // 8 of 10 fires 80 %, then 3 users go: 5 active, 80 % still fired until a claim sees it.
      const others = await together(b, 'b1', 'b2', 'b3', 'b4', 'b5', 'b6');
      const fired = async (): Promise<number[]> =>
        (await sql.query('SELECT percent FROM seat_alerts ORDER BY percent')).rows.map((r) =>
          Number(r.percent),
        );
      assert.deepEqual(await fired(), [80]);
      for (const user of others.slice(0, 3)) await b.deleteUser((user as UserRecord).id, ctx);
      // At 5, a claim re-arms 80 %. Decided from what the first batch left (nothing fired), it
      // would write nothing, and 80 % would stay fired.
      assert.equal(created(await together(a, 'a3', 'a4')), 2);
      assert.deepEqual(await fired(), []);
    }));

  it("numbers one process's users in the order it created them, whichever way each went", () =>
    withStores(100, async (a, b) => {
      const ids: number[] = [];
      const keep = (outcomes: (UserRecord | string)[]): void => {
        for (const o of outcomes) if (typeof o !== 'string') ids.push(o.id);
      };
      keep(await together(a, 'a1')); // alone, nothing kept yet: decided before the lock
      keep(await together(a, 'a2', 'a3')); // a batch under the lock, which takes ids ahead
      keep(await together(a, 'a4')); // decided from what that batch left
      await b.setSeatSettings({ userCap: 50, whenFull: 'refuse' }, ctx);
      keep(await together(a, 'a5')); // the guard says no: decided again on its own
      keep(await together(a, 'a6', 'a7'));
      assert.equal(ids.length, 7);
      assert.deepEqual(
        ids,
        [...ids].sort((x, y) => x - y),
      );
    }));

  it('dates a create alone that waited long for the seat lock with the clock read after it', () =>
    withStores(100, async (a, _b, sql) => {
      assert.equal(created(await together(a, 'a1', 'a2')), 2);
      const outcome = whileSeatLockHeld(sql, () => together(a, 'a3'));
      // Decided again under the lock, not guarded on its own (which would read its clock before
      // the lock again and wait up to 2 s more).
      assert.deepEqual(((await outcome)[0] as UserRecord).createdAt, LATER);
    }));

  it('dates a create guarded on its own that waited long for the seat lock with the clock read after it', () =>
    withStores(100, async (a, _b, sql) => {
      // The first create of `a`: no batch before it left anything to decide from, so it is guarded
      // on its own (docs/seats.md#guarded-claims), its clock read before the seat lock.
      const outcome = whileSeatLockHeld(sql, () => together(a, 'a1'));
      // It gave up the seat lock after 2 s and was decided again under it. Without the limit it
      // would wait as long as it takes and commit dated T, a minute before its commit by this clock.
      assert.deepEqual(((await outcome)[0] as UserRecord).createdAt, LATER);
    }));

  it("raises the day's peak as creates one by one would when a user leaves the window between them", () =>
    withSchema(async (schema) => {
      const window = 30;
      const t0 = new Date('2026-06-01T12:00:00.000Z');
      // At `edge` the window starts at t0: u, active at t0, is in it; a millisecond later it is not.
      const edge = new Date(t0.getTime() + window * 86_400_000);
      clock.set(t0);
      const a = await PostgresStore.open({ url: TEST_DATABASE_URL, schema, activityWindowDays: window });
      const sql = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema}` });
      sql.on('error', () => undefined);
      try {
        await sql.connect();
        await a.addLicense(issuer.newLicense({ seats: 100 }, t0), ctx);
        await a.createUser(newUser({ userid: 'u' }), ctx);
        clock.set(new Date(edge.getTime() - 60_000));
        assert.equal(created(await together(a, 'p1', 'p2')), 2);
        const at = (ms: number) => ({
          clock: new ManualClock(new Date(edge.getTime() + ms)),
          actor: TEST_ACTOR,
        });
        await Promise.all([
          a.createUser(newUser({ userid: 'c1' }), at(0)),
          a.createUser(newUser({ userid: 'c2' }), at(1)),
        ]);
        // c1 makes 4 active (u, p1, p2, c1); then u leaves, and c2 makes 4 again. Counted once at
        // c1's instant and raised by both, the peak would be 5.
        const { rows } = await sql.query(
          `SELECT peak_active_users FROM usage_daily WHERE day = '2026-07-01'`,
        );
        assert.equal(Number(rows[0]?.peak_active_users), 4);
      } finally {
        await sql.end().catch(() => undefined);
        await a.close();
      }
    }));

  it('dates creates that waited long for the seat lock with the clock read after it', () =>
    withStores(100, async (a, _b, sql) => {
      assert.equal(created(await together(a, 'a1', 'a2')), 2);
      const outcomes = whileSeatLockHeld(sql, () => together(a, 'a3', 'a4'));
      // Decided before the lock at T, the batch gave up waiting after 2 s (GUARDED_LOCK_WAIT_SQL)
      // and was decided again under the lock, at the clock read there.
      for (const user of await outcomes) assert.deepEqual((user as UserRecord).createdAt, LATER);
    }));
});
