import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { DAY } from '../helpers/issuer.js';

const USAGE_FIELDS = ['activeUserCount', 'offset', 'peak', 'size', 'summary', 'total', 'users'];
const USAGE_USER_FIELDS = ['active', 'email', 'iamid', 'id', 'name', 'userType', 'userid'];

function expectProblem(res: LightMyRequestResponse, status: number, code: string, what = ''): void {
  assert.equal(res.statusCode, status, `${what}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
  assert.equal(res.json().code, code, what);
}

async function withSeats(
  t: Parameters<typeof buildTestApp>[0],
  seats: number,
  activityWindowDays?: number,
): Promise<TestApp> {
  const h = await buildTestApp(t, activityWindowDays === undefined ? {} : { activityWindowDays });
  assert.equal((await h.addKey(h.issuer.issue({ seats }))).statusCode, 200);
  return h;
}

async function createOk(h: TestApp, userid: string, extra: Record<string, unknown> = {}): Promise<number> {
  const res = await h.request({
    method: 'POST',
    url: '/admin/users',
    payload: { userid, iamid: 'okta', ...extra },
  });
  assert.equal(res.statusCode, 201, `create ${userid}: ${res.body}`);
  return res.json().id as number;
}

async function ok(
  h: TestApp,
  method: 'PATCH' | 'POST' | 'DELETE',
  url: string,
  payload?: Record<string, unknown>,
): Promise<void> {
  const res = await h.request(payload === undefined ? { method, url } : { method, url, payload });
  assert.equal(res.statusCode, 200, `${method} ${url}: ${res.body}`);
}

interface UsageUser {
  userType: string;
  name: string | null;
  email: string | null;
  iamid: string;
  userid: string;
  active: boolean;
  id: number;
}

interface UsageBody {
  users: UsageUser[];
  summary: unknown;
  offset: number;
  size: number;
  total: number;
  activeUserCount: number;
  peak: { activeUsers: number; termStart: string | null };
}

async function usage(h: TestApp, query = ''): Promise<UsageBody> {
  const res = await h.request({ method: 'GET', url: `/admin/license/usage${query}` });
  assert.equal(res.statusCode, 200, `${query}: ${res.body}`);
  return res.json<UsageBody>();
}

async function history(
  h: TestApp,
  query = '',
): Promise<{ from: string; to: string; days: Record<string, unknown>[] }> {
  const res = await h.request({ method: 'GET', url: `/admin/license/usage/history${query}` });
  assert.equal(res.statusCode, 200, `${query}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  return res.json();
}

describe('GET /admin/license/usage', () => {
  test('defaults to offset 0 and size 10; items carry exactly the usage fields', async (t) => {
    const h = await withSeats(t, 50);
    for (let i = 1; i <= 12; i++) {
      await createOk(h, `u${i}`, {
        name: `User ${i}`,
        email: `u${i}@example.com`,
        userType: i % 3 === 0 ? 'policyOwner' : 'dataConsumer',
      });
    }
    const body = await usage(h);
    assert.deepEqual(Object.keys(body).sort(), USAGE_FIELDS);
    assert.equal(body.offset, 0);
    assert.equal(body.size, 10);
    assert.equal(body.total, 12);
    assert.equal(body.users.length, 10);
    for (const u of body.users) assert.deepEqual(Object.keys(u).sort(), USAGE_USER_FIELDS);
    assert.deepEqual(body.users[2], {
      userType: 'policyOwner',
      name: 'User 3',
      email: 'u3@example.com',
      iamid: 'okta',
      userid: 'u3',
      active: true,
      id: 3,
    });
    const rest = await usage(h, '?offset=10&size=10');
    assert.deepEqual(
      rest.users.map((u) => u.userid),
      ['u11', 'u12'],
    );
  });

  test('the summary counts every user by type, whatever the page', async (t) => {
    const h = await withSeats(t, 100, 30);
    // At T0: 4 data consumers (ids 1-4) and 3 policy owners (ids 5-7).
    for (let i = 1; i <= 4; i++) await createOk(h, `dc${i}`);
    for (let i = 1; i <= 3; i++) await createOk(h, `po${i}`, { userType: 'policyOwner' });
    h.clock.advance(31 * DAY); // all seven age out
    await ok(h, 'POST', '/admin/users/1/activity'); // dc1 is back
    await ok(h, 'POST', '/admin/users/5/activity'); // po1 is back
    await ok(h, 'PATCH', '/admin/users/2', { disabled: true }); // dc2: aged out and disabled
    for (let i = 5; i <= 7; i++) await createOk(h, `dc${i}`); // ids 8-10
    for (let i = 4; i <= 5; i++) await createOk(h, `po${i}`, { userType: 'policyOwner' }); // ids 11-12
    await ok(h, 'PATCH', '/admin/users/8', { disabled: true }); // dc5
    await ok(h, 'PATCH', '/admin/users/11', { disabled: true }); // po4

    const expected = {
      dataConsumers: { totalCount: 7, activeCount: 3 }, // dc1, dc6, dc7
      policyOwners: { totalCount: 5, activeCount: 2 }, // po1, po5
    };
    for (const query of ['', '?offset=10&size=1', '?offset=0&size=1000', '?offset=50']) {
      const body = await usage(h, query);
      assert.deepEqual(body.summary, expected, query);
      assert.equal(body.total, 12, query);
      assert.equal(body.activeUserCount, 5, query);
    }
    const page = await usage(h, '?offset=10&size=1');
    assert.deepEqual(page.users, [
      {
        userType: 'policyOwner',
        name: null,
        email: null,
        iamid: 'okta',
        userid: 'po4',
        active: false,
        id: 11,
      },
    ]);
    const all = await usage(h, '?size=1000');
    assert.deepEqual(
      all.users.filter((u) => u.active).map((u) => u.userid),
      ['dc1', 'po1', 'dc6', 'dc7', 'po5'],
    );
    const status = (await h.request({ method: 'GET', url: '/admin/license/licenseStatus' })).json();
    assert.equal(status.activeUserCount, 5);

    // A type change moves the user between the counts.
    await ok(h, 'PATCH', '/admin/users/1', { userType: 'policyOwner' });
    assert.deepEqual((await usage(h)).summary, {
      dataConsumers: { totalCount: 6, activeCount: 2 },
      policyOwners: { totalCount: 6, activeCount: 3 },
    });
  });

  test('peak.activeUsers is the highest count seen in the term', async (t) => {
    const h = await withSeats(t, 10, 30);
    for (let i = 1; i <= 5; i++) await createOk(h, `u${i}`);
    for (let i = 1; i <= 3; i++) await ok(h, 'DELETE', `/admin/users/${i}`);
    const body = await usage(h);
    assert.equal(body.activeUserCount, 2);
    assert.equal(body.total, 2);
    // The test issuer's keys are created a day before the clock's now.
    assert.deepEqual(body.peak, { activeUsers: 5, termStart: '2026-05-31' });

    h.clock.advance(31 * DAY); // everyone ages out; the peak stays
    const later = await usage(h);
    assert.equal(later.activeUserCount, 0);
    assert.equal(later.peak.activeUsers, 5);
  });

  test('the peak is never below the current count', async (t) => {
    const h = await withSeats(t, 10);
    await createOk(h, 'a');
    await createOk(h, 'b');
    const body = await usage(h);
    assert.deepEqual(body.peak, { activeUsers: 2, termStart: '2026-05-31' });
  });

  test('termStart is null without an active license', async (t) => {
    const h = await buildTestApp(t);
    const empty = await usage(h);
    assert.deepEqual(empty.peak, { activeUsers: 0, termStart: null });
    assert.deepEqual(empty.summary, {
      dataConsumers: { totalCount: 0, activeCount: 0 },
      policyOwners: { totalCount: 0, activeCount: 0 },
    });
    assert.deepEqual(empty.users, []);
    assert.equal(empty.total, 0);

    assert.equal((await h.addKey(h.issuer.issue({ seats: 3 }))).statusCode, 200);
    await createOk(h, 'a');
    assert.equal((await usage(h)).peak.termStart, '2026-05-31');
    await ok(h, 'DELETE', '/admin/license/1');
    const after = await usage(h);
    assert.equal(after.peak.termStart, null);
    assert.equal(after.activeUserCount, 1);
  });

  test('bad paging is 400 INVALID_PAGE, another parameter VALIDATION_FAILED; a USER_ADMIN token is 403', async (t) => {
    const h = await withSeats(t, 10);
    for (const query of ['?size=0', '?size=1001', '?offset=-1', '?offset=x', '?active=true']) {
      expectProblem(
        await h.request({ method: 'GET', url: `/admin/license/usage${query}` }),
        400,
        query === '?active=true' ? 'VALIDATION_FAILED' : 'INVALID_PAGE',
        query,
      );
    }
    const token = await h.request({
      method: 'POST',
      url: '/admin/tokens',
      payload: { name: 'host', permissions: ['USER_ADMIN'] },
    });
    const headers = { authorization: `Bearer ${token.json().secret}` };
    expectProblem(await h.request({ method: 'GET', url: '/admin/license/usage', headers }), 403, 'FORBIDDEN');
    expectProblem(
      await h.request({ method: 'GET', url: '/admin/license/usage/history', headers }),
      403,
      'FORBIDDEN',
    );
    expectProblem(await h.app.inject({ method: 'GET', url: '/admin/license/usage' }), 401, 'UNAUTHORIZED');
  });
});

describe('GET /admin/license/usage/history', () => {
  test('JSON {from, to, days}: to defaults to today, from to 89 days before; today has a row', async (t) => {
    const h = await withSeats(t, 10);
    await createOk(h, 'a');
    await createOk(h, 'b');
    const body = await history(h);
    assert.deepEqual(Object.keys(body).sort(), ['days', 'from', 'to']);
    assert.equal(body.to, '2026-06-01');
    assert.equal(body.from, '2026-03-04');
    assert.deepEqual(body.days, [
      {
        day: '2026-06-01',
        peakActiveUsers: 2,
        peakByType: { dataConsumer: 2, policyOwner: 0 },
        licenseSeats: 10,
        hardSeats: 10,
      },
    ]);
  });

  test("a day without activity still gets today's row when the history is read", async (t) => {
    const h = await buildTestApp(t);
    const body = await history(h);
    assert.deepEqual(body.days, [
      {
        day: '2026-06-01',
        peakActiveUsers: 0,
        peakByType: { dataConsumer: 0, policyOwner: 0 },
        licenseSeats: 0,
        hardSeats: 0,
      },
    ]);
  });

  test("one row per UTC day with that day's peak, oldest first; from/to select days", async (t) => {
    const h = await buildTestApp(t);
    assert.equal((await h.addKey(h.issuer.issue({ seats: 8, softSeats: 2 }))).statusCode, 200);
    await createOk(h, 'a');
    h.clock.advance(DAY); // 2026-06-02
    await createOk(h, 'b');
    await createOk(h, 'c', { userType: 'policyOwner' });
    await ok(h, 'DELETE', '/admin/users/3');
    h.clock.advance(2 * DAY); // 2026-06-04: nothing happens but the read
    const body = await history(h);
    assert.equal(body.to, '2026-06-04');
    const row = (day: string, peak: number, dataConsumer: number, policyOwner: number) => ({
      day,
      peakActiveUsers: peak,
      peakByType: { dataConsumer, policyOwner },
      licenseSeats: 10,
      hardSeats: 8,
    });
    assert.deepEqual(body.days, [
      row('2026-06-01', 1, 1, 0),
      row('2026-06-02', 3, 2, 1),
      row('2026-06-04', 2, 2, 0),
    ]);
    const one = await history(h, '?from=2026-06-02&to=2026-06-02');
    assert.deepEqual([one.from, one.to], ['2026-06-02', '2026-06-02']);
    assert.deepEqual(
      one.days.map((d) => d.day),
      ['2026-06-02'],
    );
    const fromOnly = await history(h, '?from=2026-06-02');
    assert.deepEqual(
      fromOnly.days.map((d) => d.day),
      ['2026-06-02', '2026-06-04'],
    );
    const before = await history(h, '?from=2026-01-01&to=2026-05-31');
    assert.deepEqual(before.days, []);
  });

  test('CSV when asked with Accept: text/csv', async (t) => {
    const h = await withSeats(t, 10);
    await createOk(h, 'a');
    h.clock.advance(DAY);
    await createOk(h, 'b', { userType: 'policyOwner' });
    const res = await h.request({
      method: 'GET',
      url: '/admin/license/usage/history',
      headers: { accept: 'text/csv' },
    });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/csv/);
    assert.equal(
      res.body,
      'day,peakActiveUsers,licenseSeats,hardSeats,peakDataConsumers,peakPolicyOwners\n' +
        '2026-06-01,1,10,10,1,0\n2026-06-02,2,10,10,1,1\n',
    );
    const json = await h.request({
      method: 'GET',
      url: '/admin/license/usage/history',
      headers: { accept: 'application/json, text/csv' },
    });
    assert.match(String(json.headers['content-type']), /^application\/json/);
    assert.equal(json.json().days.length, 2);
  });

  test('from after to, dates that do not exist and too long a range are 400 VALIDATION_FAILED', async (t) => {
    const h = await withSeats(t, 10);
    for (const query of [
      '?from=2026-06-02&to=2026-06-01',
      '?from=2026-06-10',
      '?from=2026-02-30',
      '?to=2026-02-30',
      '?to=2026-13-01',
      '?from=2026-00-10',
      '?from=yesterday',
      '?from=2026-06-01T00:00:00Z',
      '?from=2016-01-01&to=2026-06-01',
      '?days=3',
    ]) {
      const res = await h.request({ method: 'GET', url: `/admin/license/usage/history${query}` });
      expectProblem(res, 400, 'VALIDATION_FAILED', query);
    }
    const leap = await history(h, '?from=2024-02-29&to=2024-03-01');
    assert.deepEqual(leap.days, []);
  });
});
