import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LicensorError } from '../../src/domain/errors.js';
import type { NewLicense, NewUser, Store } from '../../src/store/store.js';
import { createIssuer, DAY } from '../helpers/issuer.js';
import { CONTRACT_WINDOW_DAYS, fixed, TEST_ACTOR } from './store-contract.js';

const T0 = new Date('2026-06-01T12:00:00.000Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);

/**
 * What every store does with a change besides its rows (docs/architecture.md#changes): the audit
 * entry and the events commit with it, a refusal writes neither, and the read snapshot follows
 * changes (its own and other processes'), turns over by itself at time boundaries, and is left
 * alone by changes that alter nothing it holds.
 */
export function storeChangesContract(
  name: string,
  open: () => Promise<Store>,
  cleanup?: (store: Store) => Promise<void>,
  options: { reopen?: (store: Store) => Promise<Store> } = {},
): void {
  const issuer = createIssuer();
  function newLicense(claims: Record<string, unknown> = {}): NewLicense {
    return issuer.newLicense(claims, T0);
  }
  let sequence = 0;
  function newUser(): NewUser {
    sequence++;
    return { userid: `u${sequence}`, iamid: 'idp', name: null, email: null, userType: 'dataConsumer' };
  }

  describe(`${name}: changes and the snapshot`, () => {
    let store: Store;
    const others: Store[] = [];

    beforeEach(async () => {
      store = await open();
    });

    afterEach(async () => {
      for (const other of others.splice(0)) await other.close();
      await store.close();
      await cleanup?.(store);
    });

    it('a change commits its audit entry, with the actor, and its events', async () => {
      const license = await store.addLicense(newLicense({ seats: 5 }), fixed(T0));
      const user = await store.createUser(newUser(), fixed(at(1)));
      await store.updateUser(user.id, { disabled: true }, fixed(at(2)));
      const { entries } = await store.listAudit({ offset: 0, size: 10 });
      assert.deepEqual(
        entries.map((e) => [e.action, e.target, e.outcome, e.actorTokenId, e.actorName, e.clientAddress]),
        [
          [
            'user.update',
            `user:${user.id}`,
            'success',
            TEST_ACTOR.tokenId,
            TEST_ACTOR.tokenName,
            '127.0.0.1',
          ],
          [
            'user.create',
            `user:${user.id}`,
            'success',
            TEST_ACTOR.tokenId,
            TEST_ACTOR.tokenName,
            '127.0.0.1',
          ],
          [
            'license.add',
            `license:${license.id}`,
            'success',
            TEST_ACTOR.tokenId,
            TEST_ACTOR.tokenName,
            '127.0.0.1',
          ],
        ],
      );
      assert.deepEqual(
        entries.map((e) => e.at.toISOString()),
        [at(2), at(1), T0].map((d) => d.toISOString()),
      );
      const { events, total } = await store.listEvents({ offset: 0, size: 10 });
      assert.equal(total, 1);
      assert.equal(events[0]?.type, 'license.added');
      assert.match(events[0]?.id ?? '', /^evt_[A-Za-z0-9_-]{22}$/);
      assert.equal(events[0]?.data.id, license.id);
      assert.equal(events[0]?.data.licenseKey, license.licenseKey);
    });

    it('a refused change writes no audit entry and no event of its own', async () => {
      await store.addLicense(newLicense({ seats: 1 }), fixed(T0));
      await store.createUser(newUser(), fixed(at(1)));
      await assert.rejects(store.createUser(newUser(), fixed(at(2))), (err: unknown) => {
        assert.ok(err instanceof LicensorError && err.code === 'SEAT_LIMIT_REACHED');
        assert.deepEqual(err.facts, { activeUserCount: 1, licenseSeats: 1, hardSeats: 1 });
        return true;
      });
      assert.equal((await store.listAudit({ offset: 0, size: 10 })).total, 2);
      // The seats.threshold events of the one claim that succeeded, nothing of the refusal.
      const { events } = await store.listEvents({ offset: 0, size: 10, type: 'seats.threshold' });
      assert.deepEqual(
        events.map((e) => e.data.percent),
        [100, 90, 80],
      );
      assert.equal((await store.listEvents({ offset: 0, size: 10 })).total, 4);
    });

    it('recordRefusal writes the entry and merges per-minute events into one with a count', async () => {
      const entry = {
        at: T0,
        actorTokenId: 1,
        actorName: 'host',
        action: 'user.create',
        target: null,
        targetName: null,
        outcome: 'refused' as const,
        code: 'SEAT_LIMIT_REACHED',
        clientAddress: '10.0.0.1',
      };
      const event = {
        type: 'seats.refused' as const,
        data: { activeUserCount: 3, licenseSeats: 3, hardSeats: 3, count: 1 },
        mergeKey: 'seats.refused:2026-06-01T12:00',
      };
      for (let i = 0; i < 3; i++) await store.recordRefusal(entry, [event]);
      await store.recordRefusal(entry, [{ ...event, mergeKey: 'seats.refused:2026-06-01T12:01' }]);
      assert.equal((await store.listAudit({ offset: 0, size: 10 })).total, 4);
      const { events } = await store.listEvents({ offset: 0, size: 10, type: 'seats.refused' });
      assert.deepEqual(
        events.map((e) => e.data.count),
        [1, 3],
      );
    });

    it('failed authentications add up per minute and address', async () => {
      const minute = new Date('2026-06-01T12:00:00.000Z');
      await store.recordAuthFailures([
        { minute, clientAddress: '10.0.0.9', count: 5, firstAt: at(10), lastAt: at(900) },
      ]);
      await store.recordAuthFailures([
        { minute, clientAddress: '10.0.0.9', count: 2, firstAt: at(5), lastAt: at(1000) },
        { minute, clientAddress: '10.0.0.8', count: 1, firstAt: at(7), lastAt: at(7) },
      ]);
      const { entries, total } = await store.listAuthFailures({ offset: 0, size: 10 });
      assert.equal(total, 2);
      assert.deepEqual(
        entries.map((e) => [e.clientAddress, e.count, e.firstAt.toISOString(), e.lastAt.toISOString()]),
        [
          ['10.0.0.8', 1, at(7).toISOString(), at(7).toISOString()],
          ['10.0.0.9', 7, at(5).toISOString(), at(1000).toISOString()],
        ],
      );
    });

    it('the view follows the store’s own changes at once', async () => {
      const before = await store.readView(T0);
      assert.equal(before.effective.licenseSeats, 0);
      await store.addLicense(newLicense({ seats: 3 }), fixed(T0));
      assert.equal((await store.readView(T0)).effective.licenseSeats, 3);
      await store.createUser(newUser(), fixed(T0));
      assert.equal((await store.readView(T0)).activeUserCount, 1);
    });

    it('a change that alters nothing the snapshot holds, or is refused, keeps the same view', async () => {
      await store.addLicense(newLicense({ seats: 3 }), fixed(T0));
      const user = await store.createUser(newUser(), fixed(T0));
      const view = await store.readView(at(1));
      await assert.rejects(store.deleteLicense(999_999, fixed(at(1))));
      await assert.rejects(store.updateUser(999_999, { name: 'x' }, fixed(at(1))));
      await store.updateUser(user.id, { name: 'renamed' }, fixed(at(1)));
      // Activity the same day moves no counter.
      await store.recordActivity(user.id, fixed(at(2)));
      assert.equal(await store.readView(at(1)), view);
    });

    it('turns over by itself at a license’s startsAt and expires, and when users leave the window', async () => {
      const later = newLicense({
        seats: 4,
        startsAt: at(DAY).toISOString(),
        expires: at(3 * DAY).toISOString(),
      });
      await store.addLicense(later, fixed(T0));
      await store.addLicense(newLicense({ seats: 1 }), fixed(T0));
      await store.createUser(newUser(), fixed(T0));
      const read = async (when: Date) => {
        const view = await store.readView(when);
        return [view.effective.licenseSeats, view.activeUserCount];
      };
      assert.deepEqual(await read(at(DAY - 1)), [1, 1]);
      assert.deepEqual(await read(at(DAY)), [5, 1]);
      assert.deepEqual(await read(at(3 * DAY - 1)), [5, 1]);
      assert.deepEqual(await read(at(3 * DAY)), [1, 1]);
      const windowEnd = at(CONTRACT_WINDOW_DAYS * DAY);
      assert.deepEqual(await read(windowEnd), [1, 1]);
      assert.deepEqual(await read(new Date(windowEnd.getTime() + 1)), [1, 0]);
      // And back: a clock set earlier reads the earlier state.
      assert.deepEqual(await read(at(2 * DAY)), [5, 1]);
    });

    it('answers without waiting only from a current snapshot, never a stale one', async () => {
      const view = await store.readView(T0);
      assert.equal(store.currentView(T0), view, 'a loaded view is current');
      await store.addLicense(newLicense({ seats: 3 }), fixed(T0));
      // After a change: either not current (load first) or already the new state.
      assert.notEqual(store.currentView(T0)?.effective.licenseSeats, 0);
      assert.equal((await store.readView(T0)).effective.licenseSeats, 3);
      // (PostgreSQL may still be told of its own commit, and load once more.)
      assert.ok([undefined, 3].includes(store.currentView(T0)?.effective.licenseSeats));
      // A window start on another day than the counts loaded is not answered without loading.
      assert.equal(store.currentView(at(CONTRACT_WINDOW_DAYS * DAY + DAY)), undefined);
      const token = await store.createToken(
        { name: 't', hash: 'h9', permissions: ['USER_ADMIN'] },
        fixed(T0),
      );
      assert.notEqual(store.currentToken('h9'), null, 'a created token is never reported missing');
      assert.equal((await store.findTokenByHash('h9'))?.id, token.id);
      assert.ok([undefined, token.id].includes(store.currentToken('h9')?.id));
      await store.revokeToken(token.id, fixed(at(1)));
      assert.equal(store.currentToken('h9') ?? null, null, 'a revoked token is never answered');
      assert.equal(store.currentToken('no-such-hash') ?? null, null);
    });

    it('token checks follow creation and revocation', async () => {
      assert.equal(await store.findTokenByHash('h1'), undefined);
      const token = await store.createToken(
        { name: 't', hash: 'h1', permissions: ['USER_ADMIN'] },
        fixed(T0),
      );
      assert.equal((await store.findTokenByHash('h1'))?.id, token.id);
      await store.revokeToken(token.id, fixed(at(1)));
      assert.equal(await store.findTokenByHash('h1'), undefined);
    });

    it('another process’s changes reach this one’s warm snapshot within a second', async (t) => {
      if (!options.reopen) return t.skip('one process only');
      const other = await options.reopen(store);
      others.push(other);
      const view = async (s: Store) => s.readView(T0);
      assert.equal((await view(store)).effective.licenseSeats, 0);
      assert.equal(await store.findTokenByHash('h2'), undefined);
      const within = async (what: string, check: () => Promise<boolean>): Promise<void> => {
        const start = performance.now();
        while (!(await check())) {
          assert.ok(performance.now() - start < 1000, `${what} not seen within 1 s`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      };
      await other.addLicense(newLicense({ seats: 7 }), fixed(T0));
      await within('a license', async () => (await view(store)).effective.licenseSeats === 7);
      await other.createUser(newUser(), fixed(T0));
      await within('a user', async () => (await view(store)).activeUserCount === 1);
      const token = await other.createToken(
        { name: 't', hash: 'h2', permissions: ['USER_ADMIN'] },
        fixed(T0),
      );
      await within('a token', async () => (await store.findTokenByHash('h2')) !== undefined);
      await other.revokeToken(token.id, fixed(at(1)));
      await within('a revocation', async () => (await store.findTokenByHash('h2')) === undefined);
    });
  });
}
