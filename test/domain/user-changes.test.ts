import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { netCounterMoves } from '../../src/domain/changes.js';
import { LicensorError } from '../../src/domain/errors.js';
import { effectiveLicense } from '../../src/domain/license.js';
import {
  activityFastPath,
  afterClaims,
  claimSeat,
  type EarlierClaim,
  type SeatState,
  planActivity,
  planCreateUser,
  planDeleteUser,
  planUpdateUser,
  SEAT_LOCK_MARGIN_MS,
} from '../../src/domain/user-changes.js';
import { DEFAULT_SEAT_SETTINGS } from '../../src/domain/seat-policy.js';
import type { UserRecord, UserType } from '../../src/domain/users.js';
import { licenseRecord } from '../helpers/records.js';

const DAY = 86_400_000;
const WINDOW = 30;
const NOW = new Date('2026-06-10T12:00:00.000Z');
const at = (ms: number): Date => new Date(NOW.getTime() + ms);

function user(overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    id: 7,
    userid: 'ada',
    iamid: 'okta',
    name: null,
    email: null,
    userType: 'dataConsumer',
    createdAt: at(-100 * DAY),
    lastActivityAt: at(-2 * DAY),
    disabled: false,
    pending: false,
    ...overrides,
  };
}

function refusedWith(code: string): (err: unknown) => boolean {
  return (err) => err instanceof LicensorError && err.code === code;
}

describe('user plans', () => {
  it('a new user takes a seat and is counted on the day it is created', () => {
    const plan = planCreateUser(
      { userid: 'ada', iamid: 'okta', name: null, email: null, userType: 'policyOwner' },
      undefined,
      NOW,
    );
    assert.equal(plan.takesSeat, true);
    assert.equal(plan.needsSeatLock, true);
    assert.deepEqual(plan.counters, [{ day: '2026-06-10', userType: 'policyOwner', delta: 1 }]);
    assert.equal(plan.next?.lastActivityAt, NOW);
    assert.equal(plan.auditAction, 'user.create');
  });

  it('a taken (iamid, userid) is USER_ALREADY_EXISTS', () => {
    assert.throws(
      () =>
        planCreateUser(
          { userid: 'ada', iamid: 'okta', name: null, email: null, userType: 'dataConsumer' },
          3,
          NOW,
        ),
      refusedWith('USER_ALREADY_EXISTS'),
    );
  });

  it('activity of an active user moves its counter to today, takes no seat and is not audited', () => {
    const plan = planActivity(user(), NOW, WINDOW);
    assert.equal(plan.takesSeat, false);
    assert.equal(plan.needsSeatLock, false);
    assert.equal(plan.auditAction, null);
    assert.deepEqual(plan.counters, [
      { day: '2026-06-08', userType: 'dataConsumer', delta: -1 },
      { day: '2026-06-10', userType: 'dataConsumer', delta: 1 },
    ]);
  });

  it('activity of a user aged out of the window takes a seat and is audited', () => {
    const plan = planActivity(user({ lastActivityAt: at(-31 * DAY) }), NOW, WINDOW);
    assert.equal(plan.takesSeat, true);
    assert.equal(plan.needsSeatLock, true);
    assert.equal(plan.auditAction, 'user.activity');
  });

  it('activity of a user about to leave the window needs the seat lock, though it takes no seat', () => {
    const edge = at(-WINDOW * DAY + SEAT_LOCK_MARGIN_MS - 1);
    const plan = planActivity(user({ lastActivityAt: edge }), NOW, WINDOW);
    assert.equal(plan.takesSeat, false);
    assert.equal(plan.needsSeatLock, true);
    const safe = planActivity(user({ lastActivityAt: at(-WINDOW * DAY + SEAT_LOCK_MARGIN_MS) }), NOW, WINDOW);
    assert.equal(safe.needsSeatLock, false);
  });

  it('activity of a disabled user is USER_DISABLED', () => {
    assert.throws(() => planActivity(user({ disabled: true }), NOW, WINDOW), refusedWith('USER_DISABLED'));
  });

  it('re-enabling takes a seat only when the last activity is inside the window', () => {
    assert.equal(planUpdateUser(user({ disabled: true }), { disabled: false }, NOW, WINDOW).takesSeat, true);
    const old = user({ disabled: true, lastActivityAt: at(-31 * DAY) });
    assert.equal(planUpdateUser(old, { disabled: false }, NOW, WINDOW).takesSeat, false);
    assert.deepEqual(planUpdateUser(user(), { disabled: true }, NOW, WINDOW).counters, [
      { day: '2026-06-08', userType: 'dataConsumer', delta: -1 },
    ]);
  });

  it('a type change moves the user between the counters of its day; a rename moves nothing', () => {
    assert.deepEqual(
      netCounterMoves(planUpdateUser(user(), { userType: 'policyOwner' }, NOW, WINDOW).counters),
      [
        { day: '2026-06-08', userType: 'dataConsumer', delta: -1 },
        { day: '2026-06-08', userType: 'policyOwner', delta: 1 },
      ],
    );
    assert.deepEqual(planUpdateUser(user(), { name: 'Ada' }, NOW, WINDOW).counters, []);
  });

  it('deleting frees the seat of a counted user only', () => {
    assert.deepEqual(planDeleteUser(user()).counters, [
      { day: '2026-06-08', userType: 'dataConsumer', delta: -1 },
    ]);
    assert.deepEqual(planDeleteUser(user({ disabled: true })).counters, []);
  });

  it('the fast path holds exactly the users whose activity plans nothing but the new instant', () => {
    const { from, until } = activityFastPath(NOW, WINDOW);
    for (const last of [from, at(-1), NOW, new Date(until.getTime() - 1)]) {
      const plan = planActivity(user({ lastActivityAt: last }), NOW, WINDOW);
      assert.deepEqual(
        [plan.counters, plan.takesSeat, plan.needsSeatLock, plan.auditAction],
        [[], false, false, null],
        last.toISOString(),
      );
    }
    for (const last of [new Date(from.getTime() - 1), until]) {
      const plan = planActivity(user({ lastActivityAt: last }), NOW, WINDOW);
      assert.ok(plan.counters.length > 0 || plan.needsSeatLock, last.toISOString());
    }
    // With a one-day window, the margin before ageing out bounds the path, not midnight.
    const late = at(11.5 * 3_600_000); // 23:30
    const short = activityFastPath(late, 1);
    assert.equal(short.from.getTime(), late.getTime() - DAY + SEAT_LOCK_MARGIN_MS);
  });
});

