import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/sqlite-migrations.js';
import type { Store } from '../../src/store/store.js';
import { licenseAddsContract } from './license-adds.case.js';
import { storeChangesContract } from './store-changes.case.js';
import { seatPolicyContract } from './seat-policy.case.js';
import { seatClaimsContract } from './seat-claims.case.js';
import { storeContract } from './store-contract.js';
import { userBulkContract } from './user-bulk.case.js';
import { userIdentityContract } from './user-identity.case.js';
import { usagePeaksContract } from './usage-peaks.case.js';

storeContract('SqliteStore (:memory:)', () =>
  Promise.resolve(SqliteStore.open({ filename: ':memory:', activityWindowDays: 30 })),
);

/** Each test's file, so a second store (a second process) can open the same database. */
const files = new Map<Store, string>();

function openFile(filename: string): Store {
  const store = SqliteStore.open({ filename, activityWindowDays: 30 });
  files.set(store, filename);
  return store;
}

function fileOf(store: Store): string {
  const filename = files.get(store);
  assert.ok(filename, 'a store this file opened');
  return filename;
}

const openTemp = (): Promise<Store> =>
  Promise.resolve(openFile(join(mkdtempSync(join(tmpdir(), 'licensor-store-')), 'licensor.sqlite')));
const removeFile = (store: Store): Promise<void> => {
  const filename = fileOf(store);
  for (const [other, name] of files) if (name === filename) files.delete(other);
  rmSync(join(filename, '..'), { recursive: true, force: true });
  return Promise.resolve();
};
const reopenFile = (store: Store): Promise<Store> => Promise.resolve(openFile(fileOf(store)));

storeContract('SqliteStore (file)', openTemp, removeFile, { reopen: reopenFile });
storeChangesContract('SqliteStore (file)', openTemp, removeFile, { reopen: reopenFile });
licenseAddsContract('SqliteStore (file)', openTemp, removeFile);
userIdentityContract('SqliteStore (file)', openTemp, removeFile);
seatPolicyContract('SqliteStore (file)', openTemp, removeFile, reopenFile);
seatClaimsContract('SqliteStore (file)', openTemp, removeFile, reopenFile);
userBulkContract('SqliteStore (file)', openTemp, removeFile);
usagePeaksContract('SqliteStore (file)', openTemp, removeFile, reopenFile);

describe('SqliteStore migrations', () => {
  it('refuses a database written by a newer Licensor', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'licensor-store-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const filename = join(dir, 'licensor.sqlite');
    SqliteStore.open({ filename })
      .close()
      .catch(() => undefined);
    const db = new Database(filename);
    const latest = SQLITE_MIGRATIONS.at(-1)!.version;
    db.prepare(
      "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', '2030-01-01')",
    ).run(latest + 1);
    db.close();
    assert.throws(() => SqliteStore.open({ filename }), /newer than this Licensor knows/);
  });
});

describe('SqliteStore files', () => {
  it('are private: the data directory 0700, the database and its -wal and -shm 0600', async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'licensor-store-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const previous = process.umask(0o022);
    t.after(() => process.umask(previous));
    const filename = join(root, 'data', 'licensor.sqlite');
    const store = SqliteStore.open({ filename, activityWindowDays: 30 });
    await store.createToken(
      { name: 't', hash: 'h', permissions: ['USER_ADMIN'] },
      { clock: { now: () => new Date() }, actor: { tokenId: null, tokenName: null, clientAddress: 'local' } },
    );
    const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);
    assert.equal(mode(join(root, 'data')), '700');
    for (const suffix of ['', '-wal', '-shm']) assert.equal(mode(`${filename}${suffix}`), '600', suffix);
    await store.close();
  });
});
