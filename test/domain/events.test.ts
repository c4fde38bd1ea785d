import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { licenseChangeEffects } from '../../src/domain/license-changes.js';
import { LicenseList } from '../../src/domain/license-list.js';
import { seatRefusedEvent, seatThresholds } from '../../src/domain/events.js';
import { licenseRecord } from '../helpers/records.js';

const NOW = new Date('2026-06-10T12:00:00.000Z');

describe('seats.threshold', () => {
  const figures = (activeUserCount: number, licenseSeats = 20) => ({
    activeUserCount,
    licenseSeats,
    hardSeats: licenseSeats,
  });

  it('levels are rounded up: 80 % of 7 seats is reached at 6 users', () => {
    assert.deepEqual(seatThresholds([], 5, figures(5, 7)).events, []);
    assert.deepEqual(
      seatThresholds([], 5, figures(6, 7)).events.map((e) => e.data.percent),
      [80],
    );
  });

  it('a jump over several levels fires each once', () => {
    const { events, fired } = seatThresholds([], 0, figures(20));
    assert.deepEqual(
      events.map((e) => e.data.percent),
      [80, 90, 100],
    );
    assert.deepEqual(fired, [80, 90, 100]);
    assert.deepEqual(seatThresholds(fired, 20, figures(21)).events, []);
  });

  it('is armed again once the count is seen below the level', () => {
    assert.deepEqual(
      seatThresholds([80], 15, figures(16)).events.map((e) => e.data.percent),
      [80],
    );
    assert.deepEqual(seatThresholds([80], 16, figures(17)).events, []);
  });

  it('fewer seats can cross a level with no new user', () => {
    assert.deepEqual(
      seatThresholds([], 9, figures(9, 10)).events.map((e) => e.data.percent),
      [80, 90],
    );
  });

  it('without seats nothing fires', () => {
    assert.deepEqual(seatThresholds([], 3, figures(3, 0)), { events: [], fired: [] });
  });
});

describe('seats.refused', () => {
  it('is one event per minute: refusals in one minute share a merge key', () => {
    const a = seatRefusedEvent({ activeUserCount: 5, licenseSeats: 5, hardSeats: 5 }, NOW);
    const b = seatRefusedEvent(
      { activeUserCount: 5, licenseSeats: 5, hardSeats: 5 },
      new Date(NOW.getTime() + 59_999),
    );
    const c = seatRefusedEvent(
      { activeUserCount: 5, licenseSeats: 5, hardSeats: 5 },
      new Date(NOW.getTime() + 60_000),
    );
    assert.equal(a.mergeKey, b.mergeKey);
    assert.notEqual(a.mergeKey, c.mergeKey);
    assert.equal(a.data.count, 1);
  });
});

describe('license change effects', () => {
  const expired = licenseRecord(1, {
    uuid: 'old',
    createdAt: '2025-01-01T00:00:00Z',
    expires: '2026-01-01T00:00:00Z',
    seats: 5,
    hardExpiration: true,
  });
  const fresh = licenseRecord(2, { uuid: 'new', createdAt: '2026-06-01T00:00:00Z', seats: 10 });

  it('adding a license to a blocked site restores data access; deleting it blocks again', () => {
    const added = licenseChangeEffects(
      'added',
      fresh,
      {
        liveBefore: LicenseList.of([expired]),
        liveAfter: LicenseList.of([expired, fresh]),
        activeUserCount: 2,
        firedThresholds: [],
      },
      NOW,
    );
    assert.deepEqual(
      added.events.map((e) => e.type),
      ['license.added', 'data_access.restored'],
    );
    assert.equal(added.events[0]?.data.uuid, 'new');
    assert.equal(added.events[0]?.data.licenseKey, 'key-2');
    assert.deepEqual(added.audit, {
      action: 'license.add',
      target: 'license:2',
      // No licensee in the key: the uuid names it.
      targetName: 'new',
      outcome: 'success',
      code: null,
    });
    const deleted = licenseChangeEffects(
      'deleted',
      { ...fresh, deleted: true },
      {
        liveBefore: LicenseList.of([expired, fresh]),
        liveAfter: LicenseList.of([expired]),
        activeUserCount: 2,
        firedThresholds: [],
      },
      NOW,
    );
    assert.deepEqual(
      deleted.events.map((e) => e.type),
      ['license.deleted', 'data_access.blocked'],
    );
  });

  it('deleting seats out from under the users crosses the thresholds', () => {
    const small = licenseRecord(3, { uuid: 'small', createdAt: '2026-06-01T00:00:00Z', seats: 4 });
    const effects = licenseChangeEffects(
      'deleted',
      { ...fresh, deleted: true },
      {
        liveBefore: LicenseList.of([small, fresh]),
        liveAfter: LicenseList.of([small]),
        activeUserCount: 4,
        firedThresholds: [],
      },
      NOW,
    );
    assert.deepEqual(
      effects.events.filter((e) => e.type === 'seats.threshold').map((e) => e.data.percent),
      [80, 90, 100],
    );
    assert.deepEqual(effects.firedThresholds, [80, 90, 100]);
  });
});
