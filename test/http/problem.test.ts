import { pino } from 'pino';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { errorCodes } from 'fastify';
import { ManualClock } from '../../src/domain/clock.js';
import { LicensorError } from '../../src/domain/errors.js';
import { buildApp } from '../../src/http/app.js';
import { toLicensorError } from '../../src/http/problem.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { buildTestApp } from '../helpers/app.js';
import { createIssuer } from '../helpers/issuer.js';

/** Every Fastify error that can reach the error handler while a request is handled, and its code. */
const MAPPED: [Error, string][] = [
  [new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), 'PAYLOAD_TOO_LARGE'],
  [new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(), 'UNSUPPORTED_MEDIA_TYPE'],
  [new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH(), 'VALIDATION_FAILED'],
  [new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY(), 'MALFORMED_JSON'],
  [new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY(), 'MALFORMED_JSON'],
  [new errorCodes.FST_ERR_VALIDATION('body must be object'), 'VALIDATION_FAILED'],
  [new errorCodes.FST_ERR_BAD_URL('/%zz'), 'VALIDATION_FAILED'],
  [new errorCodes.FST_ERR_MAX_PARAM_LENGTH('/x'), 'URI_TOO_LONG'],
  [new errorCodes.FST_ERR_NOT_FOUND(), 'ROUTE_NOT_FOUND'],
  [Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 }), 'VALIDATION_FAILED'],
];

/** Errors nothing maps on purpose: whatever status they carry, they are a logged 500. */
const UNMAPPED: unknown[] = [
  Object.assign(new Error('forbidden by something'), { statusCode: 403 }),
  Object.assign(new Error('conflict somewhere'), { statusCode: 409 }),
  Object.assign(new Error('gone'), { statusCode: 404 }),
  Object.assign(new Error('teapot'), { statusCode: 418, code: 'SOME_PLUGIN_CODE' }),
  Object.assign(new SyntaxError('Unexpected token'), { statusCode: 400 }),
  Object.assign(new Error('aborted'), { code: 'ECONNRESET' }),
  new errorCodes.FST_ERR_ASYNC_CONSTRAINT(),
  new errorCodes.FST_ERR_REP_INVALID_PAYLOAD_TYPE('number'),
  new errorCodes.FST_ERR_BAD_STATUS_CODE('999'),
  new errorCodes.FST_ERR_FAILED_ERROR_SERIALIZATION('x', 'y'),
  new TypeError('undefined is not a function'),
  'a thrown string',
  null,
  undefined,
];

