/**
 * SIGKILL between the commit and the delivery (docs/webhooks.md#delivery): the event is in the
 * outbox with its delivery, committed with the change, so a server killed before it sent anything
 * delivers it after the restart. The first server polls only every 10 s, so the kill lands after
 * the commit and before any attempt.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { postgresSkipReason } from '../helpers/postgres.js';
import { startServerProcess } from '../helpers/process.js';
import { eventually, Receiver } from '../helpers/receiver.js';
import { ok, STORES } from '../e2e/store-servers.js';
import { webhookInstallation } from '../webhooks/webhook-server.js';

let pgSkip: string | undefined;
before(async () => {
  pgSkip = await postgresSkipReason();
});

for (const store of STORES) {
  describe(`SIGKILL before delivery on ${store}`, () => {
    test('the event committed before the kill is delivered after the restart, once', async (t) => {
      if (store === 'postgres' && pgSkip) return t.skip(pgSkip);
      const { env, issuer } = await webhookInstallation(t, store, { LICENSOR_LOG_LEVEL: 'warn' });
      const receiver = await Receiver.start(t);
      const slow = await startServerProcess(t, { ...env, LICENSOR_EVENTS_POLL_MS: '10000' });
      await ok(slow.url, 'POST', '/admin/webhooks', { url: receiver.url, events: ['license.added'] });
      const added = await ok(slow.url, 'POST', '/admin/license', { licenseKey: issuer.issue() });
      await slow.stop('SIGKILL');
      assert.equal(receiver.received.length, 0, 'nothing was sent before the kill');
      const again = await startServerProcess(t, env);
      await eventually('the delivery after the restart', () => receiver.received.length === 1);
      assert.equal(receiver.received[0]?.event.data.id, added.body.id);
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(receiver.received.length, 1);
      await again.stop();
    });
  });
}
