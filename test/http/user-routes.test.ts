import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { DAY } from '../helpers/issuer.js';
import { USER_FIELDS } from '../helpers/fields.js';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const T0 = '2026-06-01T12:00:00.000Z';

/** Asserts a problem response and returns its code. */
function problem(res: LightMyRequestResponse): string {
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const body = res.json<{ code: string; status: number; type: string }>();
  assert.equal(body.status, res.statusCode);
  assert.equal(body.type, `urn:licensor:problem:${body.code}`);
  return body.code;
}

function expectProblem(res: LightMyRequestResponse, status: number, code: string, what = ''): void {
  assert.equal(res.statusCode, status, `${what}: ${res.body}`);
  assert.equal(problem(res), code, what);
}

/** An app with one license of `seats` (+ `softSeats`). */
async function withSeats(
  t: Parameters<typeof buildTestApp>[0],
  seats: number,
  options: { softSeats?: number; activityWindowDays?: number } = {},
): Promise<TestApp> {
  const h = await buildTestApp(
    t,
    options.activityWindowDays === undefined ? {} : { activityWindowDays: options.activityWindowDays },
  );
  const res = await h.addKey(h.issuer.issue({ seats, softSeats: options.softSeats ?? 0 }));
  assert.equal(res.statusCode, 200);
  return h;
}

function create(
  h: TestApp,
  payload: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return h.request({
    method: 'POST',
    url: '/admin/users',
    payload: payload as Record<string, unknown>,
    headers,
  });
}

async function createOk(h: TestApp, userid: string, extra: Record<string, unknown> = {}): Promise<number> {
  const res = await create(h, { userid, iamid: 'okta', ...extra });
  assert.equal(res.statusCode, 201, `create ${userid}: ${res.body}`);
  return res.json().id as number;
}

async function status(h: TestApp): Promise<Record<string, unknown>> {
  const res = await h.request({ method: 'GET', url: '/admin/license/licenseStatus' });
  assert.equal(res.statusCode, 200);
  return res.json();
}

