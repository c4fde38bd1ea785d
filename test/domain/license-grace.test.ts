import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LicensorError } from '../../src/domain/errors.js';
import { parseLicenseClaims } from '../../src/domain/license-claims.js';
import { graceTransitionsBetween } from '../../src/domain/license-grace.js';
import { LicenseList } from '../../src/domain/license-list.js';
import {
  checkKeyTimes,
  effectiveLicense,
  graceUntil,
  isActive,
  licenseState,
  licenseTimeBounds,
} from '../../src/domain/license.js';
import { DEFAULT_SEAT_SETTINGS } from '../../src/domain/seat-policy.js';
import { licenseListView } from '../../src/domain/license-view.js';
import { Snapshot } from '../../src/store/snapshot.js';
import { licenseRecord } from '../helpers/records.js';

const NOW = new Date('2026-06-10T12:00:00.000Z');
const DAY = 24 * 60 * 60 * 1000;
const at = (ms: number): Date => new Date(NOW.getTime() + ms);

function payload(claims: Record<string, unknown>): Record<string, unknown> {
  return { uuid: 'g-1', createdAt: '2026-01-01T00:00:00.000Z', seats: 10, ...claims };
}

const isExpiredError = (err: unknown): boolean =>
  err instanceof LicensorError && err.code === 'LICENSE_EXPIRED';

describe('the graceDays claim', () => {
  test('is 0 when absent and takes integers from 0 to 365', () => {
    assert.equal(parseLicenseClaims(payload({})).graceDays, 0);
    for (const n of [0, 7, 365]) assert.equal(parseLicenseClaims(payload({ graceDays: n })).graceDays, n);
  });

  test('anything else is INVALID_CLAIMS naming graceDays', () => {
    for (const bad of [-1, 366, 1.5, '7', null, true]) {
      assert.throws(
        () => parseLicenseClaims(payload({ graceDays: bad })),
        (err) =>
          err instanceof LicensorError && err.code === 'INVALID_CLAIMS' && /graceDays/.test(err.detail),
        String(bad),
      );
    }
  });

  test('graceUntil is expires + graceDays; null for a perpetual license or no grace', () => {
    const claims = parseLicenseClaims(payload({ expires: '2026-06-09T00:00:00Z', graceDays: 7 }));
    assert.equal(graceUntil(claims)?.toISOString(), '2026-06-16T00:00:00.000Z');
    assert.equal(graceUntil(parseLicenseClaims(payload({ graceDays: 7 }))), null);
    assert.equal(graceUntil(parseLicenseClaims(payload({ expires: '2026-06-09T00:00:00Z' }))), null);
  });
});

