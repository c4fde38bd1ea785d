import { isIP } from 'node:net';
import { resolve } from 'node:path';
import Type, { type StaticDecode, type TObject } from 'typebox';
import { AssertError, Value } from 'typebox/value';
import { absoluteDir, envText, type Env } from './client-config.js';
import { DEFAULT_QUERY_TIMEOUT_MS } from './store/store.js';

/**
 * The server's environment: read once and decoded with a TypeBox schema (checks, defaults and
 * conversions in one place) into a frozen object; a bad value is a ConfigError whose message names
 * the variable. The only other module that reads the environment is `client-config.ts`, the CLI's
 * (docs/architecture.md#layers).
 */

export type StoreConfig =
  | { kind: 'sqlite'; filename: string }
  | {
      kind: 'postgres';
      url: string;
      /** How long a query waits for its reply (docs/deployment.md#database-timeouts). */
      queryTimeoutMs: number;
    };

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

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
/** Below this a guessed or leaked-by-shoulder token is too easy; generated ones are 43 characters. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;
/** The most proxy hops LICENSOR_TRUST_PROXY may name; real chains are one to three. */
export const MAX_TRUSTED_PROXY_HOPS = 64;
/** The default webhook retry schedule, in seconds (docs/webhooks.md#delivery). */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE = Object.freeze([5, 30, 120, 600, 3600, 21600, 43200]);

/**
 * A variable's text: accepted by `check` or refused with `error` (the one line `licensor serve`
 * prints), then turned into its value by `decode`. `fallback` is the text when it is unset.
 */
function variable<T>(
  check: (raw: string) => boolean,
  error: (raw: string) => string,
  decode: (raw: string) => T,
  fallback?: string,
) {
  const text = Type.String(fallback === undefined ? {} : { default: fallback });
  return Type.Decode(Type.Refine(text, check, error), decode);
}

/** Any text, as given. */
const Text = Type.String();

function wholeNumber(name: string, fallback: number, min: number, max: number) {
  return variable(
    (raw) => /^\d+$/.test(raw) && Number(raw) >= min && Number(raw) <= max,
    (raw) => `${name} must be a whole number from ${min} to ${max}, not "${raw}"`,
    Number,
    String(fallback),
  );
}

const DataDir = Type.Decode(Type.String({ default: './data' }), absoluteDir);

const AUTH_FAILURE_LIMIT = /^(\d{1,6})\/(\d{1,6})$/;

function authFailureLimitOf(raw: string): ServerConfig['authFailureLimit'] {
  const m = AUTH_FAILURE_LIMIT.exec(raw);
  return m === null ? null : { maxFailures: Number(m[1]), windowSeconds: Number(m[2]) };
}

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

function isHopCount(raw: string): boolean {
  return /^\d+$/.test(raw) && Number(raw) >= 1 && Number(raw) <= MAX_TRUSTED_PROXY_HOPS;
}

function proxyEntries(raw: string): string[] {
  return raw.split(',').map((e) => e.trim());
}

function retryDelays(raw: string): string[] {
  return raw.split(',').map((p) => p.trim());
}

/**
 * The server's variables, in the order they are checked: the first bad one is reported. Unset
 * and blank are the same; values are trimmed before they are checked.
 */