async function getUser(h: TestApp, id: number): Promise<Record<string, unknown>> {
  const res = await h.request({ method: 'GET', url: `/admin/users/${id}` });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

function patch(
  h: TestApp,
  id: number | string,
  payload: Record<string, unknown>,
): Promise<LightMyRequestResponse> {
  return h.request({ method: 'PATCH', url: `/admin/users/${id}`, payload });
}

function activity(h: TestApp, id: number | string): Promise<LightMyRequestResponse> {
  return h.request({ method: 'POST', url: `/admin/users/${id}/activity` });
}

async function list(
  h: TestApp,
  query = '',
): Promise<{ offset: number; size: number; total: number; users: Record<string, unknown>[] }> {
  const res = await h.request({ method: 'GET', url: `/admin/users${query}` });
  assert.equal(res.statusCode, 200, `${query}: ${res.body}`);
  return res.json();
}

async function createToken(h: TestApp, permissions: string[]): Promise<string> {
  const res = await h.request({
    method: 'POST',
    url: '/admin/tokens',
    payload: { name: 'host product', permissions },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().secret as string;
}

describe('POST /admin/users', () => {
  test('201 with every field; userType defaults to dataConsumer; the user is active from now', async (t) => {
    const h = await withSeats(t, 5);
    const res = await create(h, {
      userid: 'ada',
      iamid: 'okta',
      name: 'Ada Lovelace',
      email: 'ada@example.com',
    });
    assert.equal(res.statusCode, 201);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), USER_FIELDS);
    assert.ok(Number.isInteger(body.id) && body.id > 0);
    assert.deepEqual(
      { ...body, id: 0 },
      {
        id: 0,
        userid: 'ada',
        iamid: 'okta',
        name: 'Ada Lovelace',
        email: 'ada@example.com',
        userType: 'dataConsumer',
        active: true,
        disabled: false,
        state: 'active',
        createdAt: T0,
        lastActivityAt: T0,
      },
    );
    assert.match(body.createdAt, ISO_MS);
    assert.deepEqual(await getUser(h, body.id), body, 'GET returns what POST returned');

    const bare = await create(h, { userid: 'bob', iamid: 'okta', userType: 'policyOwner' });
    assert.equal(bare.statusCode, 201);
    assert.equal(bare.json().name, null);
    assert.equal(bare.json().email, null);
    assert.equal(bare.json().userType, 'policyOwner');
    assert.notEqual(bare.json().id, body.id);
    assert.equal((await status(h)).activeUserCount, 2);
  });

  test('a taken (iamid, userid) is 409 USER_ALREADY_EXISTS; the same userid in another iamid is fine', async (t) => {
    const h = await withSeats(t, 5);
    await createOk(h, 'ada');
    expectProblem(
      await create(h, { userid: 'ada', iamid: 'okta', name: 'Other' }),
      409,
      'USER_ALREADY_EXISTS',
    );
    const other = await create(h, { userid: 'ada', iamid: 'azure-ad' });
    assert.equal(other.statusCode, 201);
    assert.equal(other.json().iamid, 'azure-ad');
    assert.equal((await list(h)).total, 2, 'the refused duplicate wrote nothing');
    assert.equal((await status(h)).activeUserCount, 2);
  });

  test('a duplicate is 409 even when no seat is free (uniqueness is decided first)', async (t) => {
    const h = await withSeats(t, 1);
    await createOk(h, 'ada');
    expectProblem(await create(h, { userid: 'ada', iamid: 'okta' }), 409, 'USER_ALREADY_EXISTS');
  });

  test('bad bodies are 400 VALIDATION_FAILED (INVALID_IDENTIFIER for a refused character) and write nothing', async (t) => {
    const h = await withSeats(t, 50);
    const cases: [string, unknown][] = [
      ['missing userid', { iamid: 'okta' }],
      ['missing iamid', { userid: 'ada' }],
      ['empty userid', { userid: '', iamid: 'okta' }],
      ['empty iamid', { userid: 'ada', iamid: '' }],
      ['unknown userType', { userid: 'ada', iamid: 'okta', userType: 'superUser' }],
      ['extra property', { userid: 'ada', iamid: 'okta', admin: true }],
      ['name a number', { userid: 'ada', iamid: 'okta', name: 42 }],
      ['userid a number', { userid: 42, iamid: 'okta' }],
      ['email an object', { userid: 'ada', iamid: 'okta', email: {} }],
      ['userid too long', { userid: 'x'.repeat(257), iamid: 'okta' }],
      ['an array', [{ userid: 'ada', iamid: 'okta' }]],
    ];
    for (const [what, payload] of cases) {
      expectProblem(await create(h, payload), 400, 'VALIDATION_FAILED', what);
    }
    // The domain's rule (docs/users.md), one code for every refused character; more in
    // user-identity.test.ts.
    const refused: [string, unknown][] = [
      ['userid with a control char', { userid: 'ad\u0001a', iamid: 'okta' }],
      ['userid with a newline', { userid: 'ada\n', iamid: 'okta' }],
      ['userid with DEL', { userid: 'ad\u007fa', iamid: 'okta' }],
    ];
    for (const [what, payload] of refused) {
      expectProblem(await create(h, payload), 400, 'INVALID_IDENTIFIER', what);
    }
    expectProblem(
      await h.request({
        method: 'POST',
        url: '/admin/users',
        payload: '{"userid":"ada",',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'MALFORMED_JSON',
    );
    assert.equal((await list(h)).total, 0);
    assert.equal((await status(h)).activeUserCount, 0);
  });

  test('without any license there is no seat: 403 SEAT_LIMIT_REACHED and nothing written', async (t) => {
    const h = await buildTestApp(t);
    expectProblem(await create(h, { userid: 'ada', iamid: 'okta' }), 403, 'SEAT_LIMIT_REACHED');
    assert.equal((await list(h)).total, 0);
    const s = await status(h);
    assert.equal(s.activeUserCount, 0);
    assert.equal(s.canAddUser, false);
  });

  test('seats 2 + softSeats 1: three users fit, the fourth is 403; status shows the overage', async (t) => {
    const h = await withSeats(t, 2, { softSeats: 1 });
    for (const userid of ['u1', 'u2', 'u3']) await createOk(h, userid);
    expectProblem(await create(h, { userid: 'u4', iamid: 'okta' }), 403, 'SEAT_LIMIT_REACHED');
    const s = await status(h);
    assert.equal(s.activeUserCount, 3);
    assert.equal(s.licenseSeats, 3);
    assert.equal(s.hardSeats, 2);
    assert.equal(s.canAddUser, false);
    assert.equal(s.overage, 1);
    const all = await list(h);
    assert.equal(all.total, 3);
    assert.deepEqual(
      all.users.map((u) => u.userid),
      ['u1', 'u2', 'u3'],
    );
  });

  test('concurrent creates never exceed the seats', async (t) => {
    const h = await withSeats(t, 3);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => create(h, { userid: `c${i}`, iamid: 'okta' })),
    );
    const codes = results.map((r) => r.statusCode).sort();
    assert.deepEqual(codes, [201, 201, 201, ...Array<number>(9).fill(403)]);
    assert.equal((await status(h)).activeUserCount, 3);
    assert.equal((await list(h)).total, 3);
  });

  test('requires a token: 401 without one', async (t) => {
    const h = await withSeats(t, 5);
    const res = await h.app.inject({
      method: 'POST',
      url: '/admin/users',
      payload: { userid: 'ada', iamid: 'okta' },
    });
    expectProblem(res, 401, 'UNAUTHORIZED');
    assert.match(String(res.headers['www-authenticate']), /^Bearer/);
    assert.equal((await list(h)).total, 0);
  });
});

describe('POST /admin/users/{id}/activity and the activity window', () => {
  test('activity of an already active user succeeds at the seat limit and moves lastActivityAt', async (t) => {
    const h = await withSeats(t, 2);
    const a = await createOk(h, 'a');
    await createOk(h, 'b');
    h.clock.advance(60 * 60 * 1000);
    const res = await activity(h, a);
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().lastActivityAt, '2026-06-01T13:00:00.000Z');
    assert.equal(res.json().createdAt, T0);
    assert.equal(res.json().active, true);
    assert.equal((await status(h)).activeUserCount, 2);
  });

  test('activity on another UTC day keeps the active count right', async (t) => {
    const h = await withSeats(t, 2);
    const a = await createOk(h, 'a');
    h.clock.advance(3 * DAY);
    assert.equal((await activity(h, a)).statusCode, 200);
    await createOk(h, 'b');
    assert.equal((await status(h)).activeUserCount, 2);
    expectProblem(await create(h, { userid: 'c', iamid: 'okta' }), 403, 'SEAT_LIMIT_REACHED');
  });

  test('after the window users are inactive and free their seats; an aged-out user at the limit is refused', async (t) => {
    const h = await withSeats(t, 2, { activityWindowDays: 30 });
    const a = await createOk(h, 'a');
    const b = await createOk(h, 'b');
    expectProblem(await create(h, { userid: 'x', iamid: 'okta' }), 403, 'SEAT_LIMIT_REACHED');

    h.clock.advance(31 * DAY);
    const s = await status(h);
    assert.equal(s.activeUserCount, 0);
    assert.equal(s.canAddUser, true);
    const aged = await getUser(h, a);
    assert.equal(aged.active, false);
    assert.equal(aged.disabled, false);
    assert.equal(aged.lastActivityAt, T0);

    const c = await createOk(h, 'c');
    await createOk(h, 'd');
    assert.equal((await status(h)).activeUserCount, 2);

    expectProblem(await activity(h, a), 403, 'SEAT_LIMIT_REACHED');
    const after = await getUser(h, a);
    assert.equal(after.lastActivityAt, T0, 'a refused activity writes nothing');
    assert.equal(after.active, false);
    assert.equal((await status(h)).activeUserCount, 2);

    // Free a seat: the aged-out user may come back.
    assert.equal((await h.request({ method: 'DELETE', url: `/admin/users/${c}` })).statusCode, 200);
    const back = await activity(h, a);
    assert.equal(back.statusCode, 200);
    assert.equal(back.json().active, true);
    assert.equal(back.json().lastActivityAt, h.clock.now().toISOString());
    assert.equal((await status(h)).activeUserCount, 2);
    expectProblem(await activity(h, b), 403, 'SEAT_LIMIT_REACHED');
  });

  test('at exactly lastActivityAt + window the user still counts; 1 ms later it does not', async (t) => {
    const h = await withSeats(t, 1, { activityWindowDays: 30 });
    const a = await createOk(h, 'a');
    const edge = new Date(T0).getTime() + 30 * DAY;

    h.clock.set(edge);
    assert.equal((await status(h)).activeUserCount, 1);
    assert.equal((await getUser(h, a)).active, true);
    assert.equal((await list(h, '?active=true')).total, 1);
    expectProblem(await create(h, { userid: 'b', iamid: 'okta' }), 403, 'SEAT_LIMIT_REACHED');

    h.clock.set(edge + 1);
    assert.equal((await status(h)).activeUserCount, 0);
    assert.equal((await getUser(h, a)).active, false);
    assert.equal((await list(h, '?active=true')).total, 0);
    assert.equal((await create(h, { userid: 'b', iamid: 'okta' })).statusCode, 201);
  });

  test('activity of a disabled user is 409 USER_DISABLED and changes nothing', async (t) => {
    const h = await withSeats(t, 5);
    const a = await createOk(h, 'a');
    assert.equal((await patch(h, a, { disabled: true })).statusCode, 200);
    h.clock.advance(1000);
    expectProblem(await activity(h, a), 409, 'USER_DISABLED');
    const user = await getUser(h, a);
    assert.equal(user.lastActivityAt, T0);
    assert.equal(user.disabled, true);
    assert.equal((await status(h)).activeUserCount, 0);
  });
});

