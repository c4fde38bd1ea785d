import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../helpers/app.js';

async function createUser(h: TestApp, userid: string) {
  return h.request({ method: 'POST', url: '/admin/users', payload: { userid, iamid: 'idp' } });
}

async function setSeats(h: TestApp, userCap: number | null, whenFull: 'refuse' | 'queue') {
  const res = await h.request({
    method: 'PUT',
    url: '/admin/settings/seats',
    payload: { userCap, whenFull },
  });
  assert.equal(res.statusCode, 200, res.body);
  return res;
}

async function status(h: TestApp) {
  return (await h.request({ method: 'GET', url: '/admin/license/licenseStatus' })).json();
}

async function withTenSeats(t: Parameters<typeof buildTestApp>[0]): Promise<TestApp> {
  const h = await buildTestApp(t);
  assert.equal((await h.addKey(h.issuer.issue({ seats: 10 }))).statusCode, 200);
  return h;
}

describe('settings/seats', () => {
  test('GET answers the defaults; PUT replaces both, audited; bad values are 400 and change nothing', async (t) => {
    const h = await withTenSeats(t);
    const initial = await h.request({ method: 'GET', url: '/admin/settings/seats' });
    assert.deepEqual(initial.json(), { userCap: null, whenFull: 'refuse' });
    assert.deepEqual((await setSeats(h, 3, 'queue')).json(), { userCap: 3, whenFull: 'queue' });
    for (const payload of [
      { userCap: -1, whenFull: 'queue' },
      { userCap: 1.5, whenFull: 'queue' },
      { userCap: 3, whenFull: 'later' },
      { userCap: 3 },
    ]) {
      const res = await h.request({ method: 'PUT', url: '/admin/settings/seats', payload });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(res.json().code, 'VALIDATION_FAILED');
    }
    assert.deepEqual((await h.request({ method: 'GET', url: '/admin/settings/seats' })).json(), {
      userCap: 3,
      whenFull: 'queue',
    });
    const audit = (await h.request({ method: 'GET', url: '/admin/audit?size=20' })).json();
    const entries = audit.entries.filter((e: { action: string }) => e.action === 'settings.seats');
    assert.deepEqual(
      entries.map((e: { outcome: string }) => e.outcome),
      ['refused', 'refused', 'refused', 'refused', 'success'],
    );
    const s = await status(h);
    assert.equal(s.userCap, 3);
    assert.equal(s.seatLimit, 3);
    assert.equal(s.licenseSeats, 10);
  });

  test('only APPLICATION_ADMIN may read or change them', async (t) => {
    const h = await withTenSeats(t);
    const token = await h.request({
      method: 'POST',
      url: '/admin/tokens',
      payload: { name: 'host', permissions: ['USER_ADMIN'] },
    });
    const headers = { authorization: `Bearer ${token.json().secret as string}` };
    const get = await h.app.inject({ method: 'GET', url: '/admin/settings/seats', headers });
    assert.equal(get.statusCode, 403);
    const put = await h.app.inject({
      method: 'PUT',
      url: '/admin/settings/seats',
      headers,
      payload: { userCap: 1, whenFull: 'refuse' },
    });
    assert.equal(put.statusCode, 403);
    assert.deepEqual((await h.request({ method: 'GET', url: '/admin/settings/seats' })).json(), {
      userCap: null,
      whenFull: 'refuse',
    });
  });
});

