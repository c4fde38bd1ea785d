import type Database from 'better-sqlite3';
import {
  IdentityCollisionError,
  identityCollisionMessage,
  identityCollisions,
  migratedIdentity,
  type IdentityHolder,
} from '../../domain/user-identity.js';

/** Users read and written at a time, so a million users never sit in memory at once. */
const BATCH = 1000;

interface LegacyRow {
  id: number;
  iamid: string;
  userid: string;
  name: string | null;
  email: string | null;
}

/**
 * Migration 4's step in JavaScript (docs/users.md#migration): fills users.identity_key and
 * users.search_text as domain/user-identity.ts computes them, refuses to go on when two users
 * share a key (naming them; nothing is merged), then stores userid and iamid in NFC and makes the
 * key unique. Runs inside the migration's transaction: a refusal leaves the database as it was.
 */
export function backfillSqliteIdentity(db: Database.Database): void {
  const read = db.prepare<[number, number], LegacyRow>(
    'SELECT id, iamid, userid, name, email FROM users WHERE id > ? ORDER BY id LIMIT ?',
  );
  const write = db.prepare<[string, string, number]>(
    'UPDATE users SET identity_key = ?, search_text = ? WHERE id = ?',
  );
  const renames: IdentityHolder[] = [];
  for (let after = 0; ;) {
    const rows = read.all(after, BATCH);
    const last = rows.at(-1);
    if (last === undefined) break;
    for (const row of rows) {
      const next = migratedIdentity(row);
      write.run(next.identityKey, next.searchText, row.id);
      if (next.iamid !== row.iamid || next.userid !== row.userid)
        renames.push({ id: row.id, iamid: next.iamid, userid: next.userid });
    }
    after = last.id;
  }
  const shared = db
    .prepare<[], IdentityHolder>(
      `SELECT id, iamid, userid FROM users WHERE identity_key IN
         (SELECT identity_key FROM users GROUP BY identity_key HAVING count(*) > 1) ORDER BY id`,
    )
    .all();
  const groups = identityCollisions(shared);
  if (groups.length > 0) throw new IdentityCollisionError(identityCollisionMessage(groups));
  const rename = db.prepare<[string, string, number]>('UPDATE users SET iamid = ?, userid = ? WHERE id = ?');
  for (const user of renames) rename.run(user.iamid, user.userid, user.id);
  db.exec('CREATE UNIQUE INDEX users_identity_key ON users (identity_key)');
}
