import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkWebhookUrl,
  filterMatches,
  normaliseEventFilter,
  pickDeliveries,
  retryDelayMs,
} from '../../src/domain/webhooks.js';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

test('webhook URLs: http and https only, no credentials, no fragment', () => {
  assert.equal(checkWebhookUrl('https://example.com/hook'), 'https://example.com/hook');
  assert.equal(checkWebhookUrl('http://127.0.0.1:8080/x?y=1'), 'http://127.0.0.1:8080/x?y=1');
  // Exactly the limit once normalised is taken.
  const longest = `https://example.com/${'é'.repeat(338)}`;
  assert.equal(checkWebhookUrl(longest).length, 2048);
  for (const bad of [
    'ftp://example.com/',
    'file:///etc/passwd',
    'https://u:p@example.com/',
    'https://u@example.com/',
    'not a url',
    'https://example.com/#frag',
    // An empty fragment is a fragment too.
    'https://example.com/#',
    `https://example.com/${'a'.repeat(2100)}`,
    // Within the limit as sent (1,020 characters), 6,020 once its é are percent-encoded.
    `https://example.com/${'é'.repeat(1000)}`,
  ])
    assert.equal(
      code(() => checkWebhookUrl(bad)),
      'INVALID_WEBHOOK_URL',
      bad,
    );
});

test('event filters: known types once each, or * alone; ping only by the test', () => {
  assert.deepEqual(normaliseEventFilter(['license.added', 'license.added', 'ping']), [
    'license.added',
    'ping',
  ]);
  assert.deepEqual(normaliseEventFilter(['license.added', '*']), ['*']);
  assert.equal(
    code(() => normaliseEventFilter([])),
    'VALIDATION_FAILED',
  );
  assert.equal(
    code(() => normaliseEventFilter(['license.nope'])),
    'VALIDATION_FAILED',
  );
  assert.ok(filterMatches(['*'], 'seats.threshold'));
  assert.ok(!filterMatches(['license.added'], 'seats.threshold'));
});

test('retries follow the schedule with jitter of ±20 %, then the delivery has failed', () => {
  const schedule = [5, 30, 120];
  assert.equal(retryDelayMs(1, schedule, 0), 4000);
  assert.equal(retryDelayMs(1, schedule, 0.5), 5000);
  assert.ok((retryDelayMs(1, schedule, 0.999) as number) < 6000);
  assert.equal(retryDelayMs(2, schedule, 0.5), 30_000);
  assert.equal(retryDelayMs(3, schedule, 0.5), 120_000);
  assert.equal(retryDelayMs(4, schedule, 0.5), null, 'after the last retry');
  assert.equal(retryDelayMs(1, [], 0.5), null, 'no retries at all');
});

test('claims: at most the limit, and no endpoint above its share counting what is in flight', () => {
  const due = [1, 1, 1, 1, 1, 2, 2, 3].map((webhookId, i) => ({ webhookId, eventId: `e${i}` }));
  const picked = pickDeliveries(due, new Map([[2, 1]]), 2, 10);
  assert.deepEqual(
    picked.map((d) => d.eventId),
    ['e0', 'e1', 'e5', 'e7'],
  );
  assert.equal(pickDeliveries(due, new Map(), 4, 3).length, 3);
});
