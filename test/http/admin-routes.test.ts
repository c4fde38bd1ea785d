import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { hashTokenSecret } from '../../src/http/auth.js';
import { ADMIN_TOKEN, buildTestApp, type TestApp } from '../helpers/app.js';
import { createIssuer } from '../helpers/issuer.js';
import { AUDIT_FIELDS, TOKEN_FIELDS } from '../helpers/fields.js';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function expectProblem(res: LightMyRequestResponse, status: number, code: string, what = ''): void {
  assert.equal(res.statusCode, status, `${what}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
  assert.equal(res.json().code, code, what);
}

function bearer(secret: string): Record<string, string> {
  return { authorization: `Bearer ${secret}` };
}

async function createToken(
  h: TestApp,
  name: string,
  permissions: string[],
): Promise<{ id: number; secret: string }> {
  const res = await h.request({ method: 'POST', url: '/admin/tokens', payload: { name, permissions } });
  assert.equal(res.statusCode, 201, res.body);
  return { id: res.json().id as number, secret: res.json().secret as string };
}

interface AuditPage {
  offset: number;
  size: number;
  total: number;
  entries: Record<string, unknown>[];
}

/**
 * The audit line is written after the response is sent: wait (boundedly) until the log holds
 * `expected` entries, then return the page.
 */
async function auditAfter(
  h: TestApp,
  expected: number,
  query = '?size=100',
): Promise<{ page: AuditPage; body: string }> {
  let res: LightMyRequestResponse | undefined;
  for (let i = 0; i < 50; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    res = await h.request({ method: 'GET', url: `/admin/audit${query}` });
    assert.equal(res.statusCode, 200, res.body);
    if (res.json<AuditPage>().total >= expected) break;
  }
  const page = res!.json<AuditPage>();
  assert.equal(page.total, expected, `audit entries: ${JSON.stringify(page.entries.map((e) => e.action))}`);
  return { page, body: res!.body };
}

describe('POST /admin/tokens', () => {
  test('201 with the secret once; the new token authenticates', async (t) => {
    const h = await buildTestApp(t);
    const res = await h.request({
      method: 'POST',
      url: '/admin/tokens',
      payload: { name: 'ci', permissions: ['APPLICATION_ADMIN'] },
    });
    assert.equal(res.statusCode, 201);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), [...TOKEN_FIELDS, 'secret'].sort());
    assert.ok(body.secret.startsWith('lsr_'));
    assert.ok(body.secret.length >= 40);
    assert.equal(body.name, 'ci');
    assert.deepEqual(body.permissions, ['APPLICATION_ADMIN']);
    assert.equal(body.createdAt, '2026-06-01T12:00:00.000Z');
    assert.equal(body.revokedAt, null);
    assert.equal(body.bootstrap, false);
    assert.ok(Number.isInteger(body.id));

    const use = await h.app.inject({ method: 'GET', url: '/admin/license', headers: bearer(body.secret) });
    assert.equal(use.statusCode, 200);
    const tokens = await h.app.inject({ method: 'GET', url: '/admin/tokens', headers: bearer(body.secret) });
    assert.equal(tokens.statusCode, 200);

    const second = await createToken(h, 'ci', ['USER_ADMIN']);
    assert.notEqual(second.secret, body.secret, 'every secret is fresh');
    assert.notEqual(second.id, body.id);
  });

  test('GET /admin/tokens lists live tokens, never a secret or a hash', async (t) => {
    const h = await buildTestApp(t);
    const a = await createToken(h, 'host product', ['USER_ADMIN']);
    const b = await createToken(h, 'ops', ['APPLICATION_ADMIN', 'USER_ADMIN']);
    const res = await h.request({ method: 'GET', url: '/admin/tokens' });
    assert.equal(res.statusCode, 200);
    const list = res.json<Record<string, unknown>[]>();
    assert.equal(list.length, 3);
    for (const token of list) assert.deepEqual(Object.keys(token).sort(), TOKEN_FIELDS);
    assert.equal(list[0]!.bootstrap, true);
    assert.deepEqual(list[0]!.permissions, ['APPLICATION_ADMIN']);
    assert.deepEqual(
      list.slice(1).map((tk) => [tk.id, tk.name, tk.permissions]),
      [
        [a.id, 'host product', ['USER_ADMIN']],
        [b.id, 'ops', ['APPLICATION_ADMIN', 'USER_ADMIN']],
      ],
    );
    for (const secret of [a.secret, b.secret, ADMIN_TOKEN]) {
      assert.ok(!res.body.includes(secret), 'no secret in the list');
      assert.ok(!res.body.includes(hashTokenSecret(secret)), 'no hash in the list');
    }
    assert.ok(!/"(secret|hash)"/.test(res.body));
    assert.ok(!res.body.includes('lsr_'));
  });

  test('bad names and permissions are 400 VALIDATION_FAILED and create nothing', async (t) => {
    const h = await buildTestApp(t);
    const cases: [string, unknown][] = [
      ['no permissions', { name: 'x' }],
      ['empty permissions', { name: 'x', permissions: [] }],
      ['unknown permission', { name: 'x', permissions: ['ROOT'] }],
      ['lowercase permission', { name: 'x', permissions: ['user_admin'] }],
      ['permissions a string', { name: 'x', permissions: 'USER_ADMIN' }],
      ['duplicate permission', { name: 'x', permissions: ['USER_ADMIN', 'USER_ADMIN'] }],
      ['no name', { permissions: ['USER_ADMIN'] }],
      ['empty name', { name: '', permissions: ['USER_ADMIN'] }],
      ['name with a control char', { name: 'a\u0000b', permissions: ['USER_ADMIN'] }],
      ['name too long', { name: 'x'.repeat(129), permissions: ['USER_ADMIN'] }],
      ['extra property', { name: 'x', permissions: ['USER_ADMIN'], secret: 'lsr_mine' }],
    ];
    for (const [what, payload] of cases) {
      const res = await h.request({
        method: 'POST',
        url: '/admin/tokens',
        payload: payload as Record<string, unknown>,
      });
      expectProblem(res, 400, 'VALIDATION_FAILED', what);
    }
    assert.equal((await h.request({ method: 'GET', url: '/admin/tokens' })).json().length, 1);
  });

  test('a USER_ADMIN token gets 403 FORBIDDEN on tokens and audit', async (t) => {
    const h = await buildTestApp(t);
    const user = await createToken(h, 'host', ['USER_ADMIN']);
    const headers = bearer(user.secret);
    const attempts: [string, string, Record<string, unknown>?][] = [
      ['GET', '/admin/tokens'],
      ['POST', '/admin/tokens', { name: 'escalate', permissions: ['APPLICATION_ADMIN'] }],
      ['DELETE', '/admin/tokens/1'],
      ['GET', '/admin/audit'],
    ];
    for (const [method, url, payload] of attempts) {
      const res = await h.app.inject({ method: method as 'GET', url, headers, ...(payload && { payload }) });
      expectProblem(res, 403, 'FORBIDDEN', `${method} ${url}`);
    }
    const tokens = (await h.request({ method: 'GET', url: '/admin/tokens' })).json<{ name: string }[]>();
    assert.deepEqual(
      tokens.map((tk) => tk.name),
      ['bootstrap administrator', 'host'],
    );
    assert.equal(
      (await h.request({ method: 'GET', url: '/admin/license' })).statusCode,
      200,
      'the admin token still works',
    );
  });
});

describe('DELETE /admin/tokens/{id}', () => {
  test('revokes: the token is 401 from then on and leaves the list', async (t) => {
    const h = await buildTestApp(t);
    const tok = await createToken(h, 'host', ['USER_ADMIN']);
    assert.equal(
      (await h.app.inject({ method: 'GET', url: '/admin/users', headers: bearer(tok.secret) })).statusCode,
      200,
    );
    h.clock.advance(5000);
    const res = await h.request({ method: 'DELETE', url: `/admin/tokens/${tok.id}` });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(Object.keys(res.json()).sort(), TOKEN_FIELDS);
    assert.equal(res.json().id, tok.id);
    assert.equal(res.json().revokedAt, '2026-06-01T12:00:05.000Z');
    assert.ok(!res.body.includes(tok.secret));

    const after = await h.app.inject({ method: 'GET', url: '/admin/users', headers: bearer(tok.secret) });
    expectProblem(after, 401, 'UNAUTHORIZED');
    assert.match(String(after.headers['www-authenticate']), /^Bearer/);
    const list = (await h.request({ method: 'GET', url: '/admin/tokens' })).json<{ id: number }[]>();
    assert.ok(!list.some((tk) => tk.id === tok.id));
    expectProblem(
      await h.request({ method: 'DELETE', url: `/admin/tokens/${tok.id}` }),
      404,
      'TOKEN_NOT_FOUND',
      'twice',
    );
  });

  test('unknown ids are 404 TOKEN_NOT_FOUND; ids that are not positive integers are 400 INVALID_ID', async (t) => {
    const h = await buildTestApp(t);
    for (const id of ['2', '999999']) {
      expectProblem(
        await h.request({ method: 'DELETE', url: `/admin/tokens/${id}` }),
        404,
        'TOKEN_NOT_FOUND',
        id,
      );
    }
    for (const id of ['0', '-1', 'abc', '1.5', '01', '99999999999999999999']) {
      expectProblem(await h.request({ method: 'DELETE', url: `/admin/tokens/${id}` }), 400, 'INVALID_ID', id);
    }
    assert.equal((await h.request({ method: 'GET', url: '/admin/tokens' })).json().length, 1);
  });
  test('the last live APPLICATION_ADMIN token is 409 LAST_ADMIN_TOKEN, audited as refused, and stays', async (t) => {
    const h = await buildTestApp(t);
    await createToken(h, 'host', ['USER_ADMIN']);
    const refused = await h.request({ method: 'DELETE', url: '/admin/tokens/1' });
    expectProblem(refused, 409, 'LAST_ADMIN_TOKEN');
    assert.match(refused.json().detail, /create another administrator token first/);
    assert.equal((await h.request({ method: 'GET', url: '/admin/license' })).statusCode, 200);
    const audit = (await h.request({ method: 'GET', url: '/admin/audit' })).json();
    assert.deepEqual(
      { action: audit.entries[0].action, outcome: audit.entries[0].outcome, code: audit.entries[0].code },
      { action: 'token.revoke', outcome: 'refused', code: 'LAST_ADMIN_TOKEN' },
    );
    const ops = await createToken(h, 'ops', ['APPLICATION_ADMIN']);
    assert.equal((await h.request({ method: 'DELETE', url: '/admin/tokens/1' })).statusCode, 200);
    expectProblem(
      await h.app.inject({ method: 'DELETE', url: `/admin/tokens/${ops.id}`, headers: bearer(ops.secret) }),
      409,
      'LAST_ADMIN_TOKEN',
    );
  });

  test('a revoked LICENSOR_ADMIN_TOKEN stays revoked at the next start; a new secret gets in', async (t) => {
    const h = await buildTestApp(t);
    const ops = await createToken(h, 'ops', ['APPLICATION_ADMIN']);
    assert.equal(
      (await h.app.inject({ method: 'DELETE', url: '/admin/tokens/1', headers: bearer(ops.secret) }))
        .statusCode,
      200,
    );
    expectProblem(await h.request({ method: 'GET', url: '/admin/tokens' }), 401, 'UNAUTHORIZED');
    // What server start does with LICENSOR_ADMIN_TOKEN (src/server.ts bootstrapAdminToken): a leaked
    // secret that was revoked must not come back because it is still in the environment.
    await assert.rejects(h.store.setBootstrapToken(hashTokenSecret(ADMIN_TOKEN), h.clock.now()), {
      code: 'TOKEN_REVOKED',
    });
    expectProblem(await h.request({ method: 'GET', url: '/admin/tokens' }), 401, 'UNAUTHORIZED');
    const fresh = 'a-brand-new-admin-secret-0123456789';
    await h.store.setBootstrapToken(hashTokenSecret(fresh), h.clock.now());
    assert.equal(
      (await h.app.inject({ method: 'GET', url: '/admin/tokens', headers: bearer(fresh) })).statusCode,
      200,
    );
  });
});

describe('GET /admin/audit', () => {
  test('records changes, refusals and 403s, newest first, with who, what and from where; 401s as counts', async (t) => {
    const h = await buildTestApp(t);
    const goodKey = h.issuer.issue({ seats: 1 });
    const badKey = 'licensekey0123456789abcdefghijklstring';
    const strangerKey = createIssuer(() => h.clock.now()).issue();

    assert.equal((await h.addKey(goodKey)).statusCode, 200); // 1
    h.clock.advance(1000);
    expectProblem(await h.addKey(badKey), 400, 'MALFORMED_LICENSE_KEY'); // 2
    expectProblem(await h.addKey(strangerKey), 400, 'UNTRUSTED_ISSUER'); // 3
    const created = await h.request({
      method: 'POST',
      url: '/admin/users',
      payload: { userid: 'ada', iamid: 'okta' },
    }); // 4
    assert.equal(created.statusCode, 201);
    expectProblem(
      await h.request({ method: 'POST', url: '/admin/users', payload: { userid: 'bob', iamid: 'okta' } }),
      403,
      'SEAT_LIMIT_REACHED',
    ); // 5
    // Routine activity of an active user and successful reads are not audited.
    assert.equal(
      (await h.request({ method: 'POST', url: `/admin/users/${created.json().id}/activity` })).statusCode,
      200,
    );
    assert.equal((await h.request({ method: 'GET', url: '/admin/license' })).statusCode, 200);
    expectProblem(
      await h.app.inject({
        method: 'GET',
        url: '/admin/license',
        headers: bearer('lsr_guessed-secret-value'),
      }),
      401,
      'UNAUTHORIZED',
    ); // counted, not an entry
    const host = await createToken(h, 'host product', ['USER_ADMIN']); // 6
    expectProblem(
      await h.app.inject({ method: 'GET', url: '/admin/license', headers: bearer(host.secret) }),
      403,
      'FORBIDDEN',
    ); // 7
    assert.equal((await h.request({ method: 'DELETE', url: '/admin/license/1' })).statusCode, 200); // 8

    const { page, body } = await auditAfter(h, 8);
    assert.equal(page.offset, 0);
    assert.equal(page.size, 100);
    for (const entry of page.entries) {
      assert.deepEqual(Object.keys(entry).sort(), AUDIT_FIELDS);
      assert.match(String(entry.at), ISO_MS);
      assert.equal(entry.clientAddress, '127.0.0.1');
    }
    const ids = page.entries.map((e) => e.id as number);
    assert.deepEqual(
      ids,
      [...ids].sort((x, y) => y - x),
      'newest first',
    );

    const admin = { actorTokenId: 1, actorName: 'bootstrap administrator' };
    const pick = (e: Record<string, unknown>) => ({
      action: e.action,
      outcome: e.outcome,
      code: e.code,
      target: e.target,
      actorTokenId: e.actorTokenId,
      actorName: e.actorName,
    });
    assert.deepEqual(page.entries.map(pick), [
      { action: 'license.delete', outcome: 'success', code: null, target: 'license:1', ...admin },
      {
        action: 'GET /admin/license',
        outcome: 'refused',
        code: 'FORBIDDEN',
        target: null,
        actorTokenId: host.id,
        actorName: 'host product',
      },
      { action: 'token.create', outcome: 'success', code: null, target: `token:${host.id}`, ...admin },
      { action: 'user.create', outcome: 'refused', code: 'SEAT_LIMIT_REACHED', target: null, ...admin },
      {
        action: 'user.create',
        outcome: 'success',
        code: null,
        target: `user:${created.json().id}`,
        ...admin,
      },
      { action: 'license.add', outcome: 'refused', code: 'UNTRUSTED_ISSUER', target: null, ...admin },
      { action: 'license.add', outcome: 'refused', code: 'MALFORMED_LICENSE_KEY', target: null, ...admin },
      { action: 'license.add', outcome: 'success', code: null, target: 'license:1', ...admin },
    ]);
    assert.equal(page.entries.at(-1)!.at, '2026-06-01T12:00:00.000Z');
    assert.equal(page.entries[0]!.at, '2026-06-01T12:00:01.000Z');

    const [, , goodSignature] = goodKey.split('.') as [string, string, string];
    const [, , strangerSignature] = strangerKey.split('.') as [string, string, string];
    for (const secret of [
      goodKey,
      goodSignature,
      strangerKey,
      strangerSignature,
      badKey,
      host.secret,
      ADMIN_TOKEN,
      'lsr_guessed-secret-value',
      hashTokenSecret(host.secret),
    ]) {
      assert.ok(!body.includes(secret), `the audit log holds a secret: ${secret.slice(0, 12)}...`);
    }

    const second = await h.request({ method: 'GET', url: '/admin/audit?offset=1&size=2' });
    assert.equal(second.statusCode, 200);
    assert.deepEqual(
      [
        second.json().offset,
        second.json().size,
        second.json().total,
        second.json().entries.map((e: { id: number }) => e.id),
      ],
      [1, 2, 8, ids.slice(1, 3)],
    );

    // The 401 is counted per minute and address, written within a second (docs/audit.md).
    let failures: { total: number; entries: Record<string, unknown>[] } = { total: 0, entries: [] };
    for (let i = 0; i < 100 && failures.total === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      failures = (await h.request({ method: 'GET', url: '/admin/audit/auth-failures' })).json();
    }
    assert.deepEqual(failures.entries, [
      {
        minute: '2026-06-01T12:00:00.000Z',
        clientAddress: '127.0.0.1',
        count: 1,
        firstAt: '2026-06-01T12:00:01.000Z',
        lastAt: '2026-06-01T12:00:01.000Z',
      },
    ]);
  });

  test('user changes are audited with their target; activity is audited only when it takes a seat', async (t) => {
    const h = await buildTestApp(t, { activityWindowDays: 30 });
    assert.equal((await h.addKey(h.issuer.issue({ seats: 5 }))).statusCode, 200); // 1
    const id = (
      await h.request({ method: 'POST', url: '/admin/users', payload: { userid: 'ada', iamid: 'okta' } })
    ).json().id; // 2
    assert.equal((await h.request({ method: 'POST', url: `/admin/users/${id}/activity` })).statusCode, 200); // not audited
    h.clock.advance(31 * 24 * 60 * 60 * 1000);
    assert.equal((await h.request({ method: 'POST', url: `/admin/users/${id}/activity` })).statusCode, 200); // 3: takes a seat
    assert.equal(
      (await h.request({ method: 'PATCH', url: `/admin/users/${id}`, payload: { disabled: true } }))
        .statusCode,
      200,
    ); // 4
    expectProblem(
      await h.request({ method: 'POST', url: `/admin/users/${id}/activity` }),
      409,
      'USER_DISABLED',
    ); // 5
    expectProblem(
      await h.request({ method: 'PATCH', url: `/admin/users/${id}`, payload: {} }),
      400,
      'VALIDATION_FAILED',
    ); // 6
    assert.equal((await h.request({ method: 'DELETE', url: `/admin/users/${id}` })).statusCode, 200); // 7
    expectProblem(await h.request({ method: 'DELETE', url: '/admin/tokens/77' }), 404, 'TOKEN_NOT_FOUND'); // 8

    const { page } = await auditAfter(h, 8);
    assert.deepEqual(
      page.entries.map((e) => [e.action, e.outcome, e.code, e.target]),
      [
        ['token.revoke', 'refused', 'TOKEN_NOT_FOUND', 'token:77'],
        ['user.delete', 'success', null, `user:${id}`],
        ['user.update', 'refused', 'VALIDATION_FAILED', `user:${id}`],
        ['user.activity', 'refused', 'USER_DISABLED', `user:${id}`],
        ['user.update', 'success', null, `user:${id}`],
        ['user.activity', 'success', null, `user:${id}`],
        ['user.create', 'success', null, `user:${id}`],
        ['license.add', 'success', null, 'license:1'],
      ],
    );
  });

  test('a time filter must be an instant: a leap second is 400 VALIDATION_FAILED, not a 500', async (t) => {
    const h = await buildTestApp(t);
    // RFC 3339 allows second 60 at 23:59 UTC; JavaScript's Date cannot hold it.
    for (const query of [
      'from=2026-06-30T23:59:60Z',
      'to=9999-12-31T23:59:60Z',
      'from=2026-07-01T01:59:60%2B02:00',
      'to=2026-06-30T23:59:60.5Z',
    ]) {
      const res = await h.request({ method: 'GET', url: `/admin/audit?${query}` });
      expectProblem(res, 400, 'VALIDATION_FAILED', query);
      assert.match(res.json().detail, /must match format "date-time"/, query);
    }
    for (const query of ['from=2026-06-30T23:59:59.999Z', 'to=2026-07-01T01:59:59%2B02:00']) {
      const res = await h.request({ method: 'GET', url: `/admin/audit?${query}` });
      assert.equal(res.statusCode, 200, `${query}: ${res.body}`);
    }
  });

  test('bad paging is 400 INVALID_PAGE, an unknown parameter VALIDATION_FAILED', async (t) => {
    const h = await buildTestApp(t);
    // Whole numbers in decimal digits only: the query's validator alone took each of the last
    // nine as a number (0x10 as 16, a blank as 0).
    const lenient = ['0x10', '0b1', '0o7', '1e3', '%20', '%09', '1%0A', '%2B1', '007', '1.0', '-0', ''];
    for (const query of [
      '?size=0',
      '?size=1001',
      '?offset=-1',
      '?verb=x',
      ...lenient.map((text) => `?offset=${text}`),
      ...lenient.map((text) => `?size=${text}`),
      '?offset=1&offset=0x1',
    ]) {
      expectProblem(
        await h.request({ method: 'GET', url: `/admin/audit${query}` }),
        400,
        query === '?verb=x' ? 'VALIDATION_FAILED' : 'INVALID_PAGE',
        query,
      );
    }
    for (const query of ['?offset=0&size=1000', '?offset=10&size=1', '?size=25']) {
      const res = await h.request({ method: 'GET', url: `/admin/audit${query}` });
      assert.equal(res.statusCode, 200, `${query}: ${res.body}`);
    }
  });
});