describe('a key with graceDays 7 that expired yesterday', () => {
  const lic = licenseRecord(1, {
    ...payload({
      expires: at(-DAY).toISOString(),
      graceDays: 7,
      hardExpiration: true,
      notice: 'licensed',
      noticeOnExpire: 'renew now',
      features: { FPE: { enabled: true } },
    }),
  });
  const until = at(6 * DAY);

  test('is accepted when added', () => {
    assert.doesNotThrow(() => checkKeyTimes(lic.claims, NOW));
  });

  test('keeps its seats and features, shows noticeOnExpire, and blocks no data access', () => {
    const effective = effectiveLicense([lic], NOW);
    assert.equal(effective.licenseSeats, 10);
    assert.equal(effective.hardSeats, 10);
    assert.deepEqual(effective.features, { FPE: { enabled: true } });
    assert.equal(effective.dataAccessBlocked, false);
    assert.deepEqual(effective.grace, { until, licenses: ['g-1'] });
    assert.deepEqual(
      effective.notices.map((n) => n.kind),
      ['noticeOnExpire'],
    );
    assert.equal(effective.nextExpiry, null);
    assert.equal(isActive(lic, NOW), true);
    assert.equal(licenseState(lic, NOW), 'grace');
    const view = licenseListView(lic, NOW);
    assert.equal(view.expired, true);
    assert.equal(view.graceUntil, until.toISOString());
  });

  test('once the grace ends its seats go and hardExpiration blocks data access', () => {
    for (const t of [until, at(30 * DAY)]) {
      const effective = effectiveLicense([lic], t);
      assert.equal(effective.licenseSeats, 0);
      assert.deepEqual(effective.features, {});
      assert.equal(effective.dataAccessBlocked, true);
      assert.equal(effective.grace, null);
      assert.equal(licenseState(lic, t), 'expired');
    }
    // 1 ms before the end it still counts.
    assert.equal(effectiveLicense([lic], new Date(until.getTime() - 1)).licenseSeats, 10);
  });

  test('a key past expires + graceDays is refused LICENSE_EXPIRED', () => {
    assert.throws(() => checkKeyTimes(lic.claims, until), isExpiredError);
    const noGrace = licenseRecord(2, payload({ uuid: 'g-2', expires: at(-DAY).toISOString() }));
    assert.throws(() => checkKeyTimes(noGrace.claims, NOW), isExpiredError);
  });

  test('the earliest end of grace is reported, with every license in grace', () => {
    const other = licenseRecord(
      3,
      payload({ uuid: 'g-3', expires: at(-2 * DAY).toISOString(), graceDays: 3, seats: 5 }),
    );
    const effective = effectiveLicense([lic, other], NOW);
    assert.deepEqual(effective.grace, { until: at(DAY), licenses: ['g-1', 'g-3'] });
    assert.equal(effective.licenseSeats, 15);
  });

  test('the time bounds of the effective license end at the end of grace', () => {
    assert.deepEqual(licenseTimeBounds([lic], NOW), { from: at(-DAY).getTime(), until: until.getTime() });
  });

  test('the snapshot turns over at the end of grace as it does at expires', () => {
    const snapshot = new Snapshot(
      {
        licenses: () => Promise.resolve(LicenseList.of([lic])),
        tokens: () => Promise.resolve(new Map()),
        activity: () => Promise.reject(new Error('not used')),
        settings: () => Promise.resolve(DEFAULT_SEAT_SETTINGS),
      },
      365,
    );
    const licenses = LicenseList.of([lic]);
    assert.equal(snapshot.effectiveAt(licenses, NOW).licenseSeats, 10);
    assert.equal(snapshot.effectiveAt(licenses, new Date(until.getTime() - 1)).licenseSeats, 10);
    const after = snapshot.effectiveAt(licenses, until);
    assert.equal(after.licenseSeats, 0);
    assert.equal(after.dataAccessBlocked, true);
  });
});

describe('graceTransitionsBetween', () => {
  const expires = new Date('2026-06-09T00:00:00.000Z');
  const lic = licenseRecord(1, payload({ expires: expires.toISOString(), graceDays: 7 }));
  const end = new Date('2026-06-16T00:00:00.000Z');

  test('grace_started at expires, grace_ended at its end, each in the window (after, upTo]', () => {
    const types = (a: Date, b: Date): string[] =>
      graceTransitionsBetween([lic], a, b).map((t) => `${t.type}@${t.at.toISOString()}`);
    assert.deepEqual(types(new Date(expires.getTime() - 1), expires), [
      'license.grace_started@2026-06-09T00:00:00.000Z',
    ]);
    assert.deepEqual(types(expires, new Date(end.getTime() - 1)), []);
    assert.deepEqual(types(new Date(end.getTime() - 1), end), [
      'license.grace_ended@2026-06-16T00:00:00.000Z',
    ]);
    // An instance that was down through both catches up with both, in order.
    assert.deepEqual(types(new Date('2026-06-01T00:00:00Z'), new Date('2026-07-01T00:00:00Z')), [
      'license.grace_started@2026-06-09T00:00:00.000Z',
      'license.grace_ended@2026-06-16T00:00:00.000Z',
    ]);
  });

  test('none for licenses without grace, deleted or invalidated', () => {
    const wide = [new Date('2026-01-01T00:00:00Z'), new Date('2027-01-01T00:00:00Z')] as const;
    const plain = licenseRecord(2, payload({ uuid: 'p', expires: expires.toISOString() }));
    const deleted = licenseRecord(3, payload({ uuid: 'd', expires: expires.toISOString(), graceDays: 7 }), {
      deleted: true,
    });
    const invalidated = licenseRecord(
      4,
      payload({ uuid: 'i', expires: expires.toISOString(), graceDays: 7 }),
      { invalidated: true },
    );
    assert.deepEqual(graceTransitionsBetween([plain, deleted, invalidated], ...wide), []);
  });
});
