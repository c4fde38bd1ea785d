import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import { LicensorError } from '../../domain/errors.js';
import { checkCanAdd, type LicenseRecord } from '../../domain/license.js';
import { licenseFromRow, tokenFromRow, type LicenseRow, type TokenRow } from '../rows.js';
import type { NewLicense, Store, TokenRecord } from '../store.js';
import { POSTGRES_MIGRATIONS, type Migration } from './postgres-migrations.js';

export interface PostgresStoreOptions {
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
  /** Shown in pg_stat_activity; lets an operator tell Licensor's connections apart. */
  applicationName?: string;
  /**
   * Told when an idle pooled connection fails (the server restarted, a proxy cut it). The pool
   * drops it and connects anew on next use, so this is for logging only. Defaults to one line on
   * stderr naming the error.
   */
  onPoolError?: (err: Error) => void;
}

type LicenseDbRow = LicenseRow & QueryResultRow;
type TokenDbRow = TokenRow & QueryResultRow;

const LICENSE_COLUMNS = 'id, uuid, license_key, payload, updated_at, deleted, invalidated';
const TOKEN_COLUMNS = 'id, name, permissions, created_at, revoked_at, bootstrap';

/**
 * Advisory lock keys, in the two-int form so they cannot meet another application's single-bigint
 * keys. They are per database, not per schema: two stores in separate schemas of one database only
 * ever wait a moment for each other.
 */
const LOCK_STORE = 0x4c6e7372; // "Lnsr"
const LOCK_LICENSE_UUID = 0x4c6e7375; // "Lnsu", paired with hashtext(uuid)
const LOCK_MIGRATIONS = 1;
const LOCK_BOOTSTRAP_TOKEN = 2;

