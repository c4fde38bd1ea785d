import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { base64urlEncode } from '../../src/keys/base64url.js';
import { signLicenseKey } from '../../src/keys/license-jws.js';
import { buildTestApp } from '../helpers/app.js';
import { createIssuer, DAY } from '../helpers/issuer.js';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The seed's POST/DELETE response fields and their JSON types (null allowed where the seed shows null). */
const SEED_LICENSE_FIELDS: Record<string, string[]> = {
  id: ['integer'],
  licenseKey: ['string'],
  seats: ['integer'],
  softSeats: ['integer'],
  expires: ['timestamp', 'null'],
  uuid: ['string'],
  deleted: ['boolean'],
  invalidated: ['boolean'],
  features: ['object'],
  handlers: ['object'],
  hardExpiration: ['boolean'],
  renewalToken: ['string', 'null'],
  notice: ['string', 'null'],
  noticeOnExpire: ['string', 'null'],
  classifyUsername: ['null'],
  classifyToken: ['null'],
  createdAt: ['timestamp'],
  updatedAt: ['timestamp'],
  expired: ['boolean'],
  hardDelete: ['boolean'],
};

const SEED_LIST_FIELDS = [
  'id',
  'uuid',
  'features',
  'handlers',
  'expires',
  'seats',
  'createdAt',
  'notice',
  'noticeOnExpire',
];

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Number.isInteger(value)) return 'integer';
  if (typeof value === 'string' && ISO_MS.test(value)) return 'timestamp';
  if (typeof value === 'object' && !Array.isArray(value)) return 'object';
  return typeof value;
}

function assertSeedLicense(body: Record<string, unknown>): void {
  for (const [field, types] of Object.entries(SEED_LICENSE_FIELDS)) {
    assert.ok(field in body, `missing field ${field}`);
    const actual = typeOf(body[field]);
    // A timestamp is also a string; a string field may hold anything.
    const ok = types.includes(actual) || (types.includes('string') && actual === 'timestamp');
    assert.ok(ok, `${field} is ${actual}, expected ${types.join('|')}`);
  }
}

function problem(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }): {
  code: string;
  status: number;
  detail: string;
} {
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const body = res.json() as { code: string; status: number; detail: string; type: string; title: string };
  assert.equal(body.status, res.statusCode);
  assert.equal(typeof body.detail, 'string');
  assert.equal(body.type, `urn:licensor:problem:${body.code}`);
  return body;
}

