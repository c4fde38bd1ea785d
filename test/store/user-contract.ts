import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { utcDay, type UserRecord } from '../../src/domain/users.js';
import type { Store, UserQuery } from '../../src/store/store.js';
import { DAY } from '../helpers/issuer.js';
import {
  T0,
  at,
  HOUR,
  WINDOW_DAYS,
  seatContext,
  activeCount,
  rejectsWithCode,
  codeOf,
  newUser,
  fixed,
  type ContractContext,
} from './store-contract-helpers.js';

/** Users, their activity and the seats they take; the counters a snapshot reads, against a scan. */
export function userContract(ctx: ContractContext): void {
  const { processes, grantSeats } = ctx;
  let store: Store;
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
    beforeEach(() => {
      store = ctx.store();
    });

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
}
