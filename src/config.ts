import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';

/**
 * The only module that reads the environment. Each reader validates everything once and returns a
 * frozen object; a bad value is a ConfigError whose message names the variable.
 */

export type StoreConfig = { kind: 'sqlite'; filename: string } | { kind: 'postgres'; url: string };

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  store: StoreConfig;
  trustedKeyPaths: readonly string[];
  adminToken: string | null;
  activityWindowDays: number;
  bodyLimitBytes: number;
  logLevel: string;
  /** Failed authentications per client before 429; null when switched off. */
  authFailureLimit: { maxFailures: number; windowSeconds: number } | null;
  /**
   * Which peers are proxies whose X-Forwarded-For names the client (Fastify's `trustProxy`): none
   * (false), a number of hops, or proxy addresses and CIDR ranges.
   */
  trustProxy: false | number | readonly string[];
  /** How long a signed entitlements copy is valid: its `exp` minus its `iat`. */
  entitlementsTtlSeconds: number;
  /** Seconds to wait after each failed webhook attempt; after the last, the delivery has failed. */
  webhookRetrySchedule: readonly number[];
  /** How often the event scheduler and the webhook delivery worker look for work. */
  eventsPollMs: number;
}

export interface ClientConfig {
  url: string | null;
  /** LICENSOR_HOST and LICENSOR_PORT as given (the CLI checks them when it uses them). */
  host: string | null;
  port: string | null;
  token: string | null;
  dataDir: string;
  /** NO_COLOR is set to something (https://no-color.org): never colour the output. */
  noColor: boolean;
}

/**
 * A refusal to start: a bad configuration value, or a store or file that cannot be used as
 * configured (a database written by a newer Licensor, a revoked LICENSOR_ADMIN_TOKEN). Throw it
 * from anything that runs before the server listens; `licensor serve` prints its message, one
 * line that names what to fix, and exits 1 without a stack trace. `cause` keeps the underlying
 * error for a caller that wants it.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(message: string, options?: { cause?: unknown }) {
    // One line whatever the message quotes (a value from the environment, a driver's message).
    super(message.replace(/\s*[\r\n]+\s*/g, ' '), options);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
/** Below this a guessed or leaked-by-shoulder token is too easy; generated ones are 43 characters. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, not "${raw}"`);
  return Number(raw);
}

function dataDirOf(env: Env): string {
  const dir = text(env, 'LICENSOR_DATA_DIR') ?? './data';
  return isAbsolute(dir) ? dir : resolve(dir);
}

function authFailureLimitOf(env: Env): ServerConfig['authFailureLimit'] {
  const raw = text(env, 'LICENSOR_AUTH_FAILURE_LIMIT') ?? '20/60';
  if (raw === 'off') return null;
  const m = /^(\d{1,6})\/(\d{1,6})$/.exec(raw);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1)
    throw new ConfigError(
      `LICENSOR_AUTH_FAILURE_LIMIT must be FAILURES/SECONDS (such as 20/60) or off, not "${raw}"`,
    );
  return { maxFailures: Number(m[1]), windowSeconds: Number(m[2]) };
}

/** The most proxy hops LICENSOR_TRUST_PROXY may name; real chains are one to three. */
export const MAX_TRUSTED_PROXY_HOPS = 64;

/** An IP address, or one with a prefix length from 1 to its family's bits (10.0.0.0/8, fd00::/8). */
function isAddressOrRange(entry: string): boolean {
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0 || address.includes('%')) return false;
  if (slash === -1) return true;
  const prefix = entry.slice(slash + 1);
  // A /0 would trust every address, so any client could name itself in X-Forwarded-For.
  return /^\d{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= (family === 4 ? 32 : 128);
}

function trustProxyOf(env: Env): ServerConfig['trustProxy'] {
  const raw = text(env, 'LICENSOR_TRUST_PROXY');
  if (raw === undefined) return false;
  if (/^\d+$/.test(raw) && Number(raw) >= 1 && Number(raw) <= MAX_TRUSTED_PROXY_HOPS) return Number(raw);
  const entries = raw.split(',').map((e) => e.trim());
  if (/^\d+$/.test(raw) || !entries.every(isAddressOrRange))
    throw new ConfigError(
      `LICENSOR_TRUST_PROXY must be a number of proxy hops (1 to ${MAX_TRUSTED_PROXY_HOPS}) or a comma-separated list of proxy IP addresses and CIDR ranges (such as 10.0.0.0/8,::1), not ${JSON.stringify(raw)}`,
    );
  return Object.freeze(entries);
}

