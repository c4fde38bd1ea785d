import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { activeSince } from '../../src/domain/users.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { routeTable } from '../helpers/routes.js';

async function state(h: TestApp): Promise<string> {
  const since = activeSince(h.clock.now(), 365);
  return JSON.stringify(
    await Promise.all([
      h.store.listLicenses({ includeDeleted: true }),
      h.store.listUsers({ offset: 0, size: 1000, activeSince: since }),
      h.store.listTokens(),
      h.store.readView(h.clock.now()).then((view) => view.activeUserCount),
    ]),
  );
}

async function token(h: TestApp, permissions: string[]): Promise<{ id: number; secret: string }> {
  const res = await h.request({
    method: 'POST',
    url: '/admin/tokens',
    payload: { name: permissions.join('+'), permissions },
  });
  assert.equal(res.statusCode, 201);
  return res.json();
}

describe('auth matrix over the route table', () => {
  test('every non-public route refuses missing, malformed, unknown, revoked and under-privileged tokens, and changes nothing', async (t) => {
    const h = await buildTestApp(t);
    await h.addKey(h.issuer.issue({ seats: 5 }));
    await h.request({ method: 'POST', url: '/admin/users', payload: { userid: 'ada', iamid: 'idp' } });
    const userAdmin = await token(h, ['USER_ADMIN']);
    const revoked = await token(h, ['APPLICATION_ADMIN']);
    assert.equal((await h.request({ method: 'DELETE', url: `/admin/tokens/${revoked.id}` })).statusCode, 200);

    const routes = routeTable(h.app).filter((r) => r.access !== 'public');
    assert.ok(routes.length >= 15, `${routes.length} protected routes`);
    const refusals: [string, string | undefined, number][] = [
      ['no header', undefined, 401],
      ['another scheme', 'Basic YWRtaW46YWRtaW4=', 401],
      ['empty bearer', 'Bearer ', 401],
      ['token with spaces', 'Bearer a b c', 401],
      ['unknown token', 'Bearer lsr_not-a-token-at-all-0123456789abcdef', 401],
      ['revoked token', `Bearer ${revoked.secret}`, 401],
    ];
    const before = await state(h);
    let checked = 0;
    for (const route of routes) {
      const url = route.url.replace(/:[A-Za-z]+/g, '1');
      const payload =
        route.method === 'GET'
          ? {}
          : {
              payload: {
                licenseKey: h.issuer.issue(),
                userid: 'eve',
                iamid: 'idp',
                name: 'x',
                permissions: ['APPLICATION_ADMIN'],
              },
            };
      const cases = [...refusals];
      if (route.access === 'APPLICATION_ADMIN')
        cases.push(['USER_ADMIN token', `Bearer ${userAdmin.secret}`, 403]);
      for (const [name, authorization, status] of cases) {
        const res = await h.app.inject({
          method: route.method as 'GET',
          url,
          headers: authorization === undefined ? {} : { authorization },
          ...payload,
        });
        assert.equal(res.statusCode, status, `${route.method} ${route.url} with ${name}`);
        assert.equal(res.json().code, status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN');
        if (status === 401) assert.match(String(res.headers['www-authenticate']), /^Bearer/);
        checked++;
      }
    }
    assert.equal(await state(h), before, 'no refused request changed anything');
    t.diagnostic(`${routes.length} protected routes, ${checked} refused requests checked`);
  });
});
