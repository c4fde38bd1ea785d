import type { PoolClient } from 'pg';
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
  id: string;
  iamid: string;
  userid: string;
  name: string | null;
  email: string | null;
}

/**
 * Migration 4's step in JavaScript (docs/users.md#migration), as sqlite-identity-backfill.ts does
 * it: fills users.identity_key and users.search_text as domain/user-identity.ts computes them,
 * refuses to go on when two users share a key (naming them; nothing is merged), then stores userid
 * and iamid in NFC and makes the key unique and required. Runs inside the migration's transaction,
 * under the migration lock: a refusal leaves the database as it was.
 */
export async function backfillPostgresIdentity(client: PoolClient): Promise<void> {
  const renames: IdentityHolder[] = [];
  for (let after = 0; ;) {
    const { rows } = await client.query<LegacyRow>(
      'SELECT id, iamid, userid, name, email FROM users WHERE id > $1 ORDER BY id LIMIT $2',
      [after, BATCH],
    );
    const last = rows.at(-1);
    if (last === undefined) break;
    const ids: string[] = [];
    const keys: string[] = [];
    const texts: string[] = [];
    for (const row of rows) {
      const next = migratedIdentity(row);
      ids.push(row.id);
      keys.push(next.identityKey);
      texts.push(next.searchText);
      if (next.iamid !== row.iamid || next.userid !== row.userid)
        renames.push({ id: Number(row.id), iamid: next.iamid, userid: next.userid });
    }
    await client.query(
      `UPDATE users SET identity_key = v.identity_key, search_text = v.search_text
         FROM unnest($1::bigint[], $2::text[], $3::text[]) AS v(id, identity_key, search_text)
         WHERE users.id = v.id`,
      [ids, keys, texts],
    );
    after = Number(last.id);
  }
  const { rows: shared } = await client.query<{ id: string; iamid: string; userid: string }>(
    `SELECT id, iamid, userid FROM users WHERE identity_key IN
       (SELECT identity_key FROM users GROUP BY identity_key HAVING count(*) > 1) ORDER BY id`,
  );
  const groups = identityCollisions(shared.map((row) => ({ ...row, id: Number(row.id) })));
  if (groups.length > 0) throw new IdentityCollisionError(identityCollisionMessage(groups));
  for (const user of renames)
    await client.query('UPDATE users SET iamid = $1, userid = $2 WHERE id = $3', [
      user.iamid,
      user.userid,
      user.id,
    ]);
  await client.query(`ALTER TABLE users ALTER COLUMN identity_key SET NOT NULL;
    CREATE UNIQUE INDEX users_identity_key ON users (identity_key)`);
}
