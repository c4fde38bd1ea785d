import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/domain/clock.js';
import { LicensorError, type ErrorCode } from '../../src/domain/errors.js';
import { parseLicenseClaims } from '../../src/domain/license-claims.js';
import {
  CREATED_AT_SKEW_MS,
  checkCanAdd,
  checkKeyTimes,
  effectiveLicense,
  isActive,
  isExpired,
  licenseState,
  seatStatus,
  type LicenseRecord,
} from '../../src/domain/license.js';
import { licenseRecord } from '../helpers/records.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const MINUTE = 60 * 1000;
const DAY = 24 * 60 * MINUTE;

function shift(date: Date, ms: number): Date {
  return new Date(date.getTime() + ms);
}

let lastId = 0;

/**
 * A stored license built the way a store builds one: claims parsed from the payload. Perpetual and
 * 10 seats unless `claims` says otherwise.
 */
function license(
  claims: Record<string, unknown> = {},
  state: { id?: number; deleted?: boolean; invalidated?: boolean } = {},
): LicenseRecord {
  const id = state.id ?? ++lastId;
  const payload: Record<string, unknown> = {
    uuid: `lic-${id}`,
    createdAt: '2026-01-01T00:00:00.000Z',
    seats: 10,
    ...claims,
  };
  return licenseRecord(id, payload, state);
}

function hasCode(code: ErrorCode, status?: number): (err: unknown) => boolean {
  return (err) =>
    err instanceof LicensorError && err.code === code && (status === undefined || err.status === status);
}

describe('isExpired / isActive around expires', () => {
  const expires = new Date('2026-09-01T00:00:00.000Z');
  const lic = license({ expires: expires.toISOString() });

  test('1 ms before expires: active, not expired', () => {
    const t = shift(expires, -1);
    assert.equal(isExpired(lic, t), false);
    assert.equal(isActive(lic, t), true);
    assert.equal(licenseState(lic, t), 'active');
  });

  test('exactly at expires: expired, not active', () => {
    assert.equal(isExpired(lic, expires), true);
    assert.equal(isActive(lic, expires), false);
    assert.equal(licenseState(lic, expires), 'expired');
  });

  test('after expires: expired, not active', () => {
    const t = shift(expires, 365 * DAY);
    assert.equal(isExpired(lic, t), true);
    assert.equal(isActive(lic, t), false);
  });

  test('a perpetual license never expires', () => {
    const perpetual = license();
    const farFuture = new Date('9999-12-31T23:59:59.999Z');
    assert.equal(isExpired(perpetual, farFuture), false);
    assert.equal(isActive(perpetual, farFuture), true);
  });
});

describe('isActive around startsAt', () => {
  const startsAt = new Date('2026-07-01T00:00:00.000Z');
  const lic = license({ startsAt: startsAt.toISOString(), expires: '2027-07-01T00:00:00.000Z' });

  test('1 ms before startsAt: not active, not expired, scheduled', () => {
    const t = shift(startsAt, -1);
    assert.equal(isActive(lic, t), false);
    assert.equal(isExpired(lic, t), false);
    assert.equal(licenseState(lic, t), 'scheduled');
  });

  test('exactly at startsAt: active', () => {
    assert.equal(isActive(lic, startsAt), true);
    assert.equal(licenseState(lic, startsAt), 'active');
  });

  test('a scheduled license becomes active when a ManualClock reaches startsAt', () => {
    const clock = new ManualClock(shift(startsAt, -MINUTE));
    assert.equal(isActive(lic, clock.now()), false);
    clock.advance(MINUTE - 1);
    assert.equal(isActive(lic, clock.now()), false);
    clock.advance(1);
    assert.equal(isActive(lic, clock.now()), true);
  });
});

