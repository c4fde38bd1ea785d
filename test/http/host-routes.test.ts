import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { DAY } from '../helpers/issuer.js';

function expectProblem(res: LightMyRequestResponse, status: number, code: string, what = ''): void {
  assert.equal(res.statusCode, status, `${what}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
  assert.equal(res.json().code, code, what);
}

function notices(h: TestApp, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return h.app.inject({ method: 'GET', url: '/license/notices', headers });
}

async function tokenSecret(h: TestApp, permissions: string[]): Promise<string> {
  const res = await h.request({
    method: 'POST',
    url: '/admin/tokens',
    payload: { name: 'host product', permissions },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().secret as string;
}

function entitlements(h: TestApp, secret: string): Promise<LightMyRequestResponse> {
  return h.app.inject({
    method: 'GET',
    url: '/license/entitlements',
    headers: { authorization: `Bearer ${secret}` },
  });
}

describe('GET /license/notices', () => {
  test('public: the active notice, then noticeOnExpire after expiry; nothing else about the license', async (t) => {
    const h = await buildTestApp(t);
    const empty = await notices(h);
    assert.equal(empty.statusCode, 200);
    assert.deepEqual(empty.json(), { notices: [] });

    const expires = new Date(h.clock.now().getTime() + 10 * DAY).toISOString();
    const key = h.issuer.issue({
      uuid: 'lic-notice',
      notice: 'Licensed to ACME until further notice',
      noticeOnExpire: 'This license has expired: call sales',
      expires,
      licensee: { name: 'Ann', email: 'ann@acme.example', company: 'ACME' },
      seats: 7,
    });
    assert.equal((await h.addKey(key)).statusCode, 200);

    const active = await notices(h);
    assert.equal(active.statusCode, 200);
    assert.match(String(active.headers['content-type']), /^application\/json/);
    assert.deepEqual(active.json(), {
      notices: [{ kind: 'notice', text: 'Licensed to ACME until further notice' }],
    });
    for (const secret of [key, 'lic-notice', 'ACME"', 'ann@acme.example', 'seats', 'licenseId', expires]) {
      assert.ok(!active.body.includes(secret), `leaks ${secret}`);
    }

    h.clock.set(expires);
    const expired = await notices(h);
    assert.equal(expired.statusCode, 200);
    assert.deepEqual(expired.json(), {
      notices: [{ kind: 'noticeOnExpire', text: 'This license has expired: call sales' }],
    });
  });

  test('needs no token, and an unknown token does not make it fail', async (t) => {
    const h = await buildTestApp(t);
    await h.addKey(h.issuer.issue({ notice: 'hello' }));
    for (const headers of [
      {},
      { authorization: 'Bearer not-a-token' },
      { authorization: 'Basic Zm9vOmJhcg==' },
    ]) {
      const res = await notices(h, headers);
      assert.equal(res.statusCode, 200, JSON.stringify(headers));
      assert.deepEqual(res.json(), { notices: [{ kind: 'notice', text: 'hello' }] });
    }
  });

  test('stacked licenses show each notice; a deleted license shows none', async (t) => {
    const h = await buildTestApp(t);
    await h.addKey(h.issuer.issue({ notice: 'first' }));
    await h.addKey(h.issuer.issue({ notice: 'second', noticeOnExpire: 'second expired' }));
    await h.addKey(h.issuer.issue({ notice: null }));
    assert.deepEqual((await notices(h)).json(), {
      notices: [
        { kind: 'notice', text: 'first' },
        { kind: 'notice', text: 'second' },
      ],
    });
    assert.equal((await h.request({ method: 'DELETE', url: '/admin/license/1' })).statusCode, 200);
    assert.deepEqual((await notices(h)).json(), { notices: [{ kind: 'notice', text: 'second' }] });
  });
});

describe('GET /license/entitlements', () => {
  test('401 without a valid token', async (t) => {
    const h = await buildTestApp(t);
    await h.addKey(h.issuer.issue());
    for (const headers of [{}, { authorization: 'Bearer lsr_unknown' }]) {
      const res = await h.app.inject({ method: 'GET', url: '/license/entitlements', headers });
      expectProblem(res, 401, 'UNAUTHORIZED', JSON.stringify(headers));
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
    }
  });

  test('a USER_ADMIN token gets exactly {features, handlers, canAddUser, dataAccessBlocked, grace}', async (t) => {
    const h = await buildTestApp(t);
    const key = h.issuer.issue({
      seats: 1,
      features: { FPE: { enabled: true }, masking: { enabled: false } },
      handlers: { snowflake: { versions: ['7'] }, postgres: {} },
      licensee: { company: 'ACME' },
    });
    assert.equal((await h.addKey(key)).statusCode, 200);
    await h.addKey(
      h.issuer.issue({ seats: 0, features: { masking: { enabled: true } }, handlers: { databricks: {} } }),
    );
    const secret = await tokenSecret(h, ['USER_ADMIN']);
    const res = await entitlements(h, secret);
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), [
      'canAddUser',
      'dataAccessBlocked',
      'features',
      'grace',
      'handlers',
    ]);
    assert.deepEqual(body.features, { FPE: { enabled: true }, masking: { enabled: true } });
    // The same object form as licenseStatus (docs/immuta-compatibility.md): one shape everywhere.
    assert.deepEqual(body.handlers, { snowflake: { versions: ['7'] }, postgres: {}, databricks: {} });
    assert.deepEqual(
      body.handlers,
      (await h.request({ method: 'GET', url: '/admin/license/licenseStatus' })).json().handlers,
    );
    assert.equal(body.canAddUser, true);
    assert.equal(body.dataAccessBlocked, false);
    assert.ok(
      !res.body.includes('ACME') && !res.body.includes(key.split('.')[2]!),
      'no licensee or key material',
    );

    // With the one seat taken, no user can be added.
    const user = await h.request({
      method: 'POST',
      url: '/admin/users',
      payload: { userid: 'a', iamid: 'okta' },
      headers: { authorization: `Bearer ${secret}` },
    });
    assert.equal(user.statusCode, 201);
    assert.equal((await entitlements(h, secret)).json().canAddUser, false);
  });

  test('an APPLICATION_ADMIN token works too; a revoked token is 401', async (t) => {
    const h = await buildTestApp(t);
    const admin = await h.request({ method: 'GET', url: '/license/entitlements' });
    assert.equal(admin.statusCode, 200);
    assert.deepEqual(admin.json(), {
      features: {},
      handlers: {},
      canAddUser: false,
      dataAccessBlocked: false,
      grace: null,
    });
    const secret = await tokenSecret(h, ['USER_ADMIN']);
    assert.equal((await entitlements(h, secret)).statusCode, 200);
    const id = (await h.request({ method: 'GET', url: '/admin/tokens' }))
      .json()
      .find((tk: { bootstrap: boolean }) => !tk.bootstrap).id;
    assert.equal((await h.request({ method: 'DELETE', url: `/admin/tokens/${id}` })).statusCode, 200);
    expectProblem(await entitlements(h, secret), 401, 'UNAUTHORIZED');
  });

  test('dataAccessBlocked once a hardExpiration license expires', async (t) => {
    const h = await buildTestApp(t);
    const expires = new Date(h.clock.now().getTime() + 5 * DAY).toISOString();
    await h.addKey(
      h.issuer.issue({
        hardExpiration: true,
        expires,
        features: { FPE: { enabled: true } },
        handlers: { snowflake: {} },
      }),
    );
    const secret = await tokenSecret(h, ['USER_ADMIN']);
    h.clock.set(new Date(expires).getTime() - 1);
    assert.equal((await entitlements(h, secret)).json().dataAccessBlocked, false);
    h.clock.set(expires);
    const res = await entitlements(h, secret);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      features: {},
      handlers: {},
      canAddUser: false,
      dataAccessBlocked: true,
      grace: null,
    });
  });

  test('an expired license without hardExpiration does not block data access', async (t) => {
    const h = await buildTestApp(t);
    const expires = new Date(h.clock.now().getTime() + 5 * DAY).toISOString();
    await h.addKey(h.issuer.issue({ expires }));
    h.clock.set(expires);
    const res = await h.request({ method: 'GET', url: '/license/entitlements' });
    assert.equal(res.json().dataAccessBlocked, false);
  });
});
