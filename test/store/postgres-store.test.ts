import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import pg from 'pg';
import { LicensorError, type ErrorCode } from '../../src/domain/errors.js';
import { verifyLicenseKey } from '../../src/keys/license-jws.js';
import { openStore } from '../../src/store/open-store.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/postgres-migrations.js';
import { PostgresStore, type PostgresStoreOptions } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/store.js';
import { createIssuer } from '../helpers/issuer.js';
import {
  createSchema,
  dropSchema,
  postgresSkipReason,
  TEST_DATABASE_URL,
  uniqueSchemaName,
  withSchema,
  withTestClient,
} from '../helpers/postgres.js';
import { storeContract } from './store-contract.js';

const skip = await postgresSkipReason();

/** The schema each open store lives in, so cleanup can drop it and reopen can join it. */
const schemas = new Map<Store, string>();

async function openIn(schema: string, options: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
  const store = await PostgresStore.open({ url: TEST_DATABASE_URL, schema, poolMax: 4, ...options });
  schemas.set(store, schema);
  return store;
}

function schemaOf(store: Store): string {
  const schema = schemas.get(store);
  assert.ok(schema, 'a store this file opened');
  return schema;
}

const q = pg.escapeIdentifier;

async function rejectsWithCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof LicensorError, `expected a LicensorError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/** A name for pg_stat_activity, so a test can find (and kill) only its own store's connections. */
function uniqueApplicationName(): string {
  return `licensor_test_${randomBytes(6).toString('hex')}`;
}

async function terminateConnections(applicationName: string, onlyWaiting = false): Promise<number> {
  return withTestClient(async (c) => {
    const { rows } = await c.query<{ pid: number }>(
      `SELECT pg_terminate_backend(pid) AS ok, pid FROM pg_stat_activity
       WHERE application_name = $1 ${onlyWaiting ? "AND wait_event_type = 'Lock'" : ''}`,
      [applicationName],
    );
    return rows.length;
  });
}

/** Waits until one of the store's connections is blocked waiting for a lock. */
async function waitForBlocked(applicationName: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    const blocked = await withTestClient(async (c) => {
      const { rows } = await c.query(
        `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
        [applicationName],
      );
      return rows.length > 0;
    });
    if (blocked) return;
    await sleep(20);
  }
  assert.fail('the store never blocked on the lock');
}

/** Holds an ACCESS EXCLUSIVE lock on a table of `schema` until the returned function is called. */
async function lockTable(schema: string, table: string): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  client.on('error', () => undefined);
  await client.connect();
  await client.query('BEGIN');
  await client.query(`LOCK TABLE ${q(schema)}.${q(table)} IN ACCESS EXCLUSIVE MODE`);
  return async () => {
    await client.query('ROLLBACK');
    await client.end();
  };
}

