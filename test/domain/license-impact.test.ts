import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LicensorError } from '../../src/domain/errors.js';
import { parseLicenseClaims } from '../../src/domain/license-claims.js';
import {
  additionImpact,
  deletionImpact,
  isKeyRefusal,
  KEY_REFUSAL_CODES,
  refusedKeyImpact,
  type LicenseCandidate,
} from '../../src/domain/license-impact.js';
import { checkCanAdd, effectiveLicense, type LicenseRecord } from '../../src/domain/license.js';
import { licenseRecord } from '../helpers/records.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const DAY = 24 * 60 * 60 * 1000;

function payloadOf(uuid: string, claims: Record<string, unknown>): Record<string, unknown> {
  return { uuid, createdAt: '2026-01-01T00:00:00.000Z', seats: 10, ...claims };
}

/** A stored license; perpetual with 10 seats unless `claims` says otherwise. */
function stored(
  id: number,
  claims: Record<string, unknown> = {},
  state: { deleted?: boolean; invalidated?: boolean; uuid?: string } = {},
): LicenseRecord {
  return licenseRecord(id, payloadOf(state.uuid ?? `lic-${id}`, claims), state);
}

function candidate(uuid: string, claims: Record<string, unknown> = {}): LicenseCandidate {
  const payload = payloadOf(uuid, claims);
  return { licenseKey: `key-${uuid}`, payload, claims: parseLicenseClaims(payload) };
}

describe('additionImpact', () => {
  test('seats before and after, features and handlers gained, nothing lost', () => {
    const licenses = [
      stored(1, {
        seats: 10,
        softSeats: 2,
        features: { FPE: { enabled: true } },
        handlers: { Snowflake: {} },
      }),
    ];
    const impact = additionImpact(
      licenses,
      candidate('new', {
        seats: 5,
        softSeats: 1,
        features: { FPE: { enabled: true }, externalCatalog: { enabled: true }, off: { enabled: false } },
        handlers: { Snowflake: {}, Databricks: {} },
      }),
      11,
      NOW,
    );
    assert.equal(impact.refusal, null);
    assert.deepEqual(impact.before, {
      hardSeats: 10,
      licenseSeats: 12,
      canAddUser: true,
      overage: 1,
      dataAccessBlocked: false,
      activeLicenses: 1,
      graceUntil: null,
    });
    assert.deepEqual(impact.after, {
      hardSeats: 15,
      licenseSeats: 18,
      canAddUser: true,
      overage: 0,
      dataAccessBlocked: false,
      activeLicenses: 2,
      graceUntil: null,
    });
    assert.deepEqual(impact.featuresGained, ['externalCatalog'], 'a disabled feature is not gained');
    assert.deepEqual(impact.handlersGained, ['Databricks']);
    assert.deepEqual([impact.featuresLost, impact.handlersLost, impact.invalidates], [[], [], []]);
    assert.equal(impact.usersOverLimitAfter, 0);
    assert.equal(impact.activeUserCount, 11);
    assert.equal(impact.subject?.stored, false);
    assert.equal(impact.subject?.record.id, 2, 'the id the store would give it');
    assert.equal(licenses.length, 1, 'the input is not changed');
  });

  test('supersedes: the named live licenses are invalidated, and what they alone granted is lost', () => {
    const licenses = [
      stored(1, { seats: 10, features: { old: { enabled: true } }, handlers: { Oracle: {} } }),
      stored(2, { seats: 3 }, { uuid: 'deleted-one', deleted: true }),
      stored(3, { seats: 4 }, { uuid: 'already-invalid', invalidated: true }),
      stored(4, { seats: 2 }),
    ];
    const impact = additionImpact(
      licenses,
      candidate('renewal', { seats: 20, supersedes: ['lic-1', 'deleted-one', 'already-invalid', 'unknown'] }),
      15,
      NOW,
    );
    assert.deepEqual(impact.invalidates, [{ id: 1, uuid: 'lic-1' }], 'only live, valid licenses');
    assert.deepEqual([impact.before.hardSeats, impact.after.hardSeats], [12, 22]);
    assert.deepEqual(impact.featuresLost, ['old']);
    assert.deepEqual(impact.handlersLost, ['Oracle']);
    assert.equal(impact.after.activeLicenses, 2);
  });

  test('users over the limit afterwards and a hard-expired license lifting its block', () => {
    const expired = stored(1, { seats: 50, expires: '2026-05-01T00:00:00Z', hardExpiration: true });
    const impact = additionImpact([expired], candidate('small', { seats: 3, softSeats: 1 }), 9, NOW);
    assert.equal(impact.before.dataAccessBlocked, true);
    assert.equal(impact.after.dataAccessBlocked, false);
    assert.equal(impact.usersOverLimitAfter, 5);
    assert.equal(impact.after.canAddUser, false);
  });

  test('a scheduled key adds nothing yet', () => {
    const impact = additionImpact(
      [stored(1)],
      candidate('later', { seats: 5, startsAt: new Date(NOW.getTime() + DAY).toISOString() }),
      0,
      NOW,
    );
    assert.deepEqual([impact.before.licenseSeats, impact.after.licenseSeats], [10, 10]);
    assert.equal(impact.refusal, null);
  });

  test('the re-add rules and the time claims refuse as adding would, and then nothing changes', () => {
    const licenses = [
      stored(1, {}, { uuid: 'live' }),
      stored(2, { hardDelete: true }, { uuid: 'gone', deleted: true }),
    ];
    const cases: [LicenseCandidate, string, number][] = [
      [candidate('live', { seats: 99 }), 'LICENSE_ALREADY_EXISTS', 409],
      [candidate('gone', { seats: 99 }), 'LICENSE_HARD_DELETED', 409],
      [candidate('old', { seats: 99, expires: '2026-05-01T00:00:00Z' }), 'LICENSE_EXPIRED', 400],
      [
        candidate('future', { seats: 99, createdAt: new Date(NOW.getTime() + DAY).toISOString() }),
        'LICENSE_NOT_YET_VALID',
        400,
      ],
    ];
    for (const [key, code, status] of cases) {
      const impact = additionImpact(licenses, key, 4, NOW);
      assert.equal(impact.refusal?.code, code);
      assert.equal(impact.refusal?.status, status);
      assert.deepEqual(impact.after, impact.before, `${code}: nothing changes`);
      assert.deepEqual([impact.featuresGained, impact.handlersGained, impact.invalidates], [[], [], []]);
      assert.equal(impact.subject?.record.uuid, key.claims.uuid, 'the key is still described');
    }
    // The same words as the rule itself.
    const live = additionImpact(licenses, candidate('live'), 0, NOW).refusal;
    assert.throws(
      () =>
        checkCanAdd(
          'live',
          licenses.filter((l) => l.uuid === 'live'),
        ),
      (err: unknown) => err instanceof LicensorError && err.detail === live?.detail,
    );
  });

  test('a uuid deleted without hardDelete may come back', () => {
    const impact = additionImpact(
      [stored(1, {}, { uuid: 'back', deleted: true })],
      candidate('back'),
      0,
      NOW,
    );
    assert.equal(impact.refusal, null);
    assert.equal(impact.after.hardSeats, 10);
  });
});

