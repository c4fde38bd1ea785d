import type Database from 'better-sqlite3';
import { newInstanceIdentity, type InstanceIdentity } from '../instance-identity.js';

interface IdentityRow {
  instance_id: string;
  created_at: string;
}

interface KeyRow {
  private_key: string;
  public_x: string;
  created_at: string;
}

/**
 * Creates the instance identity unless the database has one: the insert does nothing when another
 * process got there first, and its key is written only with the row that won, in one write
 * transaction (docs/instance-identity.md#creation).
 */
export function ensureSqliteInstanceIdentity(db: Database.Database, now: Date): void {
  const candidate = newInstanceIdentity(now);
  db.transaction(() => {
    const inserted = db
      .prepare(
        'INSERT INTO instance_identity (id, instance_id, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING',
      )
      .run(candidate.instanceId, now.toISOString());
    if (inserted.changes === 0) return;
    db.prepare('INSERT INTO instance_keys (private_key, public_x, created_at) VALUES (?, ?, ?)').run(
      candidate.key.privateKeyPem,
      candidate.key.publicX,
      candidate.key.createdAt.toISOString(),
    );
  }).immediate();
}

/** The stored identity; call inside a read transaction. */
export function readSqliteInstanceIdentity(db: Database.Database): InstanceIdentity {
  const row = db
    .prepare<[], IdentityRow>('SELECT instance_id, created_at FROM instance_identity WHERE id = 1')
    .get();
  const keys = db
    .prepare<[], KeyRow>(
      'SELECT private_key, public_x, created_at FROM instance_keys ORDER BY created_at, id',
    )
    .all();
  if (!row || keys.length === 0) throw new Error('the instance identity is missing');
  return {
    instanceId: row.instance_id,
    createdAt: new Date(row.created_at),
    keys: keys.map((k) => ({
      privateKeyPem: k.private_key,
      publicX: k.public_x,
      createdAt: new Date(k.created_at),
    })),
  };
}
