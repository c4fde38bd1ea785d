import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../helpers/app.js';

const DAY = 24 * 60 * 60 * 1000;

/** Registers users at the clock's time, then moves the clock on. */
async function seed(h: TestApp): Promise<Record<string, number>> {
  const start = h.clock.now().getTime();
  const ids: Record<string, number> = {};
  // Window of 30 days (buildTestApp option): "old" holds no seat by the end, the others do.
  for (const [userid, daysBeforeEnd] of [
    ['old', 40],
    ['twenty', 20],
    ['recent', 2],
  ] as const) {
    h.clock.set(start + (40 - daysBeforeEnd) * DAY);
    const res = await h.request({ method: 'POST', url: '/admin/users', payload: { userid, iamid: 'idp' } });
    assert.equal(res.statusCode, 201, res.body);
    ids[userid] = res.json().id;
  }
  h.clock.set(start + 40 * DAY);
  return ids;
}

describe('POST /admin/users/disable-inactive', () => {
  test('a dry run names the users and the seats freed, changes and audits nothing', async (t) => {
    const h = await buildTestApp(t, { activityWindowDays: 30, now: '2026-05-01T12:00:00.000Z' });
    await h.addKey(h.issuer.issue({ seats: 10, expires: '2027-12-31T00:00:00.000Z' }));
    const ids = await seed(h);
    const auditBefore = (await h.request({ method: 'GET', url: '/admin/audit?size=1' })).json().total;
    const res = await h.request({
      method: 'POST',
      url: '/admin/users/disable-inactive',
      payload: { inactiveDays: 7, dryRun: true },
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.dryRun, true);
    assert.equal(body.count, 2);
    assert.equal(body.seatsFreed, 1);
    assert.deepEqual(
      body.users.map((u: { id: number; disabled: boolean }) => [u.id, u.disabled]),
      [
        [ids.old, false],
        [ids.twenty, false],
      ],
    );
    assert.equal(body.inactiveBefore, new Date(h.clock.now().getTime() - 7 * DAY).toISOString());
    assert.equal((await h.request({ method: 'GET', url: '/admin/audit?size=1' })).json().total, auditBefore);
    const disabled = await h.request({ method: 'GET', url: '/admin/users?disabled=true' });
    assert.equal(disabled.json().total, 0);
  });

  test('disables them, with one audit entry each naming the user; disabled=true lists them', async (t) => {
    const h = await buildTestApp(t, { activityWindowDays: 30, now: '2026-05-01T12:00:00.000Z' });
    await h.addKey(h.issuer.issue({ seats: 10, expires: '2027-12-31T00:00:00.000Z' }));
    const ids = await seed(h);
    const status = async () =>
      (await h.request({ method: 'GET', url: '/admin/license/licenseStatus' })).json().activeUserCount;
    assert.equal(await status(), 2);
    const res = await h.request({
      method: 'POST',
      url: '/admin/users/disable-inactive',
      payload: { inactiveDays: 7 },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().dryRun, false);
    assert.equal(res.json().count, 2);
    assert.equal(await status(), 1);
    const listed = await h.request({ method: 'GET', url: '/admin/users?disabled=true' });
    assert.deepEqual(
      listed.json().users.map((u: { id: number }) => u.id),
      [ids.old, ids.twenty],
    );
    const notDisabled = await h.request({ method: 'GET', url: '/admin/users?disabled=false' });
    assert.deepEqual(
      notDisabled.json().users.map((u: { userid: string }) => u.userid),
      ['recent'],
    );
    const audit = await h.request({ method: 'GET', url: '/admin/audit?action=user.disable-inactive' });
    assert.deepEqual(
      audit.json().entries.map((e: { target: string; targetName: string }) => [e.target, e.targetName]),
      [
        [`user:${ids.twenty}`, 'twenty'],
        [`user:${ids.old}`, 'old'],
      ],
    );
  });

  test('refuses a bad inactiveDays and a USER_ADMIN token, changing nothing', async (t) => {
    const h = await buildTestApp(t, { activityWindowDays: 30, now: '2026-05-01T12:00:00.000Z' });
    await h.addKey(h.issuer.issue({ seats: 10, expires: '2027-12-31T00:00:00.000Z' }));
    await seed(h);
    for (const payload of [
      { inactiveDays: 0 },
      { inactiveDays: 1.5 },
      { inactiveDays: 3651 },
      {},
      { inactiveDays: 7, dryrun: true },
    ]) {
      const res = await h.request({ method: 'POST', url: '/admin/users/disable-inactive', payload });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(res.json().code, 'VALIDATION_FAILED');
    }
    const token = await h.request({
      method: 'POST',
      url: '/admin/tokens',
      payload: { name: 'host', permissions: ['USER_ADMIN'] },
    });
    const res = await h.request({
      method: 'POST',
      url: '/admin/users/disable-inactive',
      payload: { inactiveDays: 7 },
      headers: { authorization: `Bearer ${token.json().secret}` },
    });
    assert.equal(res.statusCode, 403);
    assert.equal((await h.request({ method: 'GET', url: '/admin/users?disabled=true' })).json().total, 0);
  });
});

describe('GET /admin/audit filters', () => {
  test('by action, actor, outcome and time; names next to ids; bad filters are 400', async (t) => {
    const h = await buildTestApp(t);
    await h.addKey(h.issuer.issue({ seats: 1 }));
    const ada = (
      await h.request({ method: 'POST', url: '/admin/users', payload: { userid: 'ada', iamid: 'idp' } })
    ).json();
    h.clock.advance(60_000);
    const middle = h.clock.now().toISOString();
    await h.request({ method: 'PATCH', url: `/admin/users/${ada.id}`, payload: { name: 'Ada' } });
    // Refused: the only seat is taken.
    const refused = await h.request({
      method: 'POST',
      url: '/admin/users',
      payload: { userid: 'bob', iamid: 'idp' },
    });
    assert.equal(refused.statusCode, 403);
    const get = async (query: string) => {
      const res = await h.request({ method: 'GET', url: `/admin/audit?${query}` });
      assert.equal(res.statusCode, 200, res.body);
      return res
        .json()
        .entries.map(
          (e: { action: string; target: string | null; targetName: string | null; outcome: string }) =>
            [e.action, e.target, e.targetName, e.outcome].join(' '),
        );
    };
    assert.deepEqual(await get('action=user.update'), [`user.update user:${ada.id} ada success`]);
    assert.deepEqual(await get('outcome=refused'), ['user.create   refused']);
    assert.deepEqual(await get(`from=${middle}&action=user.create`), ['user.create   refused']);
    const before = await get(`to=${middle}&actor=bootstrap%20administrator`);
    assert.equal(before.length, 2);
    assert.equal(before[0], `user.create user:${ada.id} ada success`);
    assert.match(before[1], /^license\.add license:1 \S+ success$/);
    assert.deepEqual(await get('actor=nobody'), []);
    for (const query of ['outcome=maybe', 'from=yesterday', 'to=2026-13-01T00:00:00Z', 'action=', 'who=me']) {
      const res = await h.request({ method: 'GET', url: `/admin/audit?${query}` });
      assert.equal(res.statusCode, 400, query);
    }
  });
});
