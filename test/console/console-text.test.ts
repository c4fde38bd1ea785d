import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LicenseListItem, LicenseStatus } from '../../src/client/index.js';
import { seatTone } from '../../src/console/charts.js';
import { formatDateTime, formatDay, pageText, relativeTime } from '../../src/console/format.js';
import { licenseStateOf, seatsInWords } from '../../src/console/overview.js';
import { pendingNotice, seatLimitInWords } from '../../src/console/pending.js';

/** The console's words, computed in the browser from the API's answers: tested here without one. */

const NOW = new Date('2026-06-01T12:00:00.000Z');
const DAY = 86_400_000;
const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();

function status(overrides: Partial<LicenseStatus> = {}): LicenseStatus {
  return {
    activeUserCount: 0,
    licenseSeats: 25,
    canAddUser: true,
    hardSeats: 20,
    dataAccessBlocked: false,
    features: {},
    handlers: {},
    nextExpiry: null,
    grace: null,
    userCap: null,
    seatLimit: 25,
    whenFull: 'refuse',
    overLimit: 0,
    overage: 0,
    activeLicenses: 1,
    ...overrides,
  };
}

function listed(state: LicenseListItem['state'], fields: Partial<LicenseListItem> = {}): LicenseListItem {
  return {
    id: 1,
    uuid: 'u',
    features: {},
    handlers: {},
    expires: null,
    seats: 1,
    createdAt: at(-100 * DAY),
    notice: null,
    noticeOnExpire: null,
    softSeats: 0,
    hardExpiration: false,
    hardDelete: false,
    deleted: false,
    invalidated: false,
    expired: state === 'expired',
    updatedAt: at(-100 * DAY),
    startsAt: null,
    supersedes: [],
    licensee: null,
    state,
    graceDays: 0,
    graceUntil: null,
    ...fields,
  };
}

describe('relative times and dates', () => {
  test('days up to 90, then months, then years; hours and minutes within a day', () => {
    assert.equal(relativeTime(at(12 * DAY), NOW), 'in 12 days');
    assert.equal(relativeTime(at(-3 * DAY), NOW), '3 days ago');
    assert.equal(relativeTime(at(DAY), NOW), 'tomorrow');
    assert.equal(relativeTime(at(-DAY), NOW), 'yesterday');
    assert.equal(relativeTime(at(89 * DAY), NOW), 'in 89 days');
    assert.equal(relativeTime(at(200 * DAY), NOW), 'in 7 months');
    assert.equal(relativeTime(at(800 * DAY), NOW), 'in 2 years');
    assert.equal(relativeTime(at(5 * 3_600_000), NOW), 'in 5 hours');
    assert.equal(relativeTime(at(-10 * 60_000), NOW), '10 minutes ago');
    assert.equal(relativeTime(at(20_000), NOW), 'in less than a minute');
    assert.equal(relativeTime(at(-20_000), NOW), 'less than a minute ago');
  });

  test('UTC days and times; page lines', () => {
    assert.equal(formatDay('2027-09-09T00:00:00.000Z'), '2027-09-09');
    assert.equal(formatDay('2027-09-09T23:30:00.000-02:00'), '2027-09-10');
    assert.equal(formatDateTime('2026-06-01T12:34:56.789Z'), '2026-06-01 12:34 UTC');
    assert.equal(pageText(10, 10, 57, 'users'), 'Showing 11–20 of 57 users');
    assert.equal(pageText(0, 0, 0, 'users'), 'No users');
    assert.equal(pageText(60, 0, 57, 'users'), 'No users on this page (57 in all)');
  });
});