describe('refusedKeyImpact', () => {
  test('a key that cannot be verified changes nothing and carries its code and detail', () => {
    const impact = refusedKeyImpact(
      [stored(1)],
      new LicensorError('INVALID_SIGNATURE', 'the signature does not verify') as LicensorError & {
        code: 'INVALID_SIGNATURE';
      },
      3,
      NOW,
    );
    assert.deepEqual(impact.refusal, {
      code: 'INVALID_SIGNATURE',
      status: 400,
      detail: 'the signature does not verify',
    });
    assert.equal(impact.subject, null);
    assert.deepEqual(impact.after, impact.before);
  });

  test('isKeyRefusal: the key and re-add codes, nothing else', () => {
    for (const code of KEY_REFUSAL_CODES) assert.ok(isKeyRefusal(new LicensorError(code, 'x')), code);
    for (const code of ['STORE_UNAVAILABLE', 'VALIDATION_FAILED', 'INTERNAL_ERROR'] as const)
      assert.ok(!isKeyRefusal(new LicensorError(code, 'x')), code);
    assert.ok(!isKeyRefusal(new Error('INVALID_SIGNATURE')));
  });
});

describe('deletionImpact', () => {
  test('seats after, features and handlers lost, users over the limit afterwards', () => {
    const licenses = [
      stored(1, { seats: 10, softSeats: 2, features: { FPE: { enabled: true }, shared: { enabled: true } } }),
      stored(2, { seats: 5, features: { shared: { enabled: true } }, handlers: { Snowflake: {} } }),
    ];
    const impact = deletionImpact(licenses, 1, 9, NOW);
    assert.equal(impact.subject?.stored, true);
    assert.equal(impact.subject?.record.id, 1);
    assert.deepEqual([impact.before.licenseSeats, impact.after.licenseSeats], [17, 5]);
    assert.deepEqual(impact.featuresLost, ['FPE'], 'a feature another license enables stays');
    assert.deepEqual(impact.handlersLost, []);
    assert.equal(impact.usersOverLimitAfter, 4);
    assert.equal(impact.after.overage, 4);
    assert.equal(impact.refusal, null);
    assert.equal(effectiveLicense(licenses, NOW).hardSeats, 15, 'the input is not changed');
  });

  test('deleting the last license of a blocked kind, and the last active one', () => {
    const blocked = [stored(1, { expires: '2026-05-01T00:00:00Z', hardExpiration: true })];
    const lift = deletionImpact(blocked, 1, 0, NOW);
    assert.deepEqual([lift.before.dataAccessBlocked, lift.after.dataAccessBlocked], [true, false]);
    const last = deletionImpact([stored(1, { handlers: { Snowflake: {} } })], 1, 2, NOW);
    assert.deepEqual([last.after.activeLicenses, last.after.canAddUser], [0, false]);
    assert.deepEqual(last.handlersLost, ['Snowflake']);
    assert.equal(last.usersOverLimitAfter, 2);
  });

  test('an unknown or deleted id is LICENSE_NOT_FOUND, as deleting answers', () => {
    const licenses = [stored(1, {}, { deleted: true })];
    for (const id of [1, 2])
      assert.throws(
        () => deletionImpact(licenses, id, 0, NOW),
        (err: unknown) =>
          err instanceof LicensorError &&
          err.code === 'LICENSE_NOT_FOUND' &&
          err.detail === `no license with id ${id}`,
      );
  });
});
