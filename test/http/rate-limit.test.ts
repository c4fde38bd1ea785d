import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/domain/clock.js';
import { AuthFailureLimiter } from '../../src/http/auth-failure-limiter.js';
import { ADMIN_TOKEN, buildTestApp } from '../helpers/app.js';

describe('repeated authentication failures', () => {
  test('are rate-limited per client: 429 with Retry-After, valid tokens too, until the window ends', async (t) => {
    const h = await buildTestApp(t, { authFailureLimit: { maxFailures: 5, windowSeconds: 60 } });
    const attempt = (authorization: string, remoteAddress = '10.0.0.7') =>
      h.app.inject({ method: 'GET', url: '/admin/license', headers: { authorization }, remoteAddress });
    for (let i = 0; i < 5; i++) assert.equal((await attempt(`Bearer guess-${i}`)).statusCode, 401);
    const limited = await attempt('Bearer guess-6');
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().code, 'RATE_LIMITED');
    assert.equal(limited.headers['retry-after'], '60');
    // A hit must look like a miss while blocked, or guessing would go on at full speed.
    assert.equal((await attempt(`Bearer ${ADMIN_TOKEN}`)).statusCode, 429);
    // Other clients are not affected; public routes stay open.
    assert.equal((await attempt(`Bearer ${ADMIN_TOKEN}`, '10.0.0.8')).statusCode, 200);
    assert.equal(
      (await h.app.inject({ method: 'GET', url: '/license/notices', remoteAddress: '10.0.0.7' })).statusCode,
      200,
    );
    h.clock.advance(30_000);
    assert.equal((await attempt(`Bearer ${ADMIN_TOKEN}`)).headers['retry-after'], '30');
    h.clock.advance(30_000);
    assert.equal((await attempt(`Bearer ${ADMIN_TOKEN}`)).statusCode, 200, 'the window has ended');
  });

  test('successful requests do not count, and the limiter forgets the oldest clients first', () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const limiter = new AuthFailureLimiter({ maxFailures: 2, windowSeconds: 10 }, clock);
    limiter.recordFailure('a');
    assert.equal(limiter.retryAfterSeconds('a'), 0);
    limiter.recordFailure('a');
    assert.equal(limiter.retryAfterSeconds('a'), 10);
    clock.advance(10_000);
    assert.equal(limiter.retryAfterSeconds('a'), 0);
    for (let i = 0; i < 10_001; i++) limiter.recordFailure(`client-${i}`);
    limiter.recordFailure('client-0');
    assert.equal(limiter.retryAfterSeconds('client-0'), 0, 'evicted, then counted afresh');
  });
});
