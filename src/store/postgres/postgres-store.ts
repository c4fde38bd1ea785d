import pg from 'pg';
import { checkBootstrapSecret } from '../bootstrap-token.js';
import type { PoolClient, QueryResultRow } from 'pg';
import { LicensorError } from '../../domain/errors.js';
import {
  checkCanAdd,
  effectiveLicense,
  type EffectiveLicense,
  type LicenseRecord,
} from '../../domain/license.js';
import {
  checkSeatAvailable,
  startOfNextUtcDay,
  USER_TYPES,
  utcDay,
  type UserRecord,
  type UserType,
} from '../../domain/users.js';
import {
  auditFromRow,
  licenseFromRow,
  likePattern,
  tokenFromRow,
  usageFromRow,
  userFromRow,
  type AuditRow,
  type LicenseRow,
  type TokenRow,
  type UsageRow,
  type UserRow,
} from '../rows.js';
import type {
  AuditEntry,
  NewAuditEntry,
  NewLicense,
  NewToken,
  NewUser,
  SeatContext,
  Store,
  TokenRecord,
  UsageDay,
  UsageSummary,
  UserPatch,
  UserQuery,
} from '../store.js';
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
type UserDbRow = UserRow & QueryResultRow;
type UsageDbRow = UsageRow & QueryResultRow;
type AuditDbRow = AuditRow & QueryResultRow;

const LICENSE_COLUMNS = 'id, uuid, license_key, payload, updated_at, deleted, invalidated';
const TOKEN_COLUMNS = 'id, name, permissions, created_at, revoked_at, bootstrap';
const USER_COLUMNS = 'id, userid, iamid, name, email, user_type, created_at, last_activity_at, disabled';
const USAGE_COLUMNS = 'day, peak_active_users, license_seats, hard_seats';
const AUDIT_COLUMNS = 'id, at, actor_token_id, actor_name, action, target, outcome, code, client_address';

/**
 * Advisory lock keys, in the two-int form so they cannot meet another application's single-bigint
 * keys. They are per database, not per schema: two stores in separate schemas of one database only
 * ever wait a moment for each other.
 */