describe('deleted and invalidated licenses are never active', () => {
  const claims = { expires: '2027-01-01T00:00:00.000Z' };
  const instants = [
    new Date('2026-01-01T00:00:00.000Z'),
    NOW,
    new Date('2026-12-31T23:59:59.999Z'),
    new Date('2030-01-01T00:00:00.000Z'),
  ];

  test('the same license not deleted is active mid-term (control)', () => {
    assert.equal(isActive(license(claims), NOW), true);
  });

  test('deleted', () => {
    const lic = license(claims, { deleted: true });
    for (const t of instants) assert.equal(isActive(lic, t), false, t.toISOString());
    assert.equal(licenseState(lic, NOW), 'deleted');
  });

  test('invalidated', () => {
    const lic = license(claims, { invalidated: true });
    for (const t of instants) assert.equal(isActive(lic, t), false, t.toISOString());
    assert.equal(licenseState(lic, NOW), 'invalidated');
  });

  test('deleted wins over invalidated and expired in licenseState', () => {
    const lic = license(claims, { deleted: true, invalidated: true });
    assert.equal(licenseState(lic, new Date('2030-01-01T00:00:00.000Z')), 'deleted');
  });
});

describe('effectiveLicense: seats stack', () => {
  test('no licenses: no seats, nothing blocked, no expiry', () => {
    const eff = effectiveLicense([], NOW);
    assert.equal(eff.hardSeats, 0);
    assert.equal(eff.licenseSeats, 0);
    assert.deepEqual(eff.features, {});
    assert.deepEqual(eff.handlers, {});
    assert.equal(eff.dataAccessBlocked, false);
    assert.deepEqual(eff.notices, []);
    assert.equal(eff.nextExpiry, null);
    assert.equal(eff.activeLicenses, 0);
  });

  test('one license: hardSeats = seats, licenseSeats = seats + softSeats', () => {
    const eff = effectiveLicense([license({ seats: 10, softSeats: 5 })], NOW);
    assert.equal(eff.hardSeats, 10);
    assert.equal(eff.licenseSeats, 15);
  });

  test('several licenses sum', () => {
    const a = license({ seats: 10, softSeats: 5 });
    const b = license({ seats: 3 });
    const c = license({ seats: 0, softSeats: 2 });
    const eff = effectiveLicense([a, b, c], NOW);
    assert.equal(eff.hardSeats, 13);
    assert.equal(eff.licenseSeats, 20);
    assert.equal(eff.activeLicenses, 3);
  });

  test('a license with zero seats is active but adds nothing', () => {
    const zero = license({ seats: 0 });
    const eff = effectiveLicense([zero, license({ seats: 7, softSeats: 1 })], NOW);
    assert.equal(eff.hardSeats, 7);
    assert.equal(eff.licenseSeats, 8);
    assert.equal(eff.activeLicenses, 2);
  });

  test('scheduled, expired, deleted and invalidated licenses are not counted', () => {
    const counted = license({ seats: 10, softSeats: 2 });
    const scheduled = license({ seats: 100, softSeats: 100, startsAt: shift(NOW, DAY).toISOString() });
    const expired = license({ seats: 200, expires: NOW.toISOString() });
    const deleted = license({ seats: 300 }, { deleted: true });
    const invalidated = license({ seats: 400 }, { invalidated: true });
    const eff = effectiveLicense([scheduled, expired, counted, deleted, invalidated], NOW);
    assert.equal(eff.hardSeats, 10);
    assert.equal(eff.licenseSeats, 12);
    assert.equal(eff.activeLicenses, 1);
  });

  test('the scheduled license counts from its startsAt on', () => {
    const startsAt = shift(NOW, DAY);
    const base = license({ seats: 10 });
    const scheduled = license({ seats: 5, softSeats: 1, startsAt: startsAt.toISOString() });
    assert.equal(effectiveLicense([base, scheduled], shift(startsAt, -1)).licenseSeats, 10);
    const eff = effectiveLicense([base, scheduled], startsAt);
    assert.equal(eff.hardSeats, 15);
    assert.equal(eff.licenseSeats, 16);
  });

  test('an expiring license stops counting at the instant it expires', () => {
    const expires = shift(NOW, DAY);
    const lic = license({ seats: 10, softSeats: 5, expires: expires.toISOString() });
    const other = license({ seats: 1 });
    assert.equal(effectiveLicense([lic, other], shift(expires, -1)).licenseSeats, 16);
    assert.equal(effectiveLicense([lic, other], expires).licenseSeats, 1);
  });

  test('the input order does not matter', () => {
    const list = [license({ seats: 1 }), license({ seats: 2, softSeats: 3 }), license({ seats: 4 })];
    const forward = effectiveLicense(list, NOW);
    const backward = effectiveLicense([...list].reverse(), NOW);
    assert.equal(forward.licenseSeats, 10);
    assert.deepEqual(backward, forward);
  });
});

