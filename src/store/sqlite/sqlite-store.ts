import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
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
import { checkBootstrapSecret } from '../bootstrap-token.js';
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
import { SQLITE_MIGRATIONS, type Migration } from './sqlite-migrations.js';

export interface SqliteStoreOptions {
  /** Path of the database file, or ':memory:' for tests. */
  filename: string;
  /** How long a writer waits for another process's write lock before giving up. */
  busyTimeoutMs?: number;
}

interface ReadCache {
  /** SQLite's data_version when this was filled; -1 for "refill". */
  version: number;
  licenses?: LicenseRecord[];
  /** Active-user counter sums for the days after `day`. */
  wholeDays?: { day: string; rows: { user_type: UserType; n: number }[] };
  tokens: Map<string, TokenRecord>;
}

const emptyCache = (version: number): ReadCache => ({ version, tokens: new Map() });
const MAX_CACHED_TOKENS = 1000;

const LICENSE_COLUMNS = 'id, uuid, license_key, payload, updated_at, deleted, invalidated';
const TOKEN_COLUMNS = 'id, name, permissions, created_at, revoked_at, bootstrap';
const USER_COLUMNS = 'id, userid, iamid, name, email, user_type, created_at, last_activity_at, disabled';

/**
 * The embedded default store. better-sqlite3 is synchronous, so each method body runs without
 * interleaving inside this process; BEGIN IMMEDIATE takes the database's write lock first, so
 * processes sharing the file see each transaction whole as well.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly #db: Database.Database;

  readonly #statements = new Map<string, Database.Statement>();
  #cache: ReadCache = emptyCache(-1);

  private constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Prepares each statement once: preparing costs more than running the small queries here. */
  #prepare<P extends unknown[] | object = unknown[], R = unknown>(sql: string): Database.Statement<P, R> {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement as unknown as Database.Statement<P, R>;
  }

  /**
   * What every status, entitlement and token check reads, kept between requests. It is dropped
   * when another process commits (SQLite's data_version changes) and after every write of this
   * one, so it is never older than the database.
   */
  #cached(): ReadCache {
    // Through a kept statement: db.pragma() prepares a new one on every call.
    const version = this.#prepare<[], number>('PRAGMA data_version').pluck().get() as number;
    if (version !== this.#cache.version) this.#cache = emptyCache(version);
    return this.#cache;
  }

  #liveLicenses(): LicenseRecord[] {
    const cache = this.#cached();
    cache.licenses ??= this.#prepare<[], LicenseRow>(
      `SELECT ${LICENSE_COLUMNS} FROM licenses WHERE deleted = 0 ORDER BY id`,
    )
      .all()
      .map(licenseFromRow);
    return cache.licenses;
  }

  /** Opens (creating if needed) the database and applies pending migrations. */
  static open(options: SqliteStoreOptions): SqliteStore {
    if (options.filename !== ':memory:') mkdirSync(dirname(options.filename), { recursive: true });
    const db = new Database(options.filename, { timeout: options.busyTimeoutMs ?? 10_000 });
    try {
      db.pragma('journal_mode = WAL');
      // FULL: a transaction acknowledged to a client survives a power cut, not only a crash.
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      // SQLite's lower() folds ASCII only; searches must find "Émile" as PostgreSQL's lower() does.
      db.function('casefold', { deterministic: true }, (text: unknown) =>
        typeof text === 'string' ? text.toLowerCase() : text,
      );
      migrate(db, SQLITE_MIGRATIONS);
    } catch (err) {
      db.close();
      throw err;
    }
    return new SqliteStore(db);
  }

  /** Runs `fn` in a write transaction that holds the lock from its first statement. */
  #write<T>(fn: () => T): T {
    this.#checkOpen();
    try {
      return translate(() => this.#db.transaction(fn).immediate());
    } finally {
      // Reads inside a write come before its own writes; afterwards the cache is stale.
      this.#cache = emptyCache(-1);
    }
  }

  /**
   * Runs reads in one deferred transaction: in WAL mode that is one snapshot, so a count and its
   * page, or the two halves of the active count, cannot straddle another process's commit.
   */
  #read<T>(fn: () => T): T {
    this.#checkOpen();
    return translate(() => this.#db.transaction(fn).deferred());
  }

  #checkOpen(): void {
    if (!this.#db.open) throw new LicensorError('STORE_UNAVAILABLE', 'the database is closed');
  }

  #licensesByUuid(uuid: string): LicenseRecord[] {
    const rows = this.#prepare<[string], LicenseRow>(
      `SELECT ${LICENSE_COLUMNS} FROM licenses WHERE uuid = ? ORDER BY id`,
    ).all(uuid);
    return rows.map(licenseFromRow);
  }

  #licenseById(id: number): LicenseRecord | undefined {
    const row = this.#prepare<[number], LicenseRow>(
      `SELECT ${LICENSE_COLUMNS} FROM licenses WHERE id = ?`,
    ).get(id);
    return row && licenseFromRow(row);
  }

  addLicense(license: NewLicense, now: Date): Promise<LicenseRecord> {
    return settle(() =>
      this.#write(() => {
        const { claims } = license;
        checkCanAdd(claims.uuid, this.#licensesByUuid(claims.uuid));
        const at = now.toISOString();
        const { lastInsertRowid } = this.#prepare(
          `INSERT INTO licenses (uuid, license_key, payload, hard_delete, added_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?)`,
        ).run(
          claims.uuid,
          license.licenseKey,
          JSON.stringify(license.payload),
          claims.hardDelete ? 1 : 0,
          at,
          at,
        );
        const supersede = this.#prepare(
          `UPDATE licenses SET invalidated = 1, updated_at = ?
           WHERE uuid = ? AND deleted = 0 AND invalidated = 0`,
        );
        for (const uuid of claims.supersedes) supersede.run(at, uuid);
        return this.#licenseById(Number(lastInsertRowid)) as LicenseRecord;
      }),
    );
  }

  listLicenses(options: { includeDeleted?: boolean } = {}): Promise<LicenseRecord[]> {
    return settle(() => {
      this.#checkOpen();
      if (!options.includeDeleted) return [...this.#liveLicenses()];
      return this.#read(() =>
        this.#prepare<[], LicenseRow>(`SELECT ${LICENSE_COLUMNS} FROM licenses ORDER BY id`)
          .all()
          .map(licenseFromRow),
      );
    });
  }

  getLicense(id: number): Promise<LicenseRecord | undefined> {
    return settle(() => this.#read(() => this.#licenseById(id)));
  }

  deleteLicense(id: number, now: Date): Promise<LicenseRecord> {
    return settle(() =>
      this.#write(() => {
        const existing = this.#licenseById(id);
        if (!existing || existing.deleted)
          throw new LicensorError('LICENSE_NOT_FOUND', `no license with id ${id}`);
        this.#prepare('UPDATE licenses SET deleted = 1, updated_at = ? WHERE id = ?').run(
          now.toISOString(),
          id,
        );
        return this.#licenseById(id) as LicenseRecord;
      }),
    );
  }

  /**
   * Active users by type: the counters of the days after the window's first day, plus an index
   * range over that first day alone (only part of it lies inside the window).
   */
  #activeByType(since: Date): Record<UserType, number> {
    const counts: Record<UserType, number> = { dataConsumer: 0, policyOwner: 0 };
    const cache = this.#cached();
    const day = utcDay(since);
    if (cache.wholeDays?.day !== day)
      cache.wholeDays = {
        day,
        rows: this.#prepare<[string], { user_type: UserType; n: number }>(
          'SELECT user_type, sum(n) AS n FROM activity_counts WHERE day > ? GROUP BY user_type',
        ).all(day),
      };
    const whole = cache.wholeDays.rows;
    const partial = this.#prepare<[string, string], { user_type: UserType; n: number }>(
      `SELECT user_type, count(*) AS n FROM users
         WHERE disabled = 0 AND last_activity_at >= ? AND last_activity_at < ? GROUP BY user_type`,
    ).all(since.toISOString(), startOfNextUtcDay(since).toISOString());
    for (const row of [...whole, ...partial]) counts[row.user_type] += row.n;
    return counts;
  }

  #activeCount(since: Date): number {
    const counts = this.#activeByType(since);
    return counts.dataConsumer + counts.policyOwner;
  }

  /** Moves a user in or out of the per-day counters; `delta` is +1 or -1. */
  #count(lastActivityAt: Date, userType: UserType, delta: number): void {
    this.#prepare(
      `INSERT INTO activity_counts (day, user_type, n) VALUES (?, ?, ?)
         ON CONFLICT (day, user_type) DO UPDATE SET n = n + excluded.n`,
    ).run(utcDay(lastActivityAt), userType, delta);
  }

  #effective(now: Date): EffectiveLicense {
    return effectiveLicense(this.#liveLicenses(), now);
  }

  /** Takes a seat or refuses (SEAT_LIMIT_REACHED); raises today's usage row with the new count. */
  #claimSeat(ctx: SeatContext): void {
    const effective = this.#effective(ctx.now);
    const active = this.#activeCount(ctx.activeSince);
    checkSeatAvailable(active, effective.licenseSeats);
    this.#raiseUsage(ctx.now, active + 1, effective);
  }

  #raiseUsage(now: Date, activeUsers: number, effective: EffectiveLicense): void {
    this.#prepare(
      `INSERT INTO usage_daily (day, peak_active_users, license_seats, hard_seats) VALUES (?, ?, ?, ?)
         ON CONFLICT (day) DO UPDATE SET
           peak_active_users = max(peak_active_users, excluded.peak_active_users),
           license_seats = excluded.license_seats, hard_seats = excluded.hard_seats`,
    ).run(utcDay(now), activeUsers, effective.licenseSeats, effective.hardSeats);
  }

  #user(id: number): UserRecord {
    const row = this.#prepare<[number], UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`).get(id);
    if (!row) throw new LicensorError('USER_NOT_FOUND', `no user with id ${id}`);
    return userFromRow(row);
  }

  countActiveUsers(activeSince: Date): Promise<number> {
    return settle(() => this.#read(() => this.#activeCount(activeSince)));
  }

  createUser(user: NewUser, ctx: SeatContext): Promise<UserRecord> {
    return settle(() =>
      this.#write(() => {
        const taken = this.#prepare<[string, string], { id: number }>(
          'SELECT id FROM users WHERE iamid = ? AND userid = ?',
        ).get(user.iamid, user.userid);
        if (taken)
          throw new LicensorError(
            'USER_ALREADY_EXISTS',
            `user "${user.userid}" of "${user.iamid}" is already registered (id ${taken.id})`,
          );
        this.#claimSeat(ctx);
        const at = ctx.now.toISOString();
        const { lastInsertRowid } = this.#prepare(
          `INSERT INTO users (iamid, userid, name, email, user_type, created_at, last_activity_at, disabled)
             VALUES (?, ?, ?, ?, ?, ?, ?, 0)`,
        ).run(user.iamid, user.userid, user.name, user.email, user.userType, at, at);
        this.#count(ctx.now, user.userType, +1);
        return this.#user(Number(lastInsertRowid));
      }),
    );
  }

  recordActivity(id: number, ctx: SeatContext): Promise<{ user: UserRecord; seatTaken: boolean }> {
    return settle(() =>
      this.#write(() => {
        const user = this.#user(id);
        if (user.disabled)
          throw new LicensorError('USER_DISABLED', `user ${id} is disabled; enable it first`);
        const seatTaken = user.lastActivityAt < ctx.activeSince;
        if (seatTaken) this.#claimSeat(ctx);
        this.#prepare('UPDATE users SET last_activity_at = ? WHERE id = ?').run(ctx.now.toISOString(), id);
        if (utcDay(user.lastActivityAt) !== utcDay(ctx.now)) {
          this.#count(user.lastActivityAt, user.userType, -1);
          this.#count(ctx.now, user.userType, +1);
        }
        return { user: this.#user(id), seatTaken };
      }),
    );
  }

  updateUser(id: number, patch: UserPatch, ctx: SeatContext): Promise<UserRecord> {
    return settle(() =>
      this.#write(() => {
        const user = this.#user(id);
        const next = {
          name: patch.name === undefined ? user.name : patch.name,
          email: patch.email === undefined ? user.email : patch.email,
          userType: patch.userType ?? user.userType,
          disabled: patch.disabled ?? user.disabled,
        };
        if (user.disabled && !next.disabled && user.lastActivityAt >= ctx.activeSince) this.#claimSeat(ctx);
        this.#prepare('UPDATE users SET name = ?, email = ?, user_type = ?, disabled = ? WHERE id = ?').run(
          next.name,
          next.email,
          next.userType,
          next.disabled ? 1 : 0,
          id,
        );
        if (user.disabled !== next.disabled || user.userType !== next.userType) {
          if (!user.disabled) this.#count(user.lastActivityAt, user.userType, -1);
          if (!next.disabled) this.#count(user.lastActivityAt, next.userType, +1);
        }
        return this.#user(id);
      }),
    );
  }

  deleteUser(id: number, _ctx: SeatContext): Promise<UserRecord> {
    return settle(() =>
      this.#write(() => {
        const user = this.#user(id);
        this.#prepare('DELETE FROM users WHERE id = ?').run(id);
        if (!user.disabled) this.#count(user.lastActivityAt, user.userType, -1);
        return user;
      }),
    );
  }

  getUser(id: number): Promise<UserRecord | undefined> {
    return settle(() =>
      this.#read(() => {
        const row = this.#prepare<[number], UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`).get(
          id,
        );
        return row && userFromRow(row);
      }),
    );
  }

  listUsers(query: UserQuery): Promise<{ users: UserRecord[]; total: number }> {
    return settle(() =>
      this.#read(() => {
        const where: string[] = [];
        const params: (string | number)[] = [];
        if (query.active === true) {
          where.push('disabled = 0 AND last_activity_at >= ?');
          params.push(query.activeSince.toISOString());
        } else if (query.active === false) {
          where.push('(disabled = 1 OR last_activity_at < ?)');
          params.push(query.activeSince.toISOString());
        }
        if (query.search !== undefined && query.search !== '') {
          where.push(
            "(casefold(userid) LIKE ? ESCAPE '\\' OR casefold(name) LIKE ? ESCAPE '\\' OR casefold(email) LIKE ? ESCAPE '\\')",
          );
          const pattern = likePattern(query.search);
          params.push(pattern, pattern, pattern);
        }
        const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
        const total = (
          this.#prepare(`SELECT count(*) AS n FROM users ${clause}`).get(...params) as { n: number }
        ).n;
        const users = this.#prepare<(string | number)[], UserRow>(
          `SELECT ${USER_COLUMNS} FROM users ${clause} ORDER BY id LIMIT ? OFFSET ?`,
        )
          .all(...params, query.size, query.offset)
          .map(userFromRow);
        return { users, total };
      }),
    );
  }

  usageSummary(activeSince: Date): Promise<UsageSummary> {
    return settle(() =>
      this.#read(() => {
        const totals: Record<UserType, number> = { dataConsumer: 0, policyOwner: 0 };
        const rows = this.#prepare<[], { user_type: UserType; n: number }>(
          'SELECT user_type, count(*) AS n FROM users GROUP BY user_type',
        ).all();
        for (const row of rows) totals[row.user_type] = row.n;
        const active = this.#activeByType(activeSince);
        const [dataConsumer, policyOwner] = USER_TYPES.map((type) => ({
          totalCount: totals[type],
          activeCount: active[type],
        })) as [UsageSummary['dataConsumers'], UsageSummary['policyOwners']];
        return { dataConsumers: dataConsumer, policyOwners: policyOwner };
      }),
    );
  }

  recordUsage(ctx: SeatContext): Promise<UsageDay> {
    return settle(() =>
      this.#write(() => {
        this.#raiseUsage(ctx.now, this.#activeCount(ctx.activeSince), this.#effective(ctx.now));
        return usageFromRow(
          this.#prepare<[string], UsageRow>('SELECT * FROM usage_daily WHERE day = ?').get(
            utcDay(ctx.now),
          ) as UsageRow,
        );
      }),
    );
  }

  usageHistory(fromDay: string, toDay: string): Promise<UsageDay[]> {
    return settle(() =>
      this.#read(() =>
        this.#prepare<[string, string], UsageRow>(
          'SELECT * FROM usage_daily WHERE day >= ? AND day <= ? ORDER BY day',
        )
          .all(fromDay, toDay)
          .map(usageFromRow),
      ),
    );
  }

  createToken(token: NewToken, now: Date): Promise<TokenRecord> {
    return settle(() =>
      this.#write(() => {
        const { lastInsertRowid } = this.#prepare(
          'INSERT INTO tokens (name, hash, permissions, bootstrap, created_at) VALUES (?, ?, ?, 0, ?)',
        ).run(token.name, token.hash, JSON.stringify(token.permissions), now.toISOString());
        return this.#token(Number(lastInsertRowid)) as TokenRecord;
      }),
    );
  }

  #token(id: number): TokenRecord | undefined {
    const row = this.#prepare<[number], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE id = ?`).get(id);
    return row && tokenFromRow(row);
  }

  listTokens(): Promise<TokenRecord[]> {
    return settle(() =>
      this.#read(() =>
        this.#prepare<[], TokenRow>(
          `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE revoked_at IS NULL ORDER BY id`,
        )
          .all()
          .map(tokenFromRow),
      ),
    );
  }

  revokeToken(id: number, now: Date): Promise<TokenRecord> {
    return settle(() =>
      this.#write(() => {
        const token = this.#token(id);
        if (!token || token.revokedAt !== null)
          throw new LicensorError('TOKEN_NOT_FOUND', `no live token with id ${id}`);
        this.#prepare('UPDATE tokens SET revoked_at = ? WHERE id = ?').run(now.toISOString(), id);
        return this.#token(id) as TokenRecord;
      }),
    );
  }

  appendAudit(entry: NewAuditEntry): Promise<void> {
    return settle(() =>
      this.#write(() => {
        this.#prepare(
          `INSERT INTO audit_events (at, actor_token_id, actor_name, action, target, outcome, code, client_address)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          entry.at.toISOString(),
          entry.actorTokenId,
          entry.actorName,
          entry.action,
          entry.target,
          entry.outcome,
          entry.code,
          entry.clientAddress,
        );
      }),
    );
  }

  listAudit(page: { offset: number; size: number }): Promise<{ entries: AuditEntry[]; total: number }> {
    return settle(() =>
      this.#read(() => ({
        entries: this.#prepare<[number, number], AuditRow>(
          'SELECT * FROM audit_events ORDER BY id DESC LIMIT ? OFFSET ?',
        )
          .all(page.size, page.offset)
          .map(auditFromRow),
        total: (this.#prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number }).n,
      })),
    );
  }

  findTokenByHash(hash: string): Promise<TokenRecord | undefined> {
    return settle(() => {
      this.#checkOpen();
      // A hit needs no transaction: the cache is only kept while no other process has committed.
      const known = this.#cached().tokens.get(hash);
      if (known) return known;
      return this.#read(() => {
        const row = this.#prepare<[string], TokenRow>(
          `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash = ? AND revoked_at IS NULL`,
        ).get(hash);
        const token = row && tokenFromRow(row);
        // Only tokens that exist are kept: unknown guesses must not fill memory.
        const cache = this.#cached();
        if (token && cache.tokens.size < MAX_CACHED_TOKENS) cache.tokens.set(hash, token);
        return token;
      });
    });
  }

  setBootstrapToken(hash: string, now: Date): Promise<TokenRecord> {
    return settle(() =>
      this.#write(() => {
        const at = now.toISOString();
        const same = this.#prepare<[string], { id: number; bootstrap: number; revoked_at: string | null }>(
          'SELECT id, bootstrap, revoked_at FROM tokens WHERE hash = ?',
        ).get(hash);
        checkBootstrapSecret(same && { bootstrap: same.bootstrap === 1, revoked: same.revoked_at !== null });
        const current = this.#prepare<[], { id: number }>(
          'SELECT id FROM tokens WHERE bootstrap = 1 AND revoked_at IS NULL',
        ).get();
        if (current) this.#prepare('UPDATE tokens SET hash = ? WHERE id = ?').run(hash, current.id);
        else this.#insertBootstrap(hash, at);
        return tokenFromRow(
          this.#prepare<[string], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash = ?`).get(
            hash,
          ) as TokenRow,
        );
      }),
    );
  }

  createBootstrapTokenIfNone(hash: string, now: Date): Promise<boolean> {
    return settle(() =>
      this.#write(() => {
        const live = this.#prepare<[], { n: number }>(
          'SELECT count(*) AS n FROM tokens WHERE revoked_at IS NULL',
        ).get() as { n: number };
        if (live.n > 0) return false;
        this.#insertBootstrap(hash, now.toISOString());
        return true;
      }),
    );
  }

  #insertBootstrap(hash: string, at: string): void {
    this.#prepare(
      `INSERT INTO tokens (name, hash, permissions, bootstrap, created_at)
         VALUES ('bootstrap administrator', ?, '["APPLICATION_ADMIN"]', 1, ?)`,
    ).run(hash, at);
  }

  ping(): Promise<void> {
    return settle(() => {
      this.#read(() => this.#prepare('SELECT 1').get());
    });
  }

  close(): Promise<void> {
    if (this.#db.open) this.#db.close();
    return Promise.resolve();
  }
}

