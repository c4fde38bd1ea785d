import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTestApp } from '../helpers/app.js';

// auth.ts remembers the hash of each Authorization header whose token matched, so a client's
// next request skips parsing and hashing; these pin what must stay true of it.
test('a remembered header decides nothing by itself: the token behind it is looked up every time', async (t) => {
  const h = await buildTestApp(t);
  const created = await h.request({
    method: 'POST',
    url: '/admin/tokens',
    payload: { name: 'reader', permissions: ['USER_ADMIN'] },
  });
  assert.equal(created.statusCode, 201, created.body);
  const { id, secret } = created.json<{ id: number; secret: string }>();
  const spellings = [`Bearer ${secret}`, `bearer ${secret}`, `BEARER   ${secret}  `];
  const get = (authorization: string, url = '/admin/users') =>
    h.app.inject({ method: 'GET', url, headers: { authorization } });
  for (let round = 0; round < 2; round++)
    for (const authorization of spellings)
      assert.equal((await get(authorization)).statusCode, 200, authorization);
  // The permission is checked on every request, remembered header or not.
  assert.equal((await get(spellings[0]!, '/admin/tokens')).statusCode, 403);
  // Malformed and unknown headers are refused whatever was remembered before.
  for (const authorization of [`Token ${secret}`, `Bearer ${secret}x`, `Bearer  ${secret} x`, 'Bearer'])
    assert.equal((await get(authorization)).statusCode, 401, authorization);
  assert.equal((await h.request({ method: 'DELETE', url: `/admin/tokens/${id}` })).statusCode, 200);
  for (const authorization of spellings) {
    const res = await get(authorization);
    assert.equal(res.statusCode, 401, authorization);
    assert.equal(res.json().code, 'UNAUTHORIZED');
  }
});
