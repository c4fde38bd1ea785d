import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LicensorError } from '../../src/domain/errors.js';
import { effectiveLicense, seatStatus } from '../../src/domain/license.js';
import { DEFAULT_SEAT_SETTINGS, parseSeatSettings, seatLimit } from '../../src/domain/seat-policy.js';
import {
  claimSeat,
  claimSeatOrQueue,
  planActivity,
  planApproveUser,
  planCreateUser,
  planPendingUser,
  planRejectUser,
  planUpdateUser,
} from '../../src/domain/user-changes.js';
import type { UserRecord } from '../../src/domain/users.js';
import { licenseRecord } from '../helpers/records.js';

const NOW = new Date('2026-06-10T12:00:00.000Z');
const effective = effectiveLicense(
  [licenseRecord(1, { uuid: 'l', createdAt: '2026-01-01T00:00:00Z', seats: 10 })],
  NOW,
);
const code =
  (c: string) =>
  (err: unknown): boolean =>
    err instanceof LicensorError && err.code === c;

function pendingUser(): UserRecord {
  return {
    id: 4,
    userid: 'd',
    iamid: 'idp',
    name: null,
    email: null,
    userType: 'dataConsumer',
    createdAt: NOW,
    lastActivityAt: NOW,
    disabled: true,
    pending: true,
  };
}

describe('the seat limit', () => {
  it('is licenseSeats without a cap, the cap when lower, never above the licenses', () => {
    assert.equal(seatLimit(effective, DEFAULT_SEAT_SETTINGS), 10);
    assert.equal(seatLimit(effective, { userCap: 3, whenFull: 'refuse' }), 3);
    assert.equal(seatLimit(effective, { userCap: 0, whenFull: 'refuse' }), 0);
    assert.equal(seatLimit(effective, { userCap: 50, whenFull: 'refuse' }), 10);
  });

  it('every claim uses it; canAddUser is whether the next user gets a seat under it', () => {
    const settings = { userCap: 3, whenFull: 'refuse' } as const;
    assert.doesNotThrow(() =>
      claimSeat(
        {
          activeUserCount: 2,
          activeByType: { dataConsumer: 2, policyOwner: 0 },
          effective,
          settings,
          firedThresholds: [],
        },
        NOW,
        'dataConsumer',
      ),
    );
    assert.throws(
      () =>
        claimSeat(
          {
            activeUserCount: 3,
            activeByType: { dataConsumer: 3, policyOwner: 0 },
            effective,
            settings,
            firedThresholds: [],
          },
          NOW,
          'dataConsumer',
        ),
      code('SEAT_LIMIT_REACHED'),
    );
    assert.equal(seatStatus(effective, 3, seatLimit(effective, settings)).canAddUser, false);
    assert.equal(seatStatus(effective, 3, seatLimit(effective, settings)).licenseSeats, 10);
    assert.equal(seatStatus(effective, 3).canAddUser, true);
  });

  it('settings are validated: a cap from 0 up, or null; refuse or queue', () => {
    assert.deepEqual(parseSeatSettings({ userCap: null, whenFull: 'queue' }), {
      userCap: null,
      whenFull: 'queue',
    });
    for (const bad of [
      { userCap: -1, whenFull: 'refuse' },
      { userCap: 2.5, whenFull: 'refuse' },
      { userCap: '3', whenFull: 'refuse' },
      { userCap: 3, whenFull: 'wait' },
    ])
      assert.throws(() => parseSeatSettings(bad), code('VALIDATION_FAILED'), JSON.stringify(bad));
  });
});

describe('the queue', () => {
  const queue = { userCap: 3, whenFull: 'queue' } as const;

  it('a create over the limit in queue mode is queued; under it, it claims; refuse mode refuses', () => {
    assert.equal(
      claimSeatOrQueue(
        {
          activeUserCount: 3,
          activeByType: { dataConsumer: 3, policyOwner: 0 },
          effective,
          settings: queue,
          firedThresholds: [],
        },
        NOW,
        'dataConsumer',
      ),
      'queue',
    );
    assert.notEqual(
      claimSeatOrQueue(
        {
          activeUserCount: 2,
          activeByType: { dataConsumer: 2, policyOwner: 0 },
          effective,
          settings: queue,
          firedThresholds: [],
        },
        NOW,
        'dataConsumer',
      ),
      'queue',
    );
    assert.throws(
      () =>
        claimSeatOrQueue(
          {
            activeUserCount: 3,
            activeByType: { dataConsumer: 3, policyOwner: 0 },
            effective,
            settings: { ...queue, whenFull: 'refuse' },
            firedThresholds: [],
          },
          NOW,
          'dataConsumer',
        ),
      code('SEAT_LIMIT_REACHED'),
    );
  });

  it('a queued user is stored pending and disabled, with its user.pending event', () => {
    const plan = planCreateUser(
      { userid: 'd', iamid: 'idp', name: null, email: null, userType: 'dataConsumer' },
      undefined,
      NOW,
    );
    const pending = planPendingUser(plan, {
      activeUserCount: 3,
      activeByType: { dataConsumer: 3, policyOwner: 0 },
      effective,
      settings: queue,
      firedThresholds: [],
    });
    assert.deepEqual([pending.next.pending, pending.next.disabled], [true, true]);
    assert.deepEqual(pending.events, [
      {
        type: 'user.pending',
        data: {
          userid: 'd',
          iamid: 'idp',
          seatLimit: 3,
          activeUserCount: 3,
          licenseSeats: 10,
          hardSeats: 10,
        },
      },
    ]);
  });

  it('a pending user: activity and enabling are USER_PENDING; approve takes a seat; reject removes it', () => {
    const user = pendingUser();
    assert.throws(() => planActivity(user, NOW, 30), code('USER_PENDING'));
    assert.throws(() => planUpdateUser(user, { disabled: false }, NOW, 30), code('USER_PENDING'));
    assert.equal(planUpdateUser(user, { name: 'Dee' }, NOW, 30).next?.name, 'Dee');
    const approve = planApproveUser(user, NOW);
    assert.deepEqual(
      [approve.takesSeat, approve.needsSeatLock, approve.auditAction],
      [true, true, 'user.approve'],
    );
    assert.deepEqual([approve.next?.pending, approve.next?.disabled], [false, false]);
    assert.deepEqual(approve.counters, [{ day: '2026-06-10', userType: 'dataConsumer', delta: 1 }]);
    const reject = planRejectUser(user);
    assert.deepEqual([reject.next, reject.counters, reject.auditAction], [null, [], 'user.reject']);
    const active = { ...user, pending: false, disabled: false };
    assert.throws(() => planApproveUser(active, NOW), code('USER_NOT_PENDING'));
    assert.throws(() => planRejectUser(active), code('USER_NOT_PENDING'));
  });
});
