import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LicensorError } from '../../src/domain/errors.js';
import { DISABLE_INACTIVE_CHUNK, DISABLE_INACTIVE_LISTED } from '../../src/domain/user-bulk.js';
import type { UserRecord } from '../../src/domain/users.js';
import type { NewLicense, Store } from '../../src/store/store.js';
import { createIssuer, DAY } from '../helpers/issuer.js';
import { CONTRACT_WINDOW_DAYS, fixed, TEST_ACTOR } from './store-contract.js';

const T0 = new Date('2026-06-01T12:00:00.000Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);

/**
 * Disabling the users inactive for N days (domain/user-bulk.ts) and the audit log's filters and
 * names (docs/audit.md), the same on every store.
 */
export function userBulkContract(
  name: string,
  open: () => Promise<Store>,
  cleanup?: (store: Store) => Promise<void>,
): void {
  const issuer = createIssuer();
  function newLicense(seats: number): NewLicense {
    return issuer.newLicense({ seats }, at(-60 * DAY));
  }
  const user = (userid: string) =>
    ({ userid, iamid: 'idp', name: null, email: null, userType: 'dataConsumer' }) as const;

  describe(`${name}: disabling inactive users, audit filters and names`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      await store.addLicense(newLicense(50), fixed(at(-60 * DAY)));
    });
    afterEach(async () => {
      await store.close();
      await cleanup?.(store);
    });

    /** Users last active 40, 20, 10 and 2 days before T0, and one 20 days ago but disabled. */
    async function seed() {
      const old = await store.createUser(user('old'), fixed(at(-40 * DAY)));
      const twenty = await store.createUser(user('twenty'), fixed(at(-20 * DAY)));
      const ten = await store.createUser(user('ten'), fixed(at(-10 * DAY)));
      const recent = await store.createUser(user('recent'), fixed(at(-2 * DAY)));
      const off = await store.createUser(user('off'), fixed(at(-20 * DAY)));
      await store.updateUser(off.id, { disabled: true }, fixed(at(-19 * DAY)));
      return { old, twenty, ten, recent, off };
    }

    it('a dry run names the users and the seats freed, and writes nothing', async () => {
      const { old, twenty, ten } = await seed();
      const auditBefore = (await store.listAudit({ offset: 0, size: 1 })).total;
      const preview = await store.disableInactiveUsers(7, fixed(T0), { dryRun: true });
      assert.deepEqual(
        preview.users.map((u) => u.id),
        [old.id, twenty.id, ten.id],
      );
      assert.ok(preview.users.every((u) => !u.disabled));
      // "old" left the 30-day window already: it holds no seat, so disabling it frees none.
      assert.equal(preview.seatsFreed, 2);
      assert.equal(preview.count, 3);
      assert.equal(preview.inactiveBefore.toISOString(), at(-7 * DAY).toISOString());
      assert.equal((await store.listAudit({ offset: 0, size: 1 })).total, auditBefore);
      assert.equal((await store.getUser(ten.id))?.disabled, false);
      assert.equal((await store.readView(T0)).activeUserCount, 3);
    });

    it('disables them in one change: seats freed, one audit entry each with its userid', async () => {
      const { old, twenty, ten, recent } = await seed();
      assert.equal((await store.readView(T0)).activeUserCount, 3);
      const done = await store.disableInactiveUsers(7, fixed(T0), { dryRun: false });
      assert.deepEqual(
        done.users.map((u) => [u.id, u.disabled]),
        [
          [old.id, true],
          [twenty.id, true],
          [ten.id, true],
        ],
      );
      assert.equal(done.seatsFreed, 2);
      assert.equal(done.count, 3);
      assert.equal((await store.readView(T0)).activeUserCount, 1);
      assert.equal((await store.getUser(recent.id))?.disabled, false);
      const { entries } = await store.listAudit({ offset: 0, size: 3, action: 'user.disable-inactive' });
      assert.deepEqual(
        entries.map((e) => [e.target, e.targetName, e.outcome, e.actorName, e.at.toISOString()]).reverse(),
        [old, twenty, ten].map((u) => [
          `user:${u.id}`,
          u.userid,
          'success',
          TEST_ACTOR.tokenName,
          T0.toISOString(),
        ]),
      );
      // Nothing is left to take; a user last active exactly at the bound is not taken either.
      const again = await store.disableInactiveUsers(2, fixed(at(0)), { dryRun: true });
      assert.deepEqual(again.users, []);
      const exact = await store.disableInactiveUsers(2, fixed(at(0)), { dryRun: false });
      assert.deepEqual(exact, { inactiveBefore: at(-2 * DAY), count: 0, users: [], seatsFreed: 0 });
    });

    it('takes users in chunks: every one counted, audited and disabled, the first 100 named', async () => {
      // More than two chunks of candidates, with users the change must leave interleaved, and
      // seat holders and users outside the window in every chunk.
      const n = DISABLE_INACTIVE_CHUNK * 2 + DISABLE_INACTIVE_CHUNK / 2;
      await store.addLicense(issuer.newLicense({ seats: n }, at(-200 * DAY)), fixed(at(-200 * DAY)));
      // User i was last active daysAgo(i) days and an hour before T0 (never on a day boundary).
      const daysAgo = (i: number): number => (i % 5 === 0 ? 2 : 8 + (i % 45));
      const created = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          store.createUser(user(`c${i}`), fixed(at(-daysAgo(i) * DAY - 3_600_000))),
        ),
      );
      const ids = created.map((u) => u.id);
      const taken = ids.filter((_, i) => daysAgo(i) > 7).sort((a, b) => a - b);
      const seatHolders = ids.filter((_, i) => daysAgo(i) > 7 && daysAgo(i) < CONTRACT_WINDOW_DAYS).length;
      // Two of PostgreSQL's generation polls pass first: the view read next is then turned over by
      // nothing but the change's own announcement (the creates' have all been seen).
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const activeBefore = (await store.readView(T0)).activeUserCount;

      const preview = await store.disableInactiveUsers(7, fixed(T0), { dryRun: true });
      assert.equal(preview.count, taken.length);
      assert.equal(preview.seatsFreed, seatHolders);
      assert.deepEqual(
        preview.users.map((u) => [u.id, u.disabled]),
        taken.slice(0, DISABLE_INACTIVE_LISTED).map((id) => [id, false]),
      );

      const done = await store.disableInactiveUsers(7, fixed(T0), { dryRun: false });
      assert.equal(done.count, taken.length);
      assert.equal(done.seatsFreed, seatHolders);
      assert.deepEqual(
        done.users.map((u) => [u.id, u.disabled]),
        taken.slice(0, DISABLE_INACTIVE_LISTED).map((id) => [id, true]),
      );
      assert.equal((await store.readView(T0)).activeUserCount, activeBefore - seatHolders);
      const audited = await store.listAudit({ offset: 0, size: 1, action: 'user.disable-inactive' });
      assert.equal(audited.total, taken.length);
      const left = await store.listUsers({ offset: 0, size: 1, disabled: false, activeSince: at(-7 * DAY) });
      assert.equal(left.total, n - taken.length);
      assert.equal((await store.disableInactiveUsers(7, fixed(T0), { dryRun: true })).count, 0);
    });

    it('a dry run, and a sweep that takes nobody, leave the snapshot current', async () => {
      await seed();
      // Two of PostgreSQL's generation polls pass first, so the seed's own announcements cannot
      // turn the snapshot over after the view below is loaded.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const view = await store.readView(T0);
      assert.equal(store.currentView(T0), view);
      assert.equal((await store.disableInactiveUsers(7, fixed(T0), { dryRun: true })).count, 3);
      assert.equal((await store.disableInactiveUsers(45, fixed(T0), { dryRun: false })).count, 0);
      assert.equal(store.currentView(T0), view, 'nothing the snapshot holds changed: no reload');
    });

    it('a login racing the bulk disable either keeps its user out of it or is refused', async () => {
      const users: UserRecord[] = [];
      for (let i = 0; i < 8; i++) users.push(await store.createUser(user(`r${i}`), fixed(at(-10 * DAY))));
      const results = await Promise.allSettled([
        store.disableInactiveUsers(5, fixed(T0), { dryRun: false }),
        ...users.map((u) => store.recordActivity(u.id, fixed(T0))),
      ]);
      const bulk = results[0];
      assert.equal(bulk.status, 'fulfilled');
      const disabledIds = new Set(bulk.value.users.map((u) => u.id));
      results.slice(1).forEach((r, i) => {
        const id = users[i]!.id;
        if (disabledIds.has(id)) {
          assert.equal(r.status, 'rejected', `user ${id} was disabled, so its login must be refused`);
          assert.ok(r.reason instanceof LicensorError && r.reason.code === 'USER_DISABLED');
        } else assert.equal(r.status, 'fulfilled', `user ${id} was kept, so its login succeeds`);
      });
      const stillActive = users.length - disabledIds.size;
      assert.equal((await store.readView(T0)).activeUserCount, stillActive);
      const listed = await store.listUsers({
        offset: 0,
        size: 50,
        active: true,
        activeSince: at(-CONTRACT_WINDOW_DAYS * DAY),
      });
      assert.equal(listed.total, stillActive);
    });

    it('audit entries name their target, and the log filters by action, actor, outcome and time', async () => {
      const ada = await store.createUser(user('ada'), fixed(at(1)));
      await store.updateUser(ada.id, { name: 'Ada' }, fixed(at(2)));
      await store.deleteUser(ada.id, fixed(at(3)));
      const other = { ...TEST_ACTOR, tokenId: 9, tokenName: 'robot' };
      const token = await store.createToken(
        { name: 'ci', hash: 'h-ci', permissions: ['USER_ADMIN'] },
        { clock: { now: () => at(4) }, actor: other },
      );
      await store.revokeToken(token.id, fixed(at(5)));
      await store.recordRefusal(
        {
          at: at(6),
          actorTokenId: 9,
          actorName: 'robot',
          action: 'user.create',
          target: null,
          targetName: null,
          outcome: 'refused',
          code: 'SEAT_LIMIT_REACHED',
          clientAddress: '10.0.0.9',
        },
        [],
      );
      const page = (q: Parameters<Store['listAudit']>[0]) =>
        store.listAudit(q).then((p) => [p.total, p.entries.map((e) => [e.action, e.targetName])]);
      assert.deepEqual(await page({ offset: 0, size: 10, from: at(1) }), [
        6,
        [
          ['user.create', null],
          ['token.revoke', 'ci'],
          ['token.create', 'ci'],
          ['user.delete', 'ada'],
          ['user.update', 'ada'],
          ['user.create', 'ada'],
        ],
      ]);
      assert.deepEqual(await page({ offset: 0, size: 10, action: 'user.update' }), [
        1,
        [['user.update', 'ada']],
      ]);
      assert.deepEqual(await page({ offset: 0, size: 10, actor: 'robot' }), [
        2,
        [
          ['user.create', null],
          ['token.create', 'ci'],
        ],
      ]);
      assert.deepEqual(await page({ offset: 0, size: 10, outcome: 'refused' }), [1, [['user.create', null]]]);
      assert.deepEqual(await page({ offset: 0, size: 10, from: at(2), to: at(4) }), [
        2,
        [
          ['user.delete', 'ada'],
          ['user.update', 'ada'],
        ],
      ]);
      assert.deepEqual(await page({ offset: 1, size: 1, action: 'user.create', from: at(1) }), [
        2,
        [['user.create', 'ada']],
      ]);
    });
  });
}
