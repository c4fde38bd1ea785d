import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  effectiveLicense,
  licenseTimeBounds,
  type EffectiveLicense,
  type LicenseRecord,
} from '../../src/domain/license.js';
import { LicenseList } from '../../src/domain/license-list.js';
import { effectiveSpan, stackLicense, type EffectiveSpan } from '../../src/domain/license-stacking.js';
import { licenseRecord } from '../helpers/records.js';

const NOW = new Date('2026-06-01T12:00:00.000Z').getTime();
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/** Instants close to one another and to NOW, so that starts, expiries and graces cross often. */
const offset = fc.constantFrom(-30, -3, -2, -1, 0, 1, 2, 3, 30).map((days) => days * DAY);

/** Names that trip up objects: "__proto__", array indices (ordered first), inherited names. */
const names = (pool: string[]) => fc.uniqueArray(fc.constantFrom(...pool), { maxLength: 4 });
const text = fc.constantFrom(null, '', '  ', 'Renew soon', 'Call sales');

/** A license payload as a vendor could write it (ids and uuids are given when it is stored). */
const payloadArb = fc
  .record({
    starts: fc.option(offset, { nil: null }),
    expires: fc.option(offset, { nil: null }),
    graceDays: fc.constantFrom(0, 0, 1, 2, 14),
    seats: fc.integer({ min: 0, max: 50 }),
    softSeats: fc.integer({ min: 0, max: 10 }),
    features: names(['a', 'b', '__proto__', '0', '7', 'constructor']).chain((keys) =>
      fc.tuple(...keys.map((k) => fc.tuple(fc.constant(k), fc.boolean()))),
    ),
    handlers: names(['x', 'y', '1', '__proto__', 'toString']).chain((keys) =>
      fc.tuple(...keys.map((k) => fc.tuple(fc.constant(k), fc.integer({ min: 0, max: 3 })))),
    ),
    hardExpiration: fc.boolean(),
    notice: text,
    noticeOnExpire: text,
    deleted: fc.constantFrom(false, false, false, false, true),
    invalidated: fc.boolean(),
  })
  // A key whose startsAt is not before expires is refused when parsed.
  .filter(({ starts, expires }) => starts === null || expires === null || starts < expires);

type Payload = typeof payloadArb extends fc.Arbitrary<infer T> ? T : never;

function record(
  id: number,
  p: Payload,
  flags = { deleted: p.deleted, invalidated: p.invalidated },
): LicenseRecord {
  const iso = (ms: number | null) => (ms === null ? undefined : new Date(NOW + ms).toISOString());
  return licenseRecord(
    id,
    {
      uuid: `lic-${id}`,
      createdAt: new Date(NOW - 400 * DAY).toISOString(),
      ...(p.starts !== null && { startsAt: iso(p.starts) }),
      ...(p.expires !== null && { expires: iso(p.expires) }),
      graceDays: p.graceDays,
      seats: p.seats,
      softSeats: p.softSeats,
      // fromEntries: "__proto__" stays an own key, as JSON.parse leaves it in a verified payload.
      features: Object.fromEntries(p.features.map(([name, enabled]) => [name, { enabled }])),
      handlers: Object.fromEntries(p.handlers.map(([name, n]) => [name, { maxConnections: n }])),
      hardExpiration: p.hardExpiration,
      notice: p.notice,
      noticeOnExpire: p.noticeOnExpire,
    },
    flags,
  );
}

/** Equal as values and as the JSON the routes write (key order of features, handlers, notices). */
function assertSame(actual: EffectiveLicense, expected: EffectiveLicense): void {
  assert.deepStrictEqual(actual, expected);
  assert.equal(JSON.stringify(actual), JSON.stringify(expected));
}

const nowArb = fc
  .constantFrom(-31, -3, -1.5, -1, 0, 0.5, 1, 2.5, 31)
  .map((days) => new Date(NOW + days * DAY));

describe('stackLicense', () => {
  test('equals effectiveLicense over the list with the license appended', () => {
    fc.assert(
      fc.property(fc.array(payloadArb, { maxLength: 12 }), payloadArb, nowArb, (payloads, next, now) => {
        const licenses = payloads.map((p, i) => record(i + 1, p));
        const added = record(payloads.length + 1, next);
        assertSame(
          stackLicense(effectiveLicense(licenses, now), added, now),
          effectiveLicense([...licenses, added], now),
        );
      }),
      { numRuns: 2000 },
    );
  });

  test('a license in force stacked on a blocked one lifts the block; a lapsed hard one sets it', () => {
    const now = new Date(NOW);
    const lapsedHard = { expires: -DAY, hardExpiration: true, starts: null, graceDays: 0 as const };
    const base: Payload = {
      starts: null,
      expires: null,
      graceDays: 0,
      seats: 5,
      softSeats: 0,
      features: [],
      handlers: [],
      hardExpiration: false,
      notice: null,
      noticeOnExpire: null,
      deleted: false,
      invalidated: false,
    };
    const none = effectiveLicense([], now);
    const blocked = stackLicense(none, record(1, { ...base, ...lapsedHard }), now);
    assert.equal(blocked.dataAccessBlocked, true);
    assert.equal(stackLicense(blocked, record(2, base), now).dataAccessBlocked, false);
    assert.equal(stackLicense(blocked, record(2, { ...base, starts: DAY }), now).dataAccessBlocked, true);
  });
});

