import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTestApp } from '../helpers/app.js';

interface Hook {
  id: number;
  url: string;
  events: string[];
  enabled: boolean;
  pendingDeliveries: number;
  secret?: string;
}

test('webhook endpoints: create (secret once), read, pause, ping, delete; each change audited', async (t) => {
  const h = await buildTestApp(t);
  const post = (payload: Record<string, unknown>) =>
    h.request({ method: 'POST', url: '/admin/webhooks', payload });
  for (const [payload, code] of [
    [{ url: 'ftp://example.com/', events: ['*'] }, 'INVALID_WEBHOOK_URL'],
    [{ url: 'https://user:pw@example.com/', events: ['*'] }, 'INVALID_WEBHOOK_URL'],
    [{ url: 'https://example.com/', events: [] }, 'VALIDATION_FAILED'],
    [{ url: 'https://example.com/', events: ['license.nope'] }, 'VALIDATION_FAILED'],
    [{ url: 'https://example.com/', events: ['*'], secret: 'mine' }, 'VALIDATION_FAILED'],
  ] as const) {
    const res = await post(payload);
    assert.equal(res.statusCode, 400, JSON.stringify(payload));
    assert.equal(res.json().code, code, JSON.stringify(payload));
  }
  assert.deepEqual(
    (await h.request({ method: 'GET', url: '/admin/webhooks' })).json(),
    [],
    'refusals store nothing',
  );

  const created = await post({
    url: 'https://example.com/hook',
    events: ['license.added', 'license.added'],
    description: 'chat',
  });
  assert.equal(created.statusCode, 201, created.body);
  const hook = created.json<Hook>();
  assert.match(hook.secret ?? '', /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.deepEqual(hook.events, ['license.added']);
  const read = await h.request({ method: 'GET', url: `/admin/webhooks/${hook.id}` });
  assert.equal(read.statusCode, 200);
  assert.equal('secret' in read.json(), false, 'the secret is shown once');
  assert.equal(
    (await h.request({ method: 'GET', url: '/admin/webhooks/999' })).json().code,
    'WEBHOOK_NOT_FOUND',
  );
  assert.equal((await h.request({ method: 'GET', url: '/admin/webhooks/x' })).json().code, 'INVALID_ID');

  // An event of its type is queued for it; paused, nothing is queued.
  assert.equal((await h.addKey(h.issuer.issue())).statusCode, 200);
  const pending = async () =>
    (await h.request({ method: 'GET', url: `/admin/webhooks/${hook.id}` })).json<Hook>().pendingDeliveries;
  assert.equal(await pending(), 1);
  const paused = await h.request({
    method: 'PATCH',
    url: `/admin/webhooks/${hook.id}`,
    payload: { enabled: false },
  });
  assert.equal(paused.json<Hook>().enabled, false);
  assert.equal((await h.addKey(h.issuer.issue())).statusCode, 200);
  assert.equal(await pending(), 1, 'a paused endpoint is not queued new events');
  const badPatch = await h.request({
    method: 'PATCH',
    url: `/admin/webhooks/${hook.id}`,
    payload: { url: 'gopher://x/' },
  });
  assert.equal(badPatch.json().code, 'INVALID_WEBHOOK_URL');
  assert.equal(
    (await h.request({ method: 'PATCH', url: `/admin/webhooks/${hook.id}`, payload: {} })).statusCode,
    400,
  );

  const ping = await h.request({ method: 'POST', url: `/admin/webhooks/${hook.id}/test` });
  assert.equal(ping.statusCode, 202, ping.body);
  assert.match(ping.json().id, /^evt_/);
  assert.equal(await pending(), 2);
  const pings = await h.request({ method: 'GET', url: '/admin/events?type=ping' });
  assert.equal(pings.json().total, 1);
  const log = await h.request({ method: 'GET', url: `/admin/webhooks/${hook.id}/deliveries` });
  assert.deepEqual(log.json(), { offset: 0, size: 10, total: 0, attempts: [] });

  const removed = await h.request({ method: 'DELETE', url: `/admin/webhooks/${hook.id}` });
  assert.equal(removed.statusCode, 200);
  assert.equal(
    (await h.request({ method: 'DELETE', url: `/admin/webhooks/${hook.id}` })).json().code,
    'WEBHOOK_NOT_FOUND',
  );
  assert.equal((await h.request({ method: 'POST', url: `/admin/webhooks/${hook.id}/test` })).statusCode, 404);
  assert.equal(
    (await h.request({ method: 'GET', url: `/admin/webhooks/${hook.id}/deliveries` })).statusCode,
    404,
  );

  const audit = await h.request({ method: 'GET', url: '/admin/audit?size=100' });
  const entries = audit
    .json<{ entries: { action: string; target: string | null; outcome: string }[] }>()
    .entries.filter((e) => e.action.startsWith('webhook.') && e.outcome === 'success')
    .map((e) => [e.action, e.target])
    .reverse();
  const target = `webhook:${hook.id}`;
  assert.deepEqual(entries, [
    ['webhook.create', target],
    ['webhook.update', target],
    ['webhook.test', target],
    ['webhook.delete', target],
  ]);
  // The secret appears nowhere but in the creation response.
  assert.equal(JSON.stringify(audit.json()).includes(hook.secret ?? '?'), false);
});
