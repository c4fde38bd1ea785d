import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { effectiveLicense, licenseTimeBounds, type LicenseRecord } from '../../src/domain/license.js';
import { guardedClaim } from '../../src/domain/seat-claim-guard.js';
import { claimSeat, SEAT_LOCK_MARGIN_MS, type SeatState } from '../../src/domain/user-changes.js';
import { licenseRecord } from '../helpers/records.js';

const NOW = new Date('2026-06-10T12:00:00.000Z');

function licenses(seats: number, expires?: Date): LicenseRecord[] {
  return [
    licenseRecord(1, {
      uuid: 'l-1',
      createdAt: '2026-01-01T00:00:00Z',
      seats,
      ...(expires && { expires: expires.toISOString() }),
    }),
  ];
}

/** The first instant the effective license of `live` can change by itself after NOW. */
const nextChangeAt = (live: LicenseRecord[]): number | null => licenseTimeBounds(live, NOW).until;

function state(live: LicenseRecord[], activeUserCount: number, extra: Partial<SeatState> = {}): SeatState {
  return {
    activeUserCount,
    activeByType: { dataConsumer: activeUserCount, policyOwner: 0 },
    effective: effectiveLicense(live, NOW),
    settings: { userCap: null, whenFull: 'refuse' },
    firedThresholds: [],
    ...extra,
  };
}

/** What claimSeat decides at a count, apart from the peak, which the guard's own count gives. */
function outcome(s: SeatState): string {
  try {
    const claim = claimSeat(s, NOW, 'dataConsumer');
    return JSON.stringify({ events: claim.events.map((e) => e.data.percent), fired: claim.firedThresholds });
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe('guardedClaim: a claim decided before the seat lock', () => {
  it('covers exactly the counts at which claimSeat decides the same, never one at the limit', () => {
    for (const seats of [1, 2, 3, 5, 9, 10, 11, 20, 37, 100]) {
      const live = licenses(seats);
      for (const cap of [null, 0, 1, Math.floor(seats / 2), seats - 1, seats + 3]) {
        for (const fired of [[], [80], [80, 90], [80, 90, 100]]) {
          for (let count = 0; count <= seats + 4; count++) {
            const s = state(live, count, {
              settings: { userCap: cap, whenFull: 'refuse' },
              firedThresholds: fired,
            });
            const guarded = guardedClaim(s, nextChangeAt(live), NOW, 'dataConsumer');
            const here = outcome(s);
            if (!guarded) {
              // Only a refusal or a threshold event is left to the lock.
              assert.ok(here === 'SEAT_LIMIT_REACHED' || JSON.parse(here).events.length > 0, here);
              continue;
            }
            assert.ok(guarded.minCount <= count && count <= guarded.maxCount);
            for (let c = guarded.minCount; c <= guarded.maxCount; c++)
              assert.equal(
                outcome({ ...s, activeUserCount: c }),
                here,
                `seats ${seats} cap ${cap} count ${c}`,
              );
            // The range is as wide as it can be: one count more or less decides otherwise.
            for (const c of [guarded.minCount - 1, guarded.maxCount + 1])
              if (c >= 0)
                assert.notEqual(
                  outcome({ ...s, activeUserCount: c }),
                  here,
                  `seats ${seats} cap ${cap} edge ${c}`,
                );
          }
        }
      }
    }
  });

  it('is left to the lock when the license can change by itself within the margin', () => {
    const far = licenses(100, new Date(NOW.getTime() + SEAT_LOCK_MARGIN_MS));
    assert.ok(guardedClaim(state(far, 10), nextChangeAt(far), NOW, 'dataConsumer'));
    const near = licenses(100, new Date(NOW.getTime() + SEAT_LOCK_MARGIN_MS - 1));
    assert.equal(guardedClaim(state(near, 10), nextChangeAt(near), NOW, 'dataConsumer'), undefined);
  });

  it("carries the claimant, whose type's peak rises with the total", () => {
    const live = licenses(100);
    const guarded = guardedClaim(state(live, 3), nextChangeAt(live), NOW, 'policyOwner');
    assert.equal(guarded?.claimant, 'policyOwner');
    assert.deepEqual(guarded?.claim.usage.peakByType, { dataConsumer: 3, policyOwner: 1 });
    assert.equal(guarded?.claim.usage.peakActiveUsers, 4);
  });

  it('is left to the lock at the limit and when a threshold fires', () => {
    const live = licenses(10);
    assert.equal(guardedClaim(state(live, 10), nextChangeAt(live), NOW, 'dataConsumer'), undefined);
    assert.equal(guardedClaim(state(live, 7), nextChangeAt(live), NOW, 'dataConsumer'), undefined); // 8 of 10 is 80 %
    assert.deepEqual(
      (({ minCount, maxCount }) => ({ minCount, maxCount }))(
        guardedClaim(state(live, 3), nextChangeAt(live), NOW, 'dataConsumer')!,
      ),
      { minCount: 0, maxCount: 6 },
    );
  });
});
