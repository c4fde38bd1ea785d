import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/sqlite-migrations.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { usagePeaksMigrationCases, type LegacyDay, type V8Database } from './usage-peaks-migration.case.js';

/** A file as Licensor at schema version 8 left it, with `days` of usage history. */
function buildV8(days: LegacyDay[]): Promise<V8Database> {
  const dir = mkdtempSync(join(tmpdir(), 'licensor-peaks-'));
  const filename = join(dir, 'licensor.sqlite');
  const db = new Database(filename);
  db.exec(`CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  for (const m of SQLITE_MIGRATIONS.filter((m) => m.version <= 8)) {
    db.exec(m.sql);
    m.run?.(db);
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, '2026-01-01')").run(
      m.version,
      m.name,
    );
  }
  const insert = db.prepare(
    'INSERT INTO usage_daily (day, peak_active_users, license_seats, hard_seats) VALUES (?, ?, ?, ?)',
  );
  for (const d of days) insert.run(d.day, d.peakActiveUsers, d.licenseSeats, d.hardSeats);
  db.close();
  return Promise.resolve({
    open: async () => SqliteStore.open({ filename, activityWindowDays: 30 }),
    version: () => {
      const d = new Database(filename);
      try {
        return Promise.resolve(
          (d.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v,
        );
      } finally {
        d.close();
      }
    },
    drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  });
}

usagePeaksMigrationCases('SqliteStore', buildV8);
