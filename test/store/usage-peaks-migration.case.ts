import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkReport, reconcile } from '../../src/domain/usage-reconcile.js';
import { buildUsageReport } from '../../src/domain/usage-report.js';
import { verifyLicenseKey } from '../../src/keys/license-jws.js';
import type { Store } from '../../src/store/store.js';
import { createIssuer } from '../helpers/issuer.js';
import { fixed } from './store-contract.js';

/** A day of usage history as Licensor at schema version 8 recorded it: the total only. */
export interface LegacyDay {
  day: string;
  peakActiveUsers: number;
  licenseSeats: number;
  hardSeats: number;
}

/** One database, as each store's test file builds it. */
export interface V8Database {
  /** Opens the store on it, running the pending migrations. */
  open(): Promise<Store>;
  /** The highest migration applied. */
  version(): Promise<number>;
  drop(): Promise<void>;
}

const T0 = new Date('2026-06-01T12:00:00.000Z');
const NEXT_DAY = new Date('2026-06-02T12:00:00.000Z');
const HISTORY: LegacyDay[] = [
  { day: '2026-05-29', peakActiveUsers: 2, licenseSeats: 5, hardSeats: 5 },
  { day: '2026-05-30', peakActiveUsers: 4, licenseSeats: 5, hardSeats: 5 },
  { day: '2026-05-31', peakActiveUsers: 3, licenseSeats: 5, hardSeats: 5 },
  // The day of the upgrade, recorded in part before it.
  { day: '2026-06-01', peakActiveUsers: 1, licenseSeats: 5, hardSeats: 5 },
];

/**
 * Migration 9 (peaks by user type) on a database holding an earlier Licensor's history: the same
 * cases for both stores. `build` makes the version-8 database holding `days` in usage_daily.
 */
export function usagePeaksMigrationCases(
  name: string,
  build: (days: LegacyDay[]) => Promise<V8Database>,
): void {
  const issuer = createIssuer();

  describe(`${name}: migration 9 (daily peaks by user type)`, () => {
    it('keeps the days recorded before it as they were signed, and records types from the next new day', async () => {
      const db = await build(HISTORY);
      try {
        assert.equal(await db.version(), 8);
        const store = await db.open();
        try {
          assert.ok((await db.version()) >= 9, 'migration 9 and any later ones ran');
          // What Licensor 8 signed for the days before the upgrade.
          const before = buildUsageReport({
            instanceId: 'i',
            generatedAt: T0,
            from: '2026-05-29',
            to: '2026-05-31',
            history: HISTORY.map((d) => ({ ...d, peakByType: null })),
            licenses: [],
          });
          assert.deepEqual(
            (await store.usageHistory('2026-01-01', '2026-06-01')).map((d) => d.peakByType),
            [null, null, null, null],
          );

          const licenseKey = issuer.issue({ seats: 5 }, T0);
          const { payload, claims } = verifyLicenseKey(licenseKey, issuer.ring);
          await store.addLicense({ licenseKey, payload, claims }, fixed(T0));
          for (const userid of ['a', 'b'])
            await store.createUser(
              { userid, iamid: 'idp', name: null, email: null, userType: 'dataConsumer' },
              fixed(T0),
            );
          await store.recordUsage(T0);
          await store.createUser(
            { userid: 'c', iamid: 'idp', name: null, email: null, userType: 'policyOwner' },
            fixed(NEXT_DAY),
          );

          const history = await store.usageHistory('2026-01-01', '2026-06-02');
          const after = buildUsageReport({
            instanceId: 'i',
            generatedAt: NEXT_DAY,
            from: '2026-05-29',
            to: '2026-06-02',
            history,
            licenses: await store.listLicenses(),
          });
          assert.deepEqual(
            after.days.map((d) => [d.day, d.peakActive]),
            [
              ['2026-05-29', { all: 2 }],
              ['2026-05-30', { all: 4 }],
              ['2026-05-31', { all: 3 }],
              // Raised after the upgrade, in all only: its peak by type before it is unknown.
              ['2026-06-01', { all: 2 }],
              ['2026-06-02', { all: 3, dataConsumer: 2, policyOwner: 1 }],
            ],
          );
          assert.deepEqual(checkReport({ ...after }), after, 'the report verifies');
          const previous = reconcile(after, before).previous;
          assert.equal(previous?.agrees, true, previous?.reason ?? '');
          assert.deepEqual([previous?.overlapFrom, previous?.overlapTo], ['2026-05-29', '2026-05-31']);
        } finally {
          await store.close();
        }
      } finally {
        await db.drop();
      }
    });
  });
}
