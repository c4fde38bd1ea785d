import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { OpenApiDocument } from '../../src/http/openapi.js';
import { MAX_PAGE_OFFSET, MAX_PAGE_SIZE } from '../../src/api/user-schemas.js';
import { buildTestApp } from '../helpers/app.js';
import { inline } from '../helpers/openapi-doc.js';

/** Every list that pages. */
const LISTS = ['/admin/users', '/admin/license/usage', '/admin/audit'];

/** Out of range, or not a whole number; several once reached the database and failed as a 500. */
const BAD = {
  offset: [
    '9223372036854775808',
    '1e400',
    '99999999999999999999999',
    '-1',
    '1.5',
    String(MAX_PAGE_OFFSET + 1),
  ],
  size: [
    '9223372036854775808',
    '1e400',
    '99999999999999999999999',
    '-1',
    '1.5',
    '0',
    String(MAX_PAGE_SIZE + 1),
  ],
};
const MORE_BAD = ['', 'abc', 'NaN', 'Infinity', '-Infinity', '1,2', 'null', 'true', '[]'];

describe('paging', () => {
  test('offset and size out of range or not whole numbers are 400 INVALID_PAGE, never a 500', async (t) => {
    const h = await buildTestApp(t);
    for (const url of LISTS)
      for (const [name, values] of Object.entries(BAD))
        for (const value of [...values, ...MORE_BAD]) {
          const res = await h.request({ method: 'GET', url: `${url}?${name}=${encodeURIComponent(value)}` });
          assert.equal(res.statusCode, 400, `${url}?${name}=${value}: ${res.body}`);
          assert.equal(res.json().code, 'INVALID_PAGE', `${url}?${name}=${value}`);
          assert.match(res.json().detail, new RegExp(name));
        }
    // Given twice is not one number either.
    const twice = await h.request({ method: 'GET', url: '/admin/users?offset=1&offset=2' });
    assert.equal(twice.json().code, 'INVALID_PAGE');
  });

  test('the bounds themselves are served', async (t) => {
    const h = await buildTestApp(t);
    for (const url of LISTS) {
      const res = await h.request({
        method: 'GET',
        url: `${url}?offset=${MAX_PAGE_OFFSET}&size=${MAX_PAGE_SIZE}`,
      });
      assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
      assert.deepEqual([res.json().offset, res.json().size], [MAX_PAGE_OFFSET, MAX_PAGE_SIZE]);
      assert.equal((await h.request({ method: 'GET', url: `${url}?offset=0&size=1` })).statusCode, 200);
    }
  });

  test('other query mistakes stay VALIDATION_FAILED', async (t) => {
    const h = await buildTestApp(t);
    for (const url of LISTS) {
      const res = await h.request({ method: 'GET', url: `${url}?page=2` });
      assert.equal(res.json().code, 'VALIDATION_FAILED', url);
    }
    const res = await h.request({ method: 'GET', url: `/admin/users?q=${'a'.repeat(300)}` });
    assert.equal(res.json().code, 'VALIDATION_FAILED');
  });

  test('the API reference documents the bounds and INVALID_PAGE on every list', async (t) => {
    const h = await buildTestApp(t);
    const document = (await h.app.inject({ url: '/openapi.json' })).json<OpenApiDocument>();
    for (const url of LISTS) {
      const operation = document.paths![url]!.get!;
      const parameter = (name: string) =>
        inline(operation.parameters!.map(inline).find((p) => p.name === name)!.schema!) as {
          minimum?: number;
          maximum?: number;
        };
      assert.deepEqual([parameter('offset').minimum, parameter('offset').maximum], [0, MAX_PAGE_OFFSET]);
      assert.deepEqual([parameter('size').minimum, parameter('size').maximum], [1, MAX_PAGE_SIZE]);
      const codes = Object.keys(
        inline(operation.responses['400']!).content!['application/problem+json']!.examples!,
      );
      assert.ok(
        codes.includes('INVALID_PAGE') && codes.includes('VALIDATION_FAILED'),
        `${url}: ${codes.join(', ')}`,
      );
    }
  });
});
