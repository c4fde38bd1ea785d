import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { utcDay } from '../../src/domain/users.js';
import type { Store } from '../../src/store/store.js';
import { DAY } from '../helpers/issuer.js';
import { T0, at, seatContext, newUser, fixed, type ContractContext } from './store-contract-helpers.js';

/** The daily usage rows. */
export function usageContract(ctx: ContractContext): void {
  const { newLicense, grantSeats } = ctx;
  let store: Store;
  describe('usage', () => {
    beforeEach(() => {
      store = ctx.store();
    });

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
}