describe('effectiveSpan', () => {
  /** A change to the list a store keeps, as adds, deletes, invalidations and time make them. */
  const step = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), payload: payloadArb }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('addLowerId' as const), payload: payloadArb }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('invalidate' as const), at: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('time' as const), now: nowArb }) },
    // A reader asks for the array (the list then forgets what it was appended to).
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const) }) },
  );

  test('agrees with effectiveLicense and licenseTimeBounds after every change', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), nowArb, (steps, start) => {
        let licenses = LicenseList.of([]);
        let nextId = 100;
        let now = start;
        let span: EffectiveSpan | undefined;
        for (const s of steps) {
          const all = licenses.array();
          if (s.kind === 'add') licenses = licenses.append(record(nextId++, s.payload));
          else if (s.kind === 'addLowerId') {
            // Not in id order: stacking would put it last where effectiveLicense puts it first.
            const lowest = all.reduce((min, l) => Math.min(min, l.id), nextId);
            licenses = licenses.append(record(lowest - 1, s.payload));
          } else if (s.kind === 'delete' && all.length > 0)
            licenses = LicenseList.of(all.filter((_, i) => i !== s.at % all.length));
          else if (s.kind === 'invalidate' && all.length > 0)
            licenses = LicenseList.of(
              all.map((l, i) => (i === s.at % all.length ? { ...l, invalidated: true } : l)),
            );
          else if (s.kind === 'time') now = s.now;
          else if (s.kind === 'read') licenses.array();
          span = effectiveSpan(licenses, now, span);
          assertSame(span.value, effectiveLicense(licenses.array(), now));
          assert.deepStrictEqual(
            { from: span.from, until: span.until },
            licenseTimeBounds(licenses.array(), now),
          );
        }
      }),
      { numRuns: 1500 },
    );
  });

  /** A kept span whose value is marked, so an answer shows whether it was built on it. */
  function marked(licenses: LicenseList, now: Date): EffectiveSpan {
    const value = { ...effectiveLicense(licenses.array(), now), hardSeats: 1_000_000 };
    return { licenses, ...licenseTimeBounds(licenses.array(), now), value };
  }

  const payload = (seats: number, extra: Partial<Payload> = {}): Payload => ({
    starts: null,
    expires: 300 * DAY,
    graceDays: 0,
    seats,
    softSeats: 0,
    features: [],
    handlers: [],
    hardExpiration: false,
    notice: null,
    noticeOnExpire: null,
    deleted: false,
    invalidated: false,
    ...extra,
  });

  test('an appended license is stacked onto the kept span, not computed over every license', () => {
    const now = new Date(NOW);
    const licenses = LicenseList.of([record(1, payload(3)), record(2, payload(4))]);
    const kept = marked(licenses, now);
    assert.equal(effectiveSpan(licenses, now, kept), kept);
    const appended = licenses.append(record(3, payload(5)));
    const after = effectiveSpan(appended, now, kept);
    assert.equal(after.value.hardSeats, 1_000_005);
    // Two appends: each stacked onto the span before it.
    assert.equal(
      effectiveSpan(appended.append(record(4, payload(1))), now, after).value.hardSeats,
      1_000_006,
    );
  });

  test('anything but an append in id order while the span holds is computed afresh', () => {
    const now = new Date(NOW);
    const [five, six] = [record(5, payload(3)), record(6, payload(4, { expires: DAY }))];
    const licenses = LicenseList.of([five, six]);
    const kept = marked(licenses, now);
    // An id below the others, the same licenses in another list, an append to another list, an
    // instant past the span.
    assert.equal(effectiveSpan(licenses.append(record(4, payload(5))), now, kept).value.hardSeats, 12);
    const replaced = LicenseList.of([five, six, record(7, payload(5))]);
    assert.equal(effectiveSpan(replaced, now, kept).value.hardSeats, 12);
    const other = LicenseList.of([five]).append(record(7, payload(5)));
    assert.equal(effectiveSpan(other, now, kept).value.hardSeats, 8);
    const later = new Date(NOW + 2 * DAY);
    assert.equal(effectiveSpan(licenses.append(record(7, payload(5))), later, kept).value.hardSeats, 8);
    assert.equal(effectiveSpan(licenses, later, kept).value.hardSeats, 3);
  });
});
