import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { effectiveLicense } from '../../src/domain/license.js';
import type { NewLicense, Store } from '../../src/store/store.js';
import { createIssuer, DAY } from '../helpers/issuer.js';
import { fixed } from './store-contract.js';

const T0 = new Date('2026-06-01T12:00:00.000Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);

/**
 * License adds keep the effective license they stack (src/domain/license-stacking.ts) equal to
 * the one computed over every license, for the snapshot's reads and for the events each add
 * commits (docs/performance.md#license-adds).
 */
export function licenseAddsContract(
  name: string,
  open: () => Promise<Store>,
  cleanup?: (store: Store) => Promise<void>,
): void {
  const issuer = createIssuer();
  function newLicense(claims: Record<string, unknown>): NewLicense {
    return issuer.newLicense({ createdAt: at(-400 * DAY).toISOString(), ...claims }, T0);
  }

  describe(`${name}: license adds`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await open();
    });

    afterEach(async () => {
      await store.close();
      await cleanup?.(store);
    });

    it('each add leaves the effective license and its events as computed over every license', async () => {
      const keys: Record<string, unknown>[] = [
        // Lapsed with hardExpiration: data access is blocked.
        { expires: at(-DAY).toISOString(), hardExpiration: true, noticeOnExpire: 'Expired', seats: 3 },
        // Starts tomorrow: nothing changes now.
        { startsAt: at(DAY).toISOString(), seats: 7, notice: 'Soon' },
        // In force: access comes back.
        { seats: 5, notice: 'Hello', features: { a: { enabled: false }, b: { enabled: true } } },
        {
          seats: 2,
          softSeats: 1,
          notice: 'Hello',
          features: { a: { enabled: true } },
          handlers: { h: { n: 1 } },
        },
        // In its grace: its noticeOnExpire shows, its seats count.
        {
          expires: at(-DAY).toISOString(),
          graceDays: 14,
          seats: 4,
          noticeOnExpire: 'Renew',
          handlers: { h: { n: 2 } },
        },
        { seats: 1, notice: 'Other', expires: at(30 * DAY).toISOString() },
      ];
      for (const [i, claims] of keys.entries()) {
        const now = at(i);
        await store.addLicense(newLicense(claims), fixed(now));
        const view = await store.readView(now);
        assert.deepStrictEqual(
          view.effective,
          effectiveLicense(await store.listLicenses(), now),
          `after add ${i}`,
        );
      }
      const view = await store.readView(at(keys.length));
      assert.equal(view.effective.hardSeats, 12);
      assert.equal(view.effective.licenseSeats, 13);
      assert.deepEqual(
        view.effective.notices.map((n) => `${n.kind}:${n.text}`),
        ['notice:Hello', 'notice:Other', 'noticeOnExpire:Expired', 'noticeOnExpire:Renew'],
      );
      const { events } = await store.listEvents({ offset: 0, size: 50 });
      assert.deepEqual(
        events.map((e) => e.type).filter((type) => type.startsWith('data_access.')),
        ['data_access.restored', 'data_access.blocked'],
      );
    });
  });
}
