import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { LicensorError } from '../../domain/errors.js';
import { checkCanAdd, type LicenseRecord } from '../../domain/license.js';
import { licenseFromRow, tokenFromRow, type LicenseRow, type TokenRow } from '../rows.js';
import type { NewLicense, Store, TokenRecord } from '../store.js';
import { SQLITE_MIGRATIONS, type Migration } from './sqlite-migrations.js';

export interface SqliteStoreOptions {
  /** Path of the database file, or ':memory:' for tests. */
  filename: string;
  /** How long a writer waits for another process's write lock before giving up. */
  busyTimeoutMs?: number;
}

const LICENSE_COLUMNS = 'id, uuid, license_key, payload, updated_at, deleted, invalidated';
const TOKEN_COLUMNS = 'id, name, permissions, created_at, revoked_at, bootstrap';

/**
 * The embedded default store. better-sqlite3 is synchronous, so each method body runs without
 * interleaving inside this process; BEGIN IMMEDIATE takes the database's write lock first, so
 * processes sharing the file see each transaction whole as well.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly #db: Database.Database;

  private constructor(db: Database.Database) {
    this.#db = db;
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
      migrate(db, SQLITE_MIGRATIONS);
    } catch (err) {
      db.close();
      throw err;
    }
    return new SqliteStore(db);
  }

  /** Runs `fn` in a write transaction that holds the lock from its first statement. */
  #write<T>(fn: () => T): T {
    return translate(() => this.#db.transaction(fn).immediate());
  }

  #read<T>(fn: () => T): T {
    return translate(fn);
  }

  #licensesByUuid(uuid: string): LicenseRecord[] {
    const rows = this.#db
      .prepare<[string], LicenseRow>(`SELECT ${LICENSE_COLUMNS} FROM licenses WHERE uuid = ? ORDER BY id`)
      .all(uuid);
    return rows.map(licenseFromRow);
  }

  #licenseById(id: number): LicenseRecord | undefined {
    const row = this.#db
      .prepare<[number], LicenseRow>(`SELECT ${LICENSE_COLUMNS} FROM licenses WHERE id = ?`)
      .get(id);
    return row && licenseFromRow(row);
  }

  addLicense(license: NewLicense, now: Date): Promise<LicenseRecord> {
    return settle(() =>
      this.#write(() => {
        const { claims } = license;
        checkCanAdd(claims.uuid, this.#licensesByUuid(claims.uuid));
        const at = now.toISOString();
        const { lastInsertRowid } = this.#db
          .prepare(
            `INSERT INTO licenses (uuid, license_key, payload, hard_delete, added_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?)`,
          )
          .run(
            claims.uuid,
            license.licenseKey,
            JSON.stringify(license.payload),
            claims.hardDelete ? 1 : 0,
            at,
            at,
          );
        const supersede = this.#db.prepare(
          `UPDATE licenses SET invalidated = 1, updated_at = ?
           WHERE uuid = ? AND deleted = 0 AND invalidated = 0`,
        );
        for (const uuid of claims.supersedes) supersede.run(at, uuid);
        return this.#licenseById(Number(lastInsertRowid)) as LicenseRecord;
      }),
    );
  }

  listLicenses(options: { includeDeleted?: boolean } = {}): Promise<LicenseRecord[]> {
    return settle(() =>
      this.#read(() =>
        this.#db
          .prepare<[], LicenseRow>(
            `SELECT ${LICENSE_COLUMNS} FROM licenses ${options.includeDeleted ? '' : 'WHERE deleted = 0'} ORDER BY id`,
          )
          .all()
          .map(licenseFromRow),
      ),
    );
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
        this.#db
          .prepare('UPDATE licenses SET deleted = 1, updated_at = ? WHERE id = ?')
          .run(now.toISOString(), id);
        return this.#licenseById(id) as LicenseRecord;
      }),
    );
  }

  countActiveUsers(activeSince: Date): Promise<number> {
    return settle(() =>
      this.#read(
        () =>
          (
            this.#db
              .prepare<[string], { n: number }>(
                'SELECT count(*) AS n FROM users WHERE disabled = 0 AND last_activity_at >= ?',
              )
              .get(activeSince.toISOString()) as { n: number }
          ).n,
      ),
    );
  }

  findTokenByHash(hash: string): Promise<TokenRecord | undefined> {
    return settle(() =>
      this.#read(() => {
        const row = this.#db
          .prepare<[string], TokenRow>(
            `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash = ? AND revoked_at IS NULL`,
          )
          .get(hash);
        return row && tokenFromRow(row);
      }),
    );
  }

  setBootstrapToken(hash: string, now: Date): Promise<TokenRecord> {
    return settle(() =>
      this.#write(() => {
        const at = now.toISOString();
        const current = this.#db
          .prepare<[], { id: number }>('SELECT id FROM tokens WHERE bootstrap = 1 AND revoked_at IS NULL')
          .get();
        if (current) this.#db.prepare('UPDATE tokens SET hash = ? WHERE id = ?').run(hash, current.id);
        else this.#insertBootstrap(hash, at);
        return tokenFromRow(
          this.#db
            .prepare<[string], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash = ?`)
            .get(hash) as TokenRow,
        );
      }),
    );
  }

  createBootstrapTokenIfNone(hash: string, now: Date): Promise<boolean> {
    return settle(() =>
      this.#write(() => {
        const live = this.#db
          .prepare<[], { n: number }>('SELECT count(*) AS n FROM tokens WHERE revoked_at IS NULL')
          .get() as { n: number };
        if (live.n > 0) return false;
        this.#insertBootstrap(hash, now.toISOString());
        return true;
      }),
    );
  }

  #insertBootstrap(hash: string, at: string): void {
    this.#db
      .prepare(
        `INSERT INTO tokens (name, hash, permissions, bootstrap, created_at)
         VALUES ('bootstrap administrator', ?, '["APPLICATION_ADMIN"]', 1, ?)`,
      )
      .run(hash, at);
  }

  ping(): Promise<void> {
    return settle(() => {
      this.#read(() => this.#db.prepare('SELECT 1').get());
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