describe('seatStatus: canAddUser', () => {
  const eff = effectiveLicense([license({ seats: 10, softSeats: 5 })], NOW);

  test('one user below licenseSeats: may add', () => {
    const status = seatStatus(eff, 14);
    assert.deepEqual(status, { activeUserCount: 14, licenseSeats: 15, canAddUser: true, hardSeats: 10 });
  });

  test('exactly licenseSeats users: may not add', () => {
    assert.equal(seatStatus(eff, 15).canAddUser, false);
  });

  test('more users than licenseSeats: may not add', () => {
    assert.equal(seatStatus(eff, 16).canAddUser, false);
  });

  test('soft seats count: hardSeats users still leaves room', () => {
    assert.equal(seatStatus(eff, 10).canAddUser, true);
  });

  test('no license: no user may be added, not even the first', () => {
    assert.equal(seatStatus(effectiveLicense([], NOW), 0).canAddUser, false);
  });
});

describe('effectiveLicense: features and handlers', () => {
  test('a feature is enabled when any active license enables it (false first)', () => {
    const off = license({ features: { masking: { enabled: false } } });
    const on = license({ features: { masking: { enabled: true } } });
    assert.equal(effectiveLicense([off, on], NOW).features.masking?.enabled, true);
  });

  test('a feature is enabled when any active license enables it (true first)', () => {
    const on = license({ features: { masking: { enabled: true } } });
    const off = license({ features: { masking: { enabled: false } } });
    assert.equal(effectiveLicense([on, off], NOW).features.masking?.enabled, true);
  });

  test('a feature only ever disabled is not enabled', () => {
    const off = license({ features: { masking: { enabled: false } } });
    assert.notEqual(effectiveLicense([off], NOW).features.masking?.enabled, true);
  });

  test('features of different licenses are all present', () => {
    const a = license({ features: { masking: { enabled: true } } });
    const b = license({ features: { lineage: { enabled: true } } });
    const eff = effectiveLicense([a, b], NOW);
    assert.equal(eff.features.masking?.enabled, true);
    assert.equal(eff.features.lineage?.enabled, true);
  });

  test('features of an expired license are not included', () => {
    const expired = license({
      expires: NOW.toISOString(),
      features: { masking: { enabled: true } },
    });
    const active = license({ features: { lineage: { enabled: true } } });
    const eff = effectiveLicense([expired, active], NOW);
    assert.notEqual(eff.features.masking?.enabled, true);
    assert.equal(eff.features.lineage?.enabled, true);
    // ...and the same license 1 ms earlier does enable it.
    assert.equal(effectiveLicense([expired, active], shift(NOW, -1)).features.masking?.enabled, true);
  });

  test('features of deleted, invalidated and scheduled licenses are not included', () => {
    const f = { masking: { enabled: true } };
    const eff = effectiveLicense(
      [
        license({ features: f }, { deleted: true }),
        license({ features: f }, { invalidated: true }),
        license({ features: f, startsAt: shift(NOW, 1).toISOString() }),
      ],
      NOW,
    );
    assert.notEqual(eff.features.masking?.enabled, true);
  });

  test('handlers are the union over active licenses', () => {
    const a = license({ handlers: { snowflake: {} } });
    const b = license({ handlers: { databricks: { v: 2 } } });
    const c = license({ handlers: { snowflake: {}, redshift: {} } });
    const eff = effectiveLicense([a, b, c], NOW);
    assert.deepEqual(Object.keys(eff.handlers).sort(), ['databricks', 'redshift', 'snowflake']);
    assert.deepEqual(eff.handlers.databricks, { v: 2 });
  });

  test('handlers of an expired or deleted license are not included', () => {
    const expired = license({ expires: NOW.toISOString(), handlers: { oracle: {} } });
    const deleted = license({ handlers: { teradata: {} } }, { deleted: true });
    const active = license({ handlers: { snowflake: {} } });
    assert.deepEqual(Object.keys(effectiveLicense([expired, deleted, active], NOW).handlers), ['snowflake']);
  });
});

