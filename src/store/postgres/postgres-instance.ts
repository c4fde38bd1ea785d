import type { PoolClient } from 'pg';
import { newInstanceIdentity, type InstanceIdentity } from '../instance-identity.js';

/**
 * Creates the instance identity unless the database has one, in one statement: the identity row's
 * insert does nothing when another instance got there first (it waits for that one's commit), and
 * the key is written only with the row that won. Several instances starting at once therefore keep
 * one identity (docs/instance-identity.md#creation).
 */
export async function ensurePostgresInstanceIdentity(client: PoolClient, now: Date): Promise<void> {
  const candidate = newInstanceIdentity(now);
  await client.query(
    `WITH won AS (
       INSERT INTO instance_identity (id, instance_id, created_at) VALUES (1, $1, $2)
       ON CONFLICT (id) DO NOTHING RETURNING id)
     INSERT INTO instance_keys (private_key, public_x, created_at)
       SELECT $3, $4, $2 FROM won`,
    [candidate.instanceId, now, candidate.key.privateKeyPem, candidate.key.publicX],
  );
}

/** The stored identity. */
export async function readPostgresInstanceIdentity(client: PoolClient): Promise<InstanceIdentity> {
  const identity = await client.query<{ instance_id: string; created_at: Date }>(
    'SELECT instance_id, created_at FROM instance_identity WHERE id = 1',
  );
  const keys = await client.query<{ private_key: string; public_x: string; created_at: Date }>(
    'SELECT private_key, public_x, created_at FROM instance_keys ORDER BY created_at, id',
  );
  const row = identity.rows[0];
  if (!row || keys.rows.length === 0) throw new Error('the instance identity is missing');
  return {
    instanceId: row.instance_id,
    createdAt: row.created_at,
    keys: keys.rows.map((k) => ({
      privateKeyPem: k.private_key,
      publicX: k.public_x,
      createdAt: k.created_at,
    })),
  };
}
