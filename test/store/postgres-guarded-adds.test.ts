import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { ManualClock } from '../../src/domain/clock.js';
import { LicensorError } from '../../src/domain/errors.js';
import { LOCK_LICENSES, storeLockSql } from '../../src/store/postgres/postgres-connection.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { createIssuer, DAY } from '../helpers/issuer.js';
import { postgresSkipReason, TEST_DATABASE_URL, withSchema } from '../helpers/postgres.js';
import { newUser } from './store-contract-helpers.js';
import { TEST_ACTOR } from './store-contract.js';

const skip = await postgresSkipReason();

const T = new Date('2026-06-01T00:00:00.000Z');
const HOUR = 60 * 60 * 1000;

/**
 * Guarded adds (docs/licenses.md#guarded-adds): a PostgreSQL store decides a batch of license adds
 * from what its last batch left and checks that under the locks in the same round trip. Each test
 * changes one thing that guard must notice between two adds of one store, and checks that the add
 * is decided as if it had read everything under the locks.
 */
describe('PostgresStore: license adds decided before their locks', { skip: skip ?? false }, () => {
  async function withStores(
    fn: (a: PostgresStore, b: PostgresStore, sql: pg.Client, clock: ManualClock) => Promise<void>,
    options: { activityWindowDays?: number; queryTimeoutMs?: number } = {},
  ): Promise<void> {
    await withSchema(async (schema) => {
      const a = await PostgresStore.open({ url: TEST_DATABASE_URL, schema, ...options });
      const b = await PostgresStore.open({ url: TEST_DATABASE_URL, schema, ...options });
      const sql = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema}` });
      sql.on('error', () => undefined);
      try {
        await sql.connect();
        await fn(a, b, sql, clock);
      } finally {
        await sql.end().catch(() => undefined);
        await a.close();
        await b.close();
      }
    });
  }
  const clock = new ManualClock(T);
  const ctx = { clock, actor: TEST_ACTOR };
  const issuer = createIssuer(() => clock.now());
  const license = (claims: Record<string, unknown> = {}) => issuer.newLicense(claims, clock.now());

  it('finds a license another instance added in between, and numbers the next one after it', () => {
    clock.set(T);
    return withStores(async (a, b) => {
      const first = await a.addLicense(license({ seats: 2 }), ctx);
      const between = await b.addLicense(license({ seats: 3 }), ctx);
      const next = await a.addLicense(license({ seats: 4 }), ctx);
      assert.ok(first.id < between.id && between.id < next.id, `${first.id} ${between.id} ${next.id}`);
      const live = await a.listLicenses();
      assert.deepEqual(
        live.map((l) => l.id),
        [first.id, between.id, next.id],
      );
      assert.equal((await a.readView(clock.now())).effective.licenseSeats, 9);
    });
  });

  it('decides from the licenses as they are after another instance deleted one in between', () => {
    clock.set(T);
    return withStores(async (a, b) => {
      // Only `gone` keeps data access open: `lapsed` expired with hardExpiration.
      const lapsed = {
        createdAt: new Date(T.getTime() - 30 * DAY).toISOString(),
        expires: new Date(T.getTime() - DAY).toISOString(),
        hardExpiration: true,
        seats: 3,
      };
      const gone = await a.addLicense(license({ seats: 2 }), ctx);
      const kept = await a.addLicense(license(lapsed), ctx);
      await b.deleteLicense(gone.id, ctx);
      const blocked = await a.listEvents({ offset: 0, size: 10, type: 'data_access.blocked' });
      assert.equal(blocked.total, 1);
      // Data access comes back with this add: decided from [gone, kept], it would not come back.
      const next = await a.addLicense(license({ seats: 4 }), ctx);
      const restored = await a.listEvents({ offset: 0, size: 10, type: 'data_access.restored' });
      assert.equal(restored.total, 1);
      const view = await a.readView(clock.now());
      assert.deepEqual(
        view.licenses.map((l) => l.id),
        [kept.id, next.id],
      );
      assert.equal(view.effective.dataAccessBlocked, false);
    });
  });

  it('re-arms a threshold another instance fired in between, at a count the add would decide the same', () => {
    clock.set(T);
    return withStores(async (a, b, sql) => {
      await a.addLicense(license({ seats: 10 }), ctx);
      // 8 of 10 fires 80 %: the thresholds change, the licenses do not.
      for (let i = 1; i <= 8; i++) await b.createUser(newUser({ userid: `u${i}` }), ctx);
      const fired = async (): Promise<number[]> =>
        (await sql.query('SELECT percent FROM seat_alerts ORDER BY percent')).rows.map((r) =>
          Number(r.percent),
        );
      assert.deepEqual(await fired(), [80]);
      // 8 of 20 is under 80 % (16): armed again. Decided from the thresholds the first add left
      // ([]), the add would write nothing and leave 80 fired.
      await a.addLicense(license({ seats: 10 }), ctx);
      assert.deepEqual(await fired(), []);
    });
  });

  it('never keeps a change of this process waiting on an add that has not taken its locks', () => {
    clock.set(T);
    return withStores(
      async (a, b, sql) => {
        await a.addLicense(license({ seats: 100 }), ctx);
        // Another instance's add: the generation the next add of `a` expects is the one it made.
        await b.addLicense(license({ seats: 5 }), ctx);
        await sql.query('BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
        let released = 0;
        const took = (p: Promise<unknown>): Promise<string> =>
          p.then(
            () => `done ${Date.now() - released} ms after the users table was let go`,
            (err: unknown) => `failed: ${(err as { code?: string }).code ?? String(err)}`,
          );
        // The create holds the shared licenses lock and waits on the users table.
        const created = took(a.createUser(newUser({ userid: 'u1' }), ctx));
        await sleep(200);
        // The add waits for the licenses lock the create holds.
        const added = took(a.addLicense(license({ seats: 7 }), ctx));
        await sleep(200);
        await sql.query('COMMIT');
        released = Date.now();
        const [create, add] = [await created, await added];
        assert.match(add, /^done/);
        // Without the rule, the create waits for the add's outcome, which comes only when the add's
        // wait for the licenses lock runs out (2 s, GUARDED_LOCK_WAIT_SQL; without that, the 30 s
        // query timeout, and the add fails with STORE_UNAVAILABLE). With it, the create needs only
        // the users table.
        assert.ok(Number(/^done (\d+) ms/.exec(create)?.[1]) < 1000, create);
      },
      { queryTimeoutMs: 10_000 },
    );
  });

  it('dates an add that waited long for its locks with the clock read after them', () => {
    clock.set(T);
    return withStores(async (a, _b, sql) => {
      await a.addLicense(license({ seats: 1 }), ctx);
      // Another session holds the licenses lock (LOCK_LICENSES) for 2.5 s.
      await sql.query(`BEGIN; ${storeLockSql(LOCK_LICENSES)}`);
      const later = new Date(T.getTime() + 60_000);
      const added = a.addLicense(license({ seats: 1 }), ctx);
      await sleep(100);
      clock.set(later);
      await sleep(2400);
      await sql.query('COMMIT');
      // Decided before the lock at T, it gave up waiting after 2 s (GUARDED_LOCK_WAIT_SQL) and was
      // decided again under the locks, at the clock read there. Without the limit it would wait
      // and commit dated T, a minute before it committed by this clock.
      assert.deepEqual((await added).updatedAt, later);
    });
  });

  it('refuses a hard-deleted license added again, though nothing else changed since the last add', () => {
    clock.set(T);
    return withStores(async (a) => {
      const doomed = license({ seats: 2, hardDelete: true });
      const added = await a.addLicense(doomed, ctx);
      await a.deleteLicense(added.id, ctx);
      await a.addLicense(license({ seats: 1 }), ctx);
      await assert.rejects(
        a.addLicense(doomed, ctx),
        (err: unknown) => err instanceof LicensorError && err.code === 'LICENSE_HARD_DELETED',
      );
    });
  });

  it('numbers an add after ids taken from the sequence by anything else', () => {
    clock.set(T);
    return withStores(async (a, _b, sql) => {
      await a.addLicense(license({ seats: 1 }), ctx);
      const taken = await sql.query(
        "SELECT max(n) AS n FROM (SELECT nextval(pg_get_serial_sequence('licenses', 'id')) AS n FROM generate_series(1, 3)) s",
      );
      const generation = async (): Promise<number> =>
        Number((await sql.query('SELECT last_value FROM snapshot_gen_licenses')).rows[0].last_value);
      const before = await generation();
      const next = await a.addLicense(license({ seats: 1 }), ctx);
      // Above every id taken: the add checked the ids it was decided with as it took them.
      assert.ok(next.id > Number(taken.rows[0].n), `${next.id}`);
      // One generation, the add's under the locks: the refused try checked its ids before it
      // advanced the generation, so the licenses kept were still current and nothing read them
      // all again.
      assert.equal(await generation(), before + 1);
    });
  });

  it('decides at the count as it is, after users left the window with nothing written', () => {
    clock.set(T);
    return withStores(
      async (a, _b, sql) => {
        await a.addLicense(license({ seats: 10 }), ctx);
        for (const id of ['u1', 'u2', 'u3']) await a.createUser(newUser({ userid: id }), ctx);
        clock.set(new Date(T.getTime() + 12 * HOUR));
        for (const id of ['u4', 'u5', 'u6', 'u7', 'u8', 'u9', 'u10'])
          await a.createUser(newUser({ userid: id }), ctx);
        const fired = async (): Promise<number[]> =>
          (await sql.query('SELECT percent FROM seat_alerts ORDER BY percent')).rows.map((r) =>
            Number(r.percent),
          );
        assert.deepEqual(await fired(), [80, 90, 100]);
        // An add that changes nothing now (it starts later) leaves the next add 10 users to decide from.
        await a.addLicense(
          license({ seats: 5, startsAt: new Date(T.getTime() + 20 * DAY).toISOString() }),
          ctx,
        );
        assert.deepEqual(await fired(), [80, 90, 100]);
        // A day after the first three users' activity they have left the one-day window: 7 active.
        clock.set(new Date(T.getTime() + DAY + HOUR));
        await a.addLicense(license({ seats: 1 }), ctx);
        // 7 of 11 seats is under every threshold: all three are armed again (at 10 only 100 would be).
        assert.deepEqual(await fired(), []);
        assert.equal((await a.readView(clock.now())).activeUserCount, 7);
      },
      { activityWindowDays: 1 },
    );
  });
});
