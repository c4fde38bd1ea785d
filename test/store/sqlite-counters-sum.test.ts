/**
 * The SQLite store keeps the sum of the window's activity counters between changes under the write
 * lock (SqliteQueries.countersAfter; docs/performance.md#license-adds). The sum must always be the
 * database's: after another connection's commit, after this connection's own counter moves, and
 * after a transaction that moved counters rolled back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteQueries } from '../../src/store/sqlite/sqlite-queries.js';
import { migrate, SQLITE_MIGRATIONS } from '../../src/store/sqlite/sqlite-migrations.js';

const FIRST_DAY = '2026-05-01';
const LATER_DAY = '2026-05-20';

describe('SqliteQueries.countersAfter under the write lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'licensor-counters-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function open(name: string): { db: Database.Database; q: SqliteQueries } {
    const db = new Database(join(dir, name));
    db.pragma('journal_mode = WAL');
    migrate(db, SQLITE_MIGRATIONS);
    return { db, q: new SqliteQueries(db) };
  }

  /** countersAfter in a write transaction, as the store's changes call it. */
  const sumUnderLock = (db: Database.Database, q: SqliteQueries): number => {
    const counts = db.transaction(() => q.underWriteLock(() => q.countersAfter(FIRST_DAY))).immediate();
    return counts.dataConsumer + counts.policyOwner;
  };

  it('answers what the database holds after moves, rollbacks and other connections', () => {
    const a = open('shared.sqlite');
    // A second connection to the same file (its migrations are already applied).
    const b = open('shared.sqlite');
    try {
      assert.equal(sumUnderLock(a.db, a.q), 0);

      // This connection's own move, committed.
      a.db
        .transaction(() =>
          a.q.underWriteLock(() => a.q.moveCounter({ day: LATER_DAY, userType: 'dataConsumer', delta: 1 })),
        )
        .immediate();
      assert.equal(sumUnderLock(a.db, a.q), 1, 'after its own move');

      // A move, then the sum (which includes it), then the transaction rolls back: the sum kept
      // must not be the rolled-back one.
      assert.throws(() =>
        a.db
          .transaction(() =>
            a.q.underWriteLock(() => {
              a.q.moveCounter({ day: LATER_DAY, userType: 'policyOwner', delta: 5 });
              const inside = a.q.countersAfter(FIRST_DAY);
              assert.equal(inside.dataConsumer + inside.policyOwner, 6, 'the transaction sees its move');
              throw new Error('roll back');
            }),
          )
          .immediate(),
      );
      assert.equal(sumUnderLock(a.db, a.q), 1, 'after a rolled-back move');

      // Another connection's commit.
      b.db
        .transaction(() => b.q.moveCounter({ day: LATER_DAY, userType: 'dataConsumer', delta: 2 }))
        .immediate();
      assert.equal(sumUnderLock(a.db, a.q), 3, "after another connection's move");
    } finally {
      a.db.close();
      b.db.close();
    }
  });
});
