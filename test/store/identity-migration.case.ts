import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LicensorError } from '../../src/domain/errors.js';
import { IdentityCollisionError, identityKey, searchText } from '../../src/domain/user-identity.js';
import { verifyLicenseKey } from '../../src/keys/license-jws.js';
import type { Store } from '../../src/store/store.js';
import { createIssuer } from '../helpers/issuer.js';
import { fixed } from './store-contract.js';

const T0 = new Date('2026-06-01T12:00:00.000Z');
const SINCE = new Date('2026-05-01T12:00:00.000Z');

/** A user as an earlier Licensor stored it, written into the database directly. */
export interface LegacyUser {
  iamid: string;
  userid: string;
  name?: string | null;
  email?: string | null;
  disabled?: boolean;
}

export interface StoredIdentity {
  id: number;
  iamid: string;
  userid: string;
  identity_key: string | null;
  search_text: string | null;
}

/** One database, as each store's test file builds and reads it. */
export interface V3Database {
  /** Opens the store on it, running the pending migrations. */
  open(): Promise<Store>;
  /** Runs SQL on it outside any store, as an operator would. */
  exec(sql: string): Promise<void>;
  /** The highest migration applied. */
  version(): Promise<number>;
  /** The users' rows in id order; identity_key and search_text null while the columns are missing. */
  users(): Promise<StoredIdentity[]>;
  drop(): Promise<void>;
}

/**
 * Migration 4 on a database an earlier Licensor (schema version 3) left: the same cases for both
 * stores. `build` makes the version-3 database holding `users` (ids 1, 2, ... in order), with the
 * activity counters migration 2 made for them.
 */
export function identityMigrationCases(
  name: string,
  build: (users: LegacyUser[]) => Promise<V3Database>,
): void {
  const issuer = createIssuer();

  async function withDatabase(users: LegacyUser[], fn: (db: V3Database) => Promise<void>): Promise<void> {
    const db = await build(users);
    try {
      await fn(db);
    } finally {
      await db.drop();
    }
  }

  describe(`${name}: migration 4 (one identity per user)`, () => {
    it('backfills the identity key and search text, and stores userid and iamid in NFC', () =>
      withDatabase(
        [
          { iamid: 'okta', userid: 'Alice', name: 'Alice A', email: 'alice@example.com' },
          { iamid: 'Okta', userid: 'Jose\u0301', name: 'İstanbul Office' },
          { iamid: 'azure', userid: 'alice', email: 'ÉMILE@EXAMPLE.ORG', disabled: true },
        ],
        async (db) => {
          assert.equal(await db.version(), 3);
          const store = await db.open();
          try {
            // Migration 4 ran, and every later one (the schema is at the latest version).
            assert.ok((await db.version()) >= 4);
            assert.deepEqual(await db.users(), [
              {
                id: 1,
                iamid: 'okta',
                userid: 'Alice',
                identity_key: identityKey('okta', 'Alice'),
                search_text: searchText({ userid: 'Alice', name: 'Alice A', email: 'alice@example.com' }),
              },
              {
                id: 2,
                iamid: 'Okta',
                userid: 'José',
                identity_key: identityKey('okta', 'josé'),
                search_text: searchText({ userid: 'José', name: 'İstanbul Office', email: null }),
              },
              {
                id: 3,
                iamid: 'azure',
                userid: 'alice',
                identity_key: identityKey('azure', 'alice'),
                search_text: searchText({ userid: 'alice', name: null, email: 'ÉMILE@EXAMPLE.ORG' }),
              },
            ]);
            const licenseKey = issuer.issue({ seats: 10 }, T0);
            const { payload, claims } = verifyLicenseKey(licenseKey, issuer.ring);
            await store.addLicense({ licenseKey, payload, claims }, fixed(T0));
            for (const [iamid, userid] of [
              ['okta', 'ALICE'],
              ['OKTA', 'José'],
              ['azure', 'Ａｌｉｃｅ'],
            ] as const)
              await assert.rejects(
                store.createUser(
                  { iamid, userid, name: null, email: null, userType: 'dataConsumer' },
                  fixed(T0),
                ),
                (err: unknown) => err instanceof LicensorError && err.code === 'USER_ALREADY_EXISTS',
                `${iamid} ${userid}`,
              );
            const search = async (q: string): Promise<number[]> =>
              (await store.listUsers({ offset: 0, size: 10, activeSince: SINCE, search: q })).users.map(
                (u) => u.id,
              );
            assert.deepEqual(await search('istanbul'), [2]);
            assert.deepEqual(await search('jose'), [2]);
            assert.deepEqual(await search('emile@'), [3]);
            assert.deepEqual(await search('ALICE'), [1, 3]);
          } finally {
            await store.close();
          }
        },
      ));

    it('refuses to start while users collide, naming them, and starts once they are renamed', () =>
      withDatabase(
        [
          { iamid: 'okta', userid: 'Alice' },
          { iamid: 'okta', userid: 'alice' },
          { iamid: 'OKTA', userid: 'Ａｌｉｃｅ' },
          { iamid: 'okta', userid: 'bob' },
          { iamid: 'okta', userid: 'bob\u200b' },
          { iamid: 'okta', userid: 'José' },
          { iamid: 'okta', userid: 'Jose\u0301' },
          { iamid: 'okta', userid: 'carol' },
        ],
        async (db) => {
          const before = await db.users();
          let message = '';
          await assert.rejects(db.open(), (err: unknown) => {
            assert.ok(err instanceof IdentityCollisionError, String(err));
            message = err.message;
            return true;
          });
          assert.match(message, /migration 4 \(one identity per user\) cannot run: 3 groups/);
          assert.match(
            message,
            /id 1 \(iamid "okta", userid "Alice"\), id 2 \(iamid "okta", userid "alice"\), id 3 \(iamid "OKTA", userid "Ａｌｉｃｅ"\)/,
          );
          assert.match(
            message,
            /id 4 \(iamid "okta", userid "bob"\), id 5 \(iamid "okta", userid "bob<U\+200B>"\)/,
          );
          assert.match(
            message,
            /id 6 \(iamid "okta", userid "José"\), id 7 \(iamid "okta", userid "Jose\u0301" \(not in NFC\)\)/,
          );
          assert.doesNotMatch(message, /carol/);
          // Nothing was merged, nothing changed: the migration rolled back whole.
          assert.equal(await db.version(), 3);
          assert.deepEqual(await db.users(), before);

          // The way out the message gives: rename all but the oldest of each group.
          const statement = /UPDATE users SET .*;/.exec(message)?.[0];
          assert.equal(statement, "UPDATE users SET userid = userid || '~' || id WHERE id IN (2, 3, 5, 7);");
          await db.exec(statement);
          const store = await db.open();
          try {
            // Migration 4 ran, and every later one (the schema is at the latest version).
            assert.ok((await db.version()) >= 4);
            assert.deepEqual(
              (await db.users()).map((u) => u.userid),
              ['Alice', 'alice~2', 'Ａｌｉｃｅ~3', 'bob', 'bob\u200b~5', 'José', 'José~7', 'carol'],
            );
            assert.equal((await store.readView(T0)).activeUserCount, 8, 'renaming left the counters alone');
          } finally {
            await store.close();
          }
        },
      ));
  });
}
