import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { activeUsersAt, isOnUtcDay, utcDay, type ActivityCounts } from '../../src/domain/users.js';

describe('isOnUtcDay', () => {
  test('agrees with utcDay at the edges of a day, whichever day was asked before', () => {
    const instants = [
      '2026-06-01T00:00:00.000Z',
      '2026-06-01T23:59:59.999Z',
      '2026-06-02T00:00:00.000Z',
      '2026-05-31T23:59:59.999Z',
      '2024-02-29T12:00:00.000Z',
    ].map((s) => new Date(s));
    for (const day of ['2026-06-01', '2026-06-02', '2026-05-31', '2024-02-29', '2026-06-01'])
      for (const at of instants)
        assert.equal(isOnUtcDay(at, day), utcDay(at) === day, `${at.toISOString()} on ${day}`);
  });
});

describe('activeUsersAt', () => {
  const counts: ActivityCounts = {
    firstDay: '2026-06-01',
    afterFirstDay: { dataConsumer: 10, policyOwner: 2 },
    firstDayTimes: {
      dataConsumer: [Date.parse('2026-06-01T08:00:00.000Z'), Date.parse('2026-06-01T16:00:00.000Z')],
      policyOwner: [Date.parse('2026-06-01T12:00:00.000Z')],
    },
  };

  test('counts the first day from the window start on, the boundary inside', () => {
    assert.deepEqual(activeUsersAt(counts, new Date('2026-06-01T00:00:00.000Z')), {
      dataConsumer: 12,
      policyOwner: 3,
    });
    assert.deepEqual(activeUsersAt(counts, new Date('2026-06-01T12:00:00.000Z')), {
      dataConsumer: 11,
      policyOwner: 3,
    });
    assert.deepEqual(activeUsersAt(counts, new Date('2026-06-01T12:00:00.001Z')), {
      dataConsumer: 11,
      policyOwner: 2,
    });
    assert.deepEqual(activeUsersAt(counts, new Date('2026-06-01T23:59:59.999Z')), {
      dataConsumer: 10,
      policyOwner: 2,
    });
  });

  test('refuses a window start on another day: the counts do not apply to it', () => {
    assert.equal(activeUsersAt(counts, new Date('2026-06-02T00:00:00.000Z')), undefined);
    assert.equal(activeUsersAt(counts, new Date('2026-05-31T23:59:59.999Z')), undefined);
  });
});
