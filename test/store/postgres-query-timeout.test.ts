/**
 * A query sent on a connection that went half-open (a partition, a failover that moved the
 * database's address: the socket stays open and no reply ever comes) gives up after the store's
 * query timeout with STORE_UNAVAILABLE, and its connection is dropped rather than handed back to
 * the pool (docs/deployment.md#database-timeouts). Without the timeout the request waits for the
 * operating system to give up on the socket: about 15 minutes on Linux.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import pg from 'pg';
import { ManualClock } from '../../src/domain/clock.js';
import { isLicensorError } from '../../src/domain/errors.js';
import {
  inTransaction,
  LOCK_BOOTSTRAP_TOKEN,
  storeLockSql,
  translate,
} from '../../src/store/postgres/postgres-connection.js';
import { createPool, idleInTransactionLimitMs } from '../../src/store/postgres/postgres-pool.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { postgresSkipReason, TEST_DATABASE_URL, withSchema, withTestClient } from '../helpers/postgres.js';
import { proxyToTestDatabase } from '../helpers/proxy.js';
import { TEST_ACTOR } from './store-contract.js';

const skip = await postgresSkipReason();
const TIMEOUT_MS = 1000;
/** Generous: a call must settle within the timeout (twice, for a ROLLBACK); a loaded machine lags. */
const LIMIT_MS = 4 * TIMEOUT_MS + 8000;
/** Users swept at once: three chunks (DISABLE_INACTIVE_CHUNK). */
const SWEEP_USERS = 2500;
/** Each user's row write takes at least this long (a trigger waits): 0.5 s and more per chunk. */
const SWEEP_ROW_MS = 0.5;
/** Shorter than one chunk's writes, far longer than anything else the sweep sends. */
const SWEEP_TIMEOUT_MS = 300;
/** The changes' context: the clock never moves here. */
const ctx = { clock: new ManualClock(new Date('2026-06-01T12:00:00.000Z')), actor: TEST_ACTOR };

/** How `call` settled within LIMIT_MS: 'ok', the error's code, or 'waiting' when it has not. */
async function outcome(call: Promise<unknown>): Promise<string> {
  return Promise.race([
    call.then(
      () => 'ok',
      (err: unknown) => (isLicensorError(err) ? err.code : `not a LicensorError: ${String(err)}`),
    ),
    sleep(LIMIT_MS, 'waiting', { ref: false }),
  ]);
}

