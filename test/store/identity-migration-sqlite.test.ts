import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/sqlite-migrations.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import {
  identityMigrationCases,
  type LegacyUser,
  type StoredIdentity,
  type V3Database,
} from './identity-migration.case.js';

const LAST_ACTIVITY = '2026-05-31T12:00:00.000Z';

/** A file as Licensor at schema version 3 left it: users written after migration 1, as they were then. */
function buildV3(users: LegacyUser[]): Promise<V3Database> {
  const dir = mkdtempSync(join(tmpdir(), 'licensor-identity-'));
  const filename = join(dir, 'licensor.sqlite');
  const db = new Database(filename);
  db.exec(`CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const apply = (index: number): void => {
    const m = SQLITE_MIGRATIONS[index]!;
    db.exec(m.sql);
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, '2026-01-01')").run(
      m.version,
      m.name,
    );
  };
  apply(0);
  const insert = db.prepare(
    `INSERT INTO users (iamid, userid, name, email, created_at, last_activity_at, disabled)
     VALUES (?, ?, ?, ?, '2026-01-01T00:00:00.000Z', ?, ?)`,
  );
  for (const u of users)
    insert.run(u.iamid, u.userid, u.name ?? null, u.email ?? null, LAST_ACTIVITY, u.disabled ? 1 : 0);
  apply(1);
  apply(2);
  db.close();
  const withDb = <T>(fn: (d: Database.Database) => T): T => {
    const d = new Database(filename);
    try {
      return fn(d);
    } finally {
      d.close();
    }
  };
  return Promise.resolve({
    // async: an open that throws is a rejection, as PostgreSQL's is.
    open: async () => SqliteStore.open({ filename, activityWindowDays: 30 }),
    exec: (sql) => Promise.resolve(withDb((d) => void d.exec(sql))),
    version: () =>
      Promise.resolve(
        withDb(
          (d) => (d.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v,
        ),
      ),
    users: () =>
      Promise.resolve(
        withDb((d) => {
          const columns = d.prepare("SELECT name FROM pragma_table_info('users')").pluck().all() as string[];
          const extra = columns.includes('identity_key')
            ? 'identity_key, search_text'
            : 'NULL AS identity_key, NULL AS search_text';
          return d
            .prepare(`SELECT id, iamid, userid, ${extra} FROM users ORDER BY id`)
            .all() as StoredIdentity[];
        }),
      ),
    drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  });
}

identityMigrationCases('SqliteStore', buildV3);
