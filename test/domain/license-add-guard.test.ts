import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { effectiveLicense, type LicenseRecord } from '../../src/domain/license.js';
import { guardedAddCounts, licenseChangeEffects } from '../../src/domain/license-changes.js';
import { LicenseList } from '../../src/domain/license-list.js';
import { licenseRecord } from '../helpers/records.js';

const NOW = new Date('2026-06-10T12:00:00.000Z');

const license = (id: number, seats: number): LicenseRecord =>
  licenseRecord(id, { uuid: `l-${id}`, createdAt: '2026-01-01T00:00:00Z', seats });

/**
 * Adds of licenses with `added` seats, one after another onto a license of `before` seats, each
 * decided at `count` active users: what each one writes (events and fired thresholds), and what
 * guardedAddCounts() is given.
 */
function decideAdds(before: number, added: readonly number[], fired: readonly number[], count: number) {
  let live = LicenseList.of(before > 0 ? [license(1, before)] : []);
  let firedNow = [...fired];
  const outcomes: string[] = [];
  const ranged = [];
  for (const [i, seats] of added.entries()) {
    const next = license(i + 2, seats);
    const liveAfter = live.append(next);
    const effects = licenseChangeEffects(
      'added',
      next,
      { liveBefore: live, liveAfter, activeUserCount: count, firedThresholds: firedNow },
      NOW,
    );
    outcomes.push(
      JSON.stringify({ events: effects.events.map((e) => [e.type, e.data]), fired: effects.firedThresholds }),
    );
    ranged.push({ effects, licenseSeatsAfter: effectiveLicense(liveAfter.array(), NOW).licenseSeats });
    live = liveAfter;
    firedNow = effects.firedThresholds;
  }
  return { outcome: outcomes.join('\n'), ranged };
}

/**
 * Guarded adds (docs/licenses.md#guarded-adds): the range of active counts a store checks under
 * its locks must hold only counts at which the adds decide exactly as at the count they were
 * decided with, or an add would commit events and thresholds of a count it does not have.
 */
describe('guardedAddCounts: adds decided before the licenses lock', () => {
  it('covers exactly the counts at which the adds decide the same, and none with a count in an event', () => {
    const runs: number[][] = [[0], [1], [3], [10], [37], [2, 5], [10, 1], [0, 7], [4, 4, 4]];
    let guarded = 0;
    for (const before of [0, 1, 5, 10, 20])
      for (const added of runs)
        for (const fired of [[], [80], [80, 90], [80, 90, 100], [90], [100]]) {
          const at = Array.from({ length: 51 }, (_, count) => decideAdds(before, added, fired, count));
          for (let count = 0; count <= 45; count++) {
            const here = at[count] as ReturnType<typeof decideAdds>;
            const range = guardedAddCounts(count, here.ranged);
            if (!range) {
              // Left to the lock only when an add has an event naming the count.
              assert.ok(
                here.ranged.some((r) => r.effects.events.length > 1),
                `${before} ${added.join()} ${fired.join()} at ${count}`,
              );
              continue;
            }
            guarded++;
            assert.ok(range.minCount <= count && count <= range.maxCount);
            for (let other = 0; other <= 50; other++) {
              const same: boolean = at[other]?.outcome === here.outcome;
              const inRange: boolean = other >= range.minCount && other <= range.maxCount;
              // In the range: the same decision. Out of it: a different one (the range is not narrower
              // than it must be, so the guard turns back only what it has to).
              assert.equal(
                same,
                inRange,
                `${before} ${added.join()} [${fired.join()}] at ${count}, ${other}`,
              );
            }
          }
        }
    assert.ok(guarded > 1000, `${guarded} guarded`);
  });

  it('leaves to the lock an add that fires a threshold or turns data access over', () => {
    // 9 of 10 seats: adding one seat fires nothing new, but fired 80 and 90 at 9 of 11 are figures.
    const fires = decideAdds(0, [10], [], 9);
    assert.equal(fires.ranged[0]?.effects.events.length, 3);
    assert.equal(guardedAddCounts(9, fires.ranged), undefined);
    const quiet = decideAdds(0, [10], [], 3);
    assert.deepEqual(guardedAddCounts(3, quiet.ranged), { minCount: 0, maxCount: 7 });
  });
});
