import type { TestContext } from 'node:test';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../../src/domain/clock.js';
import { buildApp } from '../../src/http/app.js';
import { hashTokenSecret } from '../../src/http/auth.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { SeatStore } from '../../src/store/store.js';
import { createIssuer, type TestIssuer } from './issuer.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestApp {
  app: FastifyInstance;
  store: SeatStore;
  clock: ManualClock;
  issuer: TestIssuer;
  /** inject() with the administrator token unless `headers.authorization` is given. */
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** POST /admin/license with a key; returns the response. */
  addKey(licenseKey: string): Promise<LightMyRequestResponse>;
}

/**
 * An app on a fresh in-memory SQLite store, a manual clock at 2026-06-01 and a trusted test issuer;
 * closed when the test ends.
 */
export async function buildTestApp(
  t: TestContext,
  options: {
    store?: SeatStore;
    now?: string;
    activityWindowDays?: number;
    issuer?: TestIssuer;
    bodyLimitBytes?: number;
  } = {},
): Promise<TestApp> {
  const clock = new ManualClock(options.now ?? '2026-06-01T12:00:00.000Z');
  const store = options.store ?? SqliteStore.open({ filename: ':memory:' });
  const issuer = options.issuer ?? createIssuer(() => clock.now());
  await store.setBootstrapToken(hashTokenSecret(ADMIN_TOKEN), clock.now());
  const app = await buildApp({
    store,
    keyRing: issuer.ring,
    clock,
    activityWindowDays: options.activityWindowDays ?? 365,
    ...(options.bodyLimitBytes !== undefined && { bodyLimitBytes: options.bodyLimitBytes }),
  });
  t.after(async () => {
    await app.close();
    await store.close();
  });
  const request = (opts: InjectOptions): Promise<LightMyRequestResponse> =>
    app.inject({ ...opts, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...opts.headers } });
  return {
    app,
    store,
    clock,
    issuer,
    request,
    addKey: (licenseKey) => request({ method: 'POST', url: '/admin/license', payload: { licenseKey } }),
  };
}