/** Unquoted-identifier characters only, so the name is safe in the startup `options` string. */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * The multi-instance store: any number of Licensor processes share one PostgreSQL database. Every
 * write method is one transaction on one pooled connection; the rules SQLite gets from its single
 * writer are kept here by row locks, advisory locks and the partial unique index on live uuids.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;
  #closing: Promise<void> | undefined;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /**
   * Connects, creates the schema when asked and missing, and applies pending migrations. A server
   * that cannot be reached is STORE_UNAVAILABLE; a database written by a newer Licensor is refused.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const { schema } = options;
    if (schema !== undefined && !SCHEMA_NAME.test(schema))
      throw new Error(
        `the PostgreSQL schema name "${schema}" must be 1 to 63 letters, digits and underscores, not starting with a digit`,
      );
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolMax ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      keepAlive: true,
      application_name: options.applicationName ?? 'licensor',
      // A startup parameter rather than a SET after connecting: every connection the pool ever
      // makes has it before its first query, with nothing to forget after a reconnect.
      ...(schema !== undefined && { options: `-c search_path=${pg.escapeIdentifier(schema)}` }),
    });
    const onPoolError = options.onPoolError ?? reportPoolError;
    // Without a listener an idle connection's failure would be an uncaught 'error' event.
    pool.on('error', (err) => onPoolError(err));
    try {
      await inTransaction(pool, (client) => migrate(client, schema, POSTGRES_MIGRATIONS));
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw translate(err);
    }
    return new PostgresStore(pool);
  }

  async #query<R extends QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await this.#pool.query<R>(text, values)).rows;
    } catch (err) {
      throw translate(err);
    }
  }

  async #write<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    try {
      return await inTransaction(this.#pool, work);
    } catch (err) {
      throw translate(err);
    }
  }

  async addLicense(license: NewLicense, now: Date): Promise<LicenseRecord> {
    const { claims } = license;
    return this.#write(async (client) => {
      // Concurrency: the check below and the insert must be one step across processes. The
      // partial unique index alone would stop two live rows, but not this: A reads "no live
      // license", B adds one with hardDelete and it is deleted at once, then A inserts a uuid
      // that was hard-deleted. So adds of one uuid queue on an advisory lock held to the end of the
      // transaction; under READ COMMITTED each statement sees what committed before it began, so
      // the next one to get the lock sees everything the previous ones did and gets checkCanAdd's
      // own refusal. Adds of other uuids never wait (a hashtext collision only makes two wait).
      // SERIALIZABLE would also be correct, but only with a retry loop around serialization
      // failures, which contention on one uuid makes the common case. The index stays the last
      // word should anything bypass this lock: its violation is mapped to LICENSE_ALREADY_EXISTS.
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_LICENSE_UUID, claims.uuid]);
      const same = await client.query<LicenseDbRow>(
        `SELECT ${LICENSE_COLUMNS} FROM licenses WHERE uuid = $1 ORDER BY id`,
        [claims.uuid],
      );
      checkCanAdd(claims.uuid, same.rows.map(licenseFromRow));
      const at = now.toISOString();
      const inserted = await client.query<LicenseDbRow>(
        `INSERT INTO licenses (uuid, license_key, payload, hard_delete, added_at, updated_at)
         VALUES ($1, $2, $3::json, $4, $5::timestamptz, $5::timestamptz)
         RETURNING ${LICENSE_COLUMNS}`,
        [claims.uuid, license.licenseKey, JSON.stringify(license.payload), claims.hardDelete, at],
      );
      if (claims.supersedes.length > 0)
        await client.query(
          `UPDATE licenses SET invalidated = true, updated_at = $1::timestamptz
           WHERE uuid = ANY($2::text[]) AND NOT deleted AND NOT invalidated`,
          [at, claims.supersedes],
        );
      return licenseFromRow(single(inserted.rows));
    });
  }

  async listLicenses(options: { includeDeleted?: boolean } = {}): Promise<LicenseRecord[]> {
    const rows = await this.#query<LicenseDbRow>(
      `SELECT ${LICENSE_COLUMNS} FROM licenses ${options.includeDeleted ? '' : 'WHERE NOT deleted'} ORDER BY id`,
    );
    return rows.map(licenseFromRow);
  }

  async getLicense(id: number): Promise<LicenseRecord | undefined> {
    // A bigint column refuses 1.5 with an error where SQLite finds nothing; answer as SQLite does.
    if (!Number.isSafeInteger(id)) return undefined;
    const rows = await this.#query<LicenseDbRow>(`SELECT ${LICENSE_COLUMNS} FROM licenses WHERE id = $1`, [
      id,
    ]);
    const row = rows[0];
    return row && licenseFromRow(row);
  }

  async deleteLicense(id: number, now: Date): Promise<LicenseRecord> {
    const notFound = (): LicensorError => new LicensorError('LICENSE_NOT_FOUND', `no license with id ${id}`);
    if (!Number.isSafeInteger(id)) throw notFound();
    return this.#write(async (client) => {
      // One statement: of two concurrent deletes the second waits for the row, sees it deleted
      // when it re-checks the WHERE clause, and changes nothing.
      const { rows } = await client.query<LicenseDbRow>(
        `UPDATE licenses SET deleted = true, updated_at = $2::timestamptz
         WHERE id = $1 AND NOT deleted
         RETURNING ${LICENSE_COLUMNS}`,
        [id, now.toISOString()],
      );
      const row = rows[0];
      if (!row) throw notFound();
      return licenseFromRow(row);
    });
  }

  async countActiveUsers(activeSince: Date): Promise<number> {
    // An index range over users_active. SQLite reads per-day counters (its migration 2) that its
    // user methods keep in step; this store has no user methods yet, so nothing would keep such
    // counters here. They arrive together with those methods.
    const rows = await this.#query<{ n: number }>(
      'SELECT count(*)::integer AS n FROM users WHERE NOT disabled AND last_activity_at >= $1::timestamptz',
      [activeSince.toISOString()],
    );
    return rows[0]?.n ?? 0;
  }

  async findTokenByHash(hash: string): Promise<TokenRecord | undefined> {
    const rows = await this.#query<TokenDbRow>(
      `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash = $1 AND revoked_at IS NULL`,
      [hash],
    );
    const row = rows[0];
    return row && tokenFromRow(row);
  }

  async setBootstrapToken(hash: string, now: Date): Promise<TokenRecord> {
    return this.#write(async (client) => {
      // Processes starting together with one LICENSOR_ADMIN_TOKEN would otherwise each find no
      // bootstrap token and each insert one; the second insert would fail on the unique hash.
      await lockBootstrapToken(client);
      const current = await client.query<{ id: string }>(
        'SELECT id FROM tokens WHERE bootstrap AND revoked_at IS NULL ORDER BY id LIMIT 1',
      );
      const id = current.rows[0]?.id;
      const { rows } =
        id === undefined
          ? await insertBootstrap(client, hash, now)
          : await client.query<TokenDbRow>(
              `UPDATE tokens SET hash = $1 WHERE id = $2 RETURNING ${TOKEN_COLUMNS}`,
              [hash, id],
            );
      return tokenFromRow(single(rows));
    });
  }

  async createBootstrapTokenIfNone(hash: string, now: Date): Promise<boolean> {
    return this.#write(async (client) => {
      // "No live token" is a fact about rows that do not exist yet, which no row lock can hold;
      // the advisory lock makes check and insert one step across processes.
      await lockBootstrapToken(client);
      const live = await client.query('SELECT 1 FROM tokens WHERE revoked_at IS NULL LIMIT 1');
      if (live.rows.length > 0) return false;
      await insertBootstrap(client, hash, now);
      return true;
    });
  }

  async ping(): Promise<void> {
    await this.#query('SELECT 1');
  }

  /** Ends the pool after its connections are returned; calling it again waits for the same end. */
  close(): Promise<void> {
    this.#closing ??= this.#pool.end();
    return this.#closing;
  }
}