describe('POST /admin/license', () => {
  test('stores a key and returns every field of the seed example, typed as documented', async (t) => {
    const h = await buildTestApp(t);
    const key = h.issuer.issue({
      seats: 20,
      features: { FPE: { enabled: true }, nativeSqlTeradata: { enabled: true } },
      expires: '2027-09-09T00:00:00Z',
      createdAt: '2026-05-09T13:47:02.473+02:00',
    });
    const res = await h.addKey(key);
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assertSeedLicense(body);
    assert.equal(body.id, 1);
    assert.equal(body.licenseKey, key);
    assert.equal(body.seats, 20);
    assert.equal(body.expires, '2027-09-09T00:00:00.000Z');
    assert.equal(body.createdAt, '2026-05-09T11:47:02.473Z', 'createdAt is the claim, normalised to UTC');
    assert.equal(body.updatedAt, '2026-06-01T12:00:00.000Z', 'updatedAt is when it was added');
    assert.deepEqual(body.features, { FPE: { enabled: true }, nativeSqlTeradata: { enabled: true } });
    assert.equal(body.deleted, false);
    assert.equal(body.expired, false);
    assert.equal(body.classifyUsername, null);
    assert.equal(body.classifyToken, null);
  });

  test('accepts the seed payload spelling "licensekey" and trims surrounding whitespace', async (t) => {
    const h = await buildTestApp(t);
    const key = h.issuer.issue();
    const res = await h.request({
      method: 'POST',
      url: '/admin/license',
      payload: { licensekey: `\n  ${key} \t\n` },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().licenseKey, key);
  });

  test('refuses a body without a key, with a key of the wrong type, or two different keys', async (t) => {
    const h = await buildTestApp(t);
    for (const payload of [
      {},
      { licenseKey: 42 },
      { licenseKey: h.issuer.issue(), licensekey: h.issuer.issue() },
    ]) {
      const res = await h.request({ method: 'POST', url: '/admin/license', payload });
      assert.equal(res.statusCode, 400);
      assert.equal(problem(res).code, 'VALIDATION_FAILED');
    }
    const bad = await h.request({
      method: 'POST',
      url: '/admin/license',
      payload: '{"licenseKey":',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(problem(bad).code, 'MALFORMED_JSON');
    const text = await h.request({
      method: 'POST',
      url: '/admin/license',
      payload: 'abc',
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(text.statusCode, 415);
    assert.equal(problem(text).code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.deepEqual((await h.request({ method: 'GET', url: '/admin/license' })).json(), []);
  });

  test('a body over the limit is 413 PAYLOAD_TOO_LARGE', async (t) => {
    const h = await buildTestApp(t, { bodyLimitBytes: 4096 });
    const res = await h.request({
      method: 'POST',
      url: '/admin/license',
      payload: { licenseKey: 'x'.repeat(5000) },
    });
    assert.equal(res.statusCode, 413);
    assert.equal(problem(res).code, 'PAYLOAD_TOO_LARGE');
  });

  test('hostile keys are refused with 400 and their own code, and store nothing', async (t) => {
    const h = await buildTestApp(t);
    const good = h.issuer.issue();
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const flip = (s: string, i: number): string =>
      s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const stranger = createIssuer();
    const hmacHeader = base64urlEncode(JSON.stringify({ alg: 'HS256', typ: 'license+jws' }));
    const pem = h.issuer.publicKey.export({ type: 'spki', format: 'pem' });
    const hmac = createHmac('sha256', pem).update(`${hmacHeader}.${payload}`).digest('base64url');
    const noneHeader = base64urlEncode(JSON.stringify({ alg: 'none' }));
    const cases: [string, string, string[]][] = [
      [
        'flipped header byte',
        `${flip(header, 5)}.${payload}.${signature}`,
        ['MALFORMED_LICENSE_KEY', 'UNSUPPORTED_ALGORITHM', 'INVALID_SIGNATURE', 'UNSUPPORTED_KEY_HEADER'],
      ],
      ['flipped payload byte', `${header}.${flip(payload, 10)}.${signature}`, ['INVALID_SIGNATURE']],
      ['flipped signature byte', `${header}.${payload}.${flip(signature, 3)}`, ['INVALID_SIGNATURE']],
      ['alg none', `${noneHeader}.${payload}.`, ['UNSUPPORTED_ALGORITHM']],
      ['HS256 keyed with the public key', `${hmacHeader}.${payload}.${hmac}`, ['UNSUPPORTED_ALGORITHM']],
      ['untrusted issuer', stranger.issue(), ['UNTRUSTED_ISSUER']],
      [
        'expired',
        h.issuer.issue({ createdAt: '2025-01-01T00:00:00Z', expires: '2026-01-01T00:00:00Z' }),
        ['LICENSE_EXPIRED'],
      ],
      [
        'created in the future',
        h.issuer.issue({ createdAt: '2026-06-02T00:00:00Z' }),
        ['LICENSE_NOT_YET_VALID'],
      ],
      ['seats of the wrong type', h.issuer.issue({ seats: '20' }), ['INVALID_CLAIMS']],
      ['seats out of range', h.issuer.issue({ seats: -1 }), ['INVALID_CLAIMS']],
      ['features of the wrong shape', h.issuer.issue({ features: { FPE: true } }), ['INVALID_CLAIMS']],
      ['not a JWS', 'licensekey0123456789abcdefghijklstring', ['MALFORMED_LICENSE_KEY']],
    ];
    for (const [name, key, codes] of cases) {
      const res = await h.addKey(key);
      assert.equal(res.statusCode, 400, name);
      const { code } = problem(res);
      assert.ok(codes.includes(code), `${name}: got ${code}`);
    }
    assert.deepEqual((await h.store.listLicenses({ includeDeleted: true })).length, 0);
  });

  test('a key signed for a rotated-in second issuer key is accepted', async (t) => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const issuer = createIssuer(() => new Date('2026-06-01T12:00:00.000Z'));
    const { KeyRing } = await import('../../src/keys/key-ring.js');
    const h = await buildTestApp(t, {
      issuer: { ...issuer, ring: KeyRing.fromPublicKeys([issuer.publicKey, publicKey]) },
    });
    const res = await h.addKey(signLicenseKey(issuer.payload({}, h.clock.now()), privateKey, publicKey));
    assert.equal(res.statusCode, 200);
  });

  test('a live duplicate uuid is 409 LICENSE_ALREADY_EXISTS; after a soft delete it may be added again', async (t) => {
    const h = await buildTestApp(t);
    const key = h.issuer.issue({ uuid: 'lic-1' });
    assert.equal((await h.addKey(key)).statusCode, 200);
    const dup = await h.addKey(key);
    assert.equal(dup.statusCode, 409);
    assert.equal(problem(dup).code, 'LICENSE_ALREADY_EXISTS');
    assert.equal((await h.request({ method: 'DELETE', url: '/admin/license/1' })).statusCode, 200);
    const again = await h.addKey(key);
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().id, 2);
  });

  test('a uuid deleted with hardDelete can never be added again (409 LICENSE_HARD_DELETED)', async (t) => {
    const h = await buildTestApp(t);
    const key = h.issuer.issue({ uuid: 'lic-hard', hardDelete: true });
    assert.equal((await h.addKey(key)).statusCode, 200);
    assert.equal((await h.request({ method: 'DELETE', url: '/admin/license/1' })).statusCode, 200);
    for (const replay of [key, h.issuer.issue({ uuid: 'lic-hard' })]) {
      const res = await h.addKey(replay);
      assert.equal(res.statusCode, 409);
      assert.equal(problem(res).code, 'LICENSE_HARD_DELETED');
    }
  });

  test('supersedes marks the named licenses invalidated', async (t) => {
    const h = await buildTestApp(t);
    await h.addKey(h.issuer.issue({ uuid: 'old', seats: 5 }));
    h.clock.advance(1000);
    const res = await h.addKey(h.issuer.issue({ uuid: 'new', seats: 7, supersedes: ['old'] }));
    assert.equal(res.statusCode, 200);
    const list = (await h.request({ method: 'GET', url: '/admin/license' })).json();
    assert.equal(list[0].invalidated, true);
    assert.equal(list[0].updatedAt, '2026-06-01T12:00:01.000Z');
    const status = (await h.request({ method: 'GET', url: '/admin/license/licenseStatus' })).json();
    assert.equal(status.hardSeats, 7);
  });
});

describe('GET /admin/license', () => {
  test('lists non-deleted licenses with the seed list fields and never the license key', async (t) => {
    const h = await buildTestApp(t);
    await h.addKey(h.issuer.issue({ uuid: 'a', notice: 'hello' }));
    await h.addKey(h.issuer.issue({ uuid: 'b', expires: null }));
    await h.addKey(h.issuer.issue({ uuid: 'c' }));
    await h.request({ method: 'DELETE', url: '/admin/license/2' });
    const res = await h.request({ method: 'GET', url: '/admin/license' });
    assert.equal(res.statusCode, 200);
    const list: Record<string, unknown>[] = res.json();
    assert.deepEqual(
      list.map((l) => l.uuid),
      ['a', 'c'],
    );
    for (const item of list) {
      for (const field of SEED_LIST_FIELDS) assert.ok(field in item, `missing ${field}`);
      assert.ok(!('licenseKey' in item));
      assert.ok(Number.isInteger(item.id));
      assert.match(String(item.createdAt), ISO_MS);
    }
    assert.equal(list[0]!.notice, 'hello');
    assert.ok(!res.body.includes('eyJ'), 'no key material in the list');
  });
});

describe('GET /admin/license/licenseStatus', () => {
  test('has exactly the seed fields with the seed types, computed over stacked active licenses', async (t) => {
    const h = await buildTestApp(t);
    const empty = (await h.request({ method: 'GET', url: '/admin/license/licenseStatus' })).json();
    assert.deepEqual(
      {
        activeUserCount: empty.activeUserCount,
        licenseSeats: empty.licenseSeats,
        canAddUser: empty.canAddUser,
        hardSeats: empty.hardSeats,
      },
      { activeUserCount: 0, licenseSeats: 0, canAddUser: false, hardSeats: 0 },
    );
    await h.addKey(h.issuer.issue({ seats: 20, softSeats: 5, features: { A: { enabled: true } } }));
    await h.addKey(h.issuer.issue({ seats: 10, features: { A: { enabled: false }, B: { enabled: true } } }));
    // Expired (added while valid, then time passes) and scheduled licenses do not count.
    await h.addKey(
      h.issuer.issue({ seats: 1000, expires: new Date(h.clock.now().getTime() + DAY).toISOString() }),
    );
    await h.addKey(
      h.issuer.issue({ seats: 500, startsAt: new Date(h.clock.now().getTime() + 30 * DAY).toISOString() }),
    );
    h.clock.advance(2 * DAY);
    const res = await h.request({ method: 'GET', url: '/admin/license/licenseStatus' });
    assert.equal(res.statusCode, 200);
    const s = res.json();
    assert.equal(s.activeUserCount, 0);
    assert.equal(s.licenseSeats, 35);
    assert.equal(s.hardSeats, 30);
    assert.equal(s.canAddUser, true);
    assert.deepEqual(s.features, { A: { enabled: true }, B: { enabled: true } });
    assert.equal(s.dataAccessBlocked, false);
    assert.equal(s.activeLicenses, 2);
    h.clock.advance(30 * DAY);
    assert.equal(
      (await h.request({ method: 'GET', url: '/admin/license/licenseStatus' })).json().hardSeats,
      530,
    );
  });

  test('dataAccessBlocked once the only license, with hardExpiration, expires', async (t) => {
    const h = await buildTestApp(t);
    await h.addKey(h.issuer.issue({ hardExpiration: true, expires: '2026-07-01T00:00:00Z' }));
    h.clock.set('2026-07-01T00:00:00.000Z');
    const s = (await h.request({ method: 'GET', url: '/admin/license/licenseStatus' })).json();
    assert.equal(s.dataAccessBlocked, true);
    assert.equal(s.licenseSeats, 0);
    const list = (await h.request({ method: 'GET', url: '/admin/license' })).json();
    assert.equal(list[0].expired, true);
  });
});

describe('DELETE /admin/license/{licenseId}', () => {
  test('soft-deletes and returns every field of the seed delete example', async (t) => {
    const h = await buildTestApp(t);
    const key = h.issuer.issue({ hardDelete: true });
    await h.addKey(key);
    h.clock.advance(60_000);
    const res = await h.request({ method: 'DELETE', url: '/admin/license/1' });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assertSeedLicense(body);
    assert.equal(body.deleted, true);
    assert.equal(body.hardDelete, true);
    assert.equal(body.licenseKey, key);
    assert.equal(body.updatedAt, '2026-06-01T12:01:00.000Z', 'updatedAt is the time of deletion');
    const kept = await h.store.getLicense(1);
    assert.equal(kept?.deleted, true, 'the record stays');
  });

  test('unknown or already deleted ids are 404; ids that are not positive integers are 400', async (t) => {
    const h = await buildTestApp(t);
    await h.addKey(h.issuer.issue());
    assert.equal((await h.request({ method: 'DELETE', url: '/admin/license/1' })).statusCode, 200);
    for (const id of ['1', '2', '999999']) {
      const res = await h.request({ method: 'DELETE', url: `/admin/license/${id}` });
      assert.equal(res.statusCode, 404, id);
      assert.equal(problem(res).code, 'LICENSE_NOT_FOUND');
    }
    for (const id of ['0', '-1', 'abc', '1.5', '01', '1e3', '99999999999999999999', '%20']) {
      const res = await h.request({ method: 'DELETE', url: `/admin/license/${id}` });
      assert.equal(res.statusCode, 400, id);
      assert.equal(problem(res).code, 'INVALID_ID');
    }
  });
});

describe('auth', () => {
  test('missing or unknown token is 401 with WWW-Authenticate: Bearer, and changes nothing', async (t) => {
    const h = await buildTestApp(t);
    const key = h.issuer.issue();
    for (const authorization of [undefined, 'Bearer nope-not-a-token', 'Basic dXNlcjpwYXNz', 'Bearer']) {
      const headers = authorization === undefined ? {} : { authorization };
      const res = await h.app.inject({
        method: 'POST',
        url: '/admin/license',
        payload: { licenseKey: key },
        headers,
      });
      assert.equal(res.statusCode, 401, String(authorization));
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
      assert.equal(problem(res).code, 'UNAUTHORIZED');
    }
    assert.equal((await h.store.listLicenses()).length, 0);
  });
});

describe('errors and docs', () => {
  test('an unknown route is a 404 problem; /openapi.json is an OpenAPI 3.1 document with the four seed routes', async (t) => {
    const h = await buildTestApp(t);
    const missing = await h.app.inject({ method: 'GET', url: '/nope' });
    assert.equal(missing.statusCode, 404);
    assert.equal(problem(missing).code, 'ROUTE_NOT_FOUND');
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/admin/license'].post);
    assert.ok(doc.paths['/admin/license'].get);
    assert.ok(doc.paths['/admin/license/licenseStatus'].get);
    assert.ok(doc.paths['/admin/license/{licenseId}'].delete);
  });

  test('a 5xx says nothing internal', async (t) => {
    const h = await buildTestApp(t);
    // A store fault whose message would give the internals away if it reached the client.
    h.store.listLicenses = () => Promise.reject(new Error('SQLITE_CORRUPT at /var/lib/licensor/data.sqlite'));
    const res = await h.request({ method: 'GET', url: '/admin/license' });
    assert.equal(res.statusCode, 500);
    const body = problem(res);
    assert.equal(body.code, 'INTERNAL_ERROR');
    assert.doesNotMatch(res.body, /sqlite|corrupt|var\/lib|stack/i);
  });
});

describe('the seed curl examples', () => {
  test('GET and DELETE with "Content-Type: application/json" and no body work', async (t) => {
    const h = await buildTestApp(t);
    await h.addKey(h.issuer.issue());
    const headers = { 'content-type': 'application/json' };
    for (const url of ['/admin/license', '/admin/license/licenseStatus']) {
      assert.equal((await h.request({ method: 'GET', url, headers })).statusCode, 200, url);
    }
    assert.equal((await h.request({ method: 'DELETE', url: '/admin/license/1', headers })).statusCode, 200);
    const empty = await h.request({ method: 'POST', url: '/admin/license', headers });
    assert.equal(empty.statusCode, 400);
    assert.equal(empty.json().code, 'VALIDATION_FAILED');
  });

  test('a JSON body that tries prototype poisoning is refused', async (t) => {
    const h = await buildTestApp(t);
    const res = await h.request({
      method: 'POST',
      url: '/admin/license',
      payload: '{"licenseKey":"x","__proto__":{"admin":true}}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.statusCode, 400);
  });
});
