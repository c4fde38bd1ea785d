import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/domain/clock.js';
import { buildApp } from '../../src/http/app.js';
import { hashTokenSecret } from '../../src/http/auth.js';
import { serverLogger } from '../../src/server.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { ADMIN_TOKEN, buildTestApp } from '../helpers/app.js';
import { createIssuer } from '../helpers/issuer.js';

describe('operations routes', () => {
  test('healthz is public and does not touch the store; readyz reports the store', async (t) => {
    const h = await buildTestApp(t);
    const live = await h.app.inject({ method: 'GET', url: '/healthz' });
    assert.deepEqual(live.json(), { status: 'ok' });
    const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { status: 'ready', store: 'sqlite' });
    await h.store.close();
    assert.equal((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    const down = await h.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(down.statusCode, 503);
    assert.equal(down.json().code, 'STORE_UNAVAILABLE');
  });

  test('metrics need a token and show request counts by route pattern and the license gauges', async (t) => {
    const h = await buildTestApp(t);
    assert.equal((await h.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
    await h.addKey(h.issuer.issue({ seats: 7, softSeats: 3, expires: '2026-06-11T12:00:00Z' }));
    await h.request({ method: 'POST', url: '/admin/users', payload: { userid: 'ada', iamid: 'okta' } });
    await h.request({ method: 'DELETE', url: '/admin/license/99' });
    await h.request({ method: 'DELETE', url: '/admin/license/98' });
    const res = await h.request({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    const text = res.body;
    assert.match(
      text,
      /licensor_http_requests_total\{method="DELETE",route="\/admin\/license\/:licenseId",status="404"\} 2/,
    );
    assert.match(text, /licensor_http_request_duration_seconds_bucket\{.*route="\/admin\/users".*\}/);
    assert.match(text, /^licensor_active_users 1$/m);
    assert.match(text, /^licensor_hard_seats 7$/m);
    assert.match(text, /^licensor_license_seats 10$/m);
    assert.match(text, /^licensor_seconds_until_next_expiry 864000$/m);
    assert.match(text, /^licensor_data_access_blocked 0$/m);
    assert.doesNotMatch(text, /route="\/admin\/license\/99"/, 'route patterns, not raw URLs');
  });
});

describe('logs', () => {
  test('no token, license key or signature reaches the log, even on failures', async (t) => {
    let log = '';
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        log += chunk.toString();
        done();
      },
    });
    const clock = new ManualClock('2026-06-01T12:00:00.000Z');
    const store = SqliteStore.open({ filename: ':memory:' });
    await store.setBootstrapToken(hashTokenSecret(ADMIN_TOKEN), clock.now());
    const issuer = createIssuer(() => clock.now());
    const app = await buildApp({
      store,
      keyRing: issuer.ring,
      clock,
      activityWindowDays: 365,
      logger: serverLogger('trace', stream),
    });
    t.after(async () => {
      await app.close();
      await store.close();
    });
    const key = issuer.issue();
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
    await app.inject({ method: 'POST', url: '/admin/license', payload: { licenseKey: key }, headers });
    await app.inject({ method: 'POST', url: '/admin/license', payload: { licenseKey: `${key}x` }, headers });
    await app.inject({
      method: 'GET',
      url: '/admin/license',
      headers: { authorization: 'Bearer wrong-token-secret-123' },
    });
    store.listLicenses = () => Promise.reject(new Error(`boom ${ADMIN_TOKEN}`.replace(ADMIN_TOKEN, 'x')));
    await app.inject({ method: 'GET', url: '/admin/license', headers });
    assert.ok(log.includes('"reqId"'), 'request ids are logged');
    assert.ok(log.includes('request failed'), 'the 500 is logged');
    for (const secret of [ADMIN_TOKEN, 'wrong-token-secret-123', key.split('.')[2]!, key.split('.')[1]!]) {
      assert.ok(!log.includes(secret), `secret in the log: ${secret.slice(0, 12)}...`);
    }
  });
});