function single<R>(rows: readonly R[]): R {
  const row = rows[0];
  if (row === undefined) throw new Error('the statement returned no row');
  return row;
}

async function lockBootstrapToken(client: PoolClient): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_STORE, LOCK_BOOTSTRAP_TOKEN]);
}

function insertBootstrap(client: PoolClient, hash: string, now: Date): Promise<pg.QueryResult<TokenDbRow>> {
  return client.query<TokenDbRow>(
    `INSERT INTO tokens (name, hash, permissions, bootstrap, created_at)
     VALUES ('bootstrap administrator', $1, '["APPLICATION_ADMIN"]'::jsonb, true, $2::timestamptz)
     RETURNING ${TOKEN_COLUMNS}`,
    [hash, now.toISOString()],
  );
}

/**
 * Runs `work` between BEGIN and COMMIT on one pooled connection, rolling back when it throws. A
 * connection that failed on the way is destroyed rather than handed back to the pool.
 */
async function inTransaction<T>(pool: pg.Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A checked-out connection that dies emits 'error' as well as failing its query; unheard, that
  // event would crash the process.
  const onError = (err: Error): void => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
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
 * Applies pending migrations in one transaction under an advisory lock, so several processes
 * starting at once on one database apply each exactly once and the others then find them applied.
 * Refuses a database written by a newer Licensor.
 */
async function migrate(
  client: PoolClient,
  schema: string | undefined,
  migrations: readonly Migration[],
): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_STORE, LOCK_MIGRATIONS]);
  if (schema !== undefined) {
    // Looked up first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the database even
    // when the schema is there, which a least-privilege role may not have.
    const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (found.rows.length === 0) await client.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
    const current = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
    // A URL carrying its own `options` parameter replaces the search_path this store asked for.
    if (current.rows[0]?.schema !== schema)
      throw new Error(
        `the PostgreSQL connection uses schema "${current.rows[0]?.schema ?? '(none)'}", not "${schema}"; remove "options" from the database URL`,
      );
  }
  await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
  const { rows } = await client.query<{ v: number | null }>(
    'SELECT max(version) AS v FROM schema_migrations',
  );
  const current = rows[0]?.v ?? 0;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest)
    throw new Error(
      `the database schema is version ${current}, newer than this Licensor knows (${latest}); upgrade Licensor`,
    );
  for (const m of migrations) {
    if (m.version <= current) continue;
    await client.query(m.sql);
    await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
  }
}

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
 * cannot_connect_now, too_many_connections. Class 08 (connection exceptions) is matched whole.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** Errors pg raises itself, without a code, when a connection fails or cannot be had in time. */
const CONNECTION_FAILURE_MESSAGES = [
  'Connection terminated', // ...unexpectedly, ...due to connection timeout
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
];

/** serialization_failure, deadlock_detected, lock_not_available: the same call may well succeed. */
const BUSY_SQLSTATES = new Set(['40001', '40P01', '55P03']);

function errorCode(err: Error): string | undefined {
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
function translate(err: unknown): unknown {
  if (err instanceof LicensorError) return err;
  if (isUnreachable(err))
    return new LicensorError('STORE_UNAVAILABLE', 'the database cannot be reached; try again', {
      cause: err,
    });
  if (err instanceof pg.DatabaseError) {
    if (err.code === '23505' && err.constraint === 'licenses_live_uuid')
      return new LicensorError('LICENSE_ALREADY_EXISTS', 'a license with this uuid is already added', {
        cause: err,
      });
    if (err.code !== undefined && BUSY_SQLSTATES.has(err.code))
      return new LicensorError('STORE_UNAVAILABLE', 'the database is busy; try again', { cause: err });
  }
  return err;
}

function reportPoolError(err: Error): void {
  const code = errorCode(err);
  process.stderr.write(
    `licensor: an idle PostgreSQL connection failed (${code ?? 'no code'}: ${err.message}); it will be replaced on next use\n`,
  );
}
