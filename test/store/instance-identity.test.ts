import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { InstanceSigner } from '../../src/keys/instance-signer.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { postgresSkipReason, TEST_DATABASE_URL, withSchema, withTestClient } from '../helpers/postgres.js';

const skip = await postgresSkipReason();

describe('instance identity in PostgreSQL', { skip }, () => {
  it('several instances starting at once on one new database keep one identity and one key', async () => {
    await withSchema(async (schema) => {
      const stores = await Promise.all(
        Array.from({ length: 4 }, () => PostgresStore.open({ url: TEST_DATABASE_URL, schema, poolMax: 2 })),
      );
      try {
        const identities = await Promise.all(stores.map((s) => s.instanceIdentity()));
        for (const identity of identities) assert.deepEqual(identity, identities[0]);
        assert.equal(identities[0]?.keys.length, 1);
        const rows = await withTestClient((c) =>
          c.query(`SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(schema)}.instance_keys`),
        );
        assert.equal(rows.rows[0].n, 1, 'one key row: only the instance whose identity won wrote its key');
        // A later start finds it and keeps it.
        const later = await PostgresStore.open({ url: TEST_DATABASE_URL, schema, poolMax: 2 });
        try {
          assert.deepEqual(await later.instanceIdentity(), identities[0]);
        } finally {
          await later.close();
        }
        const signer = new InstanceSigner(identities[0]);
        assert.equal(signer.jwks().keys.length, 1);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });
  });
});

describe('instance identity in SQLite', () => {
  it('is created once and found again by every later open of the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'licensor-identity-'));
    try {
      const filename = join(dir, 'licensor.sqlite');
      const first = SqliteStore.open({ filename });
      const second = SqliteStore.open({ filename });
      const [a, b] = await Promise.all([first.instanceIdentity(), second.instanceIdentity()]);
      assert.deepEqual(a, b);
      assert.equal(a.keys.length, 1);
      await Promise.all([first.close(), second.close()]);
      const third = SqliteStore.open({ filename });
      assert.deepEqual(await third.instanceIdentity(), a);
      await third.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
