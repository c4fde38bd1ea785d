import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { LicensorError } from '../../src/domain/errors.js';
import { readFileSync } from 'node:fs';
import {
  CLAIM_LIMITS,
  KEY_LIMITS,
  checkLicenseKeyLimits,
  parseLicenseClaims,
  parseRfc3339,
} from '../../src/domain/license-claims.js';

/** The smallest valid payload: every required claim, nothing else. */
const BASE: Readonly<Record<string, unknown>> = {
  uuid: 'lic-0001',
  createdAt: '2026-01-01T00:00:00Z',
  seats: 20,
};

function withClaims(claims: Record<string, unknown>): Record<string, unknown> {
  return { ...BASE, ...claims };
}

function without(claim: string): Record<string, unknown> {
  const payload = { ...BASE };
  delete payload[claim];
  return payload;
}

function isInvalidClaims(err: unknown): boolean {
  return err instanceof LicensorError && err.code === 'INVALID_CLAIMS' && err.status === 400;
}

function assertInvalid(payload: unknown): void {
  assert.throws(() => parseLicenseClaims(payload), isInvalidClaims);
}

describe('parseLicenseClaims: valid payloads', () => {
  test('the minimal payload parses and optional claims take their defaults', () => {
    const claims = parseLicenseClaims({ ...BASE });
    assert.equal(claims.uuid, 'lic-0001');
    assert.equal(claims.createdAt.toISOString(), '2026-01-01T00:00:00.000Z');
    assert.equal(claims.seats, 20);
    assert.equal(claims.softSeats, 0);
    assert.deepEqual(claims.features, {});
    assert.deepEqual(claims.handlers, {});
    assert.equal(claims.hardExpiration, false);
    assert.equal(claims.hardDelete, false);
    assert.equal(claims.expires, null, 'no expires means perpetual');
    assert.equal(claims.startsAt, null);
    assert.equal(claims.notice, null);
    assert.equal(claims.noticeOnExpire, null);
    assert.equal(claims.renewalToken, null);
    assert.deepEqual(claims.supersedes, []);
    assert.equal(claims.licensee, null);
  });

  test('expires: null is perpetual, like an absent expires', () => {
    assert.equal(parseLicenseClaims(withClaims({ expires: null })).expires, null);
  });

  test('every claim is read with its value', () => {
    const claims = parseLicenseClaims({
      uuid: 'c0ffee00-0000-4000-8000-000000000001',
      createdAt: '2026-01-01T00:00:00.000Z',
      expires: '2027-01-01T00:00:00.000Z',
      startsAt: '2026-02-01T00:00:00.000Z',
      seats: 25,
      softSeats: 5,
      features: { masking: { enabled: true }, lineage: { enabled: false, tier: 'gold' } },
      handlers: { snowflake: {}, databricks: { version: 2 } },
      hardExpiration: true,
      hardDelete: true,
      notice: 'Licensed to Acme',
      noticeOnExpire: 'Expired: call sales',
      renewalToken: 'renew-123',
      supersedes: ['old-1', 'old-2'],
      licensee: { name: 'Ada', email: 'ada@example.com', company: 'Acme' },
    });
    assert.equal(claims.uuid, 'c0ffee00-0000-4000-8000-000000000001');
    assert.equal(claims.expires?.toISOString(), '2027-01-01T00:00:00.000Z');
    assert.equal(claims.startsAt?.toISOString(), '2026-02-01T00:00:00.000Z');
    assert.equal(claims.seats, 25);
    assert.equal(claims.softSeats, 5);
    assert.equal(claims.features.masking?.enabled, true);
    assert.equal(claims.features.lineage?.enabled, false);
    assert.deepEqual(Object.keys(claims.handlers).sort(), ['databricks', 'snowflake']);
    assert.deepEqual(claims.handlers.databricks, { version: 2 });
    assert.equal(claims.hardExpiration, true);
    assert.equal(claims.hardDelete, true);
    assert.equal(claims.notice, 'Licensed to Acme');
    assert.equal(claims.noticeOnExpire, 'Expired: call sales');
    assert.equal(claims.renewalToken, 'renew-123');
    assert.deepEqual([...claims.supersedes].sort(), ['old-1', 'old-2']);
    assert.deepEqual(claims.licensee, { name: 'Ada', email: 'ada@example.com', company: 'Acme' });
  });

  test('unknown claims do not break parsing and change nothing', () => {
    const plain = parseLicenseClaims({ ...BASE });
    const extended = parseLicenseClaims(
      withClaims({ futureClaim: { nested: [1, 2, { x: null }] }, iss: 'vendor', exp: 'not a number' }),
    );
    assert.deepEqual(extended, plain);
  });

  test('explicit null for nullable text claims and licensee is accepted', () => {
    const claims = parseLicenseClaims(
      withClaims({ notice: null, noticeOnExpire: null, renewalToken: null, startsAt: null, licensee: null }),
    );
    assert.equal(claims.notice, null);
    assert.equal(claims.noticeOnExpire, null);
    assert.equal(claims.renewalToken, null);
    assert.equal(claims.startsAt, null);
    assert.equal(claims.licensee, null);
  });

  test('RFC 3339 offsets are normalised to UTC', () => {
    const claims = parseLicenseClaims(
      withClaims({
        createdAt: '2026-01-01T02:00:00+02:00',
        expires: '2026-12-31T18:30:00-05:30',
        startsAt: '2026-03-01T00:00:00.250+00:00',
      }),
    );
    assert.equal(claims.createdAt.toISOString(), '2026-01-01T00:00:00.000Z');
    assert.equal(claims.expires?.toISOString(), '2027-01-01T00:00:00.000Z');
    assert.equal(claims.startsAt?.toISOString(), '2026-03-01T00:00:00.250Z');
  });

  test('seats and softSeats may be 0 and may reach the documented maximum', () => {
    const zero = parseLicenseClaims(withClaims({ seats: 0, softSeats: 0 }));
    assert.equal(zero.seats, 0);
    assert.equal(zero.softSeats, 0);
    const max = parseLicenseClaims(
      withClaims({ seats: CLAIM_LIMITS.maxSeats, softSeats: CLAIM_LIMITS.maxSeats }),
    );
    assert.equal(max.seats, CLAIM_LIMITS.maxSeats);
    assert.equal(max.softSeats, CLAIM_LIMITS.maxSeats);
  });

  test('a uuid of exactly 128 characters is accepted', () => {
    assert.equal(CLAIM_LIMITS.uuidLength, 128);
    const uuid = 'u'.repeat(128);
    assert.equal(parseLicenseClaims(withClaims({ uuid })).uuid, uuid);
  });

  test('expires 1 ms after createdAt is accepted; startsAt 1 ms before expires is accepted', () => {
    const claims = parseLicenseClaims(
      withClaims({
        createdAt: '2026-01-01T00:00:00.000Z',
        startsAt: '2026-01-01T00:00:00.000Z',
        expires: '2026-01-01T00:00:00.001Z',
      }),
    );
    assert.equal(claims.expires?.getTime(), Date.UTC(2026, 0, 1, 0, 0, 0, 1));
  });

  test('startsAt without expires is accepted (a perpetual license starting later)', () => {
    const claims = parseLicenseClaims(withClaims({ startsAt: '2030-01-01T00:00:00Z' }));
    assert.equal(claims.startsAt?.toISOString(), '2030-01-01T00:00:00.000Z');
    assert.equal(claims.expires, null);
  });

  test('empty features, handlers, supersedes and licensee objects are accepted', () => {
    const claims = parseLicenseClaims(
      withClaims({ features: {}, handlers: {}, supersedes: [], licensee: {} }),
    );
    assert.deepEqual(claims.features, {});
    assert.deepEqual(claims.handlers, {});
    assert.deepEqual(claims.supersedes, []);
    assert.deepEqual(claims.licensee, {});
  });

  test('a licensee with only some fields keeps exactly those', () => {
    assert.deepEqual(parseLicenseClaims(withClaims({ licensee: { company: 'Acme' } })).licensee, {
      company: 'Acme',
    });
  });

  test('a feature named "__proto__" stays an ordinary own key and pollutes nothing', () => {
    const payload = JSON.parse(
      '{"uuid":"p","createdAt":"2026-01-01T00:00:00Z","seats":1,"features":{"__proto__":{"enabled":true}},"handlers":{"__proto__":{"x":1}}}',
    ) as unknown;
    const claims = parseLicenseClaims(payload);
    assert.equal(Object.getPrototypeOf(claims.features), Object.prototype);
    assert.equal(Object.getPrototypeOf(claims.handlers), Object.prototype);
    assert.ok(Object.hasOwn(claims.features, '__proto__'));
    assert.equal(Object.getOwnPropertyDescriptor(claims.features, '__proto__')?.value.enabled, true);
    assert.ok(Object.hasOwn(claims.handlers, '__proto__'));
    assert.equal(({} as Record<string, unknown>).enabled, undefined);
  });
});

