/**
 * Several instances on one database (docs/webhooks.md#many-instances): each delivery is attempted by
 * one instance at a time and each time-based event is produced once, not once per instance. Two
 * real server processes on one PostgreSQL schema (FOR UPDATE SKIP LOCKED) and on one SQLite file
 * (claims under the write lock), six license adds spread over both.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ManualClock } from '../../src/domain/clock.js';
import { SYSTEM_ACTOR } from '../../src/domain/changes.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { DAY } from '../helpers/issuer.js';
import { postgresSkipReason, TEST_DATABASE_URL, withSchema } from '../helpers/postgres.js';
import { startServerProcess } from '../helpers/process.js';
import { eventually, Receiver } from '../helpers/receiver.js';
import { ok, STORES } from './store-servers.js';
import { webhookInstallation } from '../webhooks/webhook-server.js';

let pgSkip: string | undefined;
before(async () => {
  pgSkip = await postgresSkipReason();
});

for (const store of STORES) {
  describe(`two server processes on one ${store} store`, () => {
    test('six license adds over both: six deliveries, no duplicate; each expiry milestone produced once', async (t) => {
      if (store === 'postgres' && pgSkip) return t.skip(pgSkip);
      const { env, issuer } = await webhookInstallation(t, store, { LICENSOR_LOG_LEVEL: 'warn' });
      const a = await startServerProcess(t, env);
      const b = await startServerProcess(t, env);
      const receiver = await Receiver.start(t);
      await ok(a.url, 'POST', '/admin/webhooks', {
        url: receiver.url,
        events: ['license.added', 'license.expiring'],
      });
      const added: string[] = [];
      for (let i = 0; i < 6; i++) {
        const server = i % 2 === 0 ? a : b;
        const reply = await ok(server.url, 'POST', '/admin/license', {
          licenseKey: issuer.issue({ expires: new Date(Date.now() + 20 * DAY).toISOString() }),
        });
        added.push(String(reply.body.id));
      }
      await eventually('six adds and six expiry warnings', () => receiver.received.length >= 12, 15_000);
      // Time for a duplicate to show, were there one: both instances poll every 50 ms.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const ids = receiver.received.map((r) => r.headers['webhook-id']);
      assert.equal(new Set(ids).size, ids.length, 'no event delivered twice');
      const licensesOf = (type: string) =>
        receiver
          .of(type)
          .map((r) => String(r.event.data.id))
          .sort();
      assert.deepEqual(licensesOf('license.added'), [...added].sort());
      assert.deepEqual(licensesOf('license.expiring'), [...added].sort(), 'one warning per license');
      assert.ok(receiver.of('license.expiring').every((r) => r.event.data.daysLeft === 30));
      const log = await ok(a.url, 'GET', '/admin/events?type=license.expiring&size=100');
      assert.equal(log.body.total, 6, 'produced once, not once per instance');
    });
  });
}

describe('PostgreSQL: racing instances', () => {
  test('concurrent schedulers take each milestone once; concurrent claims take disjoint deliveries', async (t) => {
    if (pgSkip) return t.skip(pgSkip);
    await withSchema(async (schema) => {
      const open = () => PostgresStore.open({ url: TEST_DATABASE_URL, schema });
      const first = await open();
      const second = await open();
      try {
        const clock = new ManualClock(new Date('2030-01-01T00:00:00Z'));
        const ctx = { clock, actor: SYSTEM_ACTOR };
        const hook = await first.webhooks.createWebhook(
          {
            url: 'http://127.0.0.1:9/hook',
            events: ['*'],
            description: null,
            secret: `whsec_${'A'.repeat(43)}=`,
          },
          ctx,
        );
        const milestones = Array.from({ length: 20 }, (_, i) => ({
          milestone: {
            licenseId: 1000 + i,
            key: 'expiring:7',
            type: 'license.expiring' as const,
            dueAt: clock.now(),
            daysLeft: 7,
          },
          event: { type: 'license.expiring' as const, data: { id: 1000 + i, daysLeft: 7 } },
        }));
        const [x, y] = await Promise.all([
          first.webhooks.produceScheduled(milestones, clock.now()),
          second.webhooks.produceScheduled([...milestones].reverse(), clock.now()),
        ]);
        assert.equal(x.length + y.length, 20, 'each key produced by exactly one instance');
        assert.equal(new Set([...x, ...y]).size, 20);
        const events = await first.listEvents({ offset: 0, size: 100, type: 'license.expiring' });
        assert.equal(events.total, 20);
        // Each of the 20 events has one delivery to the endpoint; two instances claim at once.
        const claim = (s: PostgresStore) =>
          s.webhooks.claimDeliveries({
            now: clock.now(),
            leaseMs: 60_000,
            inFlight: new Map(),
            perEndpoint: 20,
            limit: 20,
          });
        const [c1, c2] = await Promise.all([claim(first), claim(second)]);
        const claimed = [...c1, ...c2].map((c) => c.event.id);
        assert.equal(new Set(claimed).size, claimed.length, 'no delivery claimed by both');
        assert.equal(claimed.length, 20);
        // Claimed deliveries are off limits until their lease runs out.
        assert.deepEqual(await claim(first), []);
        clock.advance(61_000);
        assert.equal((await claim(second)).length, 20, 'due again once the lease ran out');
        assert.equal(hook.pendingDeliveries, 0);
      } finally {
        await first.close();
        await second.close();
      }
    });
  });
});
