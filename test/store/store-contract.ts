import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LicensorError, type ErrorCode } from '../../src/domain/errors.js';
import type { LicenseRecord } from '../../src/domain/license.js';
import { utcDay, type UserRecord } from '../../src/domain/users.js';
import { verifyLicenseKey } from '../../src/keys/license-jws.js';
import type {
  ChangeContext,
  NewAuditEntry,
  NewLicense,
  NewUser,
  Store,
  UserQuery,
} from '../../src/store/store.js';
import { createIssuer, DAY } from '../helpers/issuer.js';

export interface StoreContractOptions {
  /**
   * Opens another store on the same database as `store`, as a second process would. Enables the
   * migration-idempotence test and spreads the concurrency tests over several stores.
   */
  reopen?: (store: Store) => Promise<Store>;
}

/** A fixed instant with milliseconds, so a lost millisecond shows. */
const T0 = new Date('2026-06-01T12:00:00.123Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const HOUR = 60 * 60 * 1000;

/** The activity window the user tests judge seats by: every store under test is opened with it. */
export const CONTRACT_WINDOW_DAYS = 30;
const WINDOW_DAYS = CONTRACT_WINDOW_DAYS;

export const TEST_ACTOR = { tokenId: 1, tokenName: 'contract test', clientAddress: '127.0.0.1' } as const;

/** A change at `now`: the clock a store reads under its locks stands still there. */
export const fixed = (now: Date): ChangeContext => ({ clock: { now: () => now }, actor: TEST_ACTOR });

/** A change at `now`, with the window start the user tests judge by. */
const seatContext = (now: Date): ChangeContext & { now: Date; activeSince: Date } => ({
  ...fixed(now),
  now,
  activeSince: new Date(now.getTime() - WINDOW_DAYS * DAY),
});

/** Active users at the window start `since`, as the snapshot reads them. */
export async function activeCount(store: Store, since: Date): Promise<number> {
  return (await store.readView(new Date(since.getTime() + WINDOW_DAYS * DAY))).activeUserCount;
}

async function rejectsWithCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof LicensorError, `expected a LicensorError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

function codeOf(result: PromiseSettledResult<unknown>): string {
  if (result.status === 'fulfilled') return 'fulfilled';
  return result.reason instanceof LicensorError
    ? result.reason.code
    : `not a LicensorError: ${String(result.reason)}`;
}

/**
 * The behaviour every Store must show, run against a real database. `open` gives a fresh, empty
 * store for each test; `cleanup` runs after the test has closed it.
 */
export function storeContract(
  name: string,
  open: () => Promise<Store>,
  cleanup?: (store: Store) => Promise<void>,
  options: StoreContractOptions = {},
): void {
  const issuer = createIssuer();

  /** A verified key with the test issuer's defaults and `claims` on top, as the routes build one. */
  function newLicense(claims: Record<string, unknown> = {}): NewLicense {
    const licenseKey = issuer.issue(claims, T0);
    const verified = verifyLicenseKey(licenseKey, issuer.ring);
    return { licenseKey, payload: verified.payload, claims: verified.claims };
  }

  describe(name, () => {
    let store: Store;
    let others: Store[] = [];

    beforeEach(async () => {
      store = await open();
      others = [];
    });

    afterEach(async () => {
      for (const other of others) await other.close();
      await store.close();
      await cleanup?.(store);
    });

    /** The store under test and, when the database allows it, more stores on the same database. */
    async function processes(count: number): Promise<Store[]> {
      const { reopen } = options;
      if (!reopen) return [store];
      while (others.length < count - 1) others.push(await reopen(store));
      return [store, ...others.slice(0, count - 1)];
    }

    describe('licenses', () => {
      it('adds a license and returns it as stored', async () => {
        const license = newLicense({ seats: 7 });
        const added = await store.addLicense(license, fixed(T0));
        assert.equal(typeof added.id, 'number');
        assert.ok(Number.isSafeInteger(added.id) && added.id > 0);
        assert.equal(added.uuid, license.claims.uuid);
        assert.equal(added.licenseKey, license.licenseKey);
        assert.deepEqual(added.payload, license.payload);
        assert.deepEqual(added.claims, license.claims);
        assert.equal(added.updatedAt.toISOString(), T0.toISOString());
        assert.equal(added.deleted, false);
        assert.equal(added.invalidated, false);
        assert.deepEqual(await store.getLicense(added.id), added);
      });

      it('lists licenses in id order, ids increasing as they are added', async () => {
        const a = await store.addLicense(newLicense(), fixed(at(0)));
        const b = await store.addLicense(newLicense(), fixed(at(1)));
        const c = await store.addLicense(newLicense(), fixed(at(2)));
        assert.ok(a.id < b.id && b.id < c.id);
        assert.deepEqual(
          (await store.listLicenses()).map((l) => l.id),
          [a.id, b.id, c.id],
        );
        assert.deepEqual(await store.listLicenses(), [a, b, c]);
      });

      it('lists nothing on an empty store', async () => {
        assert.deepEqual(await store.listLicenses(), []);
        assert.deepEqual(await store.listLicenses({ includeDeleted: true }), []);
      });

      it('getLicense answers undefined for ids it does not hold', async () => {
        const added = await store.addLicense(newLicense(), fixed(T0));
        for (const id of [added.id + 1, 0, -1, 1.5, 2 ** 53 - 1])
          assert.equal(await store.getLicense(id), undefined);
      });

      it('keeps timestamps to the millisecond', async () => {
        const added = await store.addLicense(newLicense(), fixed(new Date('2026-06-01T12:00:00.001Z')));
        assert.equal((await store.getLicense(added.id))?.updatedAt.toISOString(), '2026-06-01T12:00:00.001Z');
        const deleted = await store.deleteLicense(added.id, fixed(new Date('2026-07-04T01:02:03.999Z')));
        assert.equal(deleted.updatedAt.toISOString(), '2026-07-04T01:02:03.999Z');
        const listed = await store.listLicenses({ includeDeleted: true });
        assert.equal(listed[0]?.updatedAt.toISOString(), '2026-07-04T01:02:03.999Z');
        assert.ok(listed[0]?.updatedAt instanceof Date);
      });

      it('keeps the payload exactly: unknown claims, member order, unusual characters', async () => {
        const license = newLicense({
          zeta: 1,
          vendorExtra: { nested: [1, 'two', null, true, { deep: 2.5 }], empty: {} },
          alpha: 'ünïcödé ✓ 🚀',
          nul: 'before\u0000after',
          quote: '"\'\\',
          features: { b: { enabled: true }, a: { enabled: false, note: 'kept' } },
          handlers: { s3: { region: 'eu' } },
          licensee: { name: 'Acme', company: 'Acme Ltd' },
        });
        const added = await store.addLicense(license, fixed(T0));
        for (const record of [added, await store.getLicense(added.id), (await store.listLicenses())[0]]) {
          assert.ok(record);
          assert.deepEqual(record.payload, license.payload);
          assert.deepEqual(Object.keys(record.payload), Object.keys(license.payload));
          assert.deepEqual(Object.keys(record.claims.features), ['b', 'a']);
          assert.deepEqual(record.claims, license.claims);
        }
      });

      it('refuses a second live license with the same uuid and writes nothing', async () => {
        const license = newLicense();
        await store.addLicense(license, fixed(T0));
        await rejectsWithCode(store.addLicense(license, fixed(at(1))), 'LICENSE_ALREADY_EXISTS');
        // Another key carrying the same uuid is the same license.
        await rejectsWithCode(
          store.addLicense(newLicense({ uuid: license.claims.uuid, seats: 99 }), fixed(at(2))),
          'LICENSE_ALREADY_EXISTS',
        );
        assert.equal((await store.listLicenses({ includeDeleted: true })).length, 1);
      });

      it('a live license blocks a re-add even when it has hardDelete', async () => {
        const license = newLicense({ hardDelete: true });
        await store.addLicense(license, fixed(T0));
        await rejectsWithCode(store.addLicense(license, fixed(at(1))), 'LICENSE_ALREADY_EXISTS');
      });

      it('soft-deletes: the record stays, deleted, updatedAt the deletion time', async () => {
        const added = await store.addLicense(newLicense(), fixed(T0));
        const kept = await store.addLicense(newLicense(), fixed(T0));
        const when = at(DAY + 456);
        const deleted = await store.deleteLicense(added.id, fixed(when));
        assert.deepEqual(deleted, { ...added, deleted: true, updatedAt: when });
        assert.deepEqual(await store.getLicense(added.id), deleted);
        assert.deepEqual(await store.listLicenses(), [kept]);
        assert.deepEqual(await store.listLicenses({ includeDeleted: false }), [kept]);
        assert.deepEqual(await store.listLicenses({ includeDeleted: true }), [deleted, kept]);
      });

      it('refuses to delete an unknown or already deleted license', async () => {
        await rejectsWithCode(store.deleteLicense(1, fixed(T0)), 'LICENSE_NOT_FOUND');
        const added = await store.addLicense(newLicense(), fixed(T0));
        await rejectsWithCode(store.deleteLicense(added.id + 1, fixed(T0)), 'LICENSE_NOT_FOUND');
        await rejectsWithCode(store.deleteLicense(1.5, fixed(T0)), 'LICENSE_NOT_FOUND');
        await store.deleteLicense(added.id, fixed(at(1)));
        await rejectsWithCode(store.deleteLicense(added.id, fixed(at(2))), 'LICENSE_NOT_FOUND');
        assert.equal((await store.getLicense(added.id))?.updatedAt.toISOString(), at(1).toISOString());
      });

      it('adds a license again after a soft delete without hardDelete', async () => {
        const license = newLicense();
        const first = await store.addLicense(license, fixed(T0));
        const deleted = await store.deleteLicense(first.id, fixed(at(1)));
        const again = await store.addLicense(license, fixed(at(2)));
        assert.notEqual(again.id, first.id);
        assert.equal(again.deleted, false);
        assert.equal(again.updatedAt.toISOString(), at(2).toISOString());
        assert.deepEqual(await store.listLicenses(), [again]);
        assert.deepEqual(await store.listLicenses({ includeDeleted: true }), [deleted, again]);
        // Still one live license per uuid.
        await rejectsWithCode(store.addLicense(license, fixed(at(3))), 'LICENSE_ALREADY_EXISTS');
      });

      it('never adds a license again after it was deleted with hardDelete', async () => {
        const license = newLicense({ hardDelete: true });
        const first = await store.addLicense(license, fixed(T0));
        await store.deleteLicense(first.id, fixed(at(1)));
        await rejectsWithCode(store.addLicense(license, fixed(at(2))), 'LICENSE_HARD_DELETED');
        // Not even with a new key for the same uuid that drops hardDelete.
        await rejectsWithCode(
          store.addLicense(newLicense({ uuid: license.claims.uuid, hardDelete: false }), fixed(at(3))),
          'LICENSE_HARD_DELETED',
        );
        assert.equal((await store.listLicenses({ includeDeleted: true })).length, 1);
      });

      it('marks the live licenses named in supersedes invalidated, in the same step', async () => {
        const old = await store.addLicense(newLicense(), fixed(at(0)));
        const bystander = await store.addLicense(newLicense(), fixed(at(1)));
        const gone = await store.addLicense(newLicense(), fixed(at(2)));
        const goneDeleted = await store.deleteLicense(gone.id, fixed(at(3)));
        const when = at(DAY);
        const successor = await store.addLicense(
          newLicense({ supersedes: [old.uuid, gone.uuid, `never-added-${randomUUID()}`] }),
          fixed(when),
        );
        assert.equal(successor.invalidated, false);
        assert.deepEqual(await store.getLicense(old.id), { ...old, invalidated: true, updatedAt: when });
        assert.deepEqual(await store.getLicense(bystander.id), bystander);
        // A deleted license is history: superseding leaves it as it was.
        assert.deepEqual(await store.getLicense(gone.id), goneDeleted);

        // An already invalidated license keeps the time it was invalidated.
        await store.addLicense(newLicense({ supersedes: [old.uuid] }), fixed(at(2 * DAY)));
        assert.equal((await store.getLicense(old.id))?.updatedAt.toISOString(), when.toISOString());
      });

      it('an invalidated license still counts as live for its uuid', async () => {
        const license = newLicense();
        await store.addLicense(license, fixed(T0));
        await store.addLicense(newLicense({ supersedes: [license.claims.uuid] }), fixed(at(1)));
        await rejectsWithCode(store.addLicense(license, fixed(at(2))), 'LICENSE_ALREADY_EXISTS');
      });

      it('a refused add changes nothing, supersedes included', async () => {
        const victim = await store.addLicense(newLicense(), fixed(T0));
        const existing = newLicense();
        await store.addLicense(existing, fixed(T0));
        const clash = newLicense({ uuid: existing.claims.uuid, supersedes: [victim.uuid] });
        await rejectsWithCode(store.addLicense(clash, fixed(at(1))), 'LICENSE_ALREADY_EXISTS');
        assert.deepEqual(await store.getLicense(victim.id), victim);
      });

      it('of 20 concurrent adds of one key exactly one succeeds', async () => {
        const stores = await processes(4);
        const license = newLicense();
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) => stores[i % stores.length]!.addLicense(license, fixed(at(i)))),
        );
        const codes = results.map(codeOf);
        assert.equal(codes.filter((c) => c === 'fulfilled').length, 1, codes.join(', '));
        assert.equal(codes.filter((c) => c === 'LICENSE_ALREADY_EXISTS').length, 19, codes.join(', '));
        assert.equal((await store.listLicenses({ includeDeleted: true })).length, 1);
      });

      it('concurrent adds of different keys all succeed', async () => {
        const stores = await processes(4);
        const licenses = Array.from({ length: 12 }, () => newLicense());
        const added = await Promise.all(
          licenses.map((l, i) => stores[i % stores.length]!.addLicense(l, fixed(at(i)))),
        );
        assert.equal(new Set(added.map((l) => l.id)).size, 12);
        assert.equal((await store.listLicenses()).length, 12);
      });

      it('re-adds racing a hard delete are all refused', async () => {
        const stores = await processes(4);
        const license = newLicense({ hardDelete: true });
        const added = await store.addLicense(license, fixed(T0));
        const results = await Promise.allSettled([
          ...Array.from({ length: 5 }, (_, i) =>
            stores[i % stores.length]!.addLicense(license, fixed(at(1))),
          ),
          stores[1 % stores.length]!.deleteLicense(added.id, fixed(at(1))),
          ...Array.from({ length: 5 }, (_, i) =>
            stores[(i + 2) % stores.length]!.addLicense(license, fixed(at(1))),
          ),
        ]);
        const codes = results.map(codeOf);
        assert.equal(codes[5], 'fulfilled', codes.join(', '));
        codes.splice(5, 1);
        assert.ok(
          codes.every((c) => c === 'LICENSE_ALREADY_EXISTS' || c === 'LICENSE_HARD_DELETED'),
          codes.join(', '),
        );
        assert.deepEqual(
          (await store.listLicenses({ includeDeleted: true })).map((l) => l.deleted),
          [true],
        );
        await rejectsWithCode(store.addLicense(license, fixed(at(2))), 'LICENSE_HARD_DELETED');
      });

      it('re-adds racing a soft delete leave at most one live license', async () => {
        const stores = await processes(4);
        const license = newLicense();
        const added = await store.addLicense(license, fixed(T0));
        const results = await Promise.allSettled([
          ...Array.from({ length: 5 }, (_, i) =>
            stores[i % stores.length]!.addLicense(license, fixed(at(1))),
          ),
          stores[1 % stores.length]!.deleteLicense(added.id, fixed(at(1))),
          ...Array.from({ length: 5 }, (_, i) =>
            stores[(i + 2) % stores.length]!.addLicense(license, fixed(at(1))),
          ),
        ]);
        const codes = results.map(codeOf);
        assert.equal(codes[5], 'fulfilled', codes.join(', '));
        codes.splice(5, 1);
        const succeeded = codes.filter((c) => c === 'fulfilled').length;
        assert.ok(succeeded <= 1, codes.join(', '));
        assert.equal(
          codes.filter((c) => c === 'LICENSE_ALREADY_EXISTS').length,
          10 - succeeded,
          codes.join(', '),
        );
        assert.equal((await store.listLicenses()).length, succeeded);
        assert.equal((await store.listLicenses({ includeDeleted: true })).length, 1 + succeeded);
      });

      it('of concurrent deletes of one license exactly one succeeds', async () => {
        const stores = await processes(4);
        const added = await store.addLicense(newLicense(), fixed(T0));
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) =>
            stores[i % stores.length]!.deleteLicense(added.id, fixed(at(i + 1))),
          ),
        );
        const codes = results.map(codeOf);
        assert.equal(codes.filter((c) => c === 'fulfilled').length, 1, codes.join(', '));
        assert.equal(codes.filter((c) => c === 'LICENSE_NOT_FOUND').length, 9, codes.join(', '));
        const winner = results.find(
          (r): r is PromiseFulfilledResult<LicenseRecord> => r.status === 'fulfilled',
        );
        assert.deepEqual(await store.getLicense(added.id), winner?.value);
      });
    });

    /** A new user with a unique userid; `overrides` on top. */
    let userSequence = 0;
    function newUser(overrides: Partial<NewUser> = {}): NewUser {
      userSequence++;
      return {
        userid: `user-${userSequence}`,
        iamid: 'idp',
        name: null,
        email: null,
        userType: 'dataConsumer',
        ...overrides,
      };
    }

    /** Adds a license of `seats` hard seats and `softSeats` more: licenseSeats is their sum. */
    function grantSeats(seats: number, softSeats = 0): Promise<LicenseRecord> {
      return store.addLicense(newLicense({ seats, softSeats }), fixed(T0));
    }

    /** Every user matching `more`, judged at `activeSince`. */
    function everyUser(activeSince: Date, more: Partial<UserQuery> = {}): UserQuery {
      return { offset: 0, size: 1000, activeSince, ...more };
    }

    async function userids(query: UserQuery): Promise<string[]> {
      return (await store.listUsers(query)).users.map((u) => u.userid);
    }

    /** The active count from the counters must always be what a scan of the users finds. */
    async function assertCountsAgree(activeSince: Date): Promise<number> {
      const counted = await activeCount(store, activeSince);
      const scanned = await store.listUsers(everyUser(activeSince, { active: true }));
      assert.equal(counted, scanned.total, 'countActiveUsers agrees with a scan');
      const summary = await store.usageSummary(activeSince);
      const ofType = (type: string): number => scanned.users.filter((u) => u.userType === type).length;
      assert.equal(summary.dataConsumers.activeCount, ofType('dataConsumer'), 'active data consumers');
      assert.equal(summary.policyOwners.activeCount, ofType('policyOwner'), 'active policy owners');
      return counted;
    }

    describe('users and seats', () => {
      it('counts no active users on an empty store', async () => {
        assert.equal(await activeCount(store, T0), 0);
        assert.equal(await activeCount(store, new Date(0)), 0);
        assert.deepEqual(await store.listUsers(everyUser(T0)), { users: [], total: 0 });
        assert.deepEqual(await store.usageSummary(T0), {
          dataConsumers: { totalCount: 0, activeCount: 0 },
          policyOwners: { totalCount: 0, activeCount: 0 },
        });
      });

      it('creates a user, active from now, and reads it back', async () => {
        await grantSeats(5);
        const ctx = seatContext(T0);
        const created = await store.createUser(
          {
            userid: 'Alice',
            iamid: 'bim',
            name: 'Alice A',
            email: 'alice@example.com',
            userType: 'policyOwner',
          },
          ctx,
        );
        assert.ok(Number.isSafeInteger(created.id) && created.id > 0);
        assert.deepEqual(created, {
          id: created.id,
          userid: 'Alice',
          iamid: 'bim',
          name: 'Alice A',
          email: 'alice@example.com',
          userType: 'policyOwner',
          createdAt: T0,
          lastActivityAt: T0,
          disabled: false,
          pending: false,
        });
        assert.ok(created.createdAt instanceof Date && created.lastActivityAt instanceof Date);
        assert.deepEqual(await store.getUser(created.id), created);
        for (const id of [created.id + 1, 0, -1, 1.5, 2 ** 53 - 1])
          assert.equal(await store.getUser(id), undefined);
        assert.equal(await activeCount(store, ctx.activeSince), 1);
        const second = await store.createUser(newUser(), seatContext(at(1)));
        assert.ok(second.id > created.id);
        assert.equal(await assertCountsAgree(ctx.activeSince), 2);
      });

      it('refuses a taken (iamid, userid) with USER_ALREADY_EXISTS, before the seat check', async () => {
        await grantSeats(2);
        const ctx = seatContext(T0);
        const alice = await store.createUser(newUser({ iamid: 'bim', userid: 'alice' }), ctx);
        await rejectsWithCode(
          store.createUser(newUser({ iamid: 'bim', userid: 'alice', name: 'another' }), seatContext(at(1))),
          'USER_ALREADY_EXISTS',
        );
        // The same userid of another identity provider is another user.
        await store.createUser(newUser({ iamid: 'okta', userid: 'alice' }), ctx);
        // Every seat is taken now: a duplicate is still USER_ALREADY_EXISTS, not SEAT_LIMIT_REACHED.
        await rejectsWithCode(
          store.createUser(newUser({ iamid: 'bim', userid: 'alice' }), ctx),
          'USER_ALREADY_EXISTS',
        );
        // A disabled user still holds its name.
        await store.updateUser(alice.id, { disabled: true }, ctx);
        await rejectsWithCode(
          store.createUser(newUser({ iamid: 'bim', userid: 'alice' }), ctx),
          'USER_ALREADY_EXISTS',
        );
        assert.deepEqual(await store.getUser(alice.id), { ...alice, disabled: true });
        assert.equal((await store.listUsers(everyUser(ctx.activeSince))).total, 2);
      });

      it('refuses SEAT_LIMIT_REACHED at exactly licenseSeats and writes nothing', async () => {
        await grantSeats(2, 1);
        const ctx = seatContext(T0);
        for (let i = 0; i < 3; i++) await store.createUser(newUser(), seatContext(at(i)));
        const refused = newUser({ userid: 'one-too-many' });
        await rejectsWithCode(store.createUser(refused, seatContext(at(10))), 'SEAT_LIMIT_REACHED');
        assert.equal(await assertCountsAgree(ctx.activeSince), 3);
        const listed = await store.listUsers(everyUser(ctx.activeSince));
        assert.equal(listed.total, 3);
        assert.ok(!listed.users.some((u) => u.userid === 'one-too-many'));
        assert.deepEqual(await store.usageHistory(utcDay(T0), utcDay(T0)), [
          {
            day: utcDay(T0),
            peakActiveUsers: 3,
            peakByType: { dataConsumer: 3, policyOwner: 0 },
            licenseSeats: 3,
            hardSeats: 2,
          },
        ]);
        // A freed seat can be taken, by the very user refused: nothing of it was left behind.
        await store.deleteUser(listed.users[0]!.id, seatContext(at(11)));
        const admitted = await store.createUser(refused, seatContext(at(12)));
        assert.equal(admitted.userid, 'one-too-many');
        assert.equal(await assertCountsAgree(ctx.activeSince), 3);
      });

      it('has no seats without an active license', async () => {
        await rejectsWithCode(store.createUser(newUser(), seatContext(T0)), 'SEAT_LIMIT_REACHED');
        const license = await grantSeats(3);
        await store.deleteLicense(license.id, fixed(at(1)));
        await rejectsWithCode(store.createUser(newUser(), seatContext(at(2))), 'SEAT_LIMIT_REACHED');
        assert.equal((await store.listUsers(everyUser(T0))).total, 0);
        assert.deepEqual(await store.usageHistory(utcDay(T0), utcDay(T0)), []);
      });

      it('activity of an active user always succeeds without a seat, even over the limit', async () => {
        const license = await grantSeats(1);
        const user = await store.createUser(newUser(), seatContext(T0));
        const later = at(HOUR);
        const first = await store.recordActivity(user.id, seatContext(later));
        assert.equal(first.seatTaken, false);
        assert.deepEqual(first.user, { ...user, lastActivityAt: later });
        // No seats at all now; the user keeps working, on later days too.
        await store.deleteLicense(license.id, fixed(at(2 * HOUR)));
        for (const when of [at(3 * HOUR), at(2 * DAY), at(2 * DAY + 1), at(9 * DAY)]) {
          const { user: after, seatTaken } = await store.recordActivity(user.id, seatContext(when));
          assert.equal(seatTaken, false);
          assert.equal(after.lastActivityAt.toISOString(), when.toISOString());
          assert.equal(await assertCountsAgree(seatContext(when).activeSince), 1);
        }
        assert.deepEqual(await store.getUser(user.id), { ...user, lastActivityAt: at(9 * DAY) });
        // Every day it left behind was emptied as it moved on.
        assert.equal(await assertCountsAgree(new Date(0)), 1);
      });

      it('a user aged out of the window takes a seat on its next activity, or is refused', async () => {
        await grantSeats(2);
        const a = await store.createUser(newUser(), seatContext(T0));
        const b = await store.createUser(newUser(), seatContext(T0));
        const later = at(WINDOW_DAYS * DAY + HOUR);
        const ctx = seatContext(later);
        assert.equal(await assertCountsAgree(ctx.activeSince), 0);
        await store.createUser(newUser(), ctx);
        const back = await store.recordActivity(a.id, ctx);
        assert.equal(back.seatTaken, true);
        assert.deepEqual(back.user, { ...a, lastActivityAt: later });
        assert.equal(await assertCountsAgree(ctx.activeSince), 2);
        await rejectsWithCode(
          store.recordActivity(b.id, seatContext(at(WINDOW_DAYS * DAY + 2 * HOUR))),
          'SEAT_LIMIT_REACHED',
        );
        assert.deepEqual(await store.getUser(b.id), b);
        assert.equal(await assertCountsAgree(ctx.activeSince), 2);
        assert.equal((await store.usageHistory(utcDay(later), utcDay(later)))[0]?.peakActiveUsers, 2);
      });

      it('the window boundary: a user active exactly at activeSince is active', async () => {
        const license = await grantSeats(1);
        const user = await store.createUser(newUser(), seatContext(T0));
        await store.deleteLicense(license.id, fixed(at(1)));
        assert.equal(await activeCount(store, T0), 1);
        assert.equal(await activeCount(store, at(1)), 0);
        assert.equal(await activeCount(store, at(-1)), 1);
        // No seats: activity judged with the window starting exactly at its last activity needs
        // none, a millisecond later it needs one.
        const edge = seatContext(at(WINDOW_DAYS * DAY));
        assert.equal(edge.activeSince.getTime(), T0.getTime());
        assert.equal((await store.recordActivity(user.id, edge)).seatTaken, false);
        // Again exactly at the edge of the activity just recorded, then a millisecond past it.
        await store.recordActivity(user.id, seatContext(at(2 * WINDOW_DAYS * DAY)));
        const gone = await store.getUser(user.id);
        await rejectsWithCode(
          store.recordActivity(
            user.id,
            seatContext(new Date(gone!.lastActivityAt.getTime() + WINDOW_DAYS * DAY + 1)),
          ),
          'SEAT_LIMIT_REACHED',
        );
      });

      it('counts users active at or after activeSince, across midnights', async () => {
        await grantSeats(100);
        const midnight = new Date('2026-06-01T00:00:00.000Z');
        const next = new Date('2026-06-02T00:00:00.000Z');
        const ms = (base: Date, n: number): Date => new Date(base.getTime() + n);
        const instants = [
          ms(midnight, -DAY),
          ms(midnight, -1),
          midnight,
          ms(midnight, 1),
          ms(T0, -1),
          T0,
          T0,
          ms(T0, 1),
          ms(next, -1),
          next,
          ms(next, 3 * DAY + 5),
        ];
        const types = ['dataConsumer', 'policyOwner'] as const;
        for (const [i, when] of instants.entries())
          await store.createUser(newUser({ userType: types[i % 2]! }), seatContext(when));
        const sinces = [...instants, ...instants.map((t) => ms(t, 1)), ...instants.map((t) => ms(t, -1))];
        for (const since of [new Date(0), ...sinces, ms(next, 10 * DAY)]) {
          const expected = instants.filter((t) => t.getTime() >= since.getTime()).length;
          assert.equal(await assertCountsAgree(since), expected, `active since ${since.toISOString()}`);
          assert.equal(
            (await store.listUsers(everyUser(since, { active: false }))).total,
            instants.length - expected,
          );
        }
      });

      it('a disabled user frees its seat and its activity is USER_DISABLED', async () => {
        await grantSeats(1);
        const since = seatContext(T0).activeSince;
        const user = await store.createUser(newUser(), seatContext(T0));
        const disabled = await store.updateUser(user.id, { disabled: true }, seatContext(at(1)));
        assert.deepEqual(disabled, { ...user, disabled: true });
        assert.equal(await assertCountsAgree(since), 0);
        await rejectsWithCode(store.recordActivity(user.id, seatContext(at(2))), 'USER_DISABLED');
        assert.deepEqual(await store.getUser(user.id), disabled);
        // Disabling again changes nothing.
        assert.deepEqual(await store.updateUser(user.id, { disabled: true }, seatContext(at(3))), disabled);
        assert.equal(await assertCountsAgree(since), 0);
        const other = await store.createUser(newUser(), seatContext(at(4)));
        // Re-enabling inside the window takes a seat, and none is free.
        await rejectsWithCode(
          store.updateUser(user.id, { disabled: false, name: 'changed' }, seatContext(at(5))),
          'SEAT_LIMIT_REACHED',
        );
        assert.deepEqual(await store.getUser(user.id), disabled);
        await store.deleteUser(other.id, seatContext(at(6)));
        const enabled = await store.updateUser(user.id, { disabled: false }, seatContext(at(7)));
        // Enabling is not activity: the last activity stays where it was.
        assert.deepEqual(enabled, user);
        assert.equal(await assertCountsAgree(since), 1);
        // Enabling an enabled user at the limit takes nothing and succeeds.
        assert.deepEqual(await store.updateUser(user.id, { disabled: false }, seatContext(at(8))), user);
        assert.equal(await assertCountsAgree(since), 1);
      });

      it('re-enabling a user whose last activity is outside the window takes no seat', async () => {
        await grantSeats(1);
        const user = await store.createUser(newUser(), seatContext(T0));
        await store.updateUser(user.id, { disabled: true }, seatContext(at(1)));
        const ctx = seatContext(at((WINDOW_DAYS + 10) * DAY));
        await store.createUser(newUser(), ctx);
        const enabled = await store.updateUser(user.id, { disabled: false }, ctx);
        assert.deepEqual(enabled, user);
        assert.equal(await assertCountsAgree(ctx.activeSince), 1);
        assert.deepEqual(await userids(everyUser(ctx.activeSince, { active: false })), [user.userid]);
        // It stays inactive until its next activity, which needs a seat.
        await rejectsWithCode(store.recordActivity(user.id, ctx), 'SEAT_LIMIT_REACHED');
        assert.equal(await assertCountsAgree(seatContext(T0).activeSince), 2);
      });

      it('updates name, email and type; an empty patch changes nothing; counts follow the type', async () => {
        await grantSeats(5);
        const since = seatContext(T0).activeSince;
        const user = await store.createUser(
          newUser({ name: 'Bob', email: 'bob@example.com' }),
          seatContext(T0),
        );
        const ctx = seatContext(at(1));
        assert.deepEqual(await store.updateUser(user.id, {}, ctx), user);
        const renamed = await store.updateUser(user.id, { name: null, email: 'robert@example.com' }, ctx);
        assert.deepEqual(renamed, { ...user, name: null, email: 'robert@example.com' });
        const promoted = await store.updateUser(user.id, { userType: 'policyOwner' }, ctx);
        assert.deepEqual(promoted, { ...renamed, userType: 'policyOwner' });
        assert.deepEqual(await store.getUser(user.id), promoted);
        assert.deepEqual(await store.usageSummary(since), {
          dataConsumers: { totalCount: 0, activeCount: 0 },
          policyOwners: { totalCount: 1, activeCount: 1 },
        });
        await assertCountsAgree(since);
        // A disabled user changes type without being counted anywhere.
        await store.updateUser(user.id, { disabled: true }, ctx);
        await store.updateUser(user.id, { userType: 'dataConsumer' }, ctx);
        assert.deepEqual(await store.usageSummary(since), {
          dataConsumers: { totalCount: 1, activeCount: 0 },
          policyOwners: { totalCount: 0, activeCount: 0 },
        });
        // Type and enable in one patch.
        const both = await store.updateUser(user.id, { userType: 'policyOwner', disabled: false }, ctx);
        assert.equal(both.userType, 'policyOwner');
        assert.equal(both.disabled, false);
        assert.equal(await assertCountsAgree(since), 1);
        assert.equal((await store.usageSummary(since)).policyOwners.activeCount, 1);
      });

      it('refuses USER_NOT_FOUND for an unknown user', async () => {
        await grantSeats(5);
        const user = await store.createUser(newUser(), seatContext(T0));
        const ctx = seatContext(at(1));
        for (const id of [user.id + 1000, 0, -1, 1.5]) {
          await rejectsWithCode(store.recordActivity(id, ctx), 'USER_NOT_FOUND');
          await rejectsWithCode(store.updateUser(id, { name: 'x' }, ctx), 'USER_NOT_FOUND');
          await rejectsWithCode(store.deleteUser(id, ctx), 'USER_NOT_FOUND');
        }
        assert.deepEqual(await store.getUser(user.id), user);
      });

      it('deletes a user for good, freeing its seat', async () => {
        await grantSeats(1);
        const since = seatContext(T0).activeSince;
        const user = await store.createUser(newUser({ iamid: 'bim', userid: 'carol' }), seatContext(T0));
        assert.deepEqual(await store.deleteUser(user.id, seatContext(at(1))), user);
        assert.equal(await store.getUser(user.id), undefined);
        assert.equal(await assertCountsAgree(since), 0);
        assert.equal((await store.usageSummary(since)).dataConsumers.totalCount, 0);
        await rejectsWithCode(store.deleteUser(user.id, seatContext(at(2))), 'USER_NOT_FOUND');
        // Its name and its seat are free again.
        const again = await store.createUser(newUser({ iamid: 'bim', userid: 'carol' }), seatContext(at(3)));
        assert.notEqual(again.id, user.id);
        // Deleting a disabled user leaves the counters alone.
        const disabled = await store.updateUser(again.id, { disabled: true }, seatContext(at(4)));
        assert.deepEqual(await store.deleteUser(again.id, seatContext(at(5))), disabled);
        assert.equal(await assertCountsAgree(new Date(0)), 0);
      });

      it('lists users in id order, a page at a time, with the matching total', async () => {
        await grantSeats(10);
        const created: UserRecord[] = [];
        for (let i = 0; i < 7; i++) created.push(await store.createUser(newUser(), seatContext(at(i))));
        const since = seatContext(T0).activeSince;
        assert.deepEqual(await store.listUsers(everyUser(since)), { users: created, total: 7 });
        assert.deepEqual(await store.listUsers({ offset: 2, size: 3, activeSince: since }), {
          users: created.slice(2, 5),
          total: 7,
        });
        assert.deepEqual(await store.listUsers({ offset: 6, size: 3, activeSince: since }), {
          users: created.slice(6),
          total: 7,
        });
        assert.deepEqual(await store.listUsers({ offset: 10, size: 3, activeSince: since }), {
          users: [],
          total: 7,
        });
      });

      it('filters active and inactive users as judged at activeSince', async () => {
        await grantSeats(10);
        const active = await store.createUser(newUser({ userid: 'active' }), seatContext(at(DAY)));
        const aged = await store.createUser(newUser({ userid: 'aged' }), seatContext(T0));
        const disabled = await store.createUser(newUser({ userid: 'disabled' }), seatContext(at(DAY)));
        await store.updateUser(disabled.id, { disabled: true }, seatContext(at(DAY)));
        const since = at(HOUR);
        assert.deepEqual(await userids(everyUser(since, { active: true })), [active.userid]);
        assert.deepEqual(await userids(everyUser(since, { active: false })), [aged.userid, disabled.userid]);
        assert.deepEqual(await userids(everyUser(since)), ['active', 'aged', 'disabled']);
        assert.equal(
          (await store.listUsers({ offset: 1, size: 1, active: false, activeSince: since })).total,
          2,
        );
      });

      it('searches userid, name and email case-insensitively, with % and _ literal', async () => {
        await grantSeats(10);
        const add = (userid: string, name: string | null, email: string | null): Promise<UserRecord> =>
          store.createUser(newUser({ userid, name, email }), seatContext(T0));
        await add('Alice.Smith', 'Alice', 'alice@example.com');
        await add('bob', null, null);
        await add('carol', '50% Off', 'carol_x@example.com');
        await add('dave', 'David', 'DAVE@EXAMPLE.ORG');
        await add('c50x', null, 'c5000@example.com');
        await add('CORP\\eve', 'Eve', null);
        const since = seatContext(T0).activeSince;
        const search = (q: string, more: Partial<UserQuery> = {}): Promise<string[]> =>
          userids(everyUser(since, { search: q, ...more }));
        assert.deepEqual(await search('ALICE'), ['Alice.Smith']);
        assert.deepEqual(await search('smith'), ['Alice.Smith']);
        assert.deepEqual(await search('example.org'), ['dave']);
        assert.deepEqual(await search('avi'), ['dave']);
        assert.deepEqual(await search('50%'), ['carol']);
        assert.deepEqual(await search('_x'), ['carol']);
        assert.deepEqual(await search('%'), ['carol']);
        assert.deepEqual(await search('_'), ['carol']);
        assert.deepEqual(await search('corp\\'), ['CORP\\eve']);
        assert.deepEqual(await search('\\'), ['CORP\\eve']);
        assert.deepEqual(await search('B'), ['bob']);
        // A missing name or email matches nothing, not even the word for it.
        assert.deepEqual(await search('null'), []);
        assert.deepEqual(await search('example'), ['Alice.Smith', 'carol', 'dave', 'c50x']);
        assert.equal((await store.listUsers({ ...everyUser(since), search: 'example', size: 1 })).total, 4);
        // An empty search is no search.
        assert.equal((await search('')).length, 6);
        // With the active filter.
        const [alice] = (await store.listUsers(everyUser(since, { search: 'alice' }))).users;
        await store.updateUser(alice!.id, { disabled: true }, seatContext(at(1)));
        assert.deepEqual(await search('example', { active: true }), ['carol', 'dave', 'c50x']);
        assert.deepEqual(await search('example', { active: false }), ['Alice.Smith']);
      });

      it('summarises total and active users of each type', async () => {
        await grantSeats(10);
        const later = at((WINDOW_DAYS - 1) * DAY);
        await store.createUser(newUser(), seatContext(later));
        await store.createUser(newUser(), seatContext(later));
        await store.createUser(newUser(), seatContext(at(-2 * DAY)));
        await store.createUser(newUser({ userType: 'policyOwner' }), seatContext(later));
        const off = await store.createUser(newUser({ userType: 'policyOwner' }), seatContext(later));
        await store.updateUser(off.id, { disabled: true }, seatContext(later));
        assert.deepEqual(await store.usageSummary(seatContext(later).activeSince), {
          dataConsumers: { totalCount: 3, activeCount: 2 },
          policyOwners: { totalCount: 2, activeCount: 1 },
        });
        assert.deepEqual(await store.usageSummary(at(-3 * DAY)), {
          dataConsumers: { totalCount: 3, activeCount: 3 },
          policyOwners: { totalCount: 2, activeCount: 1 },
        });
      });

      it('of 100 concurrent creates over 4 stores with 25 seats exactly 25 succeed', async () => {
        const stores = await processes(4);
        await grantSeats(20, 5);
        const ctx = seatContext(T0);
        const results = await Promise.allSettled(
          Array.from({ length: 100 }, (_, i) =>
            stores[i % stores.length]!.createUser(newUser({ userid: `racer-${i}` }), ctx),
          ),
        );
        const codes = results.map(codeOf);
        assert.equal(codes.filter((c) => c === 'fulfilled').length, 25, codes.join(', '));
        assert.equal(codes.filter((c) => c === 'SEAT_LIMIT_REACHED').length, 75, codes.join(', '));
        assert.equal(await activeCount(store, ctx.activeSince), 25);
        assert.equal((await store.listUsers(everyUser(ctx.activeSince))).total, 25);
        await assertCountsAgree(ctx.activeSince);
        assert.equal((await store.usageHistory(utcDay(T0), utcDay(T0)))[0]?.peakActiveUsers, 25);
      });

      it('of 12 concurrent creates of one user exactly one succeeds', async () => {
        const stores = await processes(4);
        await grantSeats(50);
        const results = await Promise.allSettled(
          Array.from({ length: 12 }, (_, i) =>
            stores[i % stores.length]!.createUser(
              newUser({ iamid: 'bim', userid: 'twin', name: `twin-${i}` }),
              seatContext(at(i)),
            ),
          ),
        );
        const codes = results.map(codeOf);
        assert.equal(codes.filter((c) => c === 'fulfilled').length, 1, codes.join(', '));
        assert.equal(codes.filter((c) => c === 'USER_ALREADY_EXISTS').length, 11, codes.join(', '));
        assert.equal(await assertCountsAgree(seatContext(T0).activeSince), 1);
      });

      it('concurrent activity of aged-out users takes exactly the free seats', async () => {
        const stores = await processes(4);
        await grantSeats(10);
        const aged: UserRecord[] = [];
        for (let i = 0; i < 10; i++) aged.push(await store.createUser(newUser(), seatContext(T0)));
        const ctx = seatContext(at(WINDOW_DAYS * DAY + HOUR));
        for (let i = 0; i < 4; i++) await store.createUser(newUser(), ctx);
        const results = await Promise.allSettled(
          aged.map((u, i) => stores[i % stores.length]!.recordActivity(u.id, ctx)),
        );
        const codes = results.map(codeOf);
        assert.equal(codes.filter((c) => c === 'fulfilled').length, 6, codes.join(', '));
        assert.equal(codes.filter((c) => c === 'SEAT_LIMIT_REACHED').length, 4, codes.join(', '));
        for (const r of results) if (r.status === 'fulfilled') assert.equal(r.value.seatTaken, true);
        assert.equal(await assertCountsAgree(ctx.activeSince), 10);
      });

      it('concurrent activity, type changes, disables and deletes keep the counters exact', async () => {
        const stores = await processes(4);
        await grantSeats(200);
        const users: UserRecord[] = [];
        for (let i = 0; i < 40; i++)
          users.push(
            await store.createUser(
              newUser({ userType: i % 2 === 0 ? 'dataConsumer' : 'policyOwner' }),
              seatContext(at((i % 3) * DAY)),
            ),
          );
        const later = at(3 * DAY + HOUR);
        const flip = (u: UserRecord): 'dataConsumer' | 'policyOwner' =>
          u.userType === 'dataConsumer' ? 'policyOwner' : 'dataConsumer';
        const calls: Promise<unknown>[] = [];
        for (const [i, u] of users.entries()) {
          const s = stores[i % stores.length]!;
          // Two users of one day changing type in opposite directions touch the same two counters.
          calls.push(s.updateUser(u.id, { userType: flip(u) }, seatContext(later)));
          calls.push(s.updateUser(u.id, { userType: u.userType }, seatContext(later)));
          calls.push(s.recordActivity(u.id, seatContext(at(3 * DAY + i))));
          if (i % 5 === 0) calls.push(s.updateUser(u.id, { disabled: true }, seatContext(later)));
          if (i % 7 === 3) calls.push(s.deleteUser(u.id, seatContext(later)));
          calls.push(s.recordActivity(u.id, seatContext(at(4 * DAY + i))));
        }
        const codes = (await Promise.allSettled(calls)).map(codeOf);
        assert.ok(
          codes.every((c) => ['fulfilled', 'USER_DISABLED', 'USER_NOT_FOUND'].includes(c)),
          codes.join(', '),
        );
        for (const since of [new Date(0), at(DAY), at(3 * DAY), at(3 * DAY + 20), at(4 * DAY + 20)])
          await assertCountsAgree(since);
      });
    });

    describe('usage', () => {
      it("recordUsage raises the day's row: the peak keeps the highest count, the seats the latest", async () => {
        const license = await grantSeats(5, 1);
        const day = utcDay(T0);
        assert.deepEqual(await store.recordUsage(T0), {
          day,
          peakActiveUsers: 0,
          peakByType: { dataConsumer: 0, policyOwner: 0 },
          licenseSeats: 6,
          hardSeats: 5,
        });
        const a = await store.createUser(newUser(), seatContext(T0));
        const b = await store.createUser(newUser(), seatContext(at(1)));
        // Taking a seat raised the row already.
        assert.deepEqual(await store.usageHistory(day, day), [
          {
            day,
            peakActiveUsers: 2,
            peakByType: { dataConsumer: 2, policyOwner: 0 },
            licenseSeats: 6,
            hardSeats: 5,
          },
        ]);
        await store.deleteUser(a.id, seatContext(at(2)));
        await store.deleteUser(b.id, seatContext(at(3)));
        await store.addLicense(newLicense({ seats: 10 }), fixed(at(4)));
        assert.deepEqual(await store.recordUsage(at(5)), {
          day,
          peakActiveUsers: 2,
          peakByType: { dataConsumer: 2, policyOwner: 0 },
          licenseSeats: 16,
          hardSeats: 15,
        });
        await store.deleteLicense(license.id, fixed(at(6)));
        assert.deepEqual(await store.recordUsage(at(7)), {
          day,
          peakActiveUsers: 2,
          peakByType: { dataConsumer: 2, policyOwner: 0 },
          licenseSeats: 10,
          hardSeats: 10,
        });
        // The next UTC day has a row of its own.
        const next = at(DAY);
        assert.deepEqual(await store.recordUsage(next), {
          day: utcDay(next),
          peakActiveUsers: 0,
          peakByType: { dataConsumer: 0, policyOwner: 0 },
          licenseSeats: 10,
          hardSeats: 10,
        });
        assert.deepEqual(await store.usageHistory(day, day), [
          {
            day,
            peakActiveUsers: 2,
            peakByType: { dataConsumer: 2, policyOwner: 0 },
            licenseSeats: 10,
            hardSeats: 10,
          },
        ]);
      });

      it('usageHistory gives the days in the range, bounds included, oldest first', async () => {
        await grantSeats(3);
        const days = [at(3 * DAY), at(-2 * DAY), T0, at(40 * DAY)];
        for (const when of days) await store.recordUsage(when);
        const history = async (from: Date, to: Date): Promise<string[]> =>
          (await store.usageHistory(utcDay(from), utcDay(to))).map((u) => u.day);
        assert.deepEqual(await history(at(-2 * DAY), at(2 * DAY)), [utcDay(at(-2 * DAY)), utcDay(T0)]);
        assert.deepEqual(await history(T0, at(3 * DAY)), [utcDay(T0), utcDay(at(3 * DAY))]);
        assert.deepEqual(await history(at(-100 * DAY), at(100 * DAY)), [
          utcDay(at(-2 * DAY)),
          utcDay(T0),
          utcDay(at(3 * DAY)),
          utcDay(at(40 * DAY)),
        ]);
        assert.deepEqual(await history(at(DAY), at(2 * DAY)), []);
        assert.deepEqual(await store.usageHistory('2026-06-05', '2026-06-01'), []);
      });
    });

    describe('api tokens', () => {
      it('creates, lists and revokes tokens', async () => {
        assert.deepEqual(await store.listTokens(), []);
        const boot = await store.setBootstrapToken('boot-hash', T0);
        const ci = await store.createToken(
          { name: 'ci', hash: 'h1', permissions: ['USER_ADMIN'] },
          fixed(at(1)),
        );
        assert.ok(Number.isSafeInteger(ci.id) && ci.id > boot.id);
        assert.deepEqual(ci, {
          id: ci.id,
          name: 'ci',
          permissions: ['USER_ADMIN'],
          createdAt: at(1),
          revokedAt: null,
          bootstrap: false,
        });
        const ops = await store.createToken(
          { name: 'ops', hash: 'h2', permissions: ['APPLICATION_ADMIN', 'USER_ADMIN'] },
          fixed(at(2)),
        );
        assert.deepEqual(await store.findTokenByHash('h1'), ci);
        assert.deepEqual(await store.findTokenByHash('h2'), ops);
        assert.deepEqual(await store.listTokens(), [boot, ci, ops]);
        const revoked = await store.revokeToken(ci.id, fixed(at(3)));
        assert.deepEqual(revoked, { ...ci, revokedAt: at(3) });
        assert.equal(await store.findTokenByHash('h1'), undefined);
        assert.deepEqual(await store.listTokens(), [boot, ops]);
        await rejectsWithCode(store.revokeToken(ci.id, fixed(at(4))), 'TOKEN_NOT_FOUND');
        for (const id of [ops.id + 100, 0, -1, 1.5])
          await rejectsWithCode(store.revokeToken(id, fixed(at(4))), 'TOKEN_NOT_FOUND');
        assert.deepEqual(await store.listTokens(), [boot, ops]);
      });

      it('createBootstrapTokenIfNone creates nothing while any live token exists', async () => {
        const ci = await store.createToken(
          { name: 'ci', hash: 'h1', permissions: ['USER_ADMIN'] },
          fixed(T0),
        );
        assert.equal(await store.createBootstrapTokenIfNone('boot-1', at(1)), false);
        await store.revokeToken(ci.id, fixed(at(2)));
        assert.equal(await store.createBootstrapTokenIfNone('boot-2', at(3)), true);
        assert.equal((await store.findTokenByHash('boot-2'))?.bootstrap, true);
      });

      it('createBootstrapTokenIfNone racing createToken creates only when no token came first', async () => {
        for (let round = 0; round < 10; round++) {
          // A fresh database each round: a store with an administrator token keeps one for good.
          const fresh = await open();
          const stores = [fresh];
          try {
            if (options.reopen) for (let i = 0; i < 3; i++) stores.push(await options.reopen(fresh));
            const boot = stores[round % stores.length]!.createBootstrapTokenIfNone(
              `boot-${round}`,
              at(round),
            );
            const created = Promise.all(
              Array.from({ length: 6 }, (_, i) =>
                stores[(round + i) % stores.length]!.createToken(
                  { name: `t-${round}-${i}`, hash: `h-${round}-${i}`, permissions: ['USER_ADMIN'] },
                  fixed(at(round)),
                ),
              ),
            );
            const [tokens, bootstrapped] = await Promise.all([created, boot]);
            if (bootstrapped) {
              const token = await fresh.findTokenByHash(`boot-${round}`);
              assert.ok(token);
              // Created while no token was live: every token of this round came after it.
              assert.ok(
                tokens.every((t) => t.id > token.id),
                `bootstrap ${token.id}, others ${tokens.map((t) => t.id).join(', ')}`,
              );
            } else {
              assert.equal(await fresh.findTokenByHash(`boot-${round}`), undefined);
            }
          } finally {
            for (const s of stores.slice(1)) await s.close();
            await fresh.close();
            await cleanup?.(fresh);
          }
        }
      });

      it('refuses to revoke the last live APPLICATION_ADMIN token, and changes nothing', async () => {
        const boot = await store.setBootstrapToken('boot-hash', T0);
        const ci = await store.createToken(
          { name: 'ci', hash: 'h1', permissions: ['USER_ADMIN'] },
          fixed(at(1)),
        );
        const audited = (await store.listAudit({ offset: 0, size: 10 })).total;
        await rejectsWithCode(store.revokeToken(boot.id, fixed(at(2))), 'LAST_ADMIN_TOKEN');
        assert.deepEqual(await store.listTokens(), [boot, ci]);
        assert.deepEqual(await store.findTokenByHash('boot-hash'), boot);
        assert.equal((await store.listAudit({ offset: 0, size: 10 })).total, audited);
        const ops = await store.createToken(
          { name: 'ops', hash: 'h2', permissions: ['USER_ADMIN', 'APPLICATION_ADMIN'] },
          fixed(at(3)),
        );
        assert.deepEqual(await store.revokeToken(boot.id, fixed(at(4))), { ...boot, revokedAt: at(4) });
        await rejectsWithCode(store.revokeToken(ops.id, fixed(at(5))), 'LAST_ADMIN_TOKEN');
        // A USER_ADMIN token is never the last administrator.
        await store.revokeToken(ci.id, fixed(at(6)));
        assert.deepEqual(await store.listTokens(), [ops]);
      });

      it('of two concurrent revokes of the last two administrator tokens, exactly one succeeds', async () => {
        const stores = await processes(2);
        let [a, b] = [
          await store.setBootstrapToken('boot-hash', T0),
          await store.createToken({ name: 'a', hash: 'a-0', permissions: ['APPLICATION_ADMIN'] }, fixed(T0)),
        ];
        for (let round = 1; round <= 10; round++) {
          const results = await Promise.allSettled([
            stores[0]!.revokeToken(a.id, fixed(at(round))),
            stores[stores.length - 1]!.revokeToken(b.id, fixed(at(round))),
          ]);
          const codes = results.map(codeOf).sort();
          assert.deepEqual(codes, ['LAST_ADMIN_TOKEN', 'fulfilled'], `round ${round}`);
          const live = await store.listTokens();
          assert.equal(live.length, 1, `round ${round}`);
          [a, b] = [
            live[0]!,
            await store.createToken(
              { name: `a-${round}`, hash: `a-${round}`, permissions: ['APPLICATION_ADMIN'] },
              fixed(at(round)),
            ),
          ];
        }
      });
    });

    describe('audit', () => {
      it('lists nothing on an empty store', async () => {
        assert.deepEqual(await store.listAudit({ offset: 0, size: 10 }), { entries: [], total: 0 });
      });

      it('appends entries and lists them newest first, with the total, a page at a time', async () => {
        const entries: NewAuditEntry[] = Array.from({ length: 5 }, (_, i) => ({
          at: at(i * 1001),
          actorTokenId: i === 0 ? null : i,
          actorName: i === 0 ? null : `token-${i}`,
          action: `action.${i}`,
          target: i % 2 === 1 ? `user:${i}` : null,
          targetName: i === 1 ? 'ada' : null,
          outcome: i === 3 ? 'refused' : 'success',
          code: i === 3 ? 'SEAT_LIMIT_REACHED' : null,
          clientAddress: i === 4 ? '::1' : `10.0.0.${i}`,
        }));
        for (const entry of entries) await store.recordRefusal(entry, []);
        const all = await store.listAudit({ offset: 0, size: 10 });
        assert.equal(all.total, 5);
        assert.deepEqual(
          all.entries.map(({ id: _id, ...entry }) => entry),
          [...entries].reverse(),
        );
        const ids = all.entries.map((e) => e.id);
        assert.ok(ids.every((id, i) => Number.isSafeInteger(id) && (i === 0 || id < ids[i - 1]!)));
        assert.deepEqual(await store.listAudit({ offset: 1, size: 2 }), {
          entries: all.entries.slice(1, 3),
          total: 5,
        });
        assert.deepEqual(await store.listAudit({ offset: 5, size: 2 }), { entries: [], total: 5 });
      });
    });

    describe('tokens', () => {
      it('finds no token on an empty store', async () => {
        assert.equal(await store.findTokenByHash('no-such-hash'), undefined);
      });

      it('setBootstrapToken creates the administrator token, found by its hash', async () => {
        const token = await store.setBootstrapToken('hash-1', T0);
        assert.equal(typeof token.id, 'number');
        assert.equal(token.name, 'bootstrap administrator');
        assert.deepEqual(token.permissions, ['APPLICATION_ADMIN']);
        assert.equal(token.bootstrap, true);
        assert.equal(token.revokedAt, null);
        assert.equal(token.createdAt.toISOString(), T0.toISOString());
        assert.deepEqual(await store.findTokenByHash('hash-1'), token);
        assert.equal(await store.findTokenByHash('hash-2'), undefined);
      });

      it('setBootstrapToken with a new hash rotates the old secret out', async () => {
        const first = await store.setBootstrapToken('hash-1', T0);
        const second = await store.setBootstrapToken('hash-2', at(DAY));
        assert.equal(await store.findTokenByHash('hash-1'), undefined);
        assert.deepEqual(await store.findTokenByHash('hash-2'), second);
        assert.equal(second.id, first.id);
        assert.equal(second.createdAt.toISOString(), T0.toISOString());
        // Setting the same secret again changes nothing.
        assert.deepEqual(await store.setBootstrapToken('hash-2', at(2 * DAY)), second);
      });

      it('createBootstrapTokenIfNone creates a token only on a store without one', async () => {
        assert.equal(await store.createBootstrapTokenIfNone('hash-1', T0), true);
        assert.equal(await store.createBootstrapTokenIfNone('hash-2', at(1)), false);
        const token = await store.findTokenByHash('hash-1');
        assert.equal(token?.bootstrap, true);
        assert.deepEqual(token?.permissions, ['APPLICATION_ADMIN']);
        assert.equal(token?.createdAt.toISOString(), T0.toISOString());
        assert.equal(await store.findTokenByHash('hash-2'), undefined);
      });

      it('createBootstrapTokenIfNone does nothing once setBootstrapToken has run', async () => {
        await store.setBootstrapToken('hash-1', T0);
        assert.equal(await store.createBootstrapTokenIfNone('hash-2', at(1)), false);
        assert.equal(await store.findTokenByHash('hash-2'), undefined);
      });

      it('of 10 concurrent createBootstrapTokenIfNone exactly one creates the token', async () => {
        const stores = await processes(4);
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            stores[i % stores.length]!.createBootstrapTokenIfNone(`hash-${i}`, at(i)),
          ),
        );
        assert.equal(results.filter(Boolean).length, 1, results.join(', '));
        const winner = results.indexOf(true);
        for (let i = 0; i < 10; i++)
          assert.equal((await store.findTokenByHash(`hash-${i}`)) !== undefined, i === winner, `hash-${i}`);
      });

      it('concurrent setBootstrapToken with one secret all succeed on one token', async () => {
        const stores = await processes(4);
        const tokens = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            stores[i % stores.length]!.setBootstrapToken('same-hash', at(i)),
          ),
        );
        assert.equal(new Set(tokens.map((t) => t.id)).size, 1);
        assert.equal((await store.findTokenByHash('same-hash'))?.id, tokens[0]?.id);
      });
    });

    describe('lifecycle', () => {
      it('ping answers', async () => {
        assert.equal(await store.ping(), undefined);
      });

      it('reports its kind', () => {
        assert.ok(store.kind === 'sqlite' || store.kind === 'postgres');
      });

      it('close can be called twice', async () => {
        await store.close();
        await store.close();
      });

      it(
        'opening an up-to-date database again migrates nothing and keeps the data',
        { skip: options.reopen ? false : 'this database cannot be opened twice' },
        async () => {
          const added = await store.addLicense(newLicense(), fixed(T0));
          await store.setBootstrapToken('hash-1', T0);
          const [, second] = await processes(2);
          assert.ok(second);
          assert.deepEqual(await second.listLicenses(), [added]);
          assert.equal((await second.findTokenByHash('hash-1'))?.bootstrap, true);
          const more = await second.addLicense(newLicense(), fixed(at(1)));
          assert.deepEqual(await store.listLicenses(), [added, more]);
          const third = await options.reopen!(second);
          others.push(third);
          assert.equal((await third.listLicenses()).length, 2);
        },
      );
    });
  });
}
