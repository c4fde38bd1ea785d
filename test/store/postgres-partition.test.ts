/**
 * A PostgreSQL instance cut off by a partition (docs/performance.md#the-read-snapshot): its sockets
 * stay open and nothing arrives, so no error tells it anything. It must not go on answering from
 * its snapshot what another instance has since changed: once no generation read has succeeded for
 * TRUST_MS, it empties its snapshot on every poll tick. Here instance A reaches the database through
 * a proxy the test freezes; instance B revokes a token A had served; A stops serving it from memory,
 * and once the partition heals (its old sockets left frozen, as half-open ones are) A answers the
 * revoke, from its snapshot again. And a store closed while the network is frozen still closes,
 * within TRUST_MS (docs/deployment.md#shutdown).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/domain/clock.js';
import { TRUST_MS } from '../../src/store/postgres/postgres-coherence.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { TokenRecord } from '../../src/store/store.js';
import { postgresSkipReason, TEST_DATABASE_URL, withSchema, withTestClient } from '../helpers/postgres.js';
import { proxyToTestDatabase } from '../helpers/proxy.js';
import { TEST_ACTOR } from './store-contract.js';

const skip = await postgresSkipReason();
/** Generous: the rule is TRUST_MS plus one poll tick (500 ms); a loaded machine lags its timers. */
const LIMIT_MS = TRUST_MS + 8000;
/** Instance A's connections, told apart from B's and other tests' in pg_stat_activity. */
const APP_A = 'licensor-partition-a';

/** Whether A has opened a LISTEN connection since `since` (the database's clock). */
async function listensAgainSince(since: Date): Promise<boolean> {
  return withTestClient(async (c) => {
    // The listener's last query is its LISTEN or the check it answers every few seconds.
    const { rows } = await c.query(
      `SELECT 1 FROM pg_stat_activity
        WHERE application_name = $1 AND backend_start > $2 AND (query LIKE 'LISTEN %' OR query = 'SELECT 1')`,
      [APP_A, since],
    );
    return rows.length > 0;
  });
}

describe('PostgresStore: an instance cut off from the database', { skip: skip ?? false }, () => {
  it('stops answering from its snapshot, and answers what changed once the database is back', () =>
    withSchema(async (schema) => {
      const proxy = await proxyToTestDatabase();
      const ctx = { clock: new ManualClock(new Date('2026-06-01T12:00:00.000Z')), actor: TEST_ACTOR };
      const b = await PostgresStore.open({ url: TEST_DATABASE_URL, schema, poolMax: 3 });
      const a = await PostgresStore.open({
        url: proxy.via(TEST_DATABASE_URL),
        schema,
        // One connection: a read that hung on it for good would stop every later one.
        poolMax: 1,
        connectTimeoutMs: 1000,
        applicationName: APP_A,
        onPoolError: () => undefined,
      });
      try {
        await b.createToken({ name: 'keep', hash: 'h-keep', permissions: ['APPLICATION_ADMIN'] }, ctx);
        const revoked = await b.createToken(
          { name: 'gone', hash: 'h-gone', permissions: ['USER_ADMIN'] },
          ctx,
        );
        // The creates' notifications reach A, then A loads the tokens once and keeps them.
        await sleep(500);
        assert.equal((await a.findTokenByHash('h-gone'))?.id, revoked.id, 'A serves the token');
        assert.equal(a.currentToken('h-gone')?.id, revoked.id, 'from its snapshot');

        proxy.freeze();
        const frozenAt = performance.now();
        await b.revokeToken(revoked.id, ctx);

        // A heard nothing of the revoke; it must stop answering from memory.
        while (a.currentToken('h-gone') !== undefined && performance.now() - frozenAt < LIMIT_MS)
          await sleep(50);
        const emptiedMs = Math.round(performance.now() - frozenAt);
        assert.equal(
          a.currentToken('h-gone'),
          undefined,
          `A still serves the revoked token ${emptiedMs} ms into the partition`,
        );
        console.log(`# snapshot emptied ${emptiedMs} ms into the partition (TRUST_MS ${TRUST_MS})`);
        // A read now goes to the database, which it cannot reach: it fails or waits, and never
        // answers the revoked token as live.
        const read = a.findTokenByHash('h-gone').then(
          (token: TokenRecord | undefined) => (token === undefined ? 'not found' : 'live'),
          () => 'failed',
        );
        assert.notEqual(await Promise.race([read, sleep(1000, 'waiting')]), 'live');

        // The partition ends without a reset: new connections go through, the old ones stay
        // frozen. A's one pooled connection is held by a generation read that never gets a reply;
        // that read gives up after TRUST_MS and its connection is dropped, so A recovers by itself.
        proxy.heal();
        const healedDbAt = await withTestClient(
          async (c) => (await c.query<{ t: Date }>('SELECT now() AS t')).rows[0]!.t,
        );
        let after: TokenRecord | undefined | string = 'failed';
        const healedAt = performance.now();
        while (performance.now() - healedAt < LIMIT_MS) {
          after = await Promise.race([
            a.findTokenByHash('h-gone').catch(() => 'failed'),
            sleep(2000, 'waiting'),
          ]);
          if (after !== 'failed' && after !== 'waiting') break;
          await sleep(100);
        }
        assert.equal(after, undefined, 'A answers the revoke once the database is back');
        assert.notEqual(await Promise.race([read, sleep(1000, 'waiting')]), 'live');
        // And it answers from its snapshot again: the generation reads succeed.
        while (a.currentToken('h-gone') !== null && performance.now() - healedAt < LIMIT_MS) {
          await a.findTokenByHash('h-gone').catch(() => undefined);
          await sleep(100);
        }
        assert.equal(a.currentToken('h-gone'), null, 'the revoked token, from the snapshot');
        console.log(`# recovered ${Math.round(performance.now() - healedAt)} ms after the partition healed`);

        // Its LISTEN connection, frozen too, never fails by itself: A replaces it once it does not
        // answer its check, and hears notifications again rather than only polling.
        let listening = false;
        while (!listening && performance.now() - healedAt < 3 * LIMIT_MS) {
          listening = await listensAgainSince(healedDbAt);
          if (!listening) await sleep(250);
        }
        assert.ok(listening, 'A listens again on a new connection');
        console.log(
          `# listening again ${Math.round(performance.now() - healedAt)} ms after the partition healed`,
        );
      } finally {
        await proxy.cut();
        await a.close();
        await b.close();
      }
    }));

  it('closes within its limit while the database does not answer', () =>
    withSchema(async (schema) => {
      const proxy = await proxyToTestDatabase();
      const a = await PostgresStore.open({
        url: proxy.via(TEST_DATABASE_URL),
        schema,
        poolMax: 1,
        connectTimeoutMs: 1000,
        onPoolError: () => undefined,
      });
      try {
        // The LISTEN connection is idle: pg would end it politely and wait for an answer forever.
        proxy.freeze();
        const started = performance.now();
        const closed = await Promise.race([a.close().then(() => 'closed'), sleep(LIMIT_MS, 'still closing')]);
        const ms = Math.round(performance.now() - started);
        assert.equal(closed, 'closed', `close() still waiting after ${ms} ms of a frozen network`);
        console.log(`# closed in ${ms} ms with the network frozen (TRUST_MS ${TRUST_MS})`);
      } finally {
        await proxy.cut();
        await a.close();
      }
    }));
});
