import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type DestinationStream, type Logger } from 'pino';
import { ConfigError, type ServerConfig } from './config.js';
import { isLicensorError } from './domain/errors.js';
import { systemClock, type Clock } from './domain/clock.js';
import { buildApp } from './http/app.js';
import { generateTokenSecret, hashTokenSecret } from './http/auth.js';
import { KeyRing } from './keys/key-ring.js';
import { openStore } from './store/open-store.js';
import type { Store } from './store/store.js';
import { VERSION } from './version.js';
import { DeliveryWorker } from './webhooks/delivery-worker.js';
import { Scheduler } from './webhooks/scheduler.js';

export interface RunningServer {
  app: FastifyInstance;
  /** The server's logger (stdout, LICENSOR_LOG_LEVEL); requests log through its children. */
  log: Logger;
  store: Store;
  /** The address it listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /**
   * Graceful stop ("lame duck"): readiness turns 503 and every response says `Connection: close`,
   * while the server keeps answering until none is in flight and none has started for a moment
   * (at most `maxDrainMs`); then it stops accepting, finishes what is in flight and closes the
   * store.
   */
  close(maxDrainMs?: number): Promise<void>;
  /** Requests received and neither answered nor abandoned by their client; never below 0. */
  inFlight(): number;
}

/** The longest a stopping server keeps answering requests already on its connections. */
export const SHUTDOWN_MAX_DRAIN_MS = 5000;
/** How long the server must be quiet (nothing in flight, nothing new) before it closes. */
const SHUTDOWN_QUIET_MS = 250;

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
 * The server's logger: JSON lines at `level`, on stdout unless `destination` is given (tests), with
 * every secret path redacted (docs/deployment.md#logs).
 */
export function serverLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' } }, destination);
}

/**
 * Makes sure an administrator can get in. LICENSOR_ADMIN_TOKEN, when set, is the bootstrap token
 * (changing it rotates the old one out). Otherwise, on a store with no token at all, one is
 * generated, written to DATA_DIR/admin-token (mode 0600) and printed once.
 */
async function bootstrapAdminToken(
  config: ServerConfig,
  store: Store,
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

/**
 * LICENSOR_TRUST_PROXY as Fastify's `trustProxy`. Fastify takes a bare number as "trust nothing"
 * (a hop count cannot tell a proxy from a client that connects directly and sends its own
 * X-Forwarded-For), so a hop count the operator chose explicitly is given as a function that
 * trusts the nearest `hops` addresses: the socket peer and the addresses it forwarded.
 */
export function trustProxyOption(
  trust: ServerConfig['trustProxy'],
): false | string[] | ((address: string, hop: number) => boolean) {
  if (trust === false) return false;
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return [...trust];
}

/** How often each process records the active user count into the daily usage history. */
const USAGE_SAMPLE_MS = 60 * 60 * 1000;

/**
 * Seat claims raise the day's usage row as they happen; this also records a point on days when
 * nothing changes (users ageing out lower the count without any request). Every process may
 * sample: rows keep the day's maximum, so samples from several processes do not conflict.
 */
function startUsageSampler(store: Store, clock: Clock, log: Logger): NodeJS.Timeout {
  const sample = (): void => {
    const now = clock.now();
    store.recordUsage(now).catch((err: unknown) => {
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
  const log = serverLogger(config.logLevel);
  const store = await openStore(config.store, { activityWindowDays: config.activityWindowDays });
  try {
    await bootstrapAdminToken(config, store, clock, notify);
    let draining = false;
    const app = await buildApp({
      draining: () => draining,
      store,
      keyRing,
      clock,
      activityWindowDays: config.activityWindowDays,
      entitlementsTtlSeconds: config.entitlementsTtlSeconds,
      bodyLimitBytes: config.bodyLimitBytes,
      authFailureLimit: config.authFailureLimit,
      trustProxy: trustProxyOption(config.trustProxy),
      version: VERSION,
      logger: log,
    });
    if (keyRing.keys.length === 0)
      log.warn(
        'LICENSOR_TRUSTED_KEYS is unset: no issuer key is trusted, so every license key will be refused',
      );
    else log.info({ kids: keyRing.keys.map((k) => k.kid) }, 'trusting issuer keys');
    let inFlight = 0;
    let lastStart = 0;
    // Counted at the HTTP server, not in Fastify hooks: an onRequest hook registered here runs
    // after auth's, so a refused token skipped the count but not onResponse's uncount, and a
    // client that resets its connection never reaches onResponse at all. Node emits 'request'
    // once per request, before any hook, and the response's 'close' exactly once, when it is
    // sent or when its connection goes away first.
    const finished = (): void => {
      inFlight--;
    };
    app.server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
      inFlight++;
      lastStart = performance.now();
      // A keep-alive client is told to take its next request elsewhere (readiness says so too).
      if (draining) response.setHeader('connection', 'close');
      response.on('close', finished);
    });
    const url = await app.listen({ host: config.host, port: config.port });
    const sampler = startUsageSampler(store, clock, log);
    // Both run on every instance; the store makes each event and each attempt once across them.
    const scheduler = new Scheduler(store, clock, log, config.eventsPollMs);
    const delivery = new DeliveryWorker(store.webhooks, clock, log, {
      retrySchedule: config.webhookRetrySchedule,
      pollMs: config.eventsPollMs,
      userAgent: `Licensor/${VERSION}`,
    });
    scheduler.start();
    delivery.start();
    // Said on stderr whatever the log level: people and scripts wait for this line.
    notify(`Licensor ${VERSION} ready at ${url} (${store.kind} store)`);
    return {
      app,
      log,
      store,
      url,
      inFlight: () => inFlight,
      close: async (maxDrainMs = SHUTDOWN_MAX_DRAIN_MS) => {
        clearInterval(sampler);
        draining = true;
        // Closing the listening socket at once would reset the connections the kernel has accepted
        // but Node has not yet taken, and http.Server's close also drops accepted connections whose
        // request is not read yet: either way a client that already sent its request would see a
        // reset. So the server keeps answering until it has been quiet, and only then closes.
        const started = performance.now();
        const deadline = started + maxDrainMs;
        while (
          performance.now() < deadline &&
          (inFlight > 0 || performance.now() - lastStart < SHUTDOWN_QUIET_MS)
        )
          await sleep(25);
        const drain = { inFlight, drainMs: Math.round(performance.now() - started) };
        if (inFlight > 0) log.warn(drain, 'still answering requests at the drain deadline; closing');
        else log.info(drain, 'drained: nothing in flight');
        NetServer.prototype.close.call(app.server);
        await app.close();
        // Attempts cut short here are due again once their claim runs out (docs/webhooks.md).
        await Promise.all([scheduler.stop(), delivery.stop()]);
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