describe('the seat claim', () => {
  const license = licenseRecord(1, { uuid: 'l-1', createdAt: '2026-01-01T00:00:00Z', seats: 10 });
  const effective = effectiveLicense([license], NOW);

  it('refuses at exactly licenseSeats, with the figures for seats.refused', () => {
    assert.throws(
      () =>
        claimSeat(
          {
            activeUserCount: 10,
            activeByType: { dataConsumer: 10, policyOwner: 0 },
            effective,
            settings: DEFAULT_SEAT_SETTINGS,
            firedThresholds: [],
          },
          NOW,
          'dataConsumer',
        ),
      (err: unknown) => {
        assert.ok(err instanceof LicensorError);
        assert.equal(err.code, 'SEAT_LIMIT_REACHED');
        assert.deepEqual(err.facts, { activeUserCount: 10, licenseSeats: 10, hardSeats: 10 });
        return true;
      },
    );
  });

  it('raises the usage peak, in all and by type, to the count with the new user of its type', () => {
    const state = {
      activeUserCount: 4,
      activeByType: { dataConsumer: 3, policyOwner: 1 },
      effective,
      settings: DEFAULT_SEAT_SETTINGS,
      firedThresholds: [],
    };
    const claim = claimSeat(state, NOW, 'policyOwner');
    assert.deepEqual(claim.usage, {
      day: '2026-06-10',
      peakActiveUsers: 5,
      peakByType: { dataConsumer: 3, policyOwner: 2 },
      licenseSeats: 10,
      hardSeats: 10,
    });
    assert.deepEqual(claim.events, []);
    assert.deepEqual(claimSeat(state, NOW, 'dataConsumer').usage.peakByType, {
      dataConsumer: 4,
      policyOwner: 1,
    });
  });

  it('fires seats.threshold once per upward crossing of 80, 90 and 100 %', () => {
    const at8 = claimSeat(
      {
        activeUserCount: 7,
        activeByType: { dataConsumer: 7, policyOwner: 0 },
        effective,
        settings: DEFAULT_SEAT_SETTINGS,
        firedThresholds: [],
      },
      NOW,
      'dataConsumer',
    );
    assert.deepEqual(
      at8.events.map((e) => e.data.percent),
      [80],
    );
    assert.deepEqual(at8.firedThresholds, [80]);
    const at9 = claimSeat(
      {
        activeUserCount: 8,
        activeByType: { dataConsumer: 8, policyOwner: 0 },
        effective,
        settings: DEFAULT_SEAT_SETTINGS,
        firedThresholds: at8.firedThresholds,
      },
      NOW,
      'dataConsumer',
    );
    assert.deepEqual(
      at9.events.map((e) => [e.type, e.data.percent, e.data.activeUserCount]),
      [['seats.threshold', 90, 9]],
    );
    const at10 = claimSeat(
      {
        activeUserCount: 9,
        activeByType: { dataConsumer: 9, policyOwner: 0 },
        effective,
        settings: DEFAULT_SEAT_SETTINGS,
        firedThresholds: at9.firedThresholds,
      },
      NOW,
      'dataConsumer',
    );
    assert.deepEqual(
      at10.events.map((e) => e.data.percent),
      [100],
    );
    // Down to 7 (disables: nothing is evaluated), then up again: 80 % is crossed again.
    const again = claimSeat(
      {
        activeUserCount: 7,
        activeByType: { dataConsumer: 7, policyOwner: 0 },
        effective,
        settings: DEFAULT_SEAT_SETTINGS,
        firedThresholds: at10.firedThresholds,
      },
      NOW,
      'dataConsumer',
    );
    assert.deepEqual(
      again.events.map((e) => e.data.percent),
      [80],
    );
    assert.deepEqual(again.firedThresholds, [80]);
  });
});