describe('parseLicenseClaims: invalid payloads are INVALID_CLAIMS', () => {
  test('the base payload used below is itself valid', () => {
    assert.doesNotThrow(() => parseLicenseClaims({ ...BASE }));
  });

  const cases: [string, unknown][] = [
    // payload shape
    ['payload is an array', [BASE]],
    ['payload is null', null],
    ['payload is a string', JSON.stringify(BASE)],
    ['payload is a number', 42],
    ['payload is undefined', undefined],
    // uuid
    ['uuid missing', without('uuid')],
    ['uuid null', withClaims({ uuid: null })],
    ['uuid empty', withClaims({ uuid: '' })],
    ['uuid 129 characters', withClaims({ uuid: 'u'.repeat(129) })],
    ['uuid a number', withClaims({ uuid: 12345 })],
    ['uuid an object', withClaims({ uuid: { id: 'x' } })],
    ['uuid holds a control character', withClaims({ uuid: 'lic\n1' })],
    // createdAt
    ['createdAt missing', without('createdAt')],
    ['createdAt null', withClaims({ createdAt: null })],
    ['createdAt a number (epoch)', withClaims({ createdAt: 1767225600 })],
    ['createdAt not a timestamp', withClaims({ createdAt: 'yesterday' })],
    ['createdAt February 30', withClaims({ createdAt: '2021-02-30T00:00:00Z' })],
    ['createdAt date only', withClaims({ createdAt: '2026-01-01' })],
    ['createdAt without offset', withClaims({ createdAt: '2026-01-01T00:00:00' })],
    ['createdAt with a space for T', withClaims({ createdAt: '2026-01-01 00:00:00Z' })],
    ['createdAt hour 24', withClaims({ createdAt: '2026-01-01T24:00:00Z' })],
    ['createdAt month 13', withClaims({ createdAt: '2026-13-01T00:00:00Z' })],
    ['createdAt offset +24:00', withClaims({ createdAt: '2026-01-01T00:00:00+24:00' })],
    ['createdAt RFC 2822 style', withClaims({ createdAt: 'Thu, 01 Jan 2026 00:00:00 GMT' })],
    // expires / startsAt
    ['expires not a timestamp', withClaims({ expires: 'never' })],
    ['expires a number', withClaims({ expires: 1798761600000 })],
    ['expires equal to createdAt', withClaims({ expires: '2026-01-01T00:00:00Z' })],
    ['expires before createdAt', withClaims({ expires: '2025-12-31T23:59:59.999Z' })],
    ['expires equal to createdAt in another offset', withClaims({ expires: '2026-01-01T01:00:00+01:00' })],
    ['startsAt not a timestamp', withClaims({ startsAt: true })],
    [
      'startsAt equal to expires',
      withClaims({ startsAt: '2026-06-01T00:00:00Z', expires: '2026-06-01T00:00:00Z' }),
    ],
    [
      'startsAt after expires',
      withClaims({ startsAt: '2026-07-01T00:00:00Z', expires: '2026-06-01T00:00:00Z' }),
    ],
    // seats
    ['seats missing', without('seats')],
    ['seats null', withClaims({ seats: null })],
    ['seats -1', withClaims({ seats: -1 })],
    ['seats 1.5', withClaims({ seats: 1.5 })],
    ['seats the string "20"', withClaims({ seats: '20' })],
    ['seats above the maximum', withClaims({ seats: CLAIM_LIMITS.maxSeats + 1 })],
    ['seats Infinity', withClaims({ seats: Infinity })],
    ['seats NaN', withClaims({ seats: NaN })],
    ['seats boolean', withClaims({ seats: true })],
    // softSeats
    ['softSeats null', withClaims({ softSeats: null })],
    ['softSeats -1', withClaims({ softSeats: -1 })],
    ['softSeats 0.5', withClaims({ softSeats: 0.5 })],
    ['softSeats "3"', withClaims({ softSeats: '3' })],
    ['softSeats above the maximum', withClaims({ softSeats: CLAIM_LIMITS.maxSeats + 1 })],
    // features
    ['features a string', withClaims({ features: 'masking' })],
    ['features an array', withClaims({ features: [{ enabled: true }] })],
    ['features null', withClaims({ features: null })],
    ['features entry a boolean', withClaims({ features: { masking: true } })],
    ['features entry without enabled', withClaims({ features: { masking: {} } })],
    ['features entry with enabled "true"', withClaims({ features: { masking: { enabled: 'true' } } })],
    ['features entry with enabled 1', withClaims({ features: { masking: { enabled: 1 } } })],
    ['features entry null', withClaims({ features: { masking: null } })],
    ['features entry with an empty name', withClaims({ features: { '': { enabled: true } } })],
    // handlers
    ['handlers a string', withClaims({ handlers: 'snowflake' })],
    ['handlers an array', withClaims({ handlers: ['snowflake'] })],
    ['handlers entry a string', withClaims({ handlers: { snowflake: 'yes' } })],
    ['handlers entry true', withClaims({ handlers: { snowflake: true } })],
    ['handlers entry null', withClaims({ handlers: { snowflake: null } })],
    ['handlers entry an array', withClaims({ handlers: { snowflake: [] } })],
    // booleans
    ['hardExpiration "true"', withClaims({ hardExpiration: 'true' })],
    ['hardExpiration 1', withClaims({ hardExpiration: 1 })],
    ['hardExpiration null', withClaims({ hardExpiration: null })],
    ['hardDelete "false"', withClaims({ hardDelete: 'false' })],
    // texts
    ['notice a number', withClaims({ notice: 42 })],
    ['notice an object', withClaims({ notice: { text: 'hi' } })],
    ['notice too long', withClaims({ notice: 'n'.repeat(CLAIM_LIMITS.textLength + 1) })],
    ['noticeOnExpire a boolean', withClaims({ noticeOnExpire: false })],
    ['renewalToken a number', withClaims({ renewalToken: 7 })],
    // supersedes
    ['supersedes a string', withClaims({ supersedes: 'old-1' })],
    ['supersedes an object', withClaims({ supersedes: { 0: 'old-1' } })],
    ['supersedes contains a number', withClaims({ supersedes: ['old-1', 2] })],
    ['supersedes contains null', withClaims({ supersedes: [null] })],
    ['supersedes contains an empty string', withClaims({ supersedes: [''] })],
    ['supersedes contains the license itself', withClaims({ supersedes: ['old-1', BASE.uuid] })],
    // licensee
    ['licensee a string', withClaims({ licensee: 'Acme' })],
    ['licensee an array', withClaims({ licensee: [{ name: 'Acme' }] })],
    ['licensee name a number', withClaims({ licensee: { name: 42 } })],
    ['licensee email null', withClaims({ licensee: { email: null } })],
    ['licensee company an object', withClaims({ licensee: { company: { name: 'Acme' } } })],
  ];

  for (const [name, payload] of cases) {
    test(name, () => assertInvalid(payload));
  }

  test('features with more entries than the limit', () => {
    const features = Object.fromEntries(
      Array.from({ length: CLAIM_LIMITS.maxEntries + 1 }, (_, i) => [`f${i}`, { enabled: true }]),
    );
    assertInvalid(withClaims({ features }));
    // ...while exactly the limit is fine, so it is the count that is refused.
    const atLimit = Object.fromEntries(Object.entries(features).slice(0, CLAIM_LIMITS.maxEntries));
    assert.doesNotThrow(() => parseLicenseClaims(withClaims({ features: atLimit })));
  });
});

