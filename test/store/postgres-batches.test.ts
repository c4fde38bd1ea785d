import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import pg from 'pg';
import { ManualClock } from '../../src/domain/clock.js';
import { LicensorError } from '../../src/domain/errors.js';
import { verifyLicenseKey } from '../../src/keys/license-jws.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { insertEvents, raiseUsages } from '../../src/store/postgres/postgres-queries.js';
import type { NewUser } from '../../src/store/store.js';
import type { WebhookEventFilter } from '../../src/domain/webhooks.js';
import { createIssuer } from '../helpers/issuer.js';
import { postgresSkipReason, TEST_DATABASE_URL, withSchema } from '../helpers/postgres.js';
import { newUser } from './store-contract-helpers.js';
import { TEST_ACTOR } from './store-contract.js';

const skip = await postgresSkipReason();

const T = new Date('2026-06-01T12:00:00.000Z');
/** The store's seat lock in this schema (postgres-connection.ts, storeLockSql). */
const SEAT_LOCK = "hashtext('licensor:' || current_schema()), 3";
const user = (userid: string): NewUser => newUser({ userid });

/** Each promise's user id, or its refusal's code (a message for anything else). */
function outcomes(creates: Promise<{ id: number }>[]): Promise<(number | string)[]> {
  return Promise.all(
    creates.map((p) =>
      p.then(
        (u) => u.id,
        (err: unknown) =>
          err instanceof LicensorError
            ? err.code
            : `error: ${err instanceof Error ? err.message : String(err)}`,
      ),
    ),
  );
}

/**
 * Batched creates (docs/seats.md#batched-creates): the creates asked for together commit in one
 * transaction, each decided from the count read under the seat lock plus the claims before it.
 */
