import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { Server as NetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ConfigError, type ServerConfig } from './config.js';
import { isLicensorError } from './domain/errors.js';
import { systemClock, type Clock } from './domain/clock.js';
import { buildApp } from './http/app.js';
import { generateTokenSecret, hashTokenSecret } from './http/auth.js';
import { KeyRing } from './keys/key-ring.js';
import { openStore } from './store/open-store.js';
import type { SeatStore } from './store/store.js';
import { activeSince } from './domain/users.js';
import { VERSION } from './version.js';

export interface RunningServer {
  app: FastifyInstance;
  store: SeatStore;
  /** The address it listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /**
   * Graceful stop: stop accepting connections, keep answering requests already on open
   * connections (with `Connection: close`) for `drainMs`, then close the app (waiting for
   * in-flight requests) and the store.
   */
  close(drainMs?: number): Promise<void>;
}

/** How long a stopping server keeps answering requests already on its connections. */
export const SHUTDOWN_DRAIN_MS = 1000;

/** Log paths that may hold a secret; pino replaces them before a line is written. */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'licenseKey',
  'licensekey',
  'token',
  'secret',
  '*.licenseKey',
  '*.token',
  '*.secret',
];

/**
 * Makes sure an administrator can get in. LICENSOR_ADMIN_TOKEN, when set, is the bootstrap token
 * (changing it rotates the old one out). Otherwise, on a store with no token at all, one is
 * generated, written to DATA_DIR/admin-token (mode 0600) and printed once.
 */
async function bootstrapAdminToken(
  config: ServerConfig,
  store: SeatStore,
  clock: Clock,
  notify: (line: string) => void,
): Promise<void> {
  if (config.adminToken !== null) {
    try {
      await store.setBootstrapToken(hashTokenSecret(config.adminToken), clock.now());
    } catch (err) {
      if (isLicensorError(err) && err.code === 'TOKEN_REVOKED') throw new ConfigError(err.detail);
      throw err;
    }
    return;
  }
  const secret = generateTokenSecret();
  if (!(await store.createBootstrapTokenIfNone(hashTokenSecret(secret), clock.now()))) return;
  mkdirSync(config.dataDir, { recursive: true });
  const file = join(config.dataDir, 'admin-token');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  notify(
    `Generated the first administrator token; it is shown once and kept in ${file} (mode 0600):\n  ${secret}`,
  );
}

/** How often each process records the active user count into the daily usage history. */
const USAGE_SAMPLE_MS = 60 * 60 * 1000;

/**
 * Seat claims raise the day's usage row as they happen; this also records a point on days when
 * nothing changes (users ageing out lower the count without any request). Every process may
 * sample: rows keep the day's maximum, so samples from several processes do not conflict.
 */
function startUsageSampler(
  store: SeatStore,
  clock: Clock,
  activityWindowDays: number,
  log: FastifyInstance['log'],
): NodeJS.Timeout {
  const sample = (): void => {
    const now = clock.now();
    store.recordUsage({ now, activeSince: activeSince(now, activityWindowDays) }).catch((err: unknown) => {
      log.warn({ err }, 'could not record the usage sample');
    });
  };
  sample();
  const timer = setInterval(sample, USAGE_SAMPLE_MS);
  timer.unref();
  return timer;
}

/**
 * The only composition root: configuration -> store -> app -> listen. Returns a handle whose
 * close() stops accepting, finishes in-flight requests and closes the store.
 */
export async function startServer(
  config: ServerConfig,
  options: { clock?: Clock; notify?: (line: string) => void } = {},
): Promise<RunningServer> {
  const clock = options.clock ?? systemClock;
  const notify = options.notify ?? ((line: string) => process.stderr.write(`${line}\n`));
  const keyRing = KeyRing.fromFiles(config.trustedKeyPaths);
  // INTERIM until the PostgreSQL store has the SeatStore methods (this session).
  const store = (await openStore(config.store)) as SeatStore;
  try {
    await bootstrapAdminToken(config, store, clock, notify);
    const app = await buildApp({
      store,
      keyRing,
      clock,
      activityWindowDays: config.activityWindowDays,
      bodyLimitBytes: config.bodyLimitBytes,
      version: VERSION,
      logger: { level: config.logLevel, redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' } },
    });
    if (keyRing.keys.length === 0)
      app.log.warn(
        'LICENSOR_TRUSTED_KEYS is unset: no issuer key is trusted, so every license key will be refused',
      );
    else app.log.info({ kids: keyRing.keys.map((k) => k.kid) }, 'trusting issuer keys');
    let draining = false;
    app.addHook('onSend', async (_request, reply) => {
      if (draining) reply.header('connection', 'close');
    });
    const url = await app.listen({ host: config.host, port: config.port });
    const sampler = startUsageSampler(store, clock, config.activityWindowDays, app.log);
    app.log.info({ store: store.kind, version: VERSION }, `Licensor ${VERSION} ready at ${url}`);
    return {
      app,
      store,
      url,
      close: async (drainMs = SHUTDOWN_DRAIN_MS) => {
        clearInterval(sampler);
        draining = true;
        // net.Server's close stops accepting without touching open connections. http.Server's own
        // close (which app.close() calls) also drops connections it deems idle, and that includes
        // accepted connections whose request has not been read yet: their clients would see a reset.
        NetServer.prototype.close.call(app.server);
        if (drainMs > 0) await sleep(drainMs);
        await app.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