describe('PostgresStore: the query timeout', { skip: skip ?? false }, () => {
  it('answers STORE_UNAVAILABLE on a half-open connection, and works again once the database is back', () =>
    withSchema(async (schema) => {
      const proxy = await proxyToTestDatabase();
      const b = await PostgresStore.open({ url: TEST_DATABASE_URL, schema, poolMax: 2 });
      const a = await PostgresStore.open({
        url: proxy.via(TEST_DATABASE_URL),
        schema,
        poolMax: 2,
        connectTimeoutMs: 1000,
        queryTimeoutMs: TIMEOUT_MS,
        onPoolError: () => undefined,
      });
      try {
        // Both pooled connections open, through the proxy.
        await Promise.all([
          a.createToken({ name: 'before', hash: 'h-before', permissions: ['USER_ADMIN'] }, ctx),
          a.listUsers({ offset: 0, size: 10, activeSince: new Date(0) }),
        ]);

        proxy.freeze();
        const started = performance.now();
        const [write, read] = await Promise.all([
          outcome(a.createToken({ name: 'during', hash: 'h-during', permissions: ['USER_ADMIN'] }, ctx)),
          outcome(a.ping()),
        ]);
        assert.equal(write, 'STORE_UNAVAILABLE', 'a change on a half-open connection');
        assert.equal(read, 'STORE_UNAVAILABLE', 'a read on a half-open connection');
        console.log(
          `# both failed within ${Math.round(performance.now() - started)} ms (timeout ${TIMEOUT_MS} ms)`,
        );

        // The partition ends without a reset: the old sockets stay frozen, so A recovers only if
        // it dropped them.
        proxy.heal();
        const healedAt = performance.now();
        let after = 'not tried';
        while (performance.now() - healedAt < LIMIT_MS) {
          after = await outcome(
            a.createToken({ name: 'after', hash: 'h-after', permissions: ['USER_ADMIN'] }, ctx),
          );
          if (after === 'ok') break;
          await sleep(100);
        }
        assert.equal(after, 'ok', 'A takes changes again once the database is back');
        assert.equal(await outcome(a.ping()), 'ok');
        // The change that timed out never reached the database; the others are there once each.
        const names = (await b.listTokens()).map((t) => t.name).sort();
        assert.deepEqual(names, ['after', 'before']);
      } finally {
        await proxy.cut();
        await a.close();
        await b.close();
      }
    }));

  it('leaves no database session waiting for a lock past the timeout', () =>
    withSchema(async (schema) => {
      const app = `licensor-lock-wait-${process.pid}`;
      const store = await PostgresStore.open({
        url: TEST_DATABASE_URL,
        schema,
        queryTimeoutMs: TIMEOUT_MS,
        applicationName: app,
      });
      const token = (name: string) =>
        store.createToken({ name, hash: `h-${name}`, permissions: ['USER_ADMIN'] }, ctx);
      try {
        await withTestClient(async (holder) => {
          // Every token insert takes this lock: held here, as a long change would hold it.
          await holder.query(`SET search_path = ${schema}`);
          await holder.query('BEGIN');
          await holder.query(storeLockSql(LOCK_BOOTSTRAP_TOKEN));
          try {
            assert.equal(await outcome(token('behind')), 'STORE_UNAVAILABLE');
            // The request has its answer; its database session must not go on waiting behind the
            // lock, which is still held, or each retry would leave one more behind it.
            const waiting = () =>
              withTestClient(async (c) => {
                const { rows } = await c.query<{ n: string }>(
                  `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
                  [app],
                );
                return Number(rows[0]?.n);
              });
            const since = performance.now();
            let n = await waiting();
            while (n > 0 && performance.now() - since < LIMIT_MS) {
              await sleep(100);
              n = await waiting();
            }
            assert.equal(n, 0, `${n} session(s) of the store still wait for the lock after ${LIMIT_MS} ms`);
          } finally {
            await holder.query('ROLLBACK');
          }
        });
        assert.equal(await outcome(token('after')), 'ok', 'the store takes changes once the lock is free');
      } finally {
        await store.close();
      }
    }));

  it('ends the session of an instance that stops talking inside a transaction, freeing its locks', () =>
    withSchema(async (schema) => {
      // Another instance's pool, as the store makes it, whose process freezes (a SIGSTOP, a stuck
      // event loop, a paused VM) holding the token lock: its socket stays open, so only a limit in
      // the database can end the transaction.
      const { pool: frozen } = createPool({
        url: TEST_DATABASE_URL,
        schema,
        queryTimeoutMs: TIMEOUT_MS,
        onPoolError: () => undefined,
      });
      const store = await PostgresStore.open({
        url: TEST_DATABASE_URL,
        schema,
        // Longer than the silent session's idle limit (idleInTransactionLimitMs: 5 s here).
        queryTimeoutMs: 10 * TIMEOUT_MS,
      });
      const holder = await frozen.connect();
      let lost: Error | undefined;
      holder.on('error', (err) => (lost = err));
      try {
        await holder.query('BEGIN');
        await holder.query(storeLockSql(LOCK_BOOTSTRAP_TOKEN));
        const started = performance.now();
        const created = await outcome(
          store.createToken({ name: 'behind', hash: 'h-behind', permissions: ['USER_ADMIN'] }, ctx),
        );
        assert.equal(created, 'ok', 'the change waits out the silent transaction, then commits');
        assert.ok(
          performance.now() - started >= idleInTransactionLimitMs(TIMEOUT_MS) - 500,
          'not before the idle limit',
        );
        console.log(`# committed after ${Math.round(performance.now() - started)} ms behind a frozen holder`);
        await sleep(100);
        assert.match(String(lost), /terminat/i, 'the frozen holder was disconnected by the database');
      } finally {
        holder.release(true);
        await store.close();
        await frozen.end();
      }
    }));

  // Ended inside a transaction (idle_in_transaction_session_timeout, which the pool sets) or outside
  // one (idle_session_timeout, which an operator may set on the role).
  for (const [setting, begin, sqlstate] of [
    ['idle_in_transaction_session_timeout', 'BEGIN', '25P03'],
    ['idle_session_timeout', null, '57P05'],
  ] as const)
    it(`answers STORE_UNAVAILABLE when the database ended the session for sitting idle (${sqlstate})`, async () => {
      const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, options: `-c ${setting}=200` });
      pool.on('error', () => undefined);
      pool.on('connect', (client) => client.on('error', () => undefined));
      try {
        const failed = await inTransaction(
          pool,
          async (client) => {
            await client.query('SELECT 1');
            // A stall of the event loop, not an await: the next query goes out before the client
            // has read that the server ended the session, and comes back with its SQLSTATE.
            const until = performance.now() + 600;
            while (performance.now() < until);
            await client.query('SELECT 2');
          },
          begin,
        ).then(
          () => 'ok',
          (err: unknown) => {
            const translated = translate(err);
            return isLicensorError(translated) ? translated.code : `untranslated: ${String(err)}`;
          },
        );
        assert.equal(failed, 'STORE_UNAVAILABLE');
      } finally {
        await pool.end();
      }
    });

  it('gives each round trip of the inactive-user sweep time by the rows it writes', () =>
    withSchema(async (schema) => {
      // A tight limit: each chunk's writes (a row per user, each made slow by a trigger, and their
      // audit entries) take longer than it, and far less than it plus 1 ms per row written.
      const store = await PostgresStore.open({
        url: TEST_DATABASE_URL,
        schema,
        queryTimeoutMs: SWEEP_TIMEOUT_MS,
      });
      try {
        await withTestClient(async (c) => {
          await c.query(`SET search_path = ${schema}`);
          await c.query(
            `INSERT INTO users (iamid, userid, created_at, last_activity_at, identity_key, search_text)
               SELECT 'bim', 'u' || g, '2020-01-01', '2020-01-01', 'bim:u' || g, ''
               FROM generate_series(1, ${SWEEP_USERS}) AS g`,
          );
          // A wait on the clock, not pg_sleep, whose shortest sleep is about 1 ms on some machines.
          await c.query(`CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE until timestamptz := clock_timestamp() + interval '${SWEEP_ROW_MS} milliseconds';
            BEGIN WHILE clock_timestamp() < until LOOP END LOOP; RETURN NEW; END $$`);
          await c.query(
            'CREATE TRIGGER slow_row BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION slow_row()',
          );
        });
        const now = new Date('2026-06-01T00:00:00.000Z');
        const started = performance.now();
        const swept = await store.disableInactiveUsers(
          90,
          { clock: new ManualClock(now), actor: TEST_ACTOR },
          { dryRun: false },
        );
        const ms = Math.round(performance.now() - started);
        assert.equal(swept.count, SWEEP_USERS);
        const { total } = await store.listAudit({ offset: 0, size: 1 });
        assert.equal(total, SWEEP_USERS, 'one audit entry per user, in the same commit');
        console.log(`# swept ${SWEEP_USERS} users in ${ms} ms (query timeout ${SWEEP_TIMEOUT_MS} ms)`);
      } finally {
        await store.close();
      }
    }));
});