describe('PostgresStore: changes asked for together', { skip: skip ?? false }, () => {
  async function withStore(
    seats: number,
    fn: (
      store: PostgresStore,
      sql: pg.Client,
      ctx: { clock: ManualClock; actor: typeof TEST_ACTOR },
    ) => Promise<void>,
  ): Promise<void> {
    await withSchema(async (schema) => {
      const store = await PostgresStore.open({ url: TEST_DATABASE_URL, schema });
      const sql = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema}` });
      sql.on('error', () => undefined);
      try {
        await sql.connect();
        const ctx = { clock: new ManualClock(T), actor: TEST_ACTOR };
        const issuer = createIssuer(() => T);
        const key = issuer.issue({ seats });
        const { payload, claims } = verifyLicenseKey(key, issuer.ring);
        await store.addLicense({ licenseKey: key, payload, claims }, ctx);
        await fn(store, sql, ctx);
      } finally {
        await sql.end().catch(() => undefined);
        await store.close();
      }
    });
  }

  it('commit in one transaction, exactly up to the limit, a duplicate among them refused, each audited', () =>
    withStore(4, async (store, sql, ctx) => {
      const ids = ['a', 'b', 'A', 'c', 'd', 'e', 'f'];
      const got = await outcomes(ids.map((id) => store.createUser(user(id), ctx)));
      // 'A' is 'a' ignoring case, decided after 'a' in the same batch; 'e' and 'f' find no seat.
      assert.deepEqual(
        got.map((g) => (typeof g === 'number' ? 'created' : g)),
        [
          'created',
          'created',
          'USER_ALREADY_EXISTS',
          'created',
          'created',
          'SEAT_LIMIT_REACHED',
          'SEAT_LIMIT_REACHED',
        ],
      );
      const { rows } = await sql.query<{ n: string; xacts: string }>(
        'SELECT count(*) AS n, count(DISTINCT xmin::text) AS xacts FROM users',
      );
      assert.deepEqual(rows[0], { n: '4', xacts: '1' }, 'the four creates are one transaction');
      const audited = await sql.query<{ target: string }>(
        "SELECT target FROM audit_events WHERE action = 'user.create' ORDER BY id",
      );
      assert.deepEqual(
        audited.rows.map((r) => r.target),
        got.filter((g) => typeof g === 'number').map((id) => `user:${id}`),
        'each created user has its entry, in the order asked',
      );
      const view = await store.readView(ctx.clock.now());
      assert.equal(view.activeUserCount, 4);
      const usage = await store.usageHistory('2026-06-01', '2026-06-01');
      assert.equal(usage[0]?.peakActiveUsers, 4);
    }));

  it('queue the creates past the limit in queue mode, each pending event counting the ones before it', () =>
    withStore(2, async (store, sql, ctx) => {
      await store.setSeatSettings({ userCap: null, whenFull: 'queue' }, ctx);
      const created = await Promise.all(['w', 'x', 'y', 'z'].map((id) => store.createUser(user(id), ctx)));
      assert.deepEqual(
        created.map((u) => [u.userid, u.pending]),
        [
          ['w', false],
          ['x', false],
          ['y', true],
          ['z', true],
        ],
      );
      const { rows } = await sql.query<{ xacts: string }>(
        'SELECT count(DISTINCT xmin::text) AS xacts FROM users',
      );
      assert.equal(rows[0]?.xacts, '1', 'one transaction');
      const { events } = await store.listEvents({ offset: 0, size: 100, type: 'user.pending' });
      assert.deepEqual(
        events
          .map((e) => e.data as { userid: string; activeUserCount: number; seatLimit: number })
          .map((d) => [d.userid, d.activeUserCount, d.seatLimit])
          .sort(),
        [
          ['y', 2, 2],
          ['z', 2, 2],
        ],
      );
      assert.equal((await store.readView(ctx.clock.now())).activeUserCount, 2);
    }));

  it('fire each seat threshold once, with the count at which it was crossed', () =>
    withStore(10, async (store, _sql, ctx) => {
      const got = await outcomes(Array.from({ length: 12 }, (_, i) => store.createUser(user(`u${i}`), ctx)));
      assert.equal(got.filter((g) => typeof g === 'number').length, 10);
      const { events } = await store.listEvents({ offset: 0, size: 100, type: 'seats.threshold' });
      assert.deepEqual(
        events
          .map((e) => e.data as { percent: number; activeUserCount: number })
          .map((d) => [d.percent, d.activeUserCount])
          .sort((x, y) => (x[0] as number) - (y[0] as number)),
        [
          [80, 8],
          [90, 9],
          [100, 10],
        ],
      );
    }));

  it('insert a run of events in one statement, a merged event between runs in its place', () =>
    withStore(10, async (_store, sql) => {
      await sql.query('DELETE FROM events');
      const at = (minute: number) => new Date(T.getTime() + minute * 60_000);
      const merged = { type: 'seats.refused' as const, data: { count: 1 }, mergeKey: 'm' };
      const plain = (n: number) => ({ type: 'license.added' as const, data: { n } });
      const statements = insertEvents([
        { event: plain(1), now: at(1) },
        { event: plain(2), now: at(2) },
        { event: merged, now: at(3) },
        { event: plain(3), now: at(4) },
        { event: plain(4), now: at(5) },
        { event: merged, now: at(6) },
      ]);
      assert.equal(statements.length, 4, 'two runs of two, and each merged event alone');
      await sql.query(['BEGIN', ...statements, 'COMMIT'].join(';\n'));
      const { rows } = await sql.query<{ type: string; data: unknown; at: Date }>(
        'SELECT type, data, at FROM events ORDER BY seq',
      );
      assert.deepEqual(
        rows.map((r) => [r.type, r.data, r.at.getTime()]),
        [
          ['license.added', { n: 1 }, at(1).getTime()],
          ['license.added', { n: 2 }, at(2).getTime()],
          ['seats.refused', { count: 2 }, at(3).getTime()],
          ['license.added', { n: 3 }, at(4).getTime()],
          ['license.added', { n: 4 }, at(5).getTime()],
        ],
      );
    }));

  it('a create whose write fails fails alone; the others commit', () =>
    withStore(10, async (store, sql, ctx) => {
      await sql.query(`CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.userid = 'boom' THEN RAISE EXCEPTION 'no boom here'; END IF; RETURN NEW; END $$`);
      await sql.query(
        'CREATE TRIGGER refuse_boom BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION refuse_boom()',
      );
      const got = await outcomes(['x', 'boom', 'y'].map((id) => store.createUser(user(id), ctx)));
      assert.equal(typeof got[0], 'number');
      assert.match(String(got[1]), /no boom here/);
      assert.equal(typeof got[2], 'number');
      const { rows } = await sql.query<{ userid: string }>('SELECT userid FROM users ORDER BY userid');
      assert.deepEqual(
        rows.map((r) => r.userid),
        ['x', 'y'],
      );
      const audited = await sql.query("SELECT 1 FROM audit_events WHERE action = 'user.create'");
      assert.equal(audited.rowCount, 2);
    }));

  it('merge usage raises as one after another would leave them: the highest peaks, the last seats, per day', () =>
    withStore(10, async (_store, sql) => {
      await sql.query(
        "INSERT INTO usage_daily (day, peak_active_users, peak_data_consumers, peak_policy_owners, license_seats, hard_seats) VALUES ('2026-06-01', 7, 5, 2, 10, 10)",
      );
      const raise = (day: string, total: number, dc: number, seats: number) => ({
        day,
        peakActiveUsers: total,
        peakByType: { dataConsumer: dc, policyOwner: total - dc },
        licenseSeats: seats,
        hardSeats: seats,
      });
      const [statement] = raiseUsages([
        raise('2026-06-01', 6, 6, 20),
        raise('2026-06-02', 3, 1, 30),
        raise('2026-06-01', 8, 4, 25),
        raise('2026-06-02', 2, 2, 40),
      ]);
      await sql.query(statement as string);
      const { rows } = await sql.query(
        'SELECT day, peak_active_users, peak_data_consumers, peak_policy_owners, license_seats FROM usage_daily ORDER BY day',
      );
      assert.deepEqual(
        rows.map((r: Record<string, unknown>) => Object.values(r).map(String)),
        [
          ['2026-06-01', '8', '6', '4', '25'],
          ['2026-06-02', '3', '2', '2', '40'],
        ],
      );
    }));

  describe('license adds asked for together', () => {
    it('commit in one transaction, in order, a uuid already added in the batch refused, a supersede of one before it applied', () =>
      withStore(10, async (store, sql, ctx) => {
        const issuer = createIssuer(() => T);
        const a = issuer.newLicense({ seats: 5 }, T);
        const b = issuer.newLicense({ seats: 7, supersedes: [a.claims.uuid] }, T);
        const c = issuer.newLicense({ seats: 11 }, T);
        const got = await outcomes([a, b, a, c].map((l) => store.addLicense(l, ctx)));
        assert.deepEqual(
          got.map((g) => (typeof g === 'number' ? 'added' : g)),
          ['added', 'added', 'LICENSE_ALREADY_EXISTS', 'added'],
        );
        const { rows } = await sql.query<{ uuid: string; invalidated: boolean; xmin: string }>(
          'SELECT uuid, invalidated, xmin::text AS xmin FROM licenses ORDER BY id',
        );
        assert.equal(rows.length, 4, 'the license the store opened with, and three');
        assert.deepEqual(
          rows.slice(1).map((r) => [r.uuid, r.invalidated]),
          [
            [a.claims.uuid, true],
            [b.claims.uuid, false],
            [c.claims.uuid, false],
          ],
        );
        assert.equal(new Set(rows.slice(1).map((r) => r.xmin)).size, 1, 'one transaction');
        const audited = await sql.query<{ target: string }>(
          "SELECT target FROM audit_events WHERE action = 'license.add' ORDER BY id",
        );
        assert.deepEqual(
          audited.rows.slice(1).map((r) => r.target),
          got.filter((g) => typeof g === 'number').map((id) => `license:${id}`),
        );
        const { events } = await store.listEvents({ offset: 0, size: 100, type: 'license.added' });
        assert.equal(events.length, 4);
        // The store opened with 10 seats; a is superseded by b: 10 + 7 + 11.
        const view = await store.readView(ctx.clock.now());
        assert.equal(view.effective.licenseSeats, 28);
        const other = await PostgresStore.open({ url: TEST_DATABASE_URL, schema: await schemaOf(sql) });
        try {
          assert.equal((await other.readView(ctx.clock.now())).effective.licenseSeats, 28, 'as read afresh');
        } finally {
          await other.close();
        }
      }));

    it("store the batch's events in the order asked, each delivered to every enabled endpoint that takes it", () =>
      withStore(10, async (store, sql, ctx) => {
        const secret = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
        const hook = (events: WebhookEventFilter[]) =>
          store.webhooks.createWebhook(
            { url: 'https://example.test/h', events, description: null, secret },
            ctx,
          );
        const all = await hook(['*']);
        const added = await hook(['license.added']);
        await hook(['seats.threshold']);
        const off = await hook(['*']);
        await store.webhooks.updateWebhook(off.id, { enabled: false }, ctx);
        await sql.query('DELETE FROM webhook_deliveries');
        await sql.query('DELETE FROM events');
        const issuer = createIssuer(() => T);
        const licenses = [1, 2, 3, 4].map((seats) => issuer.newLicense({ seats }, T));
        await Promise.all(licenses.map((l) => store.addLicense(l, ctx)));
        const { rows } = await sql.query<{ uuid: string; xacts: string; d: string | null }>(
          `SELECT e.data->>'uuid' AS uuid, (SELECT count(DISTINCT xmin::text) FROM events) AS xacts,
             string_agg(d.webhook_id::text, ',' ORDER BY d.webhook_id) AS d
           FROM events e LEFT JOIN webhook_deliveries d ON d.event_id = e.id
           GROUP BY e.seq, e.data->>'uuid' ORDER BY e.seq`,
        );
        assert.deepEqual(
          rows.map((r) => r.uuid),
          licenses.map((l) => l.claims.uuid),
          'one license.added each, in the order asked',
        );
        assert.equal(rows[0]?.xacts, '1', 'one transaction');
        for (const r of rows) assert.equal(r.d, `${all.id},${added.id}`, 'delivered to the two that take it');
      }));

    it('a supersede of a uuid that an add after it in the batch brings leaves that license live', () =>
      withStore(10, async (store, sql, ctx) => {
        const issuer = createIssuer(() => T);
        const later = issuer.newLicense({ seats: 3 }, T);
        const first = issuer.newLicense({ seats: 2, supersedes: [later.claims.uuid] }, T);
        const after = issuer.newLicense({ seats: 4 }, T);
        const got = await outcomes([first, later, after].map((l) => store.addLicense(l, ctx)));
        assert.ok(
          got.every((g) => typeof g === 'number'),
          String(got),
        );
        const { rows } = await sql.query<{ uuid: string; invalidated: boolean; xacts: string }>(
          `SELECT uuid, invalidated, (SELECT count(DISTINCT xmin::text) FROM licenses WHERE id > 1) AS xacts
           FROM licenses WHERE id > 1 ORDER BY id`,
        );
        assert.deepEqual(
          rows.map((r) => [r.uuid, r.invalidated]),
          [
            [first.claims.uuid, false],
            [later.claims.uuid, false],
            [after.claims.uuid, false],
          ],
        );
        assert.equal(rows[0]?.xacts, '1', 'one transaction');
        const view = await store.readView(ctx.clock.now());
        assert.equal(view.effective.hardSeats, 10 + 2 + 3 + 4);
      }));

    it('an add whose write fails fails alone; the others commit, in the order asked', () =>
      withStore(10, async (store, sql, ctx) => {
        const issuer = createIssuer(() => T);
        const x = issuer.newLicense({ seats: 5 }, T);
        const boom = issuer.newLicense({ seats: 6 }, T);
        // A chain: each supersedes the one before it. Run again out of order, one would find no
        // license to invalidate, and more than the last would stay live.
        const chain = [x];
        for (let i = 0; i < 8; i++)
          chain.push(
            issuer.newLicense({ seats: 7, supersedes: [(chain.at(-1) as typeof x).claims.uuid] }, T),
          );
        await sql.query(`CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN IF NEW.uuid = '${boom.claims.uuid}' THEN RAISE EXCEPTION 'no boom here'; END IF; RETURN NEW; END $$`);
        await sql.query(
          'CREATE TRIGGER refuse_boom BEFORE INSERT ON licenses FOR EACH ROW EXECUTE FUNCTION refuse_boom()',
        );
        const [first, ...rest] = chain as [typeof x, ...(typeof x)[]];
        const asked = [first, boom, ...rest];
        const got = await outcomes(asked.map((l) => store.addLicense(l, ctx)));
        assert.match(String(got[1]), /no boom here/);
        assert.ok(
          got.filter((_, i) => i !== 1).every((g) => typeof g === 'number'),
          JSON.stringify(got),
        );
        // The license the store opened with (10 seats) and the last of the chain (7).
        assert.equal((await store.readView(ctx.clock.now())).effective.licenseSeats, 17);
        const { rows } = await sql.query<{ uuid: string; invalidated: boolean }>(
          'SELECT uuid, invalidated FROM licenses ORDER BY id',
        );
        assert.deepEqual(
          rows.slice(1).map((r) => [r.uuid, r.invalidated]),
          chain.map((l, i) => [l.claims.uuid, i < chain.length - 1]),
          'added in the order asked, each invalidating the one before it',
        );
      }));
  });

  it('close answers the changes already asked for', () =>
    withStore(10, async (store, sql, ctx) => {
      // The seat lock held elsewhere keeps the first batch waiting while close is called.
      await sql.query('BEGIN');
      await sql.query(`SELECT pg_advisory_xact_lock(${SEAT_LOCK})`);
      const asked = ['p', 'q'].map((id) => store.createUser(user(id), ctx));
      await new Promise((resolve) => setImmediate(resolve));
      // These two gather behind the first batch.
      asked.push(...['r', 's'].map((id) => store.createUser(user(id), ctx)));
      const closing = store.close();
      await sleep(300);
      await sql.query('COMMIT');
      await closing;
      const got = await outcomes(asked);
      assert.ok(
        got.every((g) => typeof g === 'number'),
        `every create answered with its user: ${JSON.stringify(got)}`,
      );
      const { rows } = await sql.query('SELECT 1 FROM users');
      assert.equal(rows.length, 4);
    }));

  it('a batch whose connection is cut fails every change in it, none run again alone', () =>
    withStore(10, async (store, sql, ctx) => {
      await sql.query('BEGIN');
      await sql.query(`SELECT pg_advisory_xact_lock(${SEAT_LOCK})`);
      // Their outcomes are awaited from the start: a rejection before anyone listens is unhandled.
      const answered = outcomes(['m', 'n', 'o'].map((id) => store.createUser(user(id), ctx)));
      // The batch's connection, waiting for the seat lock this test holds.
      let pid: number | undefined;
      for (let i = 0; i < 250 && pid === undefined; i++) {
        const { rows } = await sql.query<{ pid: number }>(
          `SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND NOT l.granted
            AND l.classid = hashtext('licensor:' || current_schema())::oid AND l.objid = 3`,
        );
        pid = rows[0]?.pid;
        if (pid === undefined) await sleep(20);
      }
      assert.ok(pid !== undefined, 'the batch waits for the seat lock');
      await sql.query('SELECT pg_terminate_backend($1)', [pid]);
      await sql.query('COMMIT');
      assert.deepEqual(await answered, ['STORE_UNAVAILABLE', 'STORE_UNAVAILABLE', 'STORE_UNAVAILABLE']);
      const { rows } = await sql.query('SELECT 1 FROM users');
      assert.equal(rows.length, 0, 'nothing committed, and nothing was tried again');
    }));
});

async function schemaOf(sql: pg.Client): Promise<string> {
  const { rows } = await sql.query<{ schema: string }>('SELECT current_schema() AS schema');
  return rows[0]?.schema as string;
}
