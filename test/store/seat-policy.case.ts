import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LicensorError, type ErrorCode } from '../../src/domain/errors.js';
import type { NewLicense, NewUser, Store } from '../../src/store/store.js';
import { createIssuer } from '../helpers/issuer.js';
import { fixed } from './store-contract.js';

const T0 = new Date('2026-06-01T12:00:00.000Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof LicensorError && err.code === code);
}

/**
 * The user cap and the approval queue on every store (docs/seats.md#user-cap-and-approval-queue):
 * one seat limit for every seat decision, pending users holding no seat, approvals that race like
 * creates, settings every instance sees.
 */
export function seatPolicyContract(
  name: string,
  open: () => Promise<Store>,
  cleanup: (store: Store) => Promise<void>,
  reopen: (store: Store) => Promise<Store>,
): void {
  const issuer = createIssuer();
  function newLicense(seats: number): NewLicense {
    return issuer.newLicense({ seats }, T0);
  }
  let sequence = 0;
  const newUser = (): NewUser => ({
    userid: `p${++sequence}`,
    iamid: 'idp',
    name: null,
    email: null,
    userType: 'dataConsumer',
  });

  describe(`${name}: user cap and approval queue`, () => {
    let store: Store;
    const others: Store[] = [];
    beforeEach(async () => {
      store = await open();
      await store.addLicense(newLicense(10), fixed(T0));
    });
    afterEach(async () => {
      for (const other of others.splice(0)) await other.close();
      await store.close();
      await cleanup(store);
    });

    it('settings default to no cap and refuse; a change is audited and read back', async () => {
      assert.deepEqual(await store.getSeatSettings(), { userCap: null, whenFull: 'refuse' });
      await store.setSeatSettings({ userCap: 3, whenFull: 'queue' }, fixed(at(1)));
      assert.deepEqual(await store.getSeatSettings(), { userCap: 3, whenFull: 'queue' });
      assert.deepEqual((await store.readView(at(2))).settings, { userCap: 3, whenFull: 'queue' });
      const { entries } = await store.listAudit({ offset: 0, size: 1 });
      assert.deepEqual([entries[0]?.action, entries[0]?.target], ['settings.seats', 'settings:seats']);
      await rejectsWith(
        store.setSeatSettings({ userCap: -1, whenFull: 'queue' }, fixed(at(3))),
        'VALIDATION_FAILED',
      );
      assert.deepEqual(await store.getSeatSettings(), { userCap: 3, whenFull: 'queue' });
    });

    it('refuse mode: create, re-enable and activity of an inactive user all stop at the cap', async () => {
      await store.setSeatSettings({ userCap: 3, whenFull: 'refuse' }, fixed(T0));
      const users = [];
      for (let i = 0; i < 3; i++) users.push(await store.createUser(newUser(), fixed(at(i + 1))));
      await rejectsWith(store.createUser(newUser(), fixed(at(10))), 'SEAT_LIMIT_REACHED');
      await store.updateUser(users[0]!.id, { disabled: true }, fixed(at(11)));
      await store.createUser(newUser(), fixed(at(12)));
      await rejectsWith(
        store.updateUser(users[0]!.id, { disabled: false }, fixed(at(13))),
        'SEAT_LIMIT_REACHED',
      );
      assert.equal((await store.readView(at(14))).activeUserCount, 3);
      // Raising the cap above the licenses changes nothing: the limit is the smaller.
      await store.setSeatSettings({ userCap: 50, whenFull: 'refuse' }, fixed(at(15)));
      for (let i = 0; i < 7; i++) await store.createUser(newUser(), fixed(at(20 + i)));
      await rejectsWith(store.createUser(newUser(), fixed(at(30))), 'SEAT_LIMIT_REACHED');
    });

    it('queue mode: a pending user holds no seat, is refused activity, and waits for a free seat', async () => {
      await store.setSeatSettings({ userCap: 3, whenFull: 'queue' }, fixed(T0));
      const active = [];
      for (let i = 0; i < 3; i++) active.push(await store.createUser(newUser(), fixed(at(i + 1))));
      const pending = await store.createUser(newUser(), fixed(at(10)));
      assert.equal(pending.pending, true);
      assert.equal((await store.readView(at(11))).activeUserCount, 3);
      const queue = await store.listUsers({ offset: 0, size: 10, pending: true, activeSince: at(-DAY30) });
      assert.deepEqual(
        queue.users.map((u) => u.id),
        [pending.id],
      );
      const activeList = await store.listUsers({
        offset: 0,
        size: 10,
        active: true,
        activeSince: at(-DAY30),
      });
      assert.equal(activeList.total, 3);
      await rejectsWith(store.recordActivity(pending.id, fixed(at(12))), 'USER_PENDING');
      await rejectsWith(store.approveUser(pending.id, fixed(at(13))), 'SEAT_LIMIT_REACHED');
      assert.equal((await store.getUser(pending.id))?.pending, true);
      await store.updateUser(active[0]!.id, { disabled: true }, fixed(at(14)));
      const approved = await store.approveUser(pending.id, fixed(at(15)));
      assert.deepEqual([approved.pending, approved.disabled], [false, false]);
      assert.equal((await store.readView(at(16))).activeUserCount, 3);
      await rejectsWith(store.approveUser(pending.id, fixed(at(17))), 'USER_NOT_PENDING');
      await rejectsWith(store.rejectUser(pending.id, fixed(at(17))), 'USER_NOT_PENDING');
      const { events } = await store.listEvents({ offset: 0, size: 10, type: 'user.pending' });
      assert.equal(events.length, 1);
      const actions = (await store.listAudit({ offset: 0, size: 10 })).entries.map((e) => e.action);
      assert.ok(actions.includes('user.pending') && actions.includes('user.approve'), actions.join());

      const rejected = await store.createUser(newUser(), fixed(at(20)));
      assert.equal(rejected.pending, true);
      await store.rejectUser(rejected.id, fixed(at(21)));
      assert.equal(await store.getUser(rejected.id), undefined);
    });

    it('another instance sees changed settings within a second and decides by them', async () => {
      const other = await reopen(store);
      others.push(other);
      assert.deepEqual(await other.getSeatSettings(), { userCap: null, whenFull: 'refuse' });
      await store.setSeatSettings({ userCap: 1, whenFull: 'refuse' }, fixed(at(1)));
      const start = performance.now();
      while ((await other.getSeatSettings()).userCap !== 1) {
        assert.ok(performance.now() - start < 1000, 'the other instance did not see the cap');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await other.createUser(newUser(), fixed(at(2)));
      // The decision reads the settings under the seat lock, not from a snapshot.
      await rejectsWith(other.createUser(newUser(), fixed(at(3))), 'SEAT_LIMIT_REACHED');
    });

    it('50 concurrent approves with 5 seats free over two instances approve exactly 5', async () => {
      const other = await reopen(store);
      others.push(other);
      await store.setSeatSettings({ userCap: 5, whenFull: 'queue' }, fixed(T0));
      for (let i = 0; i < 5; i++) await store.createUser(newUser(), fixed(at(i + 1)));
      const waiting = [];
      for (let i = 0; i < 50; i++) waiting.push(await store.createUser(newUser(), fixed(at(100 + i))));
      assert.ok(waiting.every((u) => u.pending));
      await store.setSeatSettings({ userCap: 10, whenFull: 'queue' }, fixed(at(200)));
      const results = await Promise.allSettled(
        waiting.map((u, i) => (i % 2 === 0 ? store : other).approveUser(u.id, fixed(at(300)))),
      );
      const approved = results.filter((r) => r.status === 'fulfilled').length;
      const refused = results.filter(
        (r) =>
          r.status === 'rejected' &&
          r.reason instanceof LicensorError &&
          r.reason.code === 'SEAT_LIMIT_REACHED',
      ).length;
      assert.deepEqual([approved, refused], [5, 45]);
      assert.equal((await store.readView(at(301))).activeUserCount, 10);
      const queue = await store.listUsers({ offset: 0, size: 100, pending: true, activeSince: at(-DAY30) });
      assert.equal(queue.total, 45);
    });
  });
}

const DAY30 = 30 * 24 * 60 * 60 * 1000;
