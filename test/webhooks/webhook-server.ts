/** In-process Licensor servers for the webhook tests: fast polls, a short retry schedule. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { loadServerConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { ADMIN, type StoreKind } from '../e2e/store-servers.js';
import { createIssuer, type TestIssuer } from '../helpers/issuer.js';
import { createSchema, dropSchema, TEST_DATABASE_URL, uniqueSchemaName } from '../helpers/postgres.js';
import { tempDir } from '../helpers/process.js';
import { cleanup } from '../helpers/cleanup.js';

/**
 * One installation (issuer key, admin token, a SQLite file or a PostgreSQL schema of its own). Its
 * cleanups are registered before any server starts, so they run after the servers are stopped: a
 * schema dropped under a running server's transactions would deadlock with them.
 */
export async function webhookInstallation(
  t: TestContext,
  store: StoreKind,
  extra: Record<string, string> = {},
): Promise<{ env: Record<string, string>; issuer: TestIssuer }> {
  const dir = tempDir(t, 'licensor-webhooks-');
  const issuer = createIssuer();
  const pub = join(dir, 'issuer.pub');
  writeFileSync(pub, issuer.publicKey.export({ type: 'spki', format: 'pem' }));
  const env: Record<string, string> = {
    LICENSOR_DATA_DIR: join(dir, 'data'),
    LICENSOR_TRUSTED_KEYS: pub,
    LICENSOR_ADMIN_TOKEN: ADMIN,
    LICENSOR_HOST: '127.0.0.1',
    LICENSOR_EVENTS_POLL_MS: '50',
    LICENSOR_WEBHOOK_RETRY_SCHEDULE: '0.2,0.2,0.2,0.2,0.2',
    LICENSOR_LOG_LEVEL: 'silent',
    LICENSOR_AUTH_FAILURE_LIMIT: 'off',
    ...extra,
  };
  if (store === 'postgres') {
    const schema = uniqueSchemaName('licensor_webhooks');
    await createSchema(schema);
    cleanup(t, () => dropSchema(schema));
    const url = new URL(TEST_DATABASE_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    env.DATABASE_URL = url.toString();
  }
  return { env, issuer };
}

export async function startInProcess(t: TestContext, env: Record<string, string>): Promise<RunningServer> {
  const server = await startServer(loadServerConfig({ ...env, LICENSOR_PORT: '0' }), { notify: () => {} });
  let closing: Promise<void> | undefined;
  const close = server.close.bind(server);
  server.close = (ms) => (closing ??= close(ms));
  cleanup(t, () => server.close(0));
  return server;
}