/** The default webhook retry schedule, in seconds (docs/webhooks.md#delivery). */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE = Object.freeze([5, 30, 120, 600, 3600, 21600, 43200]);

function retryScheduleOf(env: Env): readonly number[] {
  const raw = text(env, 'LICENSOR_WEBHOOK_RETRY_SCHEDULE');
  if (raw === undefined) return DEFAULT_WEBHOOK_RETRY_SCHEDULE;
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.length > 50 || !parts.every((p) => /^\d{1,7}(\.\d{1,3})?$/.test(p) && Number(p) <= 7 * 24 * 3600))
    throw new ConfigError(
      `LICENSOR_WEBHOOK_RETRY_SCHEDULE must be comma-separated seconds (at most 50 retries, each at most 604800, such as 5,30,120), not ${JSON.stringify(raw)}`,
    );
  return Object.freeze(parts.map(Number));
}

function storeOf(env: Env, dataDir: string): StoreConfig {
  const url = text(env, 'DATABASE_URL');
  if (url === undefined) return { kind: 'sqlite', filename: resolve(dataDir, 'licensor.sqlite') };
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new ConfigError('DATABASE_URL is not a valid postgres:// URL');
    }
    return { kind: 'postgres', url };
  }
  throw new ConfigError(
    'DATABASE_URL must be a postgres:// URL (leave it unset for the embedded SQLite store)',
  );
}

export function loadServerConfig(env: Env = process.env): Readonly<ServerConfig> {
  const dataDir = dataDirOf(env);
  const host = text(env, 'LICENSOR_HOST') ?? '127.0.0.1';
  const adminToken = text(env, 'LICENSOR_ADMIN_TOKEN') ?? null;
  if (adminToken !== null && adminToken.length < MIN_ADMIN_TOKEN_LENGTH)
    throw new ConfigError(`LICENSOR_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`);
  const logLevel = text(env, 'LICENSOR_LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError(`LICENSOR_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  const trusted = text(env, 'LICENSOR_TRUSTED_KEYS');
  return Object.freeze({
    host,
    port: integer(env, 'LICENSOR_PORT', 8080, 0, 65535),
    dataDir,
    store: storeOf(env, dataDir),
    trustedKeyPaths: Object.freeze(
      trusted === undefined
        ? []
        : trusted
            .split(',')
            .map((p) => p.trim())
            .filter((p) => p !== '')
            .map((p) => resolve(p)),
    ),
    adminToken,
    activityWindowDays: integer(env, 'LICENSOR_ACTIVITY_WINDOW_DAYS', 365, 1, 36500),
    bodyLimitBytes: integer(env, 'LICENSOR_BODY_LIMIT_BYTES', 256 * 1024, 1024, 64 * 1024 * 1024),
    logLevel,
    authFailureLimit: authFailureLimitOf(env),
    trustProxy: trustProxyOf(env),
    // At least a minute (a copy must outlive its own fetch), at most a year.
    entitlementsTtlSeconds: integer(env, 'LICENSOR_ENTITLEMENTS_TTL_SECONDS', 86_400, 60, 31_536_000),
    webhookRetrySchedule: retryScheduleOf(env),
    // At most 10 s: a time-based event is produced within 10 s of falling due.
    eventsPollMs: integer(env, 'LICENSOR_EVENTS_POLL_MS', 1000, 10, 10_000),
  });
}

/** What the administrator CLI reads: where the server is and how to authenticate. */
export function loadClientConfig(env: Env = process.env): Readonly<ClientConfig> {
  return Object.freeze({
    url: text(env, 'LICENSOR_URL') ?? null,
    host: text(env, 'LICENSOR_HOST') ?? null,
    port: text(env, 'LICENSOR_PORT') ?? null,
    token: text(env, 'LICENSOR_TOKEN') ?? null,
    dataDir: dataDirOf(env),
    noColor: (env.NO_COLOR ?? '') !== '',
  });
}