describe('PATCH /admin/users/{id}', () => {
  test('changes name, email and userType; null clears', async (t) => {
    const h = await withSeats(t, 5);
    const a = await createOk(h, 'a', { name: 'A', email: 'a@example.com' });
    const res = await patch(h, a, { name: 'Alice', email: null, userType: 'policyOwner' });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), USER_FIELDS);
    assert.equal(body.name, 'Alice');
    assert.equal(body.email, null);
    assert.equal(body.userType, 'policyOwner');
    assert.equal(body.userid, 'a');
    assert.equal(body.active, true);
    assert.deepEqual(await getUser(h, a), body);
    assert.equal((await status(h)).activeUserCount, 1, 'a type change keeps the user counted once');
  });

  test('disabling frees a seat; re-enabling at the limit is 403 and the user stays disabled', async (t) => {
    const h = await withSeats(t, 2);
    const a = await createOk(h, 'a');
    await createOk(h, 'b');
    const off = await patch(h, a, { disabled: true });
    assert.equal(off.statusCode, 200);
    assert.equal(off.json().disabled, true);
    assert.equal(off.json().active, false);
    assert.equal((await status(h)).activeUserCount, 1);
    await createOk(h, 'c');
    assert.equal((await status(h)).activeUserCount, 2);

    expectProblem(await patch(h, a, { disabled: false }), 403, 'SEAT_LIMIT_REACHED');
    expectProblem(await patch(h, a, { disabled: false, name: 'renamed' }), 403, 'SEAT_LIMIT_REACHED');
    const still = await getUser(h, a);
    assert.equal(still.disabled, true);
    assert.equal(still.active, false);
    assert.equal(still.name, null, 'nothing of a refused change is written');
    assert.equal((await status(h)).activeUserCount, 2);

    // Disabling again, or changing a disabled user, needs no seat.
    assert.equal((await patch(h, a, { disabled: true, name: 'renamed' })).statusCode, 200);
  });

  test('re-enabling a user whose last activity is outside the window succeeds at the limit and leaves it inactive', async (t) => {
    const h = await withSeats(t, 1, { activityWindowDays: 30 });
    const a = await createOk(h, 'a');
    assert.equal((await patch(h, a, { disabled: true })).statusCode, 200);
    h.clock.advance(31 * DAY);
    await createOk(h, 'b');
    assert.equal((await status(h)).canAddUser, false);

    const on = await patch(h, a, { disabled: false });
    assert.equal(on.statusCode, 200);
    assert.equal(on.json().disabled, false);
    assert.equal(on.json().active, false);
    assert.equal((await status(h)).activeUserCount, 1);
    // Becoming active again is what takes a seat.
    expectProblem(await activity(h, a), 403, 'SEAT_LIMIT_REACHED');
  });

  test('an empty or unknown change is 400 VALIDATION_FAILED', async (t) => {
    const h = await withSeats(t, 5);
    const a = await createOk(h, 'a');
    for (const payload of [
      {},
      { userid: 'b' },
      { iamid: 'x' },
      { disabled: 'true' },
      { userType: 'root' },
      { name: 7 },
    ]) {
      expectProblem(await patch(h, a, payload), 400, 'VALIDATION_FAILED', JSON.stringify(payload));
    }
    const none = await h.request({
      method: 'PATCH',
      url: `/admin/users/${a}`,
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(none, 400, 'VALIDATION_FAILED', 'no body');
    const user = await getUser(h, a);
    assert.equal(user.userid, 'a');
    assert.equal(user.disabled, false);
  });
});

