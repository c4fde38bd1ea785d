import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { LicensorError } from '../../src/domain/errors.js';
import type { NewUser } from '../../src/domain/user-changes.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { createIssuer } from '../helpers/issuer.js';
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

describe('SqliteStore group commit', () => {
  const issuer = createIssuer();
  const T0 = new Date('2026-06-01T12:00:00.000Z');
  const ctx = { clock: { now: () => T0 }, actor: { tokenId: 1, tokenName: 't', clientAddress: '127.0.0.1' } };
  const user = (userid: string): NewUser => ({
    userid,
    iamid: 'idp',
    name: null,
    email: null,
    userType: 'dataConsumer',
  });
  const code = (err: unknown): string | undefined => (err instanceof LicensorError ? err.code : undefined);

  function temp(
    t: TestContext,
    options: { busyTimeoutMs?: number } = {},
  ): { store: SqliteStore; filename: string } {
    const dir = mkdtempSync(join(tmpdir(), 'licensor-store-'));
    const filename = join(dir, 'licensor.sqlite');
    const store = SqliteStore.open({ filename, activityWindowDays: 30, ...options });
    t.after(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return { store, filename };
  }

  it('changes asked for together commit once; a refused one rolls back alone, the others see each other', async (t) => {
    const { store, filename } = temp(t);
    await store.addLicense(issuer.newLicense({ seats: 2 }, T0), ctx);
    // Another connection sees data_version move once per commit of this one.
    const observer = new Database(filename, { readonly: true });
    t.after(() => observer.close());
    const version = (): number => observer.pragma('data_version', { simple: true }) as number;
    const before = version();
    const outcomes = await Promise.allSettled([
      store.createUser(user('a'), ctx),
      store.createUser(user('a'), ctx),
      store.createUser(user('b'), ctx),
      store.createUser(user('c'), ctx),
    ]);
    assert.equal(version(), before + 1, 'one commit for the four changes');
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'fulfilled' ? o.value.userid : code(o.reason))),
      ['a', 'USER_ALREADY_EXISTS', 'b', 'SEAT_LIMIT_REACHED'],
    );
    const view = await store.readView(T0);
    assert.equal(view.activeUserCount, 2);
    const audit = await store.listAudit({ size: 10, offset: 0 });
    assert.deepEqual(
      audit.entries.filter((e) => e.action === 'user.create').map((e) => e.targetName),
      ['b', 'a'],
    );
  });

  it('a change that fails after writing rolls back alone; the changes around it commit', async (t) => {
    const { store } = temp(t);
    await store.addLicense(issuer.newLicense({ seats: 5 }, T0), ctx);
    // The audit entry reads the actor after the user row and its counter are written.
    const failing = {
      clock: ctx.clock,
      actor: {
        get tokenId(): number {
          throw new Error('the actor cannot be read');
        },
        tokenName: 't',
        clientAddress: '127.0.0.1',
      },
    };
    const outcomes = await Promise.allSettled([
      store.createUser(user('a'), ctx),
      store.createUser(user('x'), failing),
      store.createUser(user('b'), ctx),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    const users = await store.listUsers({ size: 10, offset: 0, activeSince: T0 });
    assert.deepEqual(
      users.users.map((u) => u.userid),
      ['a', 'b'],
    );
    assert.equal((await store.readView(T0)).activeUserCount, 2);
    // The counters agree with the rows: the failed change's counter move rolled back with it.
    assert.equal((await store.createUser(user('c'), ctx)).userid, 'c');
    assert.equal((await store.readView(T0)).activeUserCount, 3);
  });

  it('a transaction that cannot start fails every change of it and keeps nothing of them', async (t) => {
    const { store, filename } = temp(t, { busyTimeoutMs: 50 });
    await store.addLicense(issuer.newLicense({ seats: 5 }, T0), ctx);
    const holder = new Database(filename);
    t.after(() => holder.close());
    holder.exec('BEGIN IMMEDIATE');
    const outcomes = await Promise.allSettled([
      store.createUser(user('a'), ctx),
      store.addLicense(issuer.newLicense({ seats: 1 }, T0), ctx),
    ]);
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'rejected' ? code(o.reason) : 'fulfilled')),
      ['STORE_UNAVAILABLE', 'STORE_UNAVAILABLE'],
    );
    holder.exec('ROLLBACK');
    await store.createUser(user('b'), ctx);
    const view = await store.readView(T0);
    assert.equal(view.activeUserCount, 1);
    assert.equal(view.licenses.length, 1);
    assert.deepEqual(
      (await store.listUsers({ size: 10, offset: 0, activeSince: T0 })).users.map((u) => u.userid),
      ['b'],
    );
  });

  it('close commits the changes already asked for', async (t) => {
    const { store, filename } = temp(t);
    await store.addLicense(issuer.newLicense({ seats: 2 }, T0), ctx);
    const created = store.createUser(user('a'), ctx);
    await store.close();
    assert.equal((await created).userid, 'a');
    const reopened = SqliteStore.open({ filename, activityWindowDays: 30 });
    t.after(() => reopened.close());
    assert.equal((await reopened.listUsers({ size: 10, offset: 0, activeSince: T0 })).total, 1);
  });
});
