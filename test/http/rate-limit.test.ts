import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/domain/clock.js';
import { AuthFailureLimiter } from '../../src/http/auth-failure-limiter.js';
import { ADMIN_TOKEN, buildTestApp } from '../helpers/app.js';

describe('repeated authentication failures', () => {
  test('are rate-limited per client: 429 with Retry-After for failures only; a valid token is always served', async (t) => {
    const h = await buildTestApp(t, { authFailureLimit: { maxFailures: 5, windowSeconds: 60 } });
    const attempt = (authorization: string, remoteAddress = '10.0.0.7') =>
      h.app.inject({ method: 'GET', url: '/admin/license', headers: { authorization }, remoteAddress });
    for (let i = 0; i < 5; i++) assert.equal((await attempt(`Bearer guess-${i}`)).statusCode, 401);
    const limited = await attempt('Bearer guess-6');
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().code, 'RATE_LIMITED');
    assert.equal(limited.headers['retry-after'], '60');
    // No token at all is a failure like a wrong one.
    assert.equal((await h.app.inject({ url: '/admin/license', remoteAddress: '10.0.0.7' })).statusCode, 429);
    // Behind a shared address, one bad script must not lock everyone out: a valid token is served.
    assert.equal((await attempt(`Bearer ${ADMIN_TOKEN}`)).statusCode, 200);
    // Other clients are not affected; public routes stay open.
    assert.equal((await attempt('Bearer guess-7', '10.0.0.8')).statusCode, 401);
    assert.equal(
      (await h.app.inject({ method: 'GET', url: '/license/notices', remoteAddress: '10.0.0.7' })).statusCode,
      200,
    );
    h.clock.advance(30_000);
    assert.equal((await attempt('Bearer guess-8')).headers['retry-after'], '30');
    assert.equal((await attempt(`Bearer ${ADMIN_TOKEN}`)).statusCode, 200);
    h.clock.advance(30_000);
    assert.equal((await attempt('Bearer guess-9')).statusCode, 401, 'the window has ended');
  });

  test('1,000 concurrent bad tokens from one address: exactly maxFailures get 401, the rest 429; valid tokens among them all 200', async (t) => {
    const maxFailures = 20;
    const h = await buildTestApp(t, { authFailureLimit: { maxFailures, windowSeconds: 60 } });
    const statuses = await Promise.all(
      Array.from({ length: 1100 }, (_, i) =>
        h.app
          .inject({
            method: 'GET',
            url: '/admin/license/licenseStatus',
            headers: { authorization: i % 11 === 5 ? `Bearer ${ADMIN_TOKEN}` : `Bearer guess-${i}` },
            remoteAddress: '10.0.0.7',
          })
          .then((res) => ({ valid: i % 11 === 5, status: res.statusCode })),
      ),
    );
    const bad = statuses.filter((s) => !s.valid);
    const count = (status: number) => bad.filter((s) => s.status === status).length;
    t.diagnostic(`${bad.length} bad tokens: ${count(401)} got 401, ${count(429)} got 429`);
    assert.equal(bad.length, 1000);
    assert.equal(count(401), maxFailures);
    assert.equal(count(429), 1000 - maxFailures);
    assert.deepEqual(
      statuses.filter((s) => s.valid).map((s) => s.status),
      Array.from({ length: 100 }, () => 200),
    );
  });

  test('successful requests do not count, and the limiter forgets the oldest clients first', () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const limiter = new AuthFailureLimiter({ maxFailures: 2, windowSeconds: 10 }, clock);
    assert.equal(limiter.recordFailure('a'), 0);
    assert.equal(limiter.retryAfterSeconds('a'), 0);
    assert.equal(limiter.recordFailure('a'), 0);
    assert.equal(limiter.retryAfterSeconds('a'), 10);
    assert.equal(limiter.recordFailure('a'), 10, 'over the limit: refused, not counted');
    clock.advance(4_000);
    assert.equal(limiter.recordFailure('a'), 6);
    clock.advance(6_000);
    assert.equal(limiter.retryAfterSeconds('a'), 0);
    for (let i = 0; i < 10_001; i++) limiter.recordFailure(`client-${i}`);
    limiter.recordFailure('client-0');
    assert.equal(limiter.retryAfterSeconds('client-0'), 0, 'evicted, then counted afresh');
  });
});
