import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTestApp } from '../helpers/app.js';

interface EventPage {
  total: number;
  events: { id: string; type: string; timestamp: string; data: Record<string, unknown> }[];
}

test('GET /admin/events: a change’s events, and refusals of a full site as one seats.refused a minute', async (t) => {
  const h = await buildTestApp(t);
  assert.equal((await h.addKey(h.issuer.issue({ seats: 1 }))).statusCode, 200);
  const create = (userid: string) =>
    h.request({ method: 'POST', url: '/admin/users', payload: { userid, iamid: 'okta' } });
  assert.equal((await create('ada')).statusCode, 201);
  for (const userid of ['bob', 'cy', 'di']) assert.equal((await create(userid)).statusCode, 403);
  h.clock.advance(60_000);
  assert.equal((await create('ed')).statusCode, 403);

  const events = async (query = ''): Promise<EventPage> => {
    const res = await h.request({ method: 'GET', url: `/admin/events${query}` });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<EventPage>();
  };
  const refused = await events('?type=seats.refused');
  assert.deepEqual(
    refused.events.map((e) => [e.timestamp, e.data]),
    [
      ['2026-06-01T12:01:00.000Z', { activeUserCount: 1, licenseSeats: 1, hardSeats: 1, count: 1 }],
      ['2026-06-01T12:00:00.000Z', { activeUserCount: 1, licenseSeats: 1, hardSeats: 1, count: 3 }],
    ],
  );
  const all = await events();
  assert.deepEqual(
    all.events.map((e) => e.type),
    [
      'seats.refused',
      'seats.refused',
      'seats.threshold',
      'seats.threshold',
      'seats.threshold',
      'license.added',
    ],
  );
  assert.equal(all.total, 6);
  for (const e of all.events) assert.match(e.id, /^evt_/);
  // The refusals are audited too, one entry each.
  const audit = await h.request({ method: 'GET', url: '/admin/audit?size=100' });
  assert.equal(
    audit
      .json<{ entries: { code: string | null }[] }>()
      .entries.filter((e) => e.code === 'SEAT_LIMIT_REACHED').length,
    4,
  );
  const bad = await h.request({ method: 'GET', url: '/admin/events?type=nope' });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().code, 'VALIDATION_FAILED');
});