describe('error mapping', () => {
  test('each Fastify error that can reach a request keeps a client code and status', () => {
    for (const [err, code] of MAPPED) {
      const mapped = toLicensorError(err);
      assert.equal(mapped.code, code, String((err as { code?: string }).code));
      assert.equal(mapped.status, (err as { statusCode?: number }).statusCode, mapped.code);
    }
    const ours = new LicensorError('SEAT_LIMIT_REACHED', 'all seats are taken');
    assert.equal(toLicensorError(ours), ours);
  });

  test('anything unmapped is 500 INTERNAL_ERROR, never a code guessed from its status', () => {
    for (const err of UNMAPPED) {
      const mapped = toLicensorError(err);
      assert.deepEqual([mapped.status, mapped.code], [500, 'INTERNAL_ERROR'], String(err));
      assert.doesNotMatch(mapped.detail, /forbidden|conflict|teapot|token|function/);
    }
  });

  test('an unmapped error thrown by a route is answered 500 INTERNAL_ERROR and logged', async (t) => {
    const lines: string[] = [];
    const clock = new ManualClock('2026-06-01T12:00:00.000Z');
    const store = SqliteStore.open({ filename: ':memory:' });
    const app = await buildApp({
      store,
      keyRing: createIssuer(() => clock.now()).ring,
      clock,
      activityWindowDays: 365,
      logger: pino(
        { level: 'error' },
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            lines.push(chunk.toString());
            done();
          },
        }),
      ),
    });
    t.after(async () => {
      await app.close();
      await store.close();
    });
    app.get('/test/throws/:status', { config: { access: 'public' }, schema: { hide: true } }, (request) => {
      const { status } = request.params as { status: string };
      throw Object.assign(new Error(`unmapped ${status}`), { statusCode: Number(status) });
    });
    for (const status of ['403', '409', '400', '404', '500']) {
      const res = await app.inject({ url: `/test/throws/${status}` });
      assert.equal(res.statusCode, 500, status);
      assert.equal(res.json().code, 'INTERNAL_ERROR', status);
      assert.doesNotMatch(res.body, /unmapped/);
      assert.ok(
        lines.some((line) => line.includes(`unmapped ${status}`) && line.includes('request failed')),
        `the ${status} is logged`,
      );
    }
  });

  test('a value that must be one of several is told which, once', async (t) => {
    const h = await buildTestApp(t);
    await h.request({ method: 'POST', url: '/admin/users', payload: { userid: 'a', iamid: 'b' } });
    const cases: [string, string, unknown, string][] = [
      [
        'PATCH',
        '/admin/users/1',
        { userType: 'bad' },
        'body/userType must be "dataConsumer" or "policyOwner"',
      ],
      [
        'PUT',
        '/admin/settings/seats',
        { userCap: null, whenFull: 'x' },
        'body/whenFull must be "refuse" or "queue"',
      ],
      [
        'PUT',
        '/admin/settings/seats',
        { userCap: 'x', whenFull: 'refuse' },
        'body/userCap must be an integer or null',
      ],
      ['GET', '/admin/audit?outcome=x', undefined, 'querystring/outcome must be "success" or "refused"'],
      // A value of another type fails each constant's type as well as its value: still said once.
      ['PATCH', '/admin/users/1', { userType: 5 }, 'body/userType must be "dataConsumer" or "policyOwner"'],
      [
        'PATCH',
        '/admin/users/1',
        { userType: null },
        'body/userType must be "dataConsumer" or "policyOwner"',
      ],
      [
        'PUT',
        '/admin/settings/seats',
        { userCap: null, whenFull: 3 },
        'body/whenFull must be "refuse" or "queue"',
      ],
      [
        'GET',
        '/admin/audit?outcome=success&outcome=refused',
        undefined,
        'querystring/outcome must be "success" or "refused"',
      ],
      [
        'POST',
        '/admin/tokens',
        { name: 'x', permissions: ['NOPE'] },
        'body/permissions/0 must be "APPLICATION_ADMIN" or "USER_ADMIN"',
      ],
      // Anything else is worded as Fastify words it.
      ['GET', '/admin/users?active=maybe', undefined, 'querystring/active must be boolean'],
      ['POST', '/admin/users', { userid: 7, iamid: 'b' }, 'body/userid must be string'],
    ];
    for (const [method, url, payload, detail] of cases) {
      const res = await h.request({ method, url, ...(payload !== undefined && { payload }) } as Parameters<
        typeof h.request
      >[0]);
      assert.deepEqual(
        [res.statusCode, res.json().code, res.json().detail],
        [400, 'VALIDATION_FAILED', detail],
        url,
      );
    }
  });

  test("Fastify's client errors over HTTP keep sensible codes", async (t) => {
    const h = await buildTestApp(t, { bodyLimitBytes: 2048 });
    const json = { 'content-type': 'application/json' };
    const cases: [
      { method: string; url: string; payload?: unknown; headers?: Record<string, string> },
      number,
      string,
    ][] = [
      [{ method: 'POST', url: '/admin/users', payload: '{"userid":', headers: json }, 400, 'MALFORMED_JSON'],
      [
        { method: 'POST', url: '/admin/users', payload: '{"__proto__":{"x":1}}', headers: json },
        400,
        'MALFORMED_JSON',
      ],
      [
        {
          method: 'POST',
          url: '/admin/users',
          payload: 'userid=a',
          headers: { 'content-type': 'application/xml' },
        },
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      // Text is not read as a string: JSON in it is not taken, and a route without a body does
      // not ignore it.
      [
        {
          method: 'POST',
          url: '/admin/users',
          payload: '{"userid":"t1","iamid":"okta"}',
          headers: { 'content-type': 'text/plain' },
        },
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        {
          method: 'POST',
          url: '/admin/users/1/activity',
          payload: 'hello',
          headers: { 'content-type': 'text/plain; charset=utf-8' },
        },
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        { method: 'POST', url: '/admin/users', payload: { userid: 'x'.repeat(3000) } },
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      [{ method: 'POST', url: '/admin/users', payload: { userid: 7 } }, 400, 'VALIDATION_FAILED'],
      [{ method: 'GET', url: '/admin/users?offset=1.5' }, 400, 'INVALID_PAGE'],
      [{ method: 'DELETE', url: '/admin/license/%ED%A0%80' }, 400, 'VALIDATION_FAILED'],
      [{ method: 'DELETE', url: `/admin/license/${'1'.repeat(101)}` }, 414, 'URI_TOO_LONG'],
      [{ method: 'GET', url: '/admin/nope' }, 404, 'ROUTE_NOT_FOUND'],
      [{ method: 'PUT', url: '/admin/license' }, 404, 'ROUTE_NOT_FOUND'],
    ];
    for (const [request, status, code] of cases) {
      const res = await h.request(request as Parameters<typeof h.request>[0]);
      assert.deepEqual([res.statusCode, res.json().code], [status, code], `${request.method} ${request.url}`);
    }
    // A poisoning key is named as such; JSON that does not parse is not.
    for (const payload of ['{"__proto__":{"x":1}}', '{"a":{"constructor":{"prototype":{"x":1}}}}']) {
      const res = await h.request({ method: 'POST', url: '/admin/users', payload, headers: json });
      assert.equal(res.json().code, 'MALFORMED_JSON', payload);
      assert.match(res.json().detail, /"__proto__" or "constructor" key/, payload);
    }
    // A member named twice in one object is refused, at any depth; the same name in two objects is not.
    for (const payload of [
      '{"userid":"a","iamid":"b","userid":"c"}',
      '{"name":"n","permissions":["USER_ADMIN"],"name":"m"}',
      '{"userid":"a","iamid":"b","x":{"k":1,"k":2}}',
    ]) {
      const res = await h.request({ method: 'POST', url: '/admin/users', payload, headers: json });
      assert.deepEqual([res.statusCode, res.json().code], [400, 'MALFORMED_JSON'], payload);
      assert.match(res.json().detail, /twice in one object/, payload);
    }
    const nested = await h.request({
      method: 'PUT',
      url: '/admin/settings/seats',
      payload: '{"userCap":null,"whenFull":"refuse","x":[{"a":1},{"a":2}]}',
      headers: json,
    });
    assert.doesNotMatch(nested.json().detail ?? '', /twice/, 'the same name in two objects is no duplicate');
    const broken = await h.request({ method: 'POST', url: '/admin/users', payload: '{"a":', headers: json });
    assert.doesNotMatch(broken.json().detail, /__proto__/);
    assert.equal(
      (await h.request({ method: 'GET', url: '/admin/users' })).json().total,
      0,
      'nothing created',
    );
  });
});