describe('parseLicenseClaims never throws anything but INVALID_CLAIMS', () => {
  const claimNames = [
    'uuid',
    'createdAt',
    'expires',
    'seats',
    'softSeats',
    'features',
    'handlers',
    'hardExpiration',
    'hardDelete',
    'notice',
    'noticeOnExpire',
    'renewalToken',
    'startsAt',
    'supersedes',
    'licensee',
  ];
  const oddValues: unknown[] = [
    null,
    true,
    false,
    0,
    -1,
    1.5,
    -0,
    1e300,
    NaN,
    '',
    'x',
    '2026-01-01T00:00:00Z',
    [],
    [1],
    ['a', 'a'],
    [{}],
    {},
    { enabled: true },
    { a: { enabled: true } },
    { a: 1 },
    { name: 1 },
    Object.create(null),
  ];

  for (const claim of claimNames) {
    test(`odd values of "${claim}"`, () => {
      for (const value of oddValues) {
        try {
          parseLicenseClaims(withClaims({ [claim]: value }));
        } catch (err) {
          assert.ok(isInvalidClaims(err), `${claim}=${inspect(value)} threw ${inspect(err)}`);
        }
      }
    });
  }
});

describe('parseRfc3339', () => {
  const valid: [string, string][] = [
    ['2026-01-01T00:00:00Z', '2026-01-01T00:00:00.000Z'],
    ['2026-01-01t00:00:00z', '2026-01-01T00:00:00.000Z'],
    ['2026-01-01T00:00:00.5Z', '2026-01-01T00:00:00.500Z'],
    ['2026-01-01T00:00:00.123Z', '2026-01-01T00:00:00.123Z'],
    ['2026-01-01T00:00:00+01:00', '2025-12-31T23:00:00.000Z'],
    ['2026-01-01T00:00:00-00:00', '2026-01-01T00:00:00.000Z'],
    ['2026-01-01T05:45:00+05:45', '2026-01-01T00:00:00.000Z'],
    ['2024-02-29T12:00:00Z', '2024-02-29T12:00:00.000Z'],
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000Z'],
    ['2026-12-31T23:59:59.999Z', '2026-12-31T23:59:59.999Z'],
  ];
  for (const [text, iso] of valid) {
    test(`accepts ${text}`, () => assert.equal(parseRfc3339(text)?.toISOString(), iso));
  }

  const invalid = [
    '',
    '2026-01-01',
    '2026-01-01T00:00Z',
    '2026-01-01T00:00:00',
    '2026-1-01T00:00:00Z',
    '26-01-01T00:00:00Z',
    '2026-01-01T00:00:00 Z',
    ' 2026-01-01T00:00:00Z',
    '2026-01-01T00:00:00Z ',
    '2021-02-29T00:00:00Z',
    '2100-02-29T00:00:00Z',
    '2021-02-30T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-00-10T00:00:00Z',
    '2026-01-00T00:00:00Z',
    '2026-01-32T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T23:60:00Z',
    '2026-01-01T23:59:61Z',
    '2026-01-01T00:00:00+24:00',
    '2026-01-01T00:00:00+01:60',
    '2026-01-01T00:00:00+0100',
    '2026-01-01T00:00:00.Z',
    '+02026-01-01T00:00:00Z',
    '2026-01-01T00:00:00GMT',
  ];
  for (const text of invalid) {
    test(`refuses ${JSON.stringify(text)}`, () => assert.equal(parseRfc3339(text), undefined));
  }

  test('a leap second is read as the last millisecond of its minute', () => {
    assert.equal(parseRfc3339('2016-12-31T23:59:60Z')?.toISOString(), '2016-12-31T23:59:59.999Z');
  });

  test('a leap second with a fraction stays inside its minute', () => {
    assert.equal(parseRfc3339('2016-12-31T23:59:60.5Z')?.toISOString(), '2016-12-31T23:59:59.999Z');
  });

  test('year 0000 follows the proleptic Gregorian calendar (a leap year)', () => {
    assert.equal(parseRfc3339('0000-02-29T00:00:00Z')?.toISOString(), '0000-02-29T00:00:00.000Z');
  });
});

