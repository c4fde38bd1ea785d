import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTestApp } from '../helpers/app.js';
import { DAY } from '../helpers/issuer.js';

test('a key with graceDays 7 that expired yesterday: added, in grace, then out at its end', async (t) => {
  const h = await buildTestApp(t);
  const now = h.clock.now();
  const expires = new Date(now.getTime() - DAY);
  const graceEnd = new Date(expires.getTime() + 7 * DAY);
  const key = h.issuer.issue({
    uuid: 'grace-7',
    createdAt: new Date(now.getTime() - 30 * DAY).toISOString(),
    expires: expires.toISOString(),
    graceDays: 7,
    hardExpiration: true,
    seats: 4,
    noticeOnExpire: 'renew, please',
    features: { FPE: { enabled: true } },
  });
  const added = await h.addKey(key);
  assert.equal(added.statusCode, 200, added.body);
  assert.equal(added.json().state, 'grace');
  assert.equal(added.json().expired, true);
  assert.equal(added.json().graceDays, 7);
  assert.equal(added.json().graceUntil, graceEnd.toISOString());
  // six days ahead of now
  assert.equal(graceEnd.getTime() - now.getTime(), 6 * DAY);

  for (let i = 0; i < 3; i++) {
    const res = await h.request({
      method: 'POST',
      url: '/admin/users',
      payload: { userid: `u${i}`, iamid: 'idp', userType: 'dataConsumer' },
    });
    assert.equal(res.statusCode, 201, res.body);
  }
  const status = (await h.request({ method: 'GET', url: '/admin/license/licenseStatus' })).json();
  assert.equal(status.licenseSeats, 4);
  assert.equal(status.hardSeats, 4);
  assert.equal(status.activeUserCount, 3);
  assert.equal(status.canAddUser, true);
  assert.equal(status.dataAccessBlocked, false);
  assert.deepEqual(status.grace, { until: graceEnd.toISOString(), licenses: ['grace-7'] });
  assert.deepEqual(status.features, { FPE: { enabled: true } });

  const token = await h.request({
    method: 'POST',
    url: '/admin/tokens',
    payload: { name: 'host', permissions: ['USER_ADMIN'] },
  });
  const secret = token.json().secret as string;
  const ent = await h.app.inject({
    method: 'GET',
    url: '/license/entitlements',
    headers: { authorization: `Bearer ${secret}` },
  });
  assert.equal(ent.json().dataAccessBlocked, false);
  assert.deepEqual(ent.json().grace, { until: graceEnd.toISOString(), licenses: ['grace-7'] });
  const notices = await h.app.inject({ method: 'GET', url: '/license/notices' });
  assert.deepEqual(notices.json().notices, [{ kind: 'noticeOnExpire', text: 'renew, please' }]);

  // The grace ends: the seats go, data access is blocked, the state is expired.
  h.clock.set(graceEnd);
  const after = (await h.request({ method: 'GET', url: '/admin/license/licenseStatus' })).json();
  assert.equal(after.licenseSeats, 0);
  assert.equal(after.canAddUser, false);
  assert.equal(after.dataAccessBlocked, true);
  assert.equal(after.grace, null);
  const listed = (await h.request({ method: 'GET', url: '/admin/license' })).json();
  assert.equal(listed[0].state, 'expired');
  const refused = await h.request({
    method: 'POST',
    url: '/admin/users',
    payload: { userid: 'late', iamid: 'idp', userType: 'dataConsumer' },
  });
  assert.equal(refused.statusCode, 403);
  assert.equal(refused.json().code, 'SEAT_LIMIT_REACHED');
});

test('a key past expires + graceDays is refused LICENSE_EXPIRED; a renewal is accepted in grace', async (t) => {
  const h = await buildTestApp(t);
  const now = h.clock.now();
  const created = new Date(now.getTime() - 60 * DAY).toISOString();
  const past = h.issuer.issue({
    createdAt: created,
    expires: new Date(now.getTime() - 8 * DAY).toISOString(),
    graceDays: 7,
  });
  const res = await h.addKey(past);
  assert.equal(res.statusCode, 400, res.body);
  assert.equal(res.json().code, 'LICENSE_EXPIRED');
  const dry = await h.request({
    method: 'POST',
    url: '/admin/license/validate',
    payload: { licenseKey: past },
  });
  assert.equal(dry.json().refusal?.code, 'LICENSE_EXPIRED');

  // A late renewal, itself still in its grace, can be added; its preview shows the grace.
  const late = h.issuer.issue({
    createdAt: created,
    expires: new Date(now.getTime() - 2 * DAY).toISOString(),
    graceDays: 14,
  });
  const preview = await h.request({
    method: 'POST',
    url: '/admin/license/validate',
    payload: { licenseKey: late },
  });
  assert.equal(preview.statusCode, 200, preview.body);
  assert.equal(preview.json().refusal, null);
  assert.equal(preview.json().license.state, 'grace');
  assert.equal(preview.json().after.graceUntil, new Date(now.getTime() + 12 * DAY).toISOString());
  assert.equal((await h.addKey(late)).statusCode, 200);
});
