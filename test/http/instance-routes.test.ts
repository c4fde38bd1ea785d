import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { describe, test } from 'node:test';
import { calculateJwkThumbprint, compactVerify, importJWK, type JWK } from 'jose';
import { checkReport } from '../../src/domain/usage-reconcile.js';
import { CHAIN_GENESIS, chainOf, type UsageReport } from '../../src/domain/usage-report.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { DAY } from '../helpers/issuer.js';

async function instanceKey(h: TestApp): Promise<JWK> {
  const res = await h.request({ method: 'GET', url: '/admin/instance' });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().publicKey as JWK;
}

function decodePayload(jws: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Three days with users of both types: the history the report is built from. */
async function withHistory(t: Parameters<typeof buildTestApp>[0]): Promise<TestApp> {
  const h = await buildTestApp(t, { now: '2026-05-30T12:00:00.000Z' });
  // A recorded day with neither users nor licenses: before the history proper.
  await h.store.recordUsage(h.clock.now());
  h.clock.set('2026-06-01T12:00:00.000Z');
  assert.equal((await h.addKey(h.issuer.issue({ seats: 5 }))).statusCode, 200);
  for (const [userid, userType] of [
    ['ada', 'dataConsumer'],
    ['bob', 'policyOwner'],
    ['cyd', 'dataConsumer'],
  ]) {
    const res = await h.request({
      method: 'POST',
      url: '/admin/users',
      payload: { userid, iamid: 'okta', userType },
    });
    assert.equal(res.statusCode, 201, res.body);
    h.clock.advance(DAY);
  }
  return h;
}

describe('instance identity', () => {
  test('GET /admin/instance and the JWKS publish the same key, whose kid is its RFC 7638 thumbprint', async (t) => {
    const h = await buildTestApp(t);
    const instance = (await h.request({ method: 'GET', url: '/admin/instance' })).json();
    assert.match(instance.instanceId, /^[0-9a-f-]{36}$/);
    assert.equal(instance.kid, await calculateJwkThumbprint(instance.publicKey as JWK));
    const jwks = await h.request({
      method: 'GET',
      url: '/.well-known/jwks.json',
      headers: { authorization: '' },
    });
    assert.equal(jwks.statusCode, 200);
    assert.deepEqual(jwks.json().keys, [instance.publicKey]);
    assert.equal(instance.publicKey.d, undefined, 'no private part is published');
    // The same store keeps the same identity when opened again.
    const again = (await h.request({ method: 'GET', url: '/admin/instance' })).json();
    assert.deepEqual(again, instance);
  });
});

describe('GET /admin/license/usage/report', () => {
  test('is a compact JWS that jose and plain node:crypto both verify, with the chain over each day', async (t) => {
    const h = await withHistory(t);
    const jwk = await instanceKey(h);
    const res = await h.request({
      method: 'GET',
      url: '/admin/license/usage/report?from=2026-05-01&to=2026-06-10',
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /^application\/jose/);
    const jws = res.body;

    const { payload, protectedHeader } = await compactVerify(jws, await importJWK(jwk, 'EdDSA'), {
      algorithms: ['EdDSA'],
    });
    assert.equal(protectedHeader.typ, 'usage-report+jws');
    assert.equal(protectedHeader.kid, jwk.kid);

    const [header, body, signature] = jws.split('.') as [string, string, string];
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x! }, format: 'jwk' });
    assert.ok(verify(null, Buffer.from(`${header}.${body}`), key, Buffer.from(signature, 'base64url')));

    const report = JSON.parse(new TextDecoder().decode(payload)) as UsageReport;
    assert.deepEqual(report, decodePayload(jws) as unknown as UsageReport);
    assert.equal(
      report.instanceId,
      (await h.request({ method: 'GET', url: '/admin/instance' })).json().instanceId,
    );
    assert.deepEqual(
      report.days.map((d) => d.day),
      ['2026-06-01', '2026-06-02', '2026-06-03', '2026-06-04'],
      'days before the first user or license are left out; recorded days follow',
    );
    assert.equal(report.chainStart, CHAIN_GENESIS);
    let previous = CHAIN_GENESIS;
    for (const row of report.days) {
      assert.equal(row.chain, chainOf(previous, row));
      previous = row.chain;
    }
    assert.equal(report.licenses.length, 1);
    assert.equal(report.licenses[0]?.seats, 5);
    // Each day's peak over all types and by type, as the claims recorded them, signed in the row.
    assert.deepEqual(
      report.days.map((d) => d.peakActive),
      [
        { all: 1, dataConsumer: 1, policyOwner: 0 },
        { all: 2, dataConsumer: 1, policyOwner: 1 },
        { all: 3, dataConsumer: 2, policyOwner: 1 },
        { all: 3, dataConsumer: 2, policyOwner: 1 },
      ],
    );
    assert.equal(report.summary.peakActive, Math.max(...report.days.map((d) => d.peakActive.all)));
    assert.deepEqual(
      checkReport(report as unknown as Record<string, unknown>),
      report,
      'licensor report verify',
    );
  });

  test('a later period starts from the chain of the day before it, so shared days carry the same chain', async (t) => {
    const h = await withHistory(t);
    const whole = decodePayload(
      (await h.request({ method: 'GET', url: '/admin/license/usage/report?from=2026-06-01&to=2026-06-04' }))
        .body,
    );
    const later = decodePayload(
      (await h.request({ method: 'GET', url: '/admin/license/usage/report?from=2026-06-03&to=2026-06-04' }))
        .body,
    );
    const days = whole.days as { day: string; chain: string }[];
    assert.equal(later.chainStart, days[1]!.chain);
    assert.deepEqual(later.days, days.slice(2));
  });

  test('refuses a period over 400 days, a reversed one and a day that does not exist', async (t) => {
    const h = await buildTestApp(t);
    for (const [query, what] of [
      ['from=2025-01-01&to=2026-02-05', '401 days'],
      ['from=2026-06-02&to=2026-06-01', 'reversed'],
      ['from=2026-02-30&to=2026-03-01', 'no such day'],
    ]) {
      const res = await h.request({ method: 'GET', url: `/admin/license/usage/report?${query}` });
      assert.equal(res.statusCode, 400, what);
      assert.equal(res.json().code, 'VALIDATION_FAILED', what);
    }
    const exactly400 = await h.request({
      method: 'GET',
      url: '/admin/license/usage/report?from=2025-01-01&to=2026-02-04',
    });
    assert.equal(exactly400.statusCode, 200, exactly400.body);
  });
});