describe('checkLicenseKeyLimits: the cost of one key is bounded', () => {
  function isTooLarge(err: unknown): boolean {
    return err instanceof LicensorError && err.code === 'LICENSE_KEY_TOO_LARGE' && err.status === 400;
  }

  /** At the limit: within the limits, and the claims still parse. */
  function assertWithin(payload: Record<string, unknown>): void {
    assert.doesNotThrow(() => checkLicenseKeyLimits(payload));
    assert.doesNotThrow(() => parseLicenseClaims(payload));
  }

  function assertTooLarge(payload: Record<string, unknown>): void {
    assert.throws(() => checkLicenseKeyLimits(payload), isTooLarge);
  }

  const feature = { enabled: true };
  /** `count` entries named n0, n1, ... */
  const entries = (count: number, value: unknown): Record<string, unknown> =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`n${i}`, value]));
  /** An object whose compact JSON is exactly `bytes` UTF-8 bytes: {"x":"..."} with `fill` repeated. */
  const objectOfBytes = (bytes: number, fill = 'x'): Record<string, unknown> => {
    const overhead = Buffer.byteLength('{"x":""}');
    const fillBytes = Buffer.byteLength(fill);
    assert.equal((bytes - overhead) % fillBytes, 0);
    const value = { x: fill.repeat((bytes - overhead) / fillBytes) };
    assert.equal(Buffer.byteLength(JSON.stringify(value)), bytes);
    return value;
  };

  test('the limits are the documented values', () => {
    assert.deepEqual(KEY_LIMITS, {
      keyLength: 65_536,
      jsonDepth: 32,
      features: 256,
      handlers: 256,
      nameLength: 128,
      entryBytes: 4096,
    });
  });

  test('docs/license-keys.md lists every limit with its value', () => {
    const page = readFileSync(new URL('../../docs/license-keys.md', import.meta.url), 'utf8');
    const limits = page.slice(page.indexOf('## Limits'));
    assert.ok(page.includes('## Limits'), 'no Limits section');
    for (const [name, value] of Object.entries(KEY_LIMITS)) {
      const shown = value % 1024 === 0 && value >= 4096 ? `${value / 1024} KiB` : value.toLocaleString('en');
      assert.match(limits, new RegExp(`\\|\\s*\`${name}\`\\s*\\|\\s*${shown}\\b`), `${name} = ${shown}`);
    }
    assert.ok(limits.includes('LICENSE_KEY_TOO_LARGE'));
  });

  test(`features: ${KEY_LIMITS.features} accepted, one more refused`, () => {
    assertWithin(withClaims({ features: entries(KEY_LIMITS.features, feature) }));
    assertTooLarge(withClaims({ features: entries(KEY_LIMITS.features + 1, feature) }));
  });

  test(`handlers: ${KEY_LIMITS.handlers} accepted, one more refused`, () => {
    assertWithin(withClaims({ handlers: entries(KEY_LIMITS.handlers, {}) }));
    assertTooLarge(withClaims({ handlers: entries(KEY_LIMITS.handlers + 1, {}) }));
  });

  test(`a feature name of ${KEY_LIMITS.nameLength} characters accepted, one more refused`, () => {
    assertWithin(withClaims({ features: { ['f'.repeat(KEY_LIMITS.nameLength)]: feature } }));
    assertTooLarge(withClaims({ features: { ['f'.repeat(KEY_LIMITS.nameLength + 1)]: feature } }));
  });

  test(`a handler name of ${KEY_LIMITS.nameLength} characters accepted, one more refused`, () => {
    assertWithin(withClaims({ handlers: { ['h'.repeat(KEY_LIMITS.nameLength)]: {} } }));
    assertTooLarge(withClaims({ handlers: { ['h'.repeat(KEY_LIMITS.nameLength + 1)]: {} } }));
  });

  test(`a handler of ${KEY_LIMITS.entryBytes} bytes as JSON accepted, one more refused`, () => {
    assertWithin(withClaims({ handlers: { big: objectOfBytes(KEY_LIMITS.entryBytes) } }));
    assertTooLarge(withClaims({ handlers: { big: objectOfBytes(KEY_LIMITS.entryBytes + 1) } }));
  });

  test('a handler is measured in UTF-8 bytes, not characters', () => {
    // "é" is 2 bytes: the same byte count as the ASCII case above, half the characters.
    assertWithin(withClaims({ handlers: { big: objectOfBytes(KEY_LIMITS.entryBytes, 'é') } }));
    assertTooLarge(withClaims({ handlers: { big: objectOfBytes(KEY_LIMITS.entryBytes + 2, 'é') } }));
  });

  test(`a feature of ${KEY_LIMITS.entryBytes} bytes as JSON accepted, one more refused`, () => {
    const ofBytes = (bytes: number): Record<string, unknown> => {
      const value = { ...objectOfBytes(bytes - Buffer.byteLength('"enabled":true,')), enabled: true };
      assert.equal(Buffer.byteLength(JSON.stringify(value)), bytes);
      return value;
    };
    assertWithin(withClaims({ features: { big: ofBytes(KEY_LIMITS.entryBytes) } }));
    assertTooLarge(withClaims({ features: { big: ofBytes(KEY_LIMITS.entryBytes + 1) } }));
  });

  test('the last entry is checked as well as the first', () => {
    const handlers = { ...entries(10, {}), ['h'.repeat(KEY_LIMITS.nameLength + 1)]: {} };
    assertTooLarge(withClaims({ handlers }));
    assertTooLarge(withClaims({ features: { ...entries(10, feature), big: objectOfBytes(5000) } }));
  });

  test('a handler too deep to write out is LICENSE_KEY_TOO_LARGE, not a stack overflow', () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    // Up to Node 24, JSON.stringify overflows the stack on this; Node 26 writes it out (600 KB).
    // Refused either way: by the overflow, or by the entry's size.
    let written: string | undefined;
    try {
      written = JSON.stringify(deep);
    } catch (err) {
      assert.ok(err instanceof RangeError, String(err));
    }
    if (written !== undefined) assert.ok(Buffer.byteLength(written) > KEY_LIMITS.entryBytes);
    assertTooLarge(withClaims({ handlers: { deep } }));
  });

  test('the detail names the claim and the limit', () => {
    assert.throws(
      () => checkLicenseKeyLimits(withClaims({ features: entries(KEY_LIMITS.features + 1, feature) })),
      (err: unknown) =>
        err instanceof LicensorError &&
        err.detail.includes('"features"') &&
        err.detail.includes(String(KEY_LIMITS.features)),
    );
  });

  test('wrong types are left to parseLicenseClaims (INVALID_CLAIMS)', () => {
    for (const value of [null, 'x', 1, true, [], [feature]]) {
      assert.doesNotThrow(() => checkLicenseKeyLimits(withClaims({ features: value, handlers: value })));
      assertInvalid(withClaims({ features: value }));
    }
    assert.doesNotThrow(() => checkLicenseKeyLimits({}));
  });

  test('parseLicenseClaims does not apply them: a key stored under the older limits stays readable', () => {
    const features = entries(KEY_LIMITS.features + 1, feature);
    assertTooLarge(withClaims({ features }));
    assert.equal(
      Object.keys(parseLicenseClaims(withClaims({ features })).features).length,
      KEY_LIMITS.features + 1,
    );
  });
});