describe('PostgresStore', { skip: skip ?? false }, () => {
  storeContract(
    'PostgresStore (contract)',
    () => openIn(uniqueSchemaName()),
    async (store) => {
      const schema = schemaOf(store);
      for (const [other, name] of schemas) if (name === schema) schemas.delete(other);
      await dropSchema(schema);
    },
    {
      reopen: (store) => openIn(schemaOf(store)),
    },
  );

  describe('PostgresStore (migrations)', () => {
    it('three processes opening a fresh schema at once all succeed and apply each migration once', () =>
      withSchema(async (schema) => {
        const stores = await Promise.all([1, 2, 3].map(() => openIn(schema, { poolMax: 2 })));
        try {
          const rows = await withTestClient(async (c) => {
            const result = await c.query<{ version: number; n: number }>(
              `SELECT version, count(*)::integer AS n FROM ${q(schema)}.schema_migrations
               GROUP BY version ORDER BY version`,
            );
            return result.rows;
          });
          assert.deepEqual(
            rows,
            POSTGRES_MIGRATIONS.map((m) => ({ version: m.version, n: 1 })),
          );
          for (const store of stores) assert.deepEqual(await store.listLicenses(), []);
        } finally {
          for (const store of stores) await store.close();
        }
      }));

    it('creates its tables in its own schema only', () =>
      withSchema(async (schema) => {
        const store = await openIn(schema);
        await store.close();
        const tables = await withTestClient(async (c) => {
          const { rows } = await c.query<{ table_name: string }>(
            `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
            [schema],
          );
          return rows.map((r) => r.table_name);
        });
        assert.deepEqual(tables, ['licenses', 'schema_migrations', 'tokens', 'users']);
      }));

    it('refuses a database written by a newer Licensor', () =>
      withSchema(async (schema) => {
        await (await openIn(schema)).close();
        const latest = POSTGRES_MIGRATIONS.at(-1)!.version;
        await withTestClient((c) =>
          c.query(
            `INSERT INTO ${q(schema)}.schema_migrations (version, name) VALUES ($1, 'from the future')`,
            [latest + 1],
          ),
        );
        await assert.rejects(openIn(schema), /newer than this Licensor knows/);
      }));

    it('refuses a schema name that is not a plain identifier, before connecting', async () => {
      for (const schema of ['', '1abc', 'a b', 'a"b', 'a;drop', 'x'.repeat(64)])
        await assert.rejects(
          PostgresStore.open({ url: 'postgres://nobody@127.0.0.1:1/none', schema }),
          /schema name/,
        );
    });

    it('openStore opens PostgreSQL for a postgres:// URL, honouring a search_path in the URL', () =>
      withSchema(async (schema) => {
        await createSchema(schema);
        const url = new URL(TEST_DATABASE_URL);
        url.searchParams.set('options', `-c search_path=${schema}`);
        const store = await openStore({ kind: 'postgres', url: url.toString() });
        try {
          assert.equal(store.kind, 'postgres');
          await store.ping();
          const found = await withTestClient(async (c) => {
            const { rows } = await c.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [
              `${q(schema)}.licenses`,
            ]);
            return rows[0]?.t;
          });
          assert.ok(found);
        } finally {
          await store.close();
        }
      }));

    it('refuses to run when the URL chooses another schema than the one asked for', () =>
      withSchema(async (schema) => {
        await createSchema(schema);
        const url = new URL(TEST_DATABASE_URL);
        url.searchParams.set('options', `-c search_path=${schema}`);
        const asked = uniqueSchemaName();
        await assert.rejects(
          PostgresStore.open({ url: url.toString(), schema: asked }),
          /remove "options" from the database URL/,
        );
        const created = await withTestClient(async (c) => {
          const { rows } = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [asked]);
          return rows.length;
        });
        assert.equal(created, 0, 'the schema asked for is not left behind');
      }));
  });

  describe('PostgresStore (users)', () => {
    it('counts users that are enabled and active at or after the given time', () =>
      withSchema(async (schema) => {
        const store = await openIn(schema);
        try {
          // PostgresStore has no user methods yet (they are on SeatStore), so rows are written
          // directly; it counts them from the users table.
          const since = new Date('2026-06-01T12:00:00.123Z');
          const ms = (n: number): string => new Date(since.getTime() + n).toISOString();
          const users: [string, string, string | null, boolean][] = [
            ['bim', 'recent', ms(1), false],
            ['bim', 'exactly-at', ms(0), false],
            ['bim', 'a-moment-before', ms(-1), false],
            ['bim', 'disabled', ms(1), true],
            ['bim', 'never-active', null, false],
            ['other-idp', 'recent', ms(5), false],
          ];
          await withTestClient(async (c) => {
            for (const [iamid, userid, lastActivityAt, disabled] of users)
              await c.query(
                `INSERT INTO ${q(schema)}.users (iamid, userid, created_at, last_activity_at, disabled)
                 VALUES ($1, $2, $3, $4, $5)`,
                [iamid, userid, ms(-864e5), lastActivityAt, disabled],
              );
          });
          assert.equal(await store.countActiveUsers(since), 3);
          assert.equal(await store.countActiveUsers(new Date(since.getTime() + 2)), 1);
          assert.equal(await store.countActiveUsers(new Date(since.getTime() - 864e5)), 4);
        } finally {
          await store.close();
        }
      }));
  });

  describe('PostgresStore (faults)', () => {
    const issuer = createIssuer();

    it('a server that cannot be reached is STORE_UNAVAILABLE', async () => {
      await rejectsWithCode(
        PostgresStore.open({ url: 'postgres://postgres@127.0.0.1:1/test', connectTimeoutMs: 2000 }),
        'STORE_UNAVAILABLE',
      );
    });

    it('an idle connection the server drops is reported, never crashes, and is replaced', () =>
      withSchema(async (schema) => {
        const applicationName = uniqueApplicationName();
        const errors: Error[] = [];
        const store = await openIn(schema, { applicationName, onPoolError: (err) => errors.push(err) });
        try {
          await store.ping();
          assert.ok((await terminateConnections(applicationName)) >= 1);
          for (let i = 0; i < 100 && errors.length === 0; i++) await sleep(20);
          assert.ok(errors.length >= 1, 'the pool reported the dropped connection');
          await store.ping();
          assert.deepEqual(await store.listLicenses(), []);
        } finally {
          await store.close();
        }
      }));

    it('a connection dropped during a read is STORE_UNAVAILABLE, and the store recovers', () =>
      withSchema(async (schema) => {
        const applicationName = uniqueApplicationName();
        const store = await openIn(schema, { applicationName, onPoolError: () => undefined });
        try {
          const unlock = await lockTable(schema, 'licenses');
          try {
            // Checked from the start: the rejection comes while this test is busy killing.
            const refused = rejectsWithCode(store.listLicenses(), 'STORE_UNAVAILABLE');
            await waitForBlocked(applicationName);
            assert.equal(await terminateConnections(applicationName, true), 1);
            await refused;
          } finally {
            await unlock();
          }
          assert.deepEqual(await store.listLicenses(), []);
        } finally {
          await store.close();
        }
      }));

    it('a connection dropped inside a write transaction is STORE_UNAVAILABLE and writes nothing', () =>
      withSchema(async (schema) => {
        const applicationName = uniqueApplicationName();
        const store = await openIn(schema, { applicationName, onPoolError: () => undefined });
        try {
          const licenseKey = issuer.issue();
          const { payload, claims } = verifyLicenseKey(licenseKey, issuer.ring);
          const unlock = await lockTable(schema, 'licenses');
          try {
            const refused = rejectsWithCode(
              store.addLicense({ licenseKey, payload, claims }, new Date()),
              'STORE_UNAVAILABLE',
            );
            await waitForBlocked(applicationName);
            assert.equal(await terminateConnections(applicationName, true), 1);
            await refused;
          } finally {
            await unlock();
          }
          assert.deepEqual(await store.listLicenses({ includeDeleted: true }), []);
          // The broken connection was not handed back: the next writes work.
          const added = await store.addLicense({ licenseKey, payload, claims }, new Date());
          assert.equal(added.uuid, claims.uuid);
          await store.setBootstrapToken('hash', new Date());
        } finally {
          await store.close();
        }
      }));

    it('no free connection within the connect timeout is STORE_UNAVAILABLE', () =>
      withSchema(async (schema) => {
        const store = await openIn(schema, { poolMax: 1, connectTimeoutMs: 300 });
        try {
          const unlock = await lockTable(schema, 'licenses');
          let listing: Promise<unknown> | undefined;
          try {
            // The pool's only connection waits on the lock...
            listing = store.listLicenses();
            // ...so another call cannot get one in time.
            await rejectsWithCode(store.ping(), 'STORE_UNAVAILABLE');
          } finally {
            await unlock();
          }
          assert.deepEqual(await listing, []);
          await store.ping();
        } finally {
          await store.close();
        }
      }));
  });
});
