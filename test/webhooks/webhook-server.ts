/** An in-process Licensor server for the webhook tests: fast polls, a short retry schedule. */
import type { TestContext } from 'node:test';
import { loadServerConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { installation, type StoreKind } from '../e2e/store-servers.js';
import type { TestIssuer } from '../helpers/issuer.js';

export async function webhookInstallation(
  t: TestContext,
  store: StoreKind,
  extra: Record<string, string> = {},
): Promise<{ env: Record<string, string>; issuer: TestIssuer }> {
  return installation(t, store, {
    LICENSOR_EVENTS_POLL_MS: '50',
    LICENSOR_WEBHOOK_RETRY_SCHEDULE: '0.2,0.2,0.2,0.2,0.2',
    LICENSOR_LOG_LEVEL: 'silent',
    LICENSOR_AUTH_FAILURE_LIMIT: 'off',
    ...extra,
  });
}

export async function startInProcess(t: TestContext, env: Record<string, string>): Promise<RunningServer> {
  const server = await startServer(loadServerConfig({ ...env, LICENSOR_PORT: '0' }), { notify: () => {} });
  let closing: Promise<void> | undefined;
  const close = server.close.bind(server);
  server.close = (ms) => (closing ??= close(ms));
  t.after(() => server.close(0));
  return server;
}