describe('the license state in words', () => {
  test('active, expires in N days within 30, perpetual', () => {
    const later = licenseStateOf(status({ nextExpiry: at(200 * DAY) }), [], NOW);
    assert.deepEqual([later.label, later.tone], ['Active', 'ok']);
    const soon = licenseStateOf(status({ nextExpiry: at(12 * DAY) }), [], NOW);
    assert.deepEqual([soon.label, soon.tone], ['Expires in 12 days', 'warn']);
    assert.match(
      soon.detail,
      /1 active license; the next expiry is in 12 days \(2026-06-13\)\. Renew before then\./,
    );
    assert.equal(licenseStateOf(status({ nextExpiry: at(30 * DAY) }), [], NOW).tone, 'warn');
    assert.equal(licenseStateOf(status({ nextExpiry: at(31 * DAY) }), [], NOW).tone, 'ok');
    assert.match(
      licenseStateOf(status({ activeLicenses: 2 }), [], NOW).detail,
      /2 active licenses; none of them expires/,
    );
  });

  test('in grace until …, then what its end takes away', () => {
    const until = at(6 * DAY);
    const lic = listed('grace', {
      uuid: 'g',
      expires: at(-DAY),
      graceDays: 7,
      graceUntil: until,
      hardExpiration: true,
      seats: 20,
      softSeats: 0,
    });
    const only = licenseStateOf(status({ grace: { until, licenses: ['g'] } }), [lic], NOW);
    assert.deepEqual([only.label, only.tone], ['In grace until 2026-06-07', 'warn']);
    assert.match(only.detail, /in grace until 2026-06-07 \(in 6 days\), then data access is blocked/);
    const soft = licenseStateOf(
      status({ grace: { until, licenses: ['g'] } }),
      [{ ...lic, hardExpiration: false }],
      NOW,
    );
    assert.match(soft.detail, /then no license is in force/);
    const beside = licenseStateOf(
      status({ activeLicenses: 2, grace: { until, licenses: ['g'] } }),
      [lic],
      NOW,
    );
    assert.match(beside.detail, /then 20 seats go/);
  });

  test('data access blocked, expired, not yet active, no license', () => {
    const none = status({ activeLicenses: 0, licenseSeats: 0, hardSeats: 0, canAddUser: false });
    const blocked = licenseStateOf({ ...none, dataAccessBlocked: true }, [], NOW);
    assert.deepEqual([blocked.label, blocked.tone], ['Data access blocked', 'bad']);
    const expired = licenseStateOf(none, [listed('expired', { expires: at(-3 * DAY) })], NOW);
    assert.deepEqual([expired.label, expired.tone], ['Expired', 'bad']);
    assert.match(expired.detail, /expired 3 days ago \(2026-05-29\)/);
    const scheduled = licenseStateOf(none, [listed('scheduled', { id: 4, startsAt: at(5 * DAY) })], NOW);
    assert.deepEqual([scheduled.label, scheduled.tone], ['Not yet active', 'warn']);
    assert.match(scheduled.detail, /License 4 starts in 5 days/);
    assert.deepEqual(licenseStateOf(none, [], NOW).label, 'No license');
  });
});

describe('the seats in words and colour', () => {
  test('free, in soft seats, full, over the limit, none', () => {
    const cases: [Partial<LicenseStatus>, string, string][] = [
      [{ activeUserCount: 5 }, '20 seats free.', 'ok'],
      [{ activeUserCount: 20 }, '5 seats free.', 'ok'],
      [{ activeUserCount: 22 }, '2 users in soft seats; 3 seats free.', 'warn'],
      [{ activeUserCount: 25 }, 'All seats are taken: new users cannot be added.', 'bad'],
      [{ activeUserCount: 30 }, '5 over the limit: 30 active users for 25 seats.', 'bad'],
      [{ activeUserCount: 0, licenseSeats: 0, hardSeats: 0 }, 'No seats: no license is active.', 'neutral'],
      [
        { activeUserCount: 3, licenseSeats: 0, hardSeats: 0 },
        '3 active users and no seats: no license is active.',
        'bad',
      ],
    ];
    for (const [overrides, words, tone] of cases) {
      assert.equal(seatsInWords(status(overrides)), words);
      assert.equal(seatTone(status(overrides)), tone, words);
    }
  });
});

describe('the approval queue in words', () => {
  test('the overview notice only when someone is waiting', () => {
    assert.equal(pendingNotice(0), null);
    assert.equal(pendingNotice(1), '1 user is waiting for approval.');
    assert.equal(pendingNotice(3), '3 users are waiting for approval.');
  });

  test('the seat limit names the cap when it is below the licenses', () => {
    assert.equal(
      seatLimitInWords(status({ activeUserCount: 15, licenseSeats: 20, userCap: 15, seatLimit: 15 })),
      '15 active of the user cap of 15 (the licenses allow 20): no seat is free.',
    );
    assert.equal(
      seatLimitInWords(status({ activeUserCount: 3, licenseSeats: 20, seatLimit: 20 })),
      '3 active of the 20 license seats: 17 seats free.',
    );
  });
});
