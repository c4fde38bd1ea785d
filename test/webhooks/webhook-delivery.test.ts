/**
 * Webhook delivery against a real receiver on 127.0.0.1, on each store (docs/webhooks.md): signed
 * per Standard Webhooks, retried with the same webhook-id until a 2xx, logged, failed after the last
 * retry, redirects not followed, a receiver that was down served once it is back, and the seat
 * thresholds and expiry warnings produced and delivered once each.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { DAY } from '../helpers/issuer.js';
import { postgresSkipReason } from '../helpers/postgres.js';
import { eventually, Receiver, until, verifyStandardWebhook } from '../helpers/receiver.js';
import { call, ok, STORES } from '../e2e/store-servers.js';
import { startInProcess, webhookInstallation } from './webhook-server.js';

let pgSkip: string | undefined;
before(async () => {
  pgSkip = await postgresSkipReason();
});

async function addWebhook(base: string, url: string, events: string[] = ['*']) {
  const reply = await ok(base, 'POST', '/admin/webhooks', { url, events });
  assert.equal(reply.status, 201);
  return reply.body as { id: number; secret: string };
}

async function attempts(base: string, id: number) {
  const reply = await ok(base, 'GET', `/admin/webhooks/${id}/deliveries?size=100`);
  return (
    reply.body.attempts as {
      eventId: string;
      attempt: number;
      statusCode: number | null;
      outcome: string;
      error: string | null;
      nextRetryAt: string | null;
    }[]
  ).reverse();
}

for (const store of STORES) {
  describe(`webhook delivery on ${store}`, () => {
    test('a delivery is signed per Standard Webhooks; one changed byte fails the check', async (t) => {
      if (store === 'postgres' && pgSkip) return t.skip(pgSkip);
      const { env, issuer } = await webhookInstallation(t, store);
      const server = await startInProcess(t, env);
      const receiver = await Receiver.start(t);
      const hook = await addWebhook(server.url, receiver.url, ['license.added']);
      assert.match(hook.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.equal(Buffer.from(hook.secret.slice(6), 'base64').length, 32);
      await ok(server.url, 'POST', '/admin/license', { licenseKey: issuer.issue({ seats: 3 }) });
      await eventually('the license.added delivery', () => receiver.received.length === 1);
      const [got] = receiver.received;
      assert.ok(got);
      const now = Math.floor(Date.now() / 1000);
      assert.ok(verifyStandardWebhook(hook.secret, got.headers, got.body, now), 'the signature verifies');
      const flipped = got.body.replace('"license.added"', '"license.addeD"');
      assert.notEqual(flipped, got.body);
      assert.equal(
        verifyStandardWebhook(hook.secret, got.headers, flipped, now),
        false,
        'one byte changed fails',
      );
      const otherSecret = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
      assert.equal(
        verifyStandardWebhook(otherSecret, got.headers, got.body, now),
        false,
        'another secret fails',
      );
      // The body is the event as the log shows it; webhook-id is its id.
      const events = await ok(server.url, 'GET', '/admin/events?type=license.added');
      const [logged] = events.body.events as Record<string, unknown>[];
      assert.deepEqual(JSON.parse(got.body), logged);
      assert.equal(got.headers['webhook-id'], logged?.id);
      assert.equal(got.headers['content-type'], 'application/json');
      // The secret is shown once: never in a read.
      const read = await ok(server.url, 'GET', `/admin/webhooks/${hook.id}`);
      assert.equal('secret' in read.body, false);
      assert.equal(
        JSON.stringify((await ok(server.url, 'GET', '/admin/webhooks')).body).includes(hook.secret),
        false,
      );
    });

    test('500, 500, then 200: the third attempt delivers, all three carry one webhook-id and are logged', async (t) => {
      if (store === 'postgres' && pgSkip) return t.skip(pgSkip);
      const { env } = await webhookInstallation(t, store);
      const server = await startInProcess(t, env);
      const receiver = await Receiver.start(t, (n) => ({ status: n < 2 ? 500 : 200 }));
      const hook = await addWebhook(server.url, receiver.url);
      const ping = await ok(server.url, 'POST', `/admin/webhooks/${hook.id}/test`);
      assert.equal(ping.status, 202);
      await eventually('three attempts', () => receiver.received.length === 3);
      const ids = new Set(receiver.received.map((r) => r.headers['webhook-id']));
      assert.deepEqual([...ids], [ping.body.id]);
      const log = await until(
        'three logged attempts',
        () => attempts(server.url, hook.id),
        (l) => l.length === 3,
      );
      assert.deepEqual(
        log.map((a) => [a.eventId, a.attempt, a.statusCode, a.outcome]),
        [
          [ping.body.id, 1, 500, 'retry'],
          [ping.body.id, 2, 500, 'retry'],
          [ping.body.id, 3, 200, 'delivered'],
        ],
      );
      assert.ok(log[0]?.nextRetryAt !== null && log[2]?.nextRetryAt === null);
      // Nothing more is sent once delivered.
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(receiver.received.length, 3);
    });

    test('after the last retry the delivery is failed, and the endpoint shows it', async (t) => {
      if (store === 'postgres' && pgSkip) return t.skip(pgSkip);
      const { env } = await webhookInstallation(t, store, { LICENSOR_WEBHOOK_RETRY_SCHEDULE: '0.05,0.05' });
      const server = await startInProcess(t, env);
      const receiver = await Receiver.start(t, () => ({ status: 503 }));
      const hook = await addWebhook(server.url, receiver.url);
      await ok(server.url, 'POST', `/admin/webhooks/${hook.id}/test`);
      const shown = await until(
        'the endpoint to show a failed delivery',
        async () => (await ok(server.url, 'GET', `/admin/webhooks/${hook.id}`)).body,
        (body) => body.failedDeliveries === 1,
      );
      assert.equal(shown.failedDeliveries, 1);
      assert.equal(shown.pendingDeliveries, 0);
      assert.equal(typeof shown.lastFailedAt, 'string');
      assert.equal(receiver.received.length, 3, 'the first attempt and two retries');
      const log = await attempts(server.url, hook.id);
      assert.deepEqual(
        log.map((a) => a.outcome),
        ['retry', 'retry', 'failed'],
      );
      const metrics = await fetch(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${env.LICENSOR_ADMIN_TOKEN}` },
      });
      const text = await metrics.text();
      assert.match(text, /^licensor_webhook_deliveries_failed 1$/m);
      assert.match(text, /^licensor_webhook_deliveries_pending 0$/m);
    });

    test('a redirect is not followed: it is a failed attempt', async (t) => {
      if (store === 'postgres' && pgSkip) return t.skip(pgSkip);
      const { env } = await webhookInstallation(t, store, { LICENSOR_WEBHOOK_RETRY_SCHEDULE: '' });
      const server = await startInProcess(t, env);
      const target = await Receiver.start(t);
      const receiver = await Receiver.start(t, () => ({ status: 307, headers: { location: target.url } }));
      const hook = await addWebhook(server.url, receiver.url);
      await ok(server.url, 'POST', `/admin/webhooks/${hook.id}/test`);
      await eventually('the attempt', () => receiver.received.length === 1);
      const log = await until(
        'the logged attempt',
        () => attempts(server.url, hook.id),
        (l) => l.length === 1,
      );
      assert.equal(log[0]?.statusCode, 307);
      assert.equal(log[0]?.error, 'redirect not followed');
      assert.equal(target.received.length, 0, 'the redirect target got nothing');
    });

    test('a receiver that is down while the change is made gets the event once it is back', async (t) => {
      if (store === 'postgres' && pgSkip) return t.skip(pgSkip);
      const { env, issuer } = await webhookInstallation(t, store, {
        LICENSOR_WEBHOOK_RETRY_SCHEDULE: '0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1',
      });
      const server = await startInProcess(t, env);
      const receiver = await Receiver.start(t);
      const hook = await addWebhook(server.url, receiver.url, ['license.added']);
      await receiver.stop();
      const added = await ok(server.url, 'POST', '/admin/license', { licenseKey: issuer.issue() });
      const log = await until(
        'two failed attempts',
        () => attempts(server.url, hook.id),
        (l) => l.length >= 2,
      );
      assert.ok(
        log.length >= 2 && log.every((a) => a.statusCode === null && a.outcome === 'retry'),
        JSON.stringify(log),
      );
      await receiver.listen();
      await eventually('the delivery once the receiver is back', () => receiver.received.length === 1);
      assert.equal(receiver.received[0]?.event.data.id, added.body.id);
    });

    test('80, 90 and 100 % arrive once each as seats fill, and again after the count dips and rises', async (t) => {
      if (store === 'postgres' && pgSkip) return t.skip(pgSkip);
      const { env, issuer } = await webhookInstallation(t, store);
      const server = await startInProcess(t, env);
      const receiver = await Receiver.start(t);
      await addWebhook(server.url, receiver.url, ['seats.threshold']);
      await ok(server.url, 'POST', '/admin/license', { licenseKey: issuer.issue({ seats: 10 }) });
      const ids: number[] = [];
      const create = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const reply = await ok(server.url, 'POST', '/admin/users', {
            iamid: 'idp',
            userid: `user-${ids.length}-${Math.random()}`,
          });
          ids.push(reply.body.id as number);
        }
      };
      await create(10);
      await eventually('three thresholds', () => receiver.received.length >= 3);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(
        receiver.received.map((r) => r.event.data.percent),
        [80, 90, 100],
      );
      // Down to 7 (below 80 %), then up to 10 again.
      for (const id of ids.splice(0, 3)) await ok(server.url, 'DELETE', `/admin/users/${id}`);
      await create(3);
      await eventually('three more thresholds', () => receiver.received.length >= 6);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(
        receiver.received.map((r) => r.event.data.percent),
        [80, 90, 100, 80, 90, 100],
      );
      assert.equal(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size, 6);
    });

    test('a license that starts after it is added produces license.started when the clock gets there, nothing else changing', async (t) => {
      if (store === 'postgres' && pgSkip) return t.skip(pgSkip);
      // The scheduler skips its polls until the next milestone instant (docs/events.md): this one
      // falls due by the clock alone, seconds after the last change.
      const { env, issuer } = await webhookInstallation(t, store, { LICENSOR_EVENTS_POLL_MS: '1000' });
      const server = await startInProcess(t, env);
      const receiver = await Receiver.start(t);
      await addWebhook(server.url, receiver.url, ['license.started']);
      const startsAt = Date.now() + 3000;
      const added = await ok(server.url, 'POST', '/admin/license', {
        licenseKey: issuer.issue({ startsAt: new Date(startsAt).toISOString() }),
      });
      await eventually('license.started', () => receiver.received.length === 1, 15_000);
      const [got] = receiver.received;
      assert.equal(got?.event.type, 'license.started');
      assert.equal(got?.event.data.id, added.body.id);
      assert.ok(Date.parse(got?.event.timestamp ?? '') >= startsAt, 'not before startsAt');
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(receiver.received.length, 1, 'once');
    });

    test('a license added 20 days before it expires produces license.expiring, daysLeft 30, within 10 s', async (t) => {
      if (store === 'postgres' && pgSkip) return t.skip(pgSkip);
      // The default poll interval: the 10 s promise holds without tuning.
      const { env, issuer } = await webhookInstallation(t, store, { LICENSOR_EVENTS_POLL_MS: '1000' });
      const server = await startInProcess(t, env);
      const receiver = await Receiver.start(t);
      await addWebhook(server.url, receiver.url, ['license.expiring']);
      const added = await ok(server.url, 'POST', '/admin/license', {
        licenseKey: issuer.issue({ expires: new Date(Date.now() + 20 * DAY).toISOString() }),
      });
      await eventually('license.expiring', () => receiver.received.length === 1, 10_000);
      const [got] = receiver.received;
      assert.equal(got?.event.type, 'license.expiring');
      assert.equal(got?.event.data.daysLeft, 30);
      assert.equal(got?.event.data.id, added.body.id);
      // Once: later polls find it produced.
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(receiver.received.length, 1);
      const events = await call(server.url, 'GET', '/admin/events?type=license.expiring');
      assert.equal(events.body.total, 1);
    });
  });
}
