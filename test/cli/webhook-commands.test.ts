import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, Receiver, until, verifyStandardWebhook } from '../helpers/receiver.js';
import { apiGet, assertOk, assertRefused, assertUsage, okJson, startLicensor } from './cli-helpers.js';

test('licensor webhooks and licensor events against a real server and receiver', async (t) => {
  const l = await startLicensor(t);
  const receiver = await Receiver.start(t);

  const out = assertOk(
    await l.run(['webhooks', 'add', receiver.url, '--event', 'license.added,ping', '--description', 'ops']),
  );
  const [sentence, secret, ...rest] = out.split('\n');
  assert.equal(
    sentence,
    `Added webhook 1 for license.added, ping to ${receiver.url}. Its signing secret is shown only now:`,
  );
  assert.match(secret ?? '', /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.deepEqual(rest, ['']);
  assertUsage(await l.run(['webhooks', 'add', receiver.url, '--event', 'license.nope']), /--event must be/);
  // An --event naming nothing is not every type; the list below still holds webhook 1 alone.
  for (const blank of ['', ',', 'license.added,'])
    assertUsage(
      await l.run(['webhooks', 'add', receiver.url, '--event', blank]),
      /--event names no event type/,
    );
  assertRefused(await l.run(['webhooks', 'add', 'ftp://example.com/']), 'INVALID_WEBHOOK_URL');

  const list = assertOk(await l.run(['webhooks', 'list']));
  assert.match(list, /^ID\s+URL\s+EVENTS\s+STATE\s+PENDING\s+FAILED$/m);
  assert.match(list, /^ 1 +http:\/\/127\.0\.0\.1:\d+\/hook +license\.added,ping +enabled +0 +0$/m);
  assert.doesNotMatch(list, /whsec_/);
  assert.deepEqual(okJson(await l.run(['webhooks', 'list', '--json'])), await apiGet(l, '/admin/webhooks'));

  const ping = assertOk(await l.run(['webhooks', 'test', '1']));
  assert.match(ping, /^Queued ping evt_\S+ to webhook 1;/);
  await eventually('the ping', () => receiver.received.length === 1);
  const [got] = receiver.received;
  assert.ok(got && verifyStandardWebhook(secret ?? '', got.headers, got.body, Math.floor(Date.now() / 1000)));
  const deliveries = await until(
    'the logged attempt',
    async () => assertOk(await l.run(['webhooks', 'deliveries', '1'])),
    (text) => /delivered 200/.test(text),
  );
  assert.match(deliveries, /^AT \(UTC\)\s+EVENT\s+TYPE\s+#\s+RESULT\s+MS\s+NEXT RETRY$/m);
  assert.match(deliveries, /evt_\S+ +ping +1 +delivered 200 +\d+ +-$/m);

  const events = assertOk(await l.run(['events', '--type', 'ping']));
  assert.match(events, /^AT \(UTC\)\s+TYPE\s+ID\s+DATA$/m);
  assert.match(events, / ping +evt_\S+ +-$/m);
  assert.deepEqual(okJson(await l.run(['events', '--json'])), await apiGet(l, '/admin/events'));
  assertUsage(await l.run(['events', '--type', 'nope']), /--type must be/);

  assert.equal(assertOk(await l.run(['webhooks', 'remove', '1'])), `Removed webhook 1 (${receiver.url}).\n`);
  assertRefused(await l.run(['webhooks', 'remove', '1']), 'WEBHOOK_NOT_FOUND');
  assertRefused(await l.run(['webhooks', 'deliveries', '1']), 'WEBHOOK_NOT_FOUND');
  assertUsage(await l.run(['webhooks', 'test', 'one']), /positive integer/);
});
