import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import { ManualClock } from '../../src/domain/clock.js';
import { effectiveLicense, type LicenseRecord } from '../../src/domain/license.js';
import type { ReadView, Store } from '../../src/store/store.js';
import type { ScheduledEvent } from '../../src/store/webhook-store.js';
import { Scheduler } from '../../src/webhooks/scheduler.js';
import { countingClaimReads, licenseRecord } from '../helpers/records.js';

// licenseRecord's licenses were added at this instant.
const ADDED = Date.parse('2026-01-01T00:00:00.000Z');
const DAY = 24 * 60 * 60 * 1000;

/** A license whose claims count how often a look reads them. */
function watched(id: number, claims: Record<string, unknown>) {
  return countingClaimReads(
    licenseRecord(id, {
      uuid: `00000000-0000-4000-8000-00000000000${id}`,
      createdAt: '2025-12-01T00:00:00.000Z',
      seats: 5,
      ...claims,
    }),
  );
}

/** The parts of a store the scheduler uses: the snapshot's live licenses and the scheduled events. */
function fakeStore(initial: LicenseRecord[]) {
  const state = { licenses: initial, produced: [] as string[], failNext: false };
  const store = {
    listLicenses: (): Promise<readonly LicenseRecord[]> => Promise.resolve(state.licenses),
    readView: (now: Date): Promise<ReadView> => {
      const { licenses } = state;
      return Promise.resolve({
        licenses,
        // Only when an event is made: the snapshot's view keeps it, and the test counts reads of claims.
        get effective() {
          return effectiveLicense(licenses, now);
        },
        activeUserCount: 0,
        activeByType: { dataConsumer: 0, policyOwner: 0 },
        settings: { userCap: null, whenFull: 'refuse' },
        memo: <T>(_key: string, compute: () => T) => compute(),
      } as unknown as ReadView);
    },
    webhooks: {
      scheduleState: () => Promise.resolve({ since: new Date(ADDED - DAY), produced: new Set<string>() }),
      produceScheduled: (events: readonly ScheduledEvent[]) => {
        if (state.failNext) {
          state.failNext = false;
          return Promise.reject(new Error('the database went away'));
        }
        const keys = events.map((e) => `${e.milestone.licenseId}:${e.milestone.key}`);
        state.produced.push(...keys);
        return Promise.resolve(keys);
      },
    },
  };
  return { store: store as unknown as Store, state };
}

const warnings: unknown[] = [];
const log = { warn: (o: unknown) => warnings.push(o), info: () => {} } as unknown as FastifyBaseLogger;

test('the scheduler looks at the licenses only when they changed or the next milestone came', async () => {
  const startsAt = ADDED + 60_000;
  const { license, reads } = watched(1, {
    startsAt: new Date(startsAt).toISOString(),
    expires: new Date(ADDED + 100 * DAY).toISOString(),
  });
  const { store, state } = fakeStore([license]);
  const clock = new ManualClock(ADDED + 1000);
  const scheduler = new Scheduler(store, clock, log, 1000);

  await scheduler.tick();
  const afterFirst = reads();
  assert.ok(afterFirst > 0, 'the first poll looks');
  for (let i = 0; i < 5; i++) {
    clock.advance(1000);
    await scheduler.tick();
  }
  assert.equal(reads(), afterFirst, 'polls before startsAt, the licenses unchanged, do not look');
  assert.deepEqual(state.produced, []);

  clock.set(startsAt);
  await scheduler.tick();
  assert.ok(reads() > afterFirst, 'the clock reached startsAt: it looks');
  assert.deepEqual(state.produced, ['1:started']);

  const settled = reads();
  clock.advance(1000);
  await scheduler.tick();
  assert.equal(reads(), settled, 'the next milestone (30 days before expiry) is weeks away');

  state.licenses = [...state.licenses];
  await scheduler.tick();
  assert.ok(reads() > settled, 'a new list of licenses (one added, deleted or invalidated): it looks');

  clock.set(ADDED + 70 * DAY);
  state.failNext = true;
  await scheduler.tick();
  assert.equal(warnings.length, 1, 'the failed pass is logged');
  assert.deepEqual(state.produced, ['1:started']);
  await scheduler.tick();
  assert.deepEqual(state.produced, ['1:started', '1:expiring:30'], 'a pass that failed is tried again');
  await scheduler.stop();
});
