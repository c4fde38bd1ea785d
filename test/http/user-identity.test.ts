import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { buildTestApp, type TestApp } from '../helpers/app.js';

/** One identity per user, refused characters and folded search, over HTTP (docs/users.md). */

async function withSeats(t: Parameters<typeof buildTestApp>[0], seats: number): Promise<TestApp> {
  const h = await buildTestApp(t);
  assert.equal((await h.addKey(h.issuer.issue({ seats }))).statusCode, 200);
  return h;
}

function create(h: TestApp, payload: Record<string, unknown>): Promise<LightMyRequestResponse> {
  return h.request({ method: 'POST', url: '/admin/users', payload });
}

function expectProblem(res: LightMyRequestResponse, status: number, code: string, what: string): void {
  assert.equal(res.statusCode, status, `${what}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
  assert.equal(res.json<{ code: string }>().code, code, what);
}

async function total(h: TestApp, query = ''): Promise<{ total: number; userids: unknown[] }> {
  const res = await h.request({ method: 'GET', url: `/admin/users?size=1000${query}` });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json<{ total: number; users: { userid: unknown }[] }>();
  return { total: body.total, userids: body.users.map((u) => u.userid) };
}

async function activeUserCount(h: TestApp): Promise<unknown> {
  const res = await h.request({ method: 'GET', url: '/admin/license/licenseStatus' });
  return res.json<{ activeUserCount: unknown }>().activeUserCount;
}

describe('one identity per user', () => {
  test('Alice, alice, fullwidth Ａｌｉｃｅ and NFD José are one user each: 409 on the second', async (t) => {
    const h = await withSeats(t, 10);
    const first = await create(h, { userid: 'Alice', iamid: 'okta' });
    assert.equal(first.statusCode, 201, first.body);
    for (const userid of ['alice', 'ALICE', 'Ａｌｉｃｅ'])
      expectProblem(await create(h, { userid, iamid: 'okta' }), 409, 'USER_ALREADY_EXISTS', userid);
    expectProblem(
      await create(h, { userid: 'alice', iamid: 'OKTA' }),
      409,
      'USER_ALREADY_EXISTS',
      'iamid case',
    );

    const jose = await create(h, { userid: 'Jose\u0301', iamid: 'okta' });
    assert.equal(jose.statusCode, 201, jose.body);
    assert.equal(jose.json<{ userid: string }>().userid, 'José', 'stored in NFC');
    assert.equal(jose.json<{ userid: string }>().userid.length, 4);
    expectProblem(await create(h, { userid: 'José', iamid: 'okta' }), 409, 'USER_ALREADY_EXISTS', 'NFC José');

    // Alice with a zero-width space is refused outright: it can never become a second Alice.
    expectProblem(
      await create(h, { userid: 'Alice\u200b', iamid: 'okta' }),
      400,
      'INVALID_IDENTIFIER',
      'zero-width space',
    );
    assert.equal((await total(h)).total, 2);
    assert.equal(await activeUserCount(h), 2, 'no seat taken by a second spelling');
  });

  test('refused characters in userid, iamid, name or email are 400 INVALID_IDENTIFIER, nothing written', async (t) => {
    const h = await withSeats(t, 10);
    const refused: [string, Record<string, unknown>][] = [
      ['C0 control', { userid: 'a\u0001' }],
      ['C1 control', { userid: 'a\u0085' }],
      ['zero-width space', { userid: 'a\u200b' }],
      ['zero-width non-joiner in an identifier', { userid: 'a\u200cb' }],
      ['right-to-left override', { userid: '\u202eadmin' }],
      ['bidi isolate', { iamid: 'okta\u2066' }],
      ['byte order mark', { iamid: '\ufeffokta' }],
      ['private use', { userid: 'a\ue000' }],
      ['supplementary private use', { userid: 'a\u{f0000}' }],
      ['unassigned', { userid: 'a\u0378' }],
      ['noncharacter', { userid: 'a\ufffe' }],
      ['lone surrogate', { userid: 'a\ud800' }],
      ['paragraph separator', { userid: 'a\u2029' }],
      ['Hangul filler', { userid: '\u3164' }],
      ['variation selector', { userid: 'a\ufe0f' }],
      ['newline in a name', { name: 'Ada\nLovelace' }],
      ['bidi override in a name', { name: 'Ada \u202e' }],
      ['private use in an email', { email: 'ada\ue000@example.com' }],
    ];
    for (const [what, fields] of refused) {
      const res = await create(h, { userid: 'ada', iamid: 'okta', ...fields });
      expectProblem(res, 400, 'INVALID_IDENTIFIER', what);
      assert.match(res.json<{ detail: string }>().detail, /U\+[0-9A-F]{4,6}/, `${what}: names the character`);
    }
    assert.equal((await total(h)).total, 0);

    // Names keep what names need: joiners (Persian, emoji) and soft hyphens.
    const ok = await create(h, {
      userid: 'ada',
      iamid: 'okta',
      name: 'می\u200cخواهم 👩\u200d💻 Lo\u00advelace',
    });
    assert.equal(ok.statusCode, 201, ok.body);
    const id = ok.json<{ id: number }>().id;
    const patched = await h.request({
      method: 'PATCH',
      url: `/admin/users/${id}`,
      payload: { email: 'ada@example.com\u202e' },
    });
    expectProblem(patched, 400, 'INVALID_IDENTIFIER', 'PATCH email');
    const again = await h.request({ method: 'GET', url: `/admin/users/${id}` });
    assert.equal(again.json<{ email: unknown }>().email, null, 'the refused PATCH wrote nothing');
  });

  test('?q= folds case, accents and width: istanbul finds İstanbul, ss finds ß', async (t) => {
    const h = await withSeats(t, 10);
    for (const [userid, name] of [
      ['u1', 'İstanbul'],
      ['u2', 'Jose\u0301'],
      ['u3', 'José'],
      ['u4', 'Émile'],
      ['u5', 'Straße'],
      ['Ｕ６', null],
    ] as const)
      assert.equal((await create(h, { userid, iamid: 'okta', name })).statusCode, 201);
    const found = async (q: string): Promise<unknown[]> =>
      (await total(h, `&q=${encodeURIComponent(q)}`)).userids;
    assert.deepEqual(await found('istanbul'), ['u1']);
    assert.deepEqual(await found('İSTANBUL'), ['u1']);
    assert.deepEqual(await found('jose'), ['u2', 'u3']);
    assert.deepEqual(await found('José'), ['u2', 'u3']);
    assert.deepEqual(await found('emile'), ['u4']);
    assert.deepEqual(await found('STRASSE'), ['u5']);
    assert.deepEqual(await found('ß'), ['u5']);
    assert.deepEqual(await found('u6'), ['Ｕ６']);
  });
});