describe('effectiveLicense: dataAccessBlocked', () => {
  const expiredAt = shift(NOW, -DAY).toISOString();

  test('true when nothing is active and an expired license has hardExpiration', () => {
    const lic = license({ expires: expiredAt, hardExpiration: true });
    assert.equal(effectiveLicense([lic], NOW).dataAccessBlocked, true);
  });

  test('blocks from the instant of expiry, not 1 ms before', () => {
    const expires = shift(NOW, DAY);
    const lic = license({ expires: expires.toISOString(), hardExpiration: true });
    assert.equal(effectiveLicense([lic], shift(expires, -1)).dataAccessBlocked, false);
    assert.equal(effectiveLicense([lic], expires).dataAccessBlocked, true);
  });

  test('false when the expired license has no hardExpiration', () => {
    const lic = license({ expires: expiredAt });
    assert.equal(effectiveLicense([lic], NOW).dataAccessBlocked, false);
  });

  test('false when an expired hardExpiration license sits beside an active one', () => {
    const expired = license({ expires: expiredAt, hardExpiration: true });
    const active = license({ seats: 1 });
    assert.equal(effectiveLicense([expired, active], NOW).dataAccessBlocked, false);
    assert.equal(effectiveLicense([active, expired], NOW).dataAccessBlocked, false);
  });

  test('false when the expired hardExpiration license was deleted', () => {
    const lic = license({ expires: expiredAt, hardExpiration: true }, { deleted: true });
    assert.equal(effectiveLicense([lic], NOW).dataAccessBlocked, false);
  });

  test('false when the expired hardExpiration license was invalidated', () => {
    const lic = license({ expires: expiredAt, hardExpiration: true }, { invalidated: true });
    assert.equal(effectiveLicense([lic], NOW).dataAccessBlocked, false);
  });

  test('false while a hardExpiration license is still active', () => {
    const lic = license({ expires: shift(NOW, DAY).toISOString(), hardExpiration: true });
    assert.equal(effectiveLicense([lic], NOW).dataAccessBlocked, false);
  });

  test('true beside a license that is only scheduled (no license is active)', () => {
    const expired = license({ expires: expiredAt, hardExpiration: true });
    const scheduled = license({ startsAt: shift(NOW, DAY).toISOString() });
    assert.equal(effectiveLicense([expired, scheduled], NOW).dataAccessBlocked, true);
    // ...and unblocked once the scheduled license starts.
    assert.equal(effectiveLicense([expired, scheduled], shift(NOW, DAY)).dataAccessBlocked, false);
  });

  test('true beside an expired license without hardExpiration', () => {
    const hard = license({ expires: expiredAt, hardExpiration: true });
    const soft = license({ expires: expiredAt });
    assert.equal(effectiveLicense([soft, hard], NOW).dataAccessBlocked, true);
  });

  test('true when a deleted hardExpiration license is gone but a standing one still blocks', () => {
    const deleted = license({ expires: expiredAt, hardExpiration: true }, { deleted: true });
    const standing = license({ expires: expiredAt, hardExpiration: true });
    assert.equal(effectiveLicense([deleted, standing], NOW).dataAccessBlocked, true);
  });
});

