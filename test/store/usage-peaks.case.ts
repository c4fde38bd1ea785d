import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { UserType } from '../../src/domain/users.js';
import type { NewLicense, Store, UsageDay } from '../../src/store/store.js';
import { createIssuer } from '../helpers/issuer.js';
import { fixed } from './store-contract.js';

const T0 = new Date('2026-06-01T12:00:00.000Z');
const DAY = '2026-06-01';
const at = (ms: number): Date => new Date(T0.getTime() + ms);

/**
 * The daily usage history's peaks by user type (docs/usage-report.md#peaks-by-user-type): raised
 * with the total, from the same count, in the transaction of each seat claim, and by recordUsage.
 * The history is read with usageHistory alone (which raises nothing), so each case sees only what
 * the changes themselves recorded.
 */
export function usagePeaksContract(
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
  const newUser = (userType: UserType) => ({
    userid: `peak-${++sequence}`,
    iamid: 'idp',
    name: null,
    email: null,
    userType,
  });

  describe(`${name}: daily peaks by user type`, () => {
    let store: Store;
    const others: Store[] = [];

    beforeEach(async () => {
      store = await open();
    });

    afterEach(async () => {
      for (const other of others.splice(0)) await other.close();
      await store.close();
      await cleanup(store);
    });

    async function today(): Promise<UsageDay | undefined> {
      return (await store.usageHistory(DAY, DAY))[0];
    }

    it('concurrent claims over three stores record each type exactly, with the total', async () => {
      await store.addLicense(newLicense(20), fixed(T0));
      for (let i = 0; i < 2; i++) others.push(await reopen(store));
      const stores = [store, ...others];
      // Ten data consumers at once, then sixty policy owners at once for the ten seats left: each
      // type's count at every claim must be exact for both peaks to come out right.
      const wave = async (type: UserType, count: number): Promise<number> => {
        const results = await Promise.allSettled(
          Array.from({ length: count }, (_, i) =>
            stores[i % stores.length]!.createUser(newUser(type), fixed(at(1))),
          ),
        );
        return results.filter((r) => r.status === 'fulfilled').length;
      };
      assert.equal(await wave('dataConsumer', 10), 10);
      assert.equal(await wave('policyOwner', 60), 10, 'exactly the seats left');
      assert.deepEqual(await today(), {
        day: DAY,
        peakActiveUsers: 20,
        peakByType: { dataConsumer: 10, policyOwner: 10 },
        licenseSeats: 20,
        hardSeats: 20,
      });
    });

    it('each type keeps its own peak: a seat freed by one type and taken by the other lowers neither', async () => {
      await store.addLicense(newLicense(3), fixed(T0));
      const consumers = [];
      for (let i = 0; i < 3; i++)
        consumers.push(await store.createUser(newUser('dataConsumer'), fixed(at(1))));
      for (const u of consumers.slice(0, 2)) await store.updateUser(u.id, { disabled: true }, fixed(at(2)));
      await store.createUser(newUser('policyOwner'), fixed(at(3)));
      assert.deepEqual((await today())?.peakByType, { dataConsumer: 3, policyOwner: 1 });
      assert.equal((await today())?.peakActiveUsers, 3);
    });

    it("a re-enable that changes the user's type claims the seat for its new type", async () => {
      await store.addLicense(newLicense(5), fixed(T0));
      const owner = await store.createUser(newUser('policyOwner'), fixed(at(1)));
      await store.updateUser(owner.id, { disabled: true }, fixed(at(2)));
      await store.updateUser(owner.id, { disabled: false, userType: 'dataConsumer' }, fixed(at(3)));
      assert.deepEqual((await today())?.peakByType, { dataConsumer: 1, policyOwner: 1 });
    });

    it("recordUsage raises the day's peaks by type from the current counts", async () => {
      await store.addLicense(newLicense(5), fixed(T0));
      const a = await store.createUser(newUser('dataConsumer'), fixed(at(1)));
      await store.createUser(newUser('dataConsumer'), fixed(at(2)));
      // A type change takes no seat, so only the next record sees the new policy owner.
      await store.updateUser(a.id, { userType: 'policyOwner' }, fixed(at(3)));
      assert.deepEqual((await today())?.peakByType, { dataConsumer: 2, policyOwner: 0 });
      const recorded = await store.recordUsage(at(4));
      assert.deepEqual(recorded.peakByType, { dataConsumer: 2, policyOwner: 1 });
      assert.deepEqual(await today(), recorded);
      assert.equal(recorded.peakActiveUsers, 2);
    });
  });
}