const ServerEnv = Type.Object({
  LICENSOR_DATA_DIR: DataDir,
  LICENSOR_HOST: Type.String({ default: '127.0.0.1' }),
  LICENSOR_ADMIN_TOKEN: Type.Optional(
    variable(
      (token) => token.length >= MIN_ADMIN_TOKEN_LENGTH,
      () => `LICENSOR_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`,
      String,
    ),
  ),
  LICENSOR_LOG_LEVEL: variable(
    (level) => LOG_LEVELS.includes(level),
    () => `LICENSOR_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`,
    String,
    'info',
  ),
  LICENSOR_PORT: wholeNumber('LICENSOR_PORT', 8080, 0, 65535),
  DATABASE_URL: Type.Optional(
    variable(
      (url) => /^postgres(ql)?:\/\//.test(url) && URL.canParse(url),
      (url) =>
        /^postgres(ql)?:\/\//.test(url)
          ? 'DATABASE_URL is not a valid postgres:// URL'
          : 'DATABASE_URL must be a postgres:// URL (leave it unset for the embedded SQLite store)',
      String,
    ),
  ),
  LICENSOR_TRUSTED_KEYS: Type.Optional(
    Type.Decode(Text, (list) =>
      Object.freeze(
        list
          .split(',')
          .map((p) => p.trim())
          .filter((p) => p !== '')
          .map((p) => resolve(p)),
      ),
    ),
  ),
  LICENSOR_ACTIVITY_WINDOW_DAYS: wholeNumber('LICENSOR_ACTIVITY_WINDOW_DAYS', 365, 1, 36500),
  LICENSOR_BODY_LIMIT_BYTES: wholeNumber('LICENSOR_BODY_LIMIT_BYTES', 256 * 1024, 1024, 64 * 1024 * 1024),
  LICENSOR_AUTH_FAILURE_LIMIT: variable(
    (raw) => {
      if (raw === 'off') return true;
      const limit = authFailureLimitOf(raw);
      return limit !== null && limit.maxFailures >= 1 && limit.windowSeconds >= 1;
    },
    (raw) => `LICENSOR_AUTH_FAILURE_LIMIT must be FAILURES/SECONDS (such as 20/60) or off, not "${raw}"`,
    authFailureLimitOf,
    '20/60',
  ),
  LICENSOR_TRUST_PROXY: Type.Optional(
    variable(
      (raw) => isHopCount(raw) || (!/^\d+$/.test(raw) && proxyEntries(raw).every(isAddressOrRange)),
      (raw) =>
        `LICENSOR_TRUST_PROXY must be a number of proxy hops (1 to ${MAX_TRUSTED_PROXY_HOPS}) or a comma-separated list of proxy IP addresses and CIDR ranges (such as 10.0.0.0/8,::1), not ${JSON.stringify(raw)}`,
      (raw): number | readonly string[] => (isHopCount(raw) ? Number(raw) : Object.freeze(proxyEntries(raw))),
    ),
  ),
  // At least a minute (a copy must outlive its own fetch), at most a year.
  LICENSOR_ENTITLEMENTS_TTL_SECONDS: wholeNumber('LICENSOR_ENTITLEMENTS_TTL_SECONDS', 86_400, 60, 31_536_000),
  LICENSOR_WEBHOOK_RETRY_SCHEDULE: variable(
    (raw) => {
      const parts = retryDelays(raw);
      return (
        parts.length <= 50 &&
        parts.every((p) => /^\d{1,7}(\.\d{1,3})?$/.test(p) && Number(p) <= 7 * 24 * 3600)
      );
    },
    (raw) =>
      `LICENSOR_WEBHOOK_RETRY_SCHEDULE must be comma-separated seconds (at most 50 retries, each at most 604800, such as 5,30,120), not ${JSON.stringify(raw)}`,
    (raw) => Object.freeze(retryDelays(raw).map(Number)),
    DEFAULT_WEBHOOK_RETRY_SCHEDULE.join(','),
  ),
  // At most 10 s: a time-based event is produced within 10 s of falling due.
  LICENSOR_EVENTS_POLL_MS: wholeNumber('LICENSOR_EVENTS_POLL_MS', 1000, 10, 10_000),
  LICENSOR_PG_QUERY_TIMEOUT_MS: wholeNumber(
    'LICENSOR_PG_QUERY_TIMEOUT_MS',
    DEFAULT_QUERY_TIMEOUT_MS,
    100,
    3_600_000,
  ),
});

/**
 * The schema's variables from `env`, trimmed, the blank ones left out, decoded (defaults filled
 * in). The first refused variable is a ConfigError with its message.
 */
function read<S extends TObject>(schema: S, env: Env): StaticDecode<S> {
  const texts: Record<string, string> = {};
  for (const name of Object.keys(schema.properties)) {
    const value = envText(env, name);
    if (value !== null) texts[name] = value;
  }
  try {
    return Value.Decode(schema, texts);
  } catch (err) {
    const first = err instanceof AssertError ? err.cause.errors[0] : undefined;
    if (first === undefined) throw err;
    throw new ConfigError(
      first.keyword === '~refine' ? first.message : `${first.instancePath.slice(1)}: ${first.message}`,
      { cause: err },
    );
  }
}

export function loadServerConfig(env: Env = process.env): Readonly<ServerConfig> {
  const vars = read(ServerEnv, env);
  const url = vars.DATABASE_URL;
  const config: ServerConfig = {
    host: vars.LICENSOR_HOST,
    port: vars.LICENSOR_PORT,
    dataDir: vars.LICENSOR_DATA_DIR,
    store:
      url === undefined
        ? { kind: 'sqlite', filename: resolve(vars.LICENSOR_DATA_DIR, 'licensor.sqlite') }
        : { kind: 'postgres', url, queryTimeoutMs: vars.LICENSOR_PG_QUERY_TIMEOUT_MS },
    trustedKeyPaths: vars.LICENSOR_TRUSTED_KEYS ?? Object.freeze([]),
    adminToken: vars.LICENSOR_ADMIN_TOKEN ?? null,
    activityWindowDays: vars.LICENSOR_ACTIVITY_WINDOW_DAYS,
    bodyLimitBytes: vars.LICENSOR_BODY_LIMIT_BYTES,
    logLevel: vars.LICENSOR_LOG_LEVEL,
    authFailureLimit: vars.LICENSOR_AUTH_FAILURE_LIMIT,
    trustProxy: vars.LICENSOR_TRUST_PROXY ?? false,
    entitlementsTtlSeconds: vars.LICENSOR_ENTITLEMENTS_TTL_SECONDS,
    webhookRetrySchedule: vars.LICENSOR_WEBHOOK_RETRY_SCHEDULE,
    eventsPollMs: vars.LICENSOR_EVENTS_POLL_MS,
  };
  return Object.freeze(config);
}
