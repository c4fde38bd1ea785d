import pg from 'pg';
import { reportPoolError } from './postgres-connection.js';
import { StoreStartupError } from '../startup-error.js';
import { DEFAULT_QUERY_TIMEOUT_MS, type StoreSettings } from '../store.js';

export interface PostgresStoreOptions extends Partial<StoreSettings> {
  /** A postgres:// connection URL. */
  url: string;
  /**
   * Keeps every table in this schema (created when missing) instead of the connection's default
   * search_path; lets several stores, or tests, share one database.
   */
  schema?: string;
  /** Connections this process keeps at most. */
  poolMax?: number;
  /** How long to wait for a connection (new, or free in the pool) before STORE_UNAVAILABLE. */
  connectTimeoutMs?: number;
  /**
   * How long a query waits for its reply before it fails with STORE_UNAVAILABLE and its connection
   * is dropped (docs/deployment.md#database-timeouts); defaults to DEFAULT_QUERY_TIMEOUT_MS.
   * Migrations, run once at open on a connection of their own, have none.
   */
  queryTimeoutMs?: number;
  /** Shown in pg_stat_activity; lets an operator tell Licensor's connections apart. */
  applicationName?: string;
  /**
   * Told when a connection fails outside a request (the server restarted, a proxy cut it, the
   * LISTEN connection dropped). The pool drops it and connects anew on next use, and the listener
   * reconnects, so this is for logging only. Defaults to one line on stderr naming the error.
   */
  onPoolError?: (err: Error) => void;
}

/** Unquoted-identifier characters only, so the name is safe in the startup `options` string. */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * The pool a PostgresStore runs on, and the configuration its LISTEN connection and its migrations
 * copy (without the query timeout: a LISTEN waits for good, a migration may take long). Checks the
 * schema name before anything connects.
 */
export function createPool(options: PostgresStoreOptions): {
  pool: pg.Pool;
  clientConfig: pg.ClientConfig;
  /** The pool's query timeout, the option or its default. */
  queryTimeoutMs: number;
} {
  const { schema } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema))
    throw new StoreStartupError(
      `the PostgreSQL schema name "${schema}" must be 1 to 63 letters, digits and underscores, not starting with a digit`,
    );
  const clientConfig: pg.ClientConfig = {
    connectionString: options.url,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    keepAlive: true,
    application_name: options.applicationName ?? 'licensor',
    // A startup parameter rather than a SET after connecting: every connection the pool ever
    // makes has it before its first query, with nothing to forget after a reconnect.
    ...(schema !== undefined && { options: `-c search_path=${pg.escapeIdentifier(schema)}` }),
  };
  const queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  const limits = sessionLimitsSql(queryTimeoutMs);
  const pool = new pg.Pool({
    ...clientConfig,
    max: options.poolMax ?? 10,
    query_timeout: queryTimeoutMs,
    // Run on each new connection before anyone takes it: a SET rather than startup parameters,
    // which PgBouncer refuses unless told to ignore them. Should it fail, the pool ends the
    // connection and the checkout fails, so no connection is used without the limits.
    // pg-pool awaits the promise (and fails the checkout on its rejection); @types/pg types it void.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    onConnect: async (client) => {
      // The connection's whole life has a listener, from here on: a backend terminated between
      // checkout and a query's own error handling must not be an uncaught 'error'.
      client.on('error', () => undefined);
      await client.query(limits);
    },
  });
  const onPoolError = options.onPoolError ?? reportPoolError;
  // Without a listener an idle connection's failure would be an uncaught 'error' event.
  pool.on('error', (err) => onPoolError(err));
  return { pool, clientConfig, queryTimeoutMs };
}

/**
 * The longest a transaction may sit idle, its client sending nothing, before PostgreSQL ends the
 * session: twice the query timeout (a change can wait for the reply to another change's round trip
 * between two of its own), and never under 5 s (parsing every license, a sweep's chunk, a pause of
 * the garbage collector).
 */
export function idleInTransactionLimitMs(queryTimeoutMs: number): number {
  return Math.max(2 * queryTimeoutMs, 5000);
}

/**
 * The limits every pooled connection sets in its session (docs/deployment.md#database-timeouts):
 * - each lock wait ends at the query timeout. A request that gave up waiting has its connection
 *   dropped, but PostgreSQL notices a client gone only when it next writes to it: without this its
 *   session would go on waiting, and each retry add one, until the lock is free. A wait past it
 *   fails with lock_not_available, STORE_UNAVAILABLE as the query timeout is.
 * - a transaction whose client stops talking (a process stopped or frozen with its socket open)
 *   ends at idleInTransactionLimitMs, or its locks would stay held, every instance's changes
 *   failing behind them.
 */
export function sessionLimitsSql(queryTimeoutMs: number): string {
  return `SET lock_timeout = ${queryTimeoutMs}; SET idle_in_transaction_session_timeout = ${idleInTransactionLimitMs(queryTimeoutMs)}`;
}

/**
 * One connection for the migrations at open, with no query timeout (a backfill over many rows may
 * take long, and nothing waits behind it); ended once they have run.
 */
export function setupPool(clientConfig: pg.ClientConfig): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig, max: 1 });
  pool.on('error', () => undefined);
  return pool;
}
