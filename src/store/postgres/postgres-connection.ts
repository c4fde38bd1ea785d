import pg from 'pg';
import type { PoolClient } from 'pg';
import { LicensorError } from '../../domain/errors.js';
import { storeClosed } from '../composed-store.js';

/**
 * Advisory lock keys, in the two-int form so they cannot meet another application's single-bigint
 * keys. The migration lock is per database (LOCK_STORE, LOCK_MIGRATIONS): the schema may not exist
 * yet when it is taken. Every other lock is per schema (storeLockSql): deployments, or test runs,
 * in separate schemas of one database never wait for each other, so one holding its seat lock
 * cannot stall another's changes (docs/deployment.md#several-deployments-in-one-database).
 */
export const LOCK_STORE = 0x4c6e7372; // "Lnsr"
export const LOCK_MIGRATIONS = 1;
/** Held by every token insert, so "no live token" stays true until the bootstrap insert commits. */
export const LOCK_BOOTSTRAP_TOKEN = 2;
/**
 * Held by every change that can raise the active user count or change the licenses, from its
 * decision to its commit (docs/seats.md).
 */
export const LOCK_SEATS = 3;
/**
 * Held exclusively by every license change (before LOCK_SEATS), and shared by the snapshot's
 * license loader, so the loader never reads the licenses of a change that has advanced the
 * licenses' generation but not committed yet. Seat claims never wait for a loader.
 */
export const LOCK_LICENSES = 4;

/**
 * The first key of a schema's locks: the connection's schema hashed (each pooled connection has the
 * store's schema first in its search_path, and migrations have created it). Two schemas whose
 * hashes meet only share locks, which costs waiting, never correctness.
 */
export const SCHEMA_LOCK_KEY_SQL = "hashtext('licensor:' || current_schema())";

/** The statement that takes one of the store's per-schema locks until the transaction ends. */
export function storeLockSql(key: number, mode: 'exclusive' | 'shared' = 'exclusive'): string {
  const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
  return `SELECT ${fn}(${SCHEMA_LOCK_KEY_SQL}, ${key})`;
}

/**
 * Runs `work` between BEGIN and COMMIT on one pooled connection, rolling back when it throws. A
 * connection that failed on the way is destroyed rather than handed back to the pool.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: PoolClient) => Promise<T>,
  begin: string | null = 'BEGIN',
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A checked-out connection that dies emits 'error' as well as failing its query; unheard, that
  // event would crash the process.
  const onError = (err: Error): void => {
    broken = err;
  };
  client.on('error', onError);
  try {
    if (begin === null) return await work(client);
    await client.query(begin);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // A query that timed out holds the connection for good (pg never sends another on it): it is
    // dropped, and a ROLLBACK could only wait out the timeout again. PostgreSQL rolls back what the
    // connection left open when it sees it gone.
    if (isQueryTimeout(err)) broken = err as Error;
    if (broken === undefined)
      await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      });
    throw err;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

/**
 * Runs `work` on one pooled connection: `work` sends its own BEGIN and COMMIT, batched with its
 * first and last statements to save round trips. When it throws, the transaction is rolled back
 * (a ROLLBACK outside one is harmless), and a connection that failed on the way is destroyed
 * rather than handed back to the pool.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  return inTransaction(pool, work, null);
}

/** pg's error for a query that got no reply within the pool's query_timeout. */
const QUERY_TIMEOUT_MESSAGE = 'Query read timeout';

function isQueryTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === QUERY_TIMEOUT_MESSAGE;
}

/** pg-pool's error for a query or connect asked of a pool that has been ended (a closed store). */
const POOL_ENDED_MESSAGE = 'Cannot use a pool after calling end on the pool';

/** Node socket errors that mean the server could not be reached or went away. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of a server that is going away or cannot take us now: admin_shutdown, crash_shutdown,
 * cannot_connect_now, too_many_connections, and a session the server ended for sitting idle
 * (idle_in_transaction_session_timeout, idle_session_timeout). Class 08 (connection exceptions) is
 * matched whole.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '25P03', '57P05']);

/** Errors pg raises itself, without a code, when a connection fails or cannot be had in time. */
const CONNECTION_FAILURE_MESSAGES = [
  'Connection terminated', // ...unexpectedly, ...due to connection timeout
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
];

/**
 * The unique indexes a user insert can collide with: migration 4's identity key (case, width and
 * Unicode form ignored; docs/users.md), and migration 1's UNIQUE (iamid, userid), which it implies.
 */
const USERS_UNIQUE = new Set(['users_identity_key', 'users_iamid_userid_key']);

/** serialization_failure, deadlock_detected, lock_not_available: the same call may well succeed. */
const BUSY_SQLSTATES = new Set(['40001', '40P01', '55P03']);

export function errorCode(err: Error): string | undefined {
  const { code } = err as { code?: unknown };
  return typeof code === 'string' ? code : undefined;
}

function isUnreachable(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 4) return false;
  const code = errorCode(err);
  if (code !== undefined) {
    if (NETWORK_ERROR_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  if (CONNECTION_FAILURE_MESSAGES.some((m) => err.message.startsWith(m))) return true;
  // Connecting to a name with several addresses fails with one error per address.
  if (err instanceof AggregateError && err.errors.some((e) => isUnreachable(e, depth + 1))) return true;
  return isUnreachable(err.cause, depth + 1);
}

/** Maps PostgreSQL and network failures to the store's codes; refusals pass through unchanged. */
export function translate(err: unknown): unknown {
  if (err instanceof LicensorError) return err;
  if (err instanceof Error && err.message === POOL_ENDED_MESSAGE) return storeClosed(err);
  if (isQueryTimeout(err))
    return new LicensorError(
      'STORE_UNAVAILABLE',
      'the database did not answer in time (LICENSOR_PG_QUERY_TIMEOUT_MS); try again',
      { cause: err },
    );
  if (isUnreachable(err))
    return new LicensorError('STORE_UNAVAILABLE', 'the database cannot be reached; try again', {
      cause: err,
    });
  if (err instanceof pg.DatabaseError) {
    if (err.code === '23505' && err.constraint === 'licenses_live_uuid')
      return new LicensorError('LICENSE_ALREADY_EXISTS', 'a license with this uuid is already added', {
        cause: err,
      });
    if (err.code === '23505' && err.constraint !== undefined && USERS_UNIQUE.has(err.constraint))
      return new LicensorError(
        'USER_ALREADY_EXISTS',
        'a user with this iamid and userid is already registered, ignoring case, width and Unicode form',
        {
          cause: err,
        },
      );
    if (err.code !== undefined && BUSY_SQLSTATES.has(err.code))
      return new LicensorError('STORE_UNAVAILABLE', 'the database is busy; try again', { cause: err });
  }
  return err;
}

export function reportPoolError(err: Error): void {
  const code = errorCode(err);
  process.stderr.write(
    `licensor: a PostgreSQL connection failed outside a request (${code ?? 'no code'}: ${err.message}); it will be replaced\n`,
  );
}