const LOCK_STORE = 0x4c6e7372; // "Lnsr"
const LOCK_LICENSE_UUID = 0x4c6e7375; // "Lnsu", paired with hashtext(uuid)
const LOCK_MIGRATIONS = 1;
/** Held by every token insert, so "no live token" stays true until the bootstrap insert commits. */
const LOCK_BOOTSTRAP_TOKEN = 2;
/** Held by every change that can raise the active user count, from its seat check to its commit. */
const LOCK_SEATS = 3;

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

  /** Several reads that must agree with each other (a count and its page): one snapshot. */
  async #read<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    try {
      return await inTransaction(this.#pool, work, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
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
    try {
      return total(await activeByType(this.#pool, activeSince));
    } catch (err) {
      throw translate(err);
    }
  }

  /*
   * Users and seats. Concurrency, across every process sharing the database (READ COMMITTED):
   *
   * - A change that can raise the active count (createUser, activity of an inactive user,
   *   re-enabling a user active in the window) takes LOCK_SEATS, one advisory lock for the whole
   *   store, before it reads the licenses and the count, and holds it to its commit. The next
   *   holder's statements start after that commit and see it, so two changes never both see the
   *   last free seat. Each such change first locks its user row (when it has one), then LOCK_SEATS:
   *   one order for everyone, so no deadlock.
   * - A change that cannot raise the count (activity of an active user, disable, delete, type or
   *   name change) never waits for LOCK_SEATS: activity is the per-login hot path. It locks only
   *   its user row (FOR UPDATE; DELETE locks it itself), so deciding from the row and writing it
   *   are one step, and a racing change of the same user re-reads what this one wrote.
   * - The count is one statement (one snapshot) over the counters and the first day's range: a
   *   user moving from that day to today between two statements would otherwise be missed by both.
   * - Counter rows are updated in (day, type) order in one statement, so two transactions moving
   *   users between the same two counters wait for each other instead of deadlocking.
   * - Lock order is user row, LOCK_SEATS, usage_daily row, activity_counts rows.
   */

  /**
   * Takes a seat or refuses (SEAT_LIMIT_REACHED); raises today's usage row with the new count. The
   * caller holds LOCK_SEATS.
   */
  async #claimSeat(client: PoolClient, ctx: SeatContext): Promise<void> {
    const effective = await liveEffective(client, ctx.now);
    const active = total(await activeByType(client, ctx.activeSince));
    checkSeatAvailable(active, effective.licenseSeats);
    await raiseUsage(client, ctx.now, active + 1, effective);
  }

  async createUser(user: NewUser, ctx: SeatContext): Promise<UserRecord> {
    return this.#write(async (client) => {
      // Checked before the seat queue, so a duplicate is refused without waiting for it...
      await refuseTakenUser(client, user);
      await lockSeats(client);
      // ...and again holding LOCK_SEATS, still before the seat check: every insert into users
      // holds it, so this sees any insert of the same user that committed while this one waited.
      // The unique constraint is the backstop (mapped to USER_ALREADY_EXISTS too).
      await refuseTakenUser(client, user);
      await this.#claimSeat(client, ctx);
      const at = ctx.now.toISOString();
      const { rows } = await client.query<UserDbRow>(
        `INSERT INTO users (iamid, userid, name, email, user_type, created_at, last_activity_at, disabled)
         VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $6::timestamptz, false)
         RETURNING ${USER_COLUMNS}`,
        [user.iamid, user.userid, user.name, user.email, user.userType, at],
      );
      await moveCounts(client, [{ at: ctx.now, userType: user.userType, delta: +1 }]);
      return userFromRow(single(rows));
    });
  }

  async recordActivity(id: number, ctx: SeatContext): Promise<{ user: UserRecord; seatTaken: boolean }> {
    return this.#write(async (client) => {
      const user = await lockUser(client, id);
      if (user.disabled) throw new LicensorError('USER_DISABLED', `user ${id} is disabled; enable it first`);
      const seatTaken = user.lastActivityAt < ctx.activeSince;
      if (seatTaken) {
        await lockSeats(client);
        await this.#claimSeat(client, ctx);
      }
      const { rows } = await client.query<UserDbRow>(
        `UPDATE users SET last_activity_at = $2::timestamptz WHERE id = $1 RETURNING ${USER_COLUMNS}`,
        [id, ctx.now.toISOString()],
      );
      if (utcDay(user.lastActivityAt) !== utcDay(ctx.now))
        await moveCounts(client, [
          { at: user.lastActivityAt, userType: user.userType, delta: -1 },
          { at: ctx.now, userType: user.userType, delta: +1 },
        ]);
      return { user: userFromRow(single(rows)), seatTaken };
    });
  }

  async updateUser(id: number, patch: UserPatch, ctx: SeatContext): Promise<UserRecord> {
    return this.#write(async (client) => {
      const user = await lockUser(client, id);
      const next = {
        name: patch.name === undefined ? user.name : patch.name,
        email: patch.email === undefined ? user.email : patch.email,
        userType: patch.userType ?? user.userType,
        disabled: patch.disabled ?? user.disabled,
      };
      if (user.disabled && !next.disabled && user.lastActivityAt >= ctx.activeSince) {
        await lockSeats(client);
        await this.#claimSeat(client, ctx);
      }
      const { rows } = await client.query<UserDbRow>(
        `UPDATE users SET name = $2, email = $3, user_type = $4, disabled = $5 WHERE id = $1
         RETURNING ${USER_COLUMNS}`,
        [id, next.name, next.email, next.userType, next.disabled],
      );
      if (user.disabled !== next.disabled || user.userType !== next.userType)
        await moveCounts(client, [
          ...(user.disabled ? [] : [{ at: user.lastActivityAt, userType: user.userType, delta: -1 }]),
          ...(next.disabled ? [] : [{ at: user.lastActivityAt, userType: next.userType, delta: +1 }]),
        ]);
      return userFromRow(single(rows));
    });
  }

  async deleteUser(id: number, _ctx: SeatContext): Promise<UserRecord> {
    if (!Number.isSafeInteger(id)) throw userNotFound(id);
    return this.#write(async (client) => {
      // DELETE locks the row itself and returns it as it was when deleted, after any change
      // that held the row before it: the counters below undo exactly what that row added.
      const { rows } = await client.query<UserDbRow>(
        `DELETE FROM users WHERE id = $1 RETURNING ${USER_COLUMNS}`,
        [id],
      );
      const row = rows[0];
      if (!row) throw userNotFound(id);
      const user = userFromRow(row);
      if (!user.disabled)
        await moveCounts(client, [{ at: user.lastActivityAt, userType: user.userType, delta: -1 }]);
      return user;
    });
  }

  async getUser(id: number): Promise<UserRecord | undefined> {
    if (!Number.isSafeInteger(id)) return undefined;
    const rows = await this.#query<UserDbRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
    const row = rows[0];
    return row && userFromRow(row);
  }

  async listUsers(query: UserQuery): Promise<{ users: UserRecord[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (query.active === true)
      where.push(
        `NOT disabled AND last_activity_at >= ${param(query.activeSince.toISOString())}::timestamptz`,
      );
    else if (query.active === false)
      where.push(`(disabled OR last_activity_at < ${param(query.activeSince.toISOString())}::timestamptz)`);
    if (query.search !== undefined && query.search !== '') {
      // A NULL name or email is NULL LIKE ..., which is not true: it never matches.
      const pattern = param(likePattern(query.search));
      where.push(
        `(lower(userid) LIKE ${pattern} ESCAPE '\\' OR lower(name) LIKE ${pattern} ESCAPE '\\'` +
          ` OR lower(email) LIKE ${pattern} ESCAPE '\\')`,
      );
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    return this.#read(async (client) => {
      const counted = await client.query<{ n: string }>(`SELECT count(*) AS n FROM users ${clause}`, params);
      const page = await client.query<UserDbRow>(
        `SELECT ${USER_COLUMNS} FROM users ${clause} ORDER BY id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, query.size, query.offset],
      );
      return { users: page.rows.map(userFromRow), total: Number(single(counted.rows).n) };
    });
  }

  async usageSummary(activeSince: Date): Promise<UsageSummary> {
    return this.#read(async (client) => {
      const totals: Record<UserType, number> = { dataConsumer: 0, policyOwner: 0 };
      const { rows } = await client.query<{ user_type: UserType; n: string }>(
        'SELECT user_type, count(*) AS n FROM users GROUP BY user_type',
      );
      for (const row of rows) totals[row.user_type] = Number(row.n);
      const active = await activeByType(client, activeSince);
      const [dataConsumers, policyOwners] = USER_TYPES.map((type) => ({
        totalCount: totals[type],
        activeCount: active[type],
      })) as [UsageSummary['dataConsumers'], UsageSummary['policyOwners']];
      return { dataConsumers, policyOwners };
    });
  }

  async recordUsage(ctx: SeatContext): Promise<UsageDay> {
    return this.#write(async (client) => {
      // No LOCK_SEATS: the peak only ever rises (GREATEST), so racing a seat taker loses nothing.
      const effective = await liveEffective(client, ctx.now);
      const active = total(await activeByType(client, ctx.activeSince));
      return usageFromRow(await raiseUsage(client, ctx.now, active, effective));
    });
  }

  async usageHistory(fromDay: string, toDay: string): Promise<UsageDay[]> {
    const rows = await this.#query<UsageDbRow>(
      `SELECT ${USAGE_COLUMNS} FROM usage_daily WHERE day >= $1 AND day <= $2 ORDER BY day`,
      [fromDay, toDay],
    );
    return rows.map(usageFromRow);
  }

  async createToken(token: NewToken, now: Date): Promise<TokenRecord> {
    return this.#write(async (client) => {
      // The bootstrap lock: createBootstrapTokenIfNone must not find "no live token" while this
      // insert is on its way.
      await lockBootstrapToken(client);
      const { rows } = await client.query<TokenDbRow>(
        `INSERT INTO tokens (name, hash, permissions, bootstrap, created_at)
         VALUES ($1, $2, $3::jsonb, false, $4::timestamptz)
         RETURNING ${TOKEN_COLUMNS}`,
        [token.name, token.hash, JSON.stringify(token.permissions), now.toISOString()],
      );
      return tokenFromRow(single(rows));
    });
  }

  async listTokens(): Promise<TokenRecord[]> {
    const rows = await this.#query<TokenDbRow>(
      `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE revoked_at IS NULL ORDER BY id`,
    );
    return rows.map(tokenFromRow);
  }

  async revokeToken(id: number, now: Date): Promise<TokenRecord> {
    const notFound = (): LicensorError => new LicensorError('TOKEN_NOT_FOUND', `no live token with id ${id}`);
    if (!Number.isSafeInteger(id)) throw notFound();
    // One statement: of two concurrent revokes the second re-checks the row after the first and
    // finds it revoked.
    const rows = await this.#query<TokenDbRow>(
      `UPDATE tokens SET revoked_at = $2::timestamptz WHERE id = $1 AND revoked_at IS NULL
       RETURNING ${TOKEN_COLUMNS}`,
      [id, now.toISOString()],
    );
    const row = rows[0];
    if (!row) throw notFound();
    return tokenFromRow(row);
  }

  async appendAudit(entry: NewAuditEntry): Promise<void> {
    await this.#query(
      `INSERT INTO audit_events (at, actor_token_id, actor_name, action, target, outcome, code, client_address)
       VALUES ($1::timestamptz, $2, $3, $4, $5, $6, $7, $8)`,
      [
        entry.at.toISOString(),
        entry.actorTokenId,
        entry.actorName,
        entry.action,
        entry.target,
        entry.outcome,
        entry.code,
        entry.clientAddress,
      ],
    );
  }

  async listAudit(page: { offset: number; size: number }): Promise<{ entries: AuditEntry[]; total: number }> {
    return this.#read(async (client) => {
      const { rows } = await client.query<AuditDbRow>(
        `SELECT ${AUDIT_COLUMNS} FROM audit_events ORDER BY id DESC LIMIT $1 OFFSET $2`,
        [page.size, page.offset],
      );
      const counted = await client.query<{ n: string }>('SELECT count(*) AS n FROM audit_events');
      return { entries: rows.map(auditFromRow), total: Number(single(counted.rows).n) };
    });
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
      const same = await client.query<{ bootstrap: boolean; revoked: boolean }>(
        'SELECT bootstrap, revoked_at IS NOT NULL AS revoked FROM tokens WHERE hash = $1',
        [hash],
      );
      checkBootstrapSecret(same.rows[0]);
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

function userNotFound(id: number): LicensorError {
  return new LicensorError('USER_NOT_FOUND', `no user with id ${id}`);
}

/** The user, its row locked to the end of the transaction; USER_NOT_FOUND when there is none. */
async function lockUser(client: PoolClient, id: number): Promise<UserRecord> {
  if (!Number.isSafeInteger(id)) throw userNotFound(id);
  const { rows } = await client.query<UserDbRow>(
    `SELECT ${USER_COLUMNS} FROM users WHERE id = $1 FOR UPDATE`,
    [id],
  );
  const row = rows[0];
  if (!row) throw userNotFound(id);
  return userFromRow(row);
}

async function refuseTakenUser(client: PoolClient, user: NewUser): Promise<void> {
  const { rows } = await client.query<{ id: string }>(
    'SELECT id FROM users WHERE iamid = $1 AND userid = $2',
    [user.iamid, user.userid],
  );
  const taken = rows[0];
  if (taken)
    throw new LicensorError(
      'USER_ALREADY_EXISTS',
      `user "${user.userid}" of "${user.iamid}" is already registered (id ${taken.id})`,
    );
}

/** What pool.query and a checked-out client have in common. */
interface Queryable {
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/**
 * Active users by type: the counters of the days after the window's first day, plus an index
 * range over that first day alone (only part of it lies inside the window). One statement, so
 * both parts come from one snapshot.
 */
async function activeByType(db: Queryable, since: Date): Promise<Record<UserType, number>> {
  const { rows } = await db.query<{ user_type: UserType; n: string }>(
    `SELECT user_type, sum(n) AS n FROM (
       SELECT user_type, n FROM activity_counts WHERE day > $1
       UNION ALL
       SELECT user_type, count(*) FROM users
       WHERE NOT disabled AND last_activity_at >= $2::timestamptz AND last_activity_at < $3::timestamptz
       GROUP BY user_type
     ) AS parts GROUP BY user_type`,
    [utcDay(since), since.toISOString(), startOfNextUtcDay(since).toISOString()],
  );
  const counts: Record<UserType, number> = { dataConsumer: 0, policyOwner: 0 };
  for (const row of rows) counts[row.user_type] += Number(row.n);
  return counts;
}

function total(counts: Record<UserType, number>): number {
  return counts.dataConsumer + counts.policyOwner;
}

interface CountChange {
  /** The user's last activity; its UTC day is the counter's. */
  at: Date;
  userType: UserType;
  /** +1 or -1. */
  delta: number;
}

/**
 * Moves users in or out of the per-day counters. Changes to one counter are summed first, and the
 * rows are written in (day, type) order in one statement, so that two transactions touching the
 * same two counters lock them in the same order.
 */
async function moveCounts(client: PoolClient, changes: readonly CountChange[]): Promise<void> {
  const sums = new Map<string, { day: string; userType: UserType; n: number }>();
  for (const change of changes) {
    const day = utcDay(change.at);
    const key = `${day} ${change.userType}`;
    const entry = sums.get(key) ?? { day, userType: change.userType, n: 0 };
    entry.n += change.delta;
    sums.set(key, entry);
  }
  const rows = [...sums.values()]
    .filter((r) => r.n !== 0)
    .sort((a, b) => (a.day !== b.day ? (a.day < b.day ? -1 : 1) : a.userType < b.userType ? -1 : 1));
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO activity_counts (day, user_type, n)
     SELECT day, user_type, n FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY
       AS c(day, user_type, n, i)
     ORDER BY i
     ON CONFLICT (day, user_type) DO UPDATE SET n = activity_counts.n + EXCLUDED.n`,
    [rows.map((r) => r.day), rows.map((r) => r.userType), rows.map((r) => r.n)],
  );
}

/** The effective license over the licenses that are not deleted, at `now`. */
async function liveEffective(client: PoolClient, now: Date): Promise<EffectiveLicense> {
  const { rows } = await client.query<LicenseDbRow>(
    `SELECT ${LICENSE_COLUMNS} FROM licenses WHERE NOT deleted`,
  );
  return effectiveLicense(rows.map(licenseFromRow), now);
}

/** Raises today's usage row: the peak never falls, the seats are the latest seen. */
async function raiseUsage(
  client: PoolClient,
  now: Date,
  activeUsers: number,
  effective: EffectiveLicense,
): Promise<UsageDbRow> {
  const { rows } = await client.query<UsageDbRow>(
    `INSERT INTO usage_daily (day, peak_active_users, license_seats, hard_seats) VALUES ($1, $2, $3, $4)
     ON CONFLICT (day) DO UPDATE SET
       peak_active_users = GREATEST(usage_daily.peak_active_users, EXCLUDED.peak_active_users),
       license_seats = EXCLUDED.license_seats, hard_seats = EXCLUDED.hard_seats
     RETURNING ${USAGE_COLUMNS}`,
    [utcDay(now), activeUsers, effective.licenseSeats, effective.hardSeats],
  );
  return single(rows);
}

/** LOCK_SEATS, held to the end of the transaction. Take it after the user row lock, if any. */
async function lockSeats(client: PoolClient): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_STORE, LOCK_SEATS]);
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
async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: PoolClient) => Promise<T>,
  begin = 'BEGIN',
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
    await client.query(begin);
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

/** The name PostgreSQL gave migration 1's UNIQUE (iamid, userid). */
const USERS_UNIQUE = 'users_iamid_userid_key';

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
    if (err.code === '23505' && err.constraint === USERS_UNIQUE)
      return new LicensorError(
        'USER_ALREADY_EXISTS',
        'a user with this iamid and userid is already registered',
        {
          cause: err,
        },
      );
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