describe('effectiveLicense: notices', () => {
  const past = shift(NOW, -DAY).toISOString();

  function texts(list: LicenseRecord[], now = NOW): [string, string][] {
    return effectiveLicense(list, now)
      .notices.map((n): [string, string] => [n.kind, n.text])
      .sort();
  }

  test('an active license shows its notice, not its noticeOnExpire', () => {
    const lic = license({ notice: 'Licensed to Acme', noticeOnExpire: 'Acme: expired' });
    assert.deepEqual(texts([lic]), [['notice', 'Licensed to Acme']]);
    assert.equal(effectiveLicense([lic], NOW).notices[0]?.licenseId, lic.id);
  });

  test('an expired license shows its noticeOnExpire, not its notice', () => {
    const lic = license({ expires: past, notice: 'Licensed to Acme', noticeOnExpire: 'Acme: expired' });
    assert.deepEqual(texts([lic]), [['noticeOnExpire', 'Acme: expired']]);
  });

  test('the switch happens exactly at expires', () => {
    const expires = shift(NOW, DAY);
    const lic = license({ expires: expires.toISOString(), notice: 'on', noticeOnExpire: 'off' });
    assert.deepEqual(texts([lic], shift(expires, -1)), [['notice', 'on']]);
    assert.deepEqual(texts([lic], expires), [['noticeOnExpire', 'off']]);
  });

  test('notices of every active license and every expired license are shown together', () => {
    const a = license({ notice: 'A active' });
    const b = license({ notice: 'B active' });
    const c = license({ expires: past, noticeOnExpire: 'C expired' });
    assert.deepEqual(texts([a, b, c]), [
      ['notice', 'A active'],
      ['notice', 'B active'],
      ['noticeOnExpire', 'C expired'],
    ]);
  });

  test('deleted and invalidated licenses show nothing, active or expired', () => {
    const all = { notice: 'n', noticeOnExpire: 'e' };
    const list = [
      license(all, { deleted: true }),
      license(all, { invalidated: true }),
      license({ ...all, expires: past }, { deleted: true }),
      license({ ...all, expires: past }, { invalidated: true }),
    ];
    assert.deepEqual(texts(list), []);
  });

  test('a scheduled license shows no notice yet', () => {
    const lic = license({ notice: 'soon', startsAt: shift(NOW, DAY).toISOString() });
    assert.deepEqual(texts([lic]), []);
  });
});

describe('effectiveLicense: nextExpiry', () => {
  test('the earliest expires among active licenses', () => {
    const list = [
      license({ expires: '2027-03-01T00:00:00.000Z' }),
      license({ expires: '2026-08-01T00:00:00.000Z' }),
      license(),
      license({ expires: '2026-12-01T00:00:00.000Z' }),
    ];
    assert.equal(effectiveLicense(list, NOW).nextExpiry?.toISOString(), '2026-08-01T00:00:00.000Z');
  });

  test('null when every active license is perpetual', () => {
    assert.equal(effectiveLicense([license(), license()], NOW).nextExpiry, null);
  });

  test('expired, deleted and scheduled licenses do not set it', () => {
    const list = [
      license({ expires: NOW.toISOString() }),
      license({ expires: '2026-06-02T00:00:00.000Z' }, { deleted: true }),
      license({ startsAt: '2026-06-05T00:00:00.000Z', expires: '2026-06-10T00:00:00.000Z' }),
      license({ expires: '2026-09-01T00:00:00.000Z' }),
    ];
    assert.equal(effectiveLicense(list, NOW).nextExpiry?.toISOString(), '2026-09-01T00:00:00.000Z');
  });
});

