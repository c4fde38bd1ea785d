import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LicensorError } from '../../src/domain/errors.js';
import type { LicenseRecord } from '../../src/domain/license.js';
import type { NewLicense, Store } from '../../src/store/store.js';
import { createIssuer } from '../helpers/issuer.js';
import { auditContract } from './audit-contract.js';
import { bootstrapTokenContract } from './bootstrap-token-contract.js';
import { licenseContract } from './license-contract.js';
import {
  at,
  fixed,
  newUser,
  T0,
  type ContractContext,
  type StoreContractOptions,
} from './store-contract-helpers.js';
import { apiTokenContract } from './token-contract.js';
import { usageContract } from './usage-contract.js';
import { userContract } from './user-contract.js';

export {
  activeCount,
  CONTRACT_WINDOW_DAYS,
  fixed,
  TEST_ACTOR,
  type StoreContractOptions,
} from './store-contract-helpers.js';

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
    return issuer.newLicense(claims, T0);
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

    const context: ContractContext = {
      store: () => store,
      processes,
      newLicense,
      grantSeats: (seats: number, softSeats = 0): Promise<LicenseRecord> =>
        store.addLicense(newLicense({ seats, softSeats }), fixed(T0)),
      open,
      cleanup,
      options,
    };
    licenseContract(context);
    userContract(context);
    usageContract(context);
    apiTokenContract(context);
    auditContract(context);
    bootstrapTokenContract(context);

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

      it('close() answers the changes asked before it and refuses the ones asked after', async () => {
        await store.addLicense(newLicense({ seats: 5 }), fixed(T0));
        const before = [
          store.addLicense(newLicense(), fixed(T0)),
          store.createUser(newUser({ userid: 'before' }), fixed(T0)),
        ];
        const closing = store.close();
        const after = [
          store.addLicense(newLicense(), fixed(at(1))),
          store.createUser(newUser({ userid: 'after' }), fixed(at(1))),
          store.setSeatSettings({ userCap: 5, whenFull: 'refuse' }, fixed(at(1))),
        ];
        const outcomes = await Promise.allSettled([...before, ...after]);
        await closing;
        assert.deepEqual(
          outcomes.map((o) => (o.status === 'fulfilled' ? 'done' : (o.reason as LicensorError).message)),
          ['done', 'done', ...after.map(() => 'STORE_UNAVAILABLE: the database is closed')],
        );
        if (!options.reopen) return;
        const again = await options.reopen(store);
        others.push(again);
        assert.equal(
          (await again.listLicenses()).length,
          2,
          'the licenses asked before close(), not the one after',
        );
        const { users } = await again.listUsers({ offset: 0, size: 10, activeSince: T0 });
        assert.deepEqual(
          users.map((u) => u.userid),
          ['before'],
        );
      });

      it('a closed store refuses every call with STORE_UNAVAILABLE, snapshot reads included', async () => {
        // Loaded first, so the snapshot holds every part and could otherwise answer from memory.
        await store.addLicense(newLicense(), fixed(T0));
        await store.setBootstrapToken('hash-1', T0);
        await store.readView(T0);
        await store.findTokenByHash('hash-1');
        assert.ok(store.currentView(T0));
        assert.ok(store.currentToken('hash-1'));
        await store.close();
        const calls: [string, () => Promise<unknown>][] = [
          ['a change', () => store.addLicense(newLicense(), fixed(at(1)))],
          ['a user change', () => store.createUser(newUser(), fixed(at(1)))],
          ['the view', () => store.readView(T0)],
          ['the licenses', () => store.listLicenses()],
          ['the settings', () => store.getSeatSettings()],
          ['a token', () => store.findTokenByHash('hash-1')],
          ['a page', () => store.listUsers({ offset: 0, size: 10, activeSince: T0 })],
          ['ping', () => store.ping()],
          // The webhook store has no check of its own: it meets the closed database itself.
          ['the webhooks', () => store.webhooks.listWebhooks()],
          ['the delivery stats', () => store.webhooks.deliveryStats()],
        ];
        for (const [what, call] of calls)
          await assert.rejects(
            call(),
            (err: unknown) =>
              err instanceof LicensorError &&
              err.code === 'STORE_UNAVAILABLE' &&
              err.message.includes('the database is closed'),
            what,
          );
        assert.equal(store.currentView(T0), undefined, 'no view from memory');
        assert.equal(store.currentToken('hash-1'), undefined, 'no token from memory');
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