describe('claims decided together (afterClaims)', () => {
  const license = licenseRecord(1, { uuid: 'l-1', createdAt: '2026-01-01T00:00:00Z', seats: 10 });
  const effective = effectiveLicense([license], NOW);
  const types = ['dataConsumer', 'policyOwner'] as const;

  /** Each claim's outcome when claim i is decided from the state after claims 0..i-1. */
  function oneByOne(start: number, claimants: readonly UserType[], fold: boolean): string[] {
    const earlier: EarlierClaim[] = [];
    let byType = { dataConsumer: start, policyOwner: 0 };
    let fired: number[] = [];
    return claimants.map((claimant) => {
      // Recounted: what a store reads after the earlier claims committed, one transaction each.
      const recounted: SeatState = {
        activeUserCount: byType.dataConsumer + byType.policyOwner,
        activeByType: byType,
        effective,
        settings: DEFAULT_SEAT_SETTINGS,
        firedThresholds: fired,
      };
      // Read once before them all: what a store that decides them together read under its lock.
      const base: SeatState = {
        ...recounted,
        activeUserCount: start,
        activeByType: { dataConsumer: start, policyOwner: 0 },
        firedThresholds: [],
      };
      const state = fold ? afterClaims(base, earlier) : recounted;
      try {
        const claim = claimSeat(state, NOW, claimant);
        earlier.push({ claim, claimant });
        byType = { ...byType, [claimant]: byType[claimant] + 1 };
        fired = claim.firedThresholds;
        return JSON.stringify({ usage: claim.usage, events: claim.events, fired: claim.firedThresholds });
      } catch (err) {
        return (err as LicensorError).code;
      }
    });
  }

  it('decides each claim as if the earlier ones had committed first', () => {
    for (let start = 0; start <= 10; start++)
      for (let mask = 0; mask < 1 << 6; mask++) {
        const claimants = Array.from({ length: 6 }, (_, i) => types[(mask >> i) & 1] as UserType);
        assert.deepEqual(
          oneByOne(start, claimants, true),
          oneByOne(start, claimants, false),
          `from ${start}`,
        );
      }
  });

  it('leaves the state as it is when nothing was claimed before', () => {
    const state: SeatState = {
      activeUserCount: 3,
      activeByType: { dataConsumer: 2, policyOwner: 1 },
      effective,
      settings: DEFAULT_SEAT_SETTINGS,
      firedThresholds: [80],
    };
    assert.equal(afterClaims(state, []), state);
  });
});