describe('checkKeyTimes', () => {
  function claims(extra: Record<string, unknown>) {
    return parseLicenseClaims({ uuid: 'k', createdAt: '2026-05-01T00:00:00.000Z', seats: 1, ...extra });
  }

  test('the allowed clock skew is 5 minutes', () => {
    assert.equal(CREATED_AT_SKEW_MS, 5 * MINUTE);
  });

  test('a current key passes', () => {
    assert.doesNotThrow(() => checkKeyTimes(claims({ expires: '2027-01-01T00:00:00.000Z' }), NOW));
  });

  test('a perpetual key passes at any later time', () => {
    assert.doesNotThrow(() => checkKeyTimes(claims({}), new Date('2999-01-01T00:00:00.000Z')));
  });

  test('LICENSE_EXPIRED exactly at expires', () => {
    const c = claims({ expires: NOW.toISOString() });
    assert.throws(() => checkKeyTimes(c, NOW), hasCode('LICENSE_EXPIRED', 400));
  });

  test('LICENSE_EXPIRED after expires; fine 1 ms before', () => {
    const c = claims({ expires: NOW.toISOString() });
    assert.throws(() => checkKeyTimes(c, shift(NOW, DAY)), hasCode('LICENSE_EXPIRED'));
    assert.doesNotThrow(() => checkKeyTimes(c, shift(NOW, -1)));
  });

  test('LICENSE_NOT_YET_VALID when createdAt lies beyond 5 minutes in the future', () => {
    const c = claims({ createdAt: shift(NOW, 5 * MINUTE + 1).toISOString() });
    assert.throws(() => checkKeyTimes(c, NOW), hasCode('LICENSE_NOT_YET_VALID', 400));
    const far = claims({ createdAt: shift(NOW, 30 * DAY).toISOString() });
    assert.throws(() => checkKeyTimes(far, NOW), hasCode('LICENSE_NOT_YET_VALID'));
  });

  test('createdAt within the skew is fine (1 minute, exactly 5 minutes)', () => {
    assert.doesNotThrow(() => checkKeyTimes(claims({ createdAt: shift(NOW, MINUTE).toISOString() }), NOW));
    assert.doesNotThrow(() =>
      checkKeyTimes(claims({ createdAt: shift(NOW, 5 * MINUTE).toISOString() }), NOW),
    );
  });

  test('a future startsAt is accepted: the key waits', () => {
    const c = claims({
      startsAt: shift(NOW, 30 * DAY).toISOString(),
      expires: shift(NOW, 400 * DAY).toISOString(),
    });
    assert.doesNotThrow(() => checkKeyTimes(c, NOW));
  });
});

describe('checkCanAdd', () => {
  const uuid = 'same-uuid';

  test('no stored license with the uuid: may add', () => {
    assert.doesNotThrow(() => checkCanAdd(uuid, []));
  });

  test('a live license with the same uuid: LICENSE_ALREADY_EXISTS (409)', () => {
    const live = license({ uuid });
    assert.throws(() => checkCanAdd(uuid, [live]), hasCode('LICENSE_ALREADY_EXISTS', 409));
  });

  test('an expired but not deleted license with the same uuid is still a conflict', () => {
    const expired = license({ uuid, expires: '2026-02-01T00:00:00.000Z' });
    assert.throws(() => checkCanAdd(uuid, [expired]), hasCode('LICENSE_ALREADY_EXISTS'));
  });

  test('an invalidated (not deleted) license with the same uuid is still a conflict', () => {
    const invalidated = license({ uuid }, { invalidated: true });
    assert.throws(() => checkCanAdd(uuid, [invalidated]), hasCode('LICENSE_ALREADY_EXISTS'));
  });

  test('deleted with hardDelete: LICENSE_HARD_DELETED (409)', () => {
    const gone = license({ uuid, hardDelete: true }, { deleted: true });
    assert.throws(() => checkCanAdd(uuid, [gone]), hasCode('LICENSE_HARD_DELETED', 409));
  });

  test('deleted without hardDelete: may add again', () => {
    const gone = license({ uuid, hardDelete: false }, { deleted: true });
    assert.doesNotThrow(() => checkCanAdd(uuid, [gone]));
  });

  test('deleted twice without hardDelete: may add again', () => {
    const list = [license({ uuid }, { deleted: true }), license({ uuid }, { deleted: true })];
    assert.doesNotThrow(() => checkCanAdd(uuid, list));
  });

  test('one soft-deleted and one hard-deleted record: LICENSE_HARD_DELETED', () => {
    const list = [
      license({ uuid }, { deleted: true }),
      license({ uuid, hardDelete: true }, { deleted: true }),
    ];
    assert.throws(() => checkCanAdd(uuid, list), hasCode('LICENSE_HARD_DELETED'));
  });

  test('re-added after a soft delete and live again: LICENSE_ALREADY_EXISTS', () => {
    const list = [license({ uuid }, { deleted: true }), license({ uuid })];
    assert.throws(() => checkCanAdd(uuid, list), hasCode('LICENSE_ALREADY_EXISTS'));
  });

  test('hardDelete on a live license does not block anything until it is deleted', () => {
    const live = license({ uuid, hardDelete: true });
    assert.throws(() => checkCanAdd(uuid, [live]), hasCode('LICENSE_ALREADY_EXISTS'));
  });
});