/** Runs synchronous work and hands its outcome back as a promise, as the Store interface asks. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/** Maps SQLite failures to the store's codes; refusals from the domain pass through unchanged. */
function translate<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof Database.SqliteError) {
      if (err.code === 'SQLITE_CONSTRAINT_UNIQUE' && err.message.includes('licenses.uuid'))
        throw new LicensorError('LICENSE_ALREADY_EXISTS', 'a license with this uuid is already added', {
          cause: err,
        });
      if (err.code.startsWith('SQLITE_BUSY') || err.code.startsWith('SQLITE_LOCKED'))
        throw new LicensorError('STORE_UNAVAILABLE', 'the database is busy; try again', { cause: err });
    }
    throw err;
  }
}

/**
 * Applies pending migrations in one write transaction, so two processes starting on one file apply
 * each exactly once. Refuses a database written by a newer Licensor.
 */
function migrate(db: Database.Database, migrations: readonly Migration[]): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  db.transaction(() => {
    const row = db.prepare<[], { v: number | null }>('SELECT max(version) AS v FROM schema_migrations').get();
    const current = row?.v ?? 0;
    const latest = migrations.at(-1)?.version ?? 0;
    if (current > latest)
      throw new Error(
        `the database schema is version ${current}, newer than this Licensor knows (${latest}); upgrade Licensor`,
      );
    for (const m of migrations) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        new Date().toISOString(),
      );
    }
  }).immediate();
}
