import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { ServerConfig } from '../../src/config.js';
import { ManualClock } from '../../src/domain/clock.js';
import { buildApp } from '../../src/http/app.js';
import { AuthFailureLimiter } from '../../src/http/auth-failure-limiter.js';
import { hashTokenSecret } from '../../src/http/auth.js';
import { trustProxyOption } from '../../src/server.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { ADMIN_TOKEN, buildTestApp } from '../helpers/app.js';
import { createIssuer } from '../helpers/issuer.js';
import { dropSchema, postgresSkipReason, TEST_DATABASE_URL, uniqueSchemaName } from '../helpers/postgres.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/store.js';
import { cleanup } from '../helpers/cleanup.js';

const pgSkip = await postgresSkipReason();

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

  for (const kind of ['sqlite', 'postgres'] as const)
    test(`${kind}: 1,000 concurrent bad tokens from one address: exactly maxFailures get 401, the rest 429; valid tokens among them all 200; the failures are counted, not written one by one`, async (t) => {
      const maxFailures = 20;
      let store: Store | undefined;
      if (kind === 'postgres') {
        if (pgSkip !== undefined) return t.skip(pgSkip);
        const schema = uniqueSchemaName();
        store = await PostgresStore.open({
          url: TEST_DATABASE_URL,
          schema,
          poolMax: 4,
          activityWindowDays: 365,
        });
        cleanup(t, () => dropSchema(schema));
      }
      const h = await buildTestApp(t, {
        authFailureLimit: { maxFailures, windowSeconds: 60 },
        ...(store && { store }),
      });
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
      // Each failure is counted in memory and written as one row per minute and address.
      assert.equal((await h.store.listAudit({ offset: 0, size: 1 })).total, 0);
      let counted = 0;
      for (let i = 0; i < 100 && counted < 1000; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        counted = (await h.store.listAuthFailures({ offset: 0, size: 10 })).entries.reduce(
          (n, e) => n + e.count,
          0,
        );
      }
      assert.equal(counted, 1000);
      assert.equal((await h.store.listAuthFailures({ offset: 0, size: 10 })).total, 1);
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

describe('behind a reverse proxy (LICENSOR_TRUST_PROXY)', () => {
  async function appTrusting(t: TestContext, trust: ServerConfig['trustProxy']) {
    const clock = new ManualClock('2026-06-01T12:00:00.000Z');
    const store = SqliteStore.open({ filename: ':memory:' });
    await store.setBootstrapToken(hashTokenSecret(ADMIN_TOKEN), clock.now());
    const app = await buildApp({
      store,
      keyRing: createIssuer(() => clock.now()).ring,
      clock,
      activityWindowDays: 365,
      authFailureLimit: { maxFailures: 2, windowSeconds: 60 },
      trustProxy: trustProxyOption(trust),
    });
    cleanup(t, async () => {
      await app.close();
      await store.close();
    });
    return (remoteAddress: string, forwardedFor: string, token = 'guess') =>
      app
        .inject({
          url: '/admin/license',
          remoteAddress,
          headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': forwardedFor },
        })
        .then((res) => res.statusCode);
  }

  test('through a trusted proxy, two forwarded clients are limited separately', async (t) => {
    for (const trust of [['10.0.0.1'], ['10.0.0.0/24', '::1'], 1]) {
      const send = await appTrusting(t, trust);
      assert.deepEqual(
        [await send('10.0.0.1', '203.0.113.5'), await send('10.0.0.1', '203.0.113.5')],
        [401, 401],
      );
      assert.equal(await send('10.0.0.1', '203.0.113.5'), 429, `${JSON.stringify(trust)}: the bad client`);
      assert.equal(await send('10.0.0.1', '203.0.113.6'), 401, `${JSON.stringify(trust)}: another client`);
      assert.equal(await send('10.0.0.1', '203.0.113.5', ADMIN_TOKEN), 200);
    }
  });

  test('from a peer that is not a trusted proxy, X-Forwarded-For is ignored', async (t) => {
    for (const trust of [false, ['10.0.0.1']] as const) {
      const send = await appTrusting(t, trust);
      // A client cannot escape the limit by naming a new address in each request.
      assert.equal(await send('198.51.100.9', '203.0.113.1'), 401);
      assert.equal(await send('198.51.100.9', '203.0.113.2'), 401);
      assert.equal(await send('198.51.100.9', '203.0.113.3'), 429, `${JSON.stringify(trust)}`);
      // ...nor lock another client out by naming its address.
      assert.equal(await send('10.0.0.9', '198.51.100.9'), 401);
    }
  });
});