describe('DELETE /admin/users/{id}', () => {
  test('removes the user and frees its seat; the id is 404 USER_NOT_FOUND afterwards', async (t) => {
    const h = await withSeats(t, 1);
    const a = await createOk(h, 'a', { name: 'A' });
    expectProblem(await create(h, { userid: 'b', iamid: 'okta' }), 403, 'SEAT_LIMIT_REACHED');
    const res = await h.request({ method: 'DELETE', url: `/admin/users/${a}` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().id, a);
    assert.equal(res.json().userid, 'a');
    assert.equal((await status(h)).activeUserCount, 0);
    for (const r of [
      await h.request({ method: 'GET', url: `/admin/users/${a}` }),
      await h.request({ method: 'DELETE', url: `/admin/users/${a}` }),
      await patch(h, a, { name: 'x' }),
      await activity(h, a),
    ]) {
      expectProblem(r, 404, 'USER_NOT_FOUND');
    }
    await createOk(h, 'b');
  });

  test('deleting a disabled user does not free a seat it did not hold', async (t) => {
    const h = await withSeats(t, 2);
    const a = await createOk(h, 'a');
    await createOk(h, 'b');
    assert.equal((await patch(h, a, { disabled: true })).statusCode, 200);
    await createOk(h, 'c');
    assert.equal((await h.request({ method: 'DELETE', url: `/admin/users/${a}` })).statusCode, 200);
    assert.equal((await status(h)).activeUserCount, 2);
    expectProblem(await create(h, { userid: 'd', iamid: 'okta' }), 403, 'SEAT_LIMIT_REACHED');
  });
});

describe('user ids', () => {
  test('ids that are not positive integers are 400 INVALID_ID; unknown ones 404 USER_NOT_FOUND', async (t) => {
    const h = await withSeats(t, 5);
    await createOk(h, 'a');
    for (const id of ['0', '-1', 'abc', '1.5', '01', '1e3', '99999999999999999999', '%20']) {
      expectProblem(
        await h.request({ method: 'GET', url: `/admin/users/${id}` }),
        400,
        'INVALID_ID',
        `GET ${id}`,
      );
      expectProblem(await patch(h, id, { name: 'x' }), 400, 'INVALID_ID', `PATCH ${id}`);
      expectProblem(
        await h.request({ method: 'DELETE', url: `/admin/users/${id}` }),
        400,
        'INVALID_ID',
        `DELETE ${id}`,
      );
      expectProblem(await activity(h, id), 400, 'INVALID_ID', `activity ${id}`);
    }
    for (const id of ['2', '999999']) {
      expectProblem(await h.request({ method: 'GET', url: `/admin/users/${id}` }), 404, 'USER_NOT_FOUND', id);
      expectProblem(await activity(h, id), 404, 'USER_NOT_FOUND', id);
    }
    assert.equal((await list(h)).total, 1);
  });
});

describe('GET /admin/users', () => {
  test('pages in id order with offset, size and total', async (t) => {
    const h = await withSeats(t, 20);
    for (let i = 1; i <= 5; i++) await createOk(h, `u${i}`);
    const first = await list(h);
    assert.equal(first.offset, 0);
    assert.equal(first.size, 10);
    assert.equal(first.total, 5);
    assert.deepEqual(
      first.users.map((u) => u.userid),
      ['u1', 'u2', 'u3', 'u4', 'u5'],
    );
    for (const u of first.users) assert.deepEqual(Object.keys(u).sort(), USER_FIELDS);
    const page = await list(h, '?offset=2&size=2');
    assert.deepEqual([page.offset, page.size, page.total], [2, 2, 5]);
    assert.deepEqual(
      page.users.map((u) => u.userid),
      ['u3', 'u4'],
    );
    const past = await list(h, '?offset=10&size=3');
    assert.equal(past.total, 5);
    assert.deepEqual(past.users, []);
    assert.equal((await list(h, '?size=1000')).users.length, 5);
  });

  test('bad paging is 400 INVALID_PAGE, bad filters VALIDATION_FAILED', async (t) => {
    const h = await withSeats(t, 5);
    for (const query of [
      '?size=1001',
      '?size=0',
      '?offset=-1',
      '?size=abc',
      '?active=maybe',
      '?sort=name',
      `?q=${'x'.repeat(257)}`,
    ]) {
      expectProblem(
        await h.request({ method: 'GET', url: `/admin/users${query}` }),
        400,
        /^\?(size|offset)=/.test(query) ? 'INVALID_PAGE' : 'VALIDATION_FAILED',
        query,
      );
    }
  });

  test('?active=true and ?active=false split users by the activity window and disabled', async (t) => {
    const h = await withSeats(t, 10, { activityWindowDays: 30 });
    await createOk(h, 'old1');
    await createOk(h, 'old2');
    h.clock.advance(31 * DAY);
    await createOk(h, 'new1');
    const d = await createOk(h, 'new2');
    assert.equal((await patch(h, d, { disabled: true })).statusCode, 200);

    const active = await list(h, '?active=true');
    assert.equal(active.total, 1);
    assert.deepEqual(
      active.users.map((u) => u.userid),
      ['new1'],
    );
    assert.ok(active.users.every((u) => u.active === true));
    const inactive = await list(h, '?active=false');
    assert.equal(inactive.total, 3);
    assert.deepEqual(
      inactive.users.map((u) => u.userid),
      ['old1', 'old2', 'new2'],
    );
    assert.ok(inactive.users.every((u) => u.active === false));
    assert.equal((await list(h)).total, 4);
    const paged = await list(h, '?active=false&offset=1&size=1');
    assert.equal(paged.total, 3);
    assert.deepEqual(
      paged.users.map((u) => u.userid),
      ['old2'],
    );
  });

  test('?q= searches userid, name and email case-insensitively; % and _ are literal', async (t) => {
    const h = await withSeats(t, 10);
    await createOk(h, 'alice', { name: 'Alice Smith', email: 'alice@example.com' });
    await createOk(h, 'bob', { name: 'Bob 50% Off', email: 'bob@corp.io' });
    await createOk(h, 'carol', { email: 'carol@EXAMPLE.com' });
    await createOk(h, 'dave_x', { name: 'Dave' });
    await createOk(h, 'davex', { name: 'Dave Too' });
    const ids = async (q: string): Promise<unknown[]> => {
      const res = await list(h, `?q=${encodeURIComponent(q)}`);
      assert.equal(res.total, res.users.length, q);
      return res.users.map((u) => u.userid);
    };
    assert.deepEqual(await ids('example'), ['alice', 'carol'], 'email, either case');
    assert.deepEqual(await ids('ALICE'), ['alice'], 'userid, either case');
    assert.deepEqual(await ids('smith'), ['alice'], 'name');
    assert.deepEqual(await ids('%'), ['bob'], 'a % is a percent sign, not a wildcard');
    assert.deepEqual(await ids('50%'), ['bob']);
    assert.deepEqual(await ids('_'), ['dave_x'], 'an _ is an underscore, not a wildcard');
    assert.deepEqual(await ids('dave'), ['dave_x', 'davex']);
    assert.deepEqual(await ids('nobody'), []);
    const paged = await list(h, '?q=dave&size=1&offset=1');
    assert.equal(paged.total, 2);
    assert.deepEqual(
      paged.users.map((u) => u.userid),
      ['davex'],
    );
  });
  test('?q= matches non-ASCII letters, in the same case and in the other case', async (t) => {
    const h = await withSeats(t, 10);
    await createOk(h, 'emile', { name: 'Émile Zola' });
    await createOk(h, 'zoe', { name: 'Zoë Ärger' });
    const ids = async (q: string): Promise<unknown[]> =>
      (await list(h, `?q=${encodeURIComponent(q)}`)).users.map((u) => u.userid);
    assert.deepEqual(await ids('Zoë'), ['zoe'], 'lower-case non-ASCII letter');
    assert.deepEqual(await ids('Émile'), ['emile'], 'exactly as stored');
    assert.deepEqual(await ids('Ärger'), ['zoe'], 'exactly as stored');
    assert.deepEqual(await ids('émile'), ['emile'], 'the other case');
  });
});

describe('permissions', () => {
  test('a USER_ADMIN token may use /admin/users but gets 403 FORBIDDEN on /admin/license', async (t) => {
    const h = await withSeats(t, 5);
    const secret = await createToken(h, ['USER_ADMIN']);
    const headers = { authorization: `Bearer ${secret}` };
    const created = await create(h, { userid: 'ada', iamid: 'okta' }, headers);
    assert.equal(created.statusCode, 201);
    const id = created.json().id as number;
    assert.equal((await h.request({ method: 'GET', url: '/admin/users', headers })).statusCode, 200);
    assert.equal((await h.request({ method: 'GET', url: `/admin/users/${id}`, headers })).statusCode, 200);
    assert.equal(
      (await h.request({ method: 'PATCH', url: `/admin/users/${id}`, payload: { name: 'Ada' }, headers }))
        .statusCode,
      200,
    );
    assert.equal(
      (await h.request({ method: 'POST', url: `/admin/users/${id}/activity`, headers })).statusCode,
      200,
    );

    for (const [method, url] of [
      ['GET', '/admin/license'],
      ['GET', '/admin/license/licenseStatus'],
      ['DELETE', '/admin/license/1'],
    ] as const) {
      expectProblem(await h.request({ method, url, headers }), 403, 'FORBIDDEN', `${method} ${url}`);
    }
    const add = await h.request({
      method: 'POST',
      url: '/admin/license',
      payload: { licenseKey: h.issuer.issue() },
      headers,
    });
    expectProblem(add, 403, 'FORBIDDEN', 'POST /admin/license');
    assert.equal((await h.store.listLicenses()).length, 1, 'the forbidden add and delete changed nothing');

    assert.equal((await h.request({ method: 'DELETE', url: `/admin/users/${id}`, headers })).statusCode, 200);
  });
});

describe('licenses and users', () => {
  test('deleting the license later keeps the users; they still count, and no seat is free', async (t) => {
    const h = await withSeats(t, 3);
    const a = await createOk(h, 'a');
    await createOk(h, 'b');
    assert.equal((await h.request({ method: 'DELETE', url: '/admin/license/1' })).statusCode, 200);
    assert.equal((await list(h)).total, 2);
    const s = await status(h);
    assert.equal(s.activeUserCount, 2);
    assert.equal(s.licenseSeats, 0);
    assert.equal(s.canAddUser, false);
    expectProblem(await create(h, { userid: 'c', iamid: 'okta' }), 403, 'SEAT_LIMIT_REACHED');
    assert.equal((await activity(h, a)).statusCode, 200, 'activity of an active user always succeeds');
  });

  test('an expired license frees no seat for new users', async (t) => {
    const h = await buildTestApp(t);
    await h.addKey(
      h.issuer.issue({ seats: 5, expires: new Date(h.clock.now().getTime() + 10 * DAY).toISOString() }),
    );
    await createOk(h, 'a');
    h.clock.advance(10 * DAY);
    expectProblem(await create(h, { userid: 'b', iamid: 'okta' }), 403, 'SEAT_LIMIT_REACHED');
  });
});