describe('userCap 3 under a 10-seat license', () => {
  test('refuse mode: the 4th user is refused SEAT_LIMIT_REACHED; canAddUser follows the cap', async (t) => {
    const h = await withTenSeats(t);
    await setSeats(h, 3, 'refuse');
    for (const u of ['a', 'b']) assert.equal((await createUser(h, u)).statusCode, 201);
    assert.equal((await status(h)).canAddUser, true);
    assert.equal((await createUser(h, 'c')).statusCode, 201);
    const s = await status(h);
    assert.equal(s.canAddUser, false);
    assert.equal(s.licenseSeats, 10);
    assert.equal(s.hardSeats, 10);
    const refused = await createUser(h, 'd');
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json().code, 'SEAT_LIMIT_REACHED');
    assert.equal((await h.request({ method: 'GET', url: '/admin/users' })).json().total, 3);
  });

  test('queue mode: the 4th is 202 pending, refused activity USER_PENDING; approve waits for a free seat', async (t) => {
    const h = await withTenSeats(t);
    await setSeats(h, 3, 'queue');
    const ids: number[] = [];
    for (const u of ['a', 'b', 'c']) {
      const res = await createUser(h, u);
      assert.equal(res.statusCode, 201);
      ids.push(res.json().id as number);
    }
    const queued = await createUser(h, 'd');
    assert.equal(queued.statusCode, 202, queued.body);
    assert.equal(queued.json().state, 'pending');
    assert.equal(queued.json().active, false);
    assert.equal(queued.json().disabled, false);
    const pendingId = queued.json().id as number;
    assert.equal((await status(h)).activeUserCount, 3);

    const activity = await h.request({ method: 'POST', url: `/admin/users/${pendingId}/activity` });
    assert.equal(activity.statusCode, 403);
    assert.equal(activity.json().code, 'USER_PENDING');

    const queue = (await h.request({ method: 'GET', url: '/admin/users?state=pending' })).json();
    assert.deepEqual(
      queue.users.map((u: { userid: string }) => u.userid),
      ['d'],
    );

    const early = await h.request({ method: 'POST', url: `/admin/users/${pendingId}/approve` });
    assert.equal(early.statusCode, 403);
    assert.equal(early.json().code, 'SEAT_LIMIT_REACHED');
    assert.equal(
      (await h.request({ method: 'GET', url: `/admin/users/${pendingId}` })).json().state,
      'pending',
    );

    const disabled = await h.request({
      method: 'PATCH',
      url: `/admin/users/${ids[0]}`,
      payload: { disabled: true },
    });
    assert.equal(disabled.statusCode, 200);
    const approved = await h.request({ method: 'POST', url: `/admin/users/${pendingId}/approve` });
    assert.equal(approved.statusCode, 200, approved.body);
    assert.equal(approved.json().state, 'active');
    assert.equal((await status(h)).activeUserCount, 3);
    const again = await h.request({ method: 'POST', url: `/admin/users/${pendingId}/approve` });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().code, 'USER_NOT_PENDING');
    const ok = await h.request({ method: 'POST', url: `/admin/users/${pendingId}/activity` });
    assert.equal(ok.statusCode, 200);

    const events = (await h.request({ method: 'GET', url: '/admin/events?type=user.pending' })).json();
    assert.equal(events.total, 1);
    assert.equal(events.events[0].data.userid, 'd');
    assert.equal(events.events[0].data.seatLimit, 3);
  });

  test('reject removes a pending user; a user that is not waiting is USER_NOT_PENDING', async (t) => {
    const h = await withTenSeats(t);
    await setSeats(h, 0, 'queue');
    const queued = await createUser(h, 'x');
    assert.equal(queued.statusCode, 202);
    const id = queued.json().id as number;
    const enable = await h.request({
      method: 'PATCH',
      url: `/admin/users/${id}`,
      payload: { disabled: false },
    });
    assert.equal(enable.json().code, 'USER_PENDING');
    const rejected = await h.request({ method: 'POST', url: `/admin/users/${id}/reject` });
    assert.equal(rejected.statusCode, 200);
    assert.equal((await h.request({ method: 'GET', url: `/admin/users/${id}` })).statusCode, 404);
    await setSeats(h, null, 'refuse');
    const active = await createUser(h, 'y');
    const notWaiting = await h.request({ method: 'POST', url: `/admin/users/${active.json().id}/reject` });
    assert.equal(notWaiting.statusCode, 409);
    assert.equal(notWaiting.json().code, 'USER_NOT_PENDING');
  });

  test('lowering the cap below the active count removes nobody; the status shows the overage', async (t) => {
    const h = await withTenSeats(t);
    for (const u of ['a', 'b', 'c', 'd', 'e']) assert.equal((await createUser(h, u)).statusCode, 201);
    await setSeats(h, 3, 'refuse');
    const s = await status(h);
    assert.equal(s.activeUserCount, 5);
    assert.equal(s.seatLimit, 3);
    assert.equal(s.overLimit, 2);
    assert.equal(s.canAddUser, false);
    // Activity of an active user always succeeds, even over the limit.
    const users = (await h.request({ method: 'GET', url: '/admin/users' })).json().users;
    const res = await h.request({ method: 'POST', url: `/admin/users/${users[0].id}/activity` });
    assert.equal(res.statusCode, 200);
  });
});