describe('GET /license/entitlements.jws', () => {
  test('signs the entitlements with instanceId, iat, exp = iat + TTL and the nonce echoed', async (t) => {
    const h = await buildTestApp(t, { now: '2026-06-01T12:00:00.000Z' });
    assert.equal((await h.addKey(h.issuer.issue({ seats: 5 }))).statusCode, 200);
    const jwk = await instanceKey(h);
    const res = await h.request({ method: 'GET', url: '/license/entitlements.jws?nonce=abc-DEF_123' });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /^application\/jose/);
    const { payload, protectedHeader } = await compactVerify(res.body, await importJWK(jwk, 'EdDSA'));
    assert.equal(protectedHeader.typ, 'entitlements+jws');
    const claims = JSON.parse(new TextDecoder().decode(payload));
    const plain = (await h.request({ method: 'GET', url: '/license/entitlements' })).json();
    const iat = Date.parse('2026-06-01T12:00:00.000Z') / 1000;
    assert.deepEqual(claims, {
      ...plain,
      instanceId: (await h.request({ method: 'GET', url: '/admin/instance' })).json().instanceId,
      iat,
      exp: iat + 86_400,
      nonce: 'abc-DEF_123',
    });
  });

  test('exp follows LICENSOR_ENTITLEMENTS_TTL_SECONDS', async (t) => {
    const h = await buildTestApp(t, { now: '2026-06-01T12:00:00.000Z', entitlementsTtlSeconds: 600 });
    const res = await h.request({ method: 'GET', url: '/license/entitlements.jws?nonce=n' });
    const claims = decodePayload(res.body);
    assert.equal(Number(claims.exp) - Number(claims.iat), 600);
  });

  test('refuses a missing, empty, too long or non-URL-safe nonce', async (t) => {
    const h = await buildTestApp(t);
    for (const query of ['', '?nonce=', `?nonce=${'a'.repeat(129)}`, '?nonce=a%2Bb', '?nonce=a.b']) {
      const res = await h.request({ method: 'GET', url: `/license/entitlements.jws${query}` });
      assert.equal(res.statusCode, 400, query);
      assert.equal(res.json().code, 'VALIDATION_FAILED', query);
    }
    const longest = await h.request({
      method: 'GET',
      url: `/license/entitlements.jws?nonce=${'a'.repeat(128)}`,
    });
    assert.equal(longest.statusCode, 200);
  });
});
