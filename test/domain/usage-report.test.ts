import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { canonicalJson } from '../../src/domain/canonical-json.js';
import { checkReport, reconcile } from '../../src/domain/usage-reconcile.js';
import {
  buildUsageReport,
  CHAIN_GENESIS,
  chainOf,
  type HistoryDay,
  type UsageReport,
} from '../../src/domain/usage-report.js';

describe('canonicalJson (RFC 8785)', () => {
  test("the RFC's own example: numbers as ECMAScript writes them, strings escaped, members sorted", () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    ) as unknown;
    assert.equal(
      canonicalJson(input),
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  test('sorts members by UTF-16 code units (RFC 8785 §3.2.3), not by code points or locale', () => {
    const input = { '\u20ac': 1, '\r': 2, '\ufb33': 3, '1': 4, '\ud83d\ude00': 5, '\u0080': 6, '\u00f6': 7 };
    const sorted: [string, number][] = [
      ['\r', 2],
      ['1', 4],
      ['\u0080', 6],
      ['\u00f6', 7],
      ['\u20ac', 1],
      ['\ud83d\ude00', 5],
      ['\ufb33', 3],
    ];
    assert.equal(canonicalJson(input), `{${sorted.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`);
    assert.equal(
      canonicalJson({ b: { d: 1, c: [2, { f: 0, e: -0 }] }, a: '' }),
      '{"a":"","b":{"c":[2,{"e":0,"f":0}],"d":1}}',
    );
  });

  test('refuses what JSON cannot hold instead of dropping it', () => {
    assert.throws(() => canonicalJson({ a: undefined }), TypeError);
    assert.throws(() => canonicalJson(Number.NaN), TypeError);
    assert.throws(() => canonicalJson(Infinity), TypeError);
  });
});

/** The reason checkReport gives, or 'valid'. */
function problemOf(r: UsageReport): string {
  const checked = checkReport({ ...r });
  return typeof checked === 'string' ? checked : 'valid';
}

/** Days from 2026-01-01; with `typedFrom`, the days from that index on carry peaks by type. */
function history(peaks: number[], seats = 3, typedFrom = Infinity): HistoryDay[] {
  return peaks.map((peak, i) => ({
    day: `2026-01-${String(i + 1).padStart(2, '0')}`,
    peakActiveUsers: peak,
    peakByType:
      i >= typedFrom ? { dataConsumer: peak - (peak > 0 ? 1 : 0), policyOwner: peak > 0 ? 1 : 0 } : null,
    licenseSeats: peak === 0 ? 0 : seats,
    hardSeats: peak === 0 ? 0 : seats,
  }));
}

function report(peaks: number[], from: string, to: string, typedFrom = Infinity) {
  return buildUsageReport({
    instanceId: 'i',
    generatedAt: new Date(0),
    from,
    to,
    history: history(peaks, 3, typedFrom),
    licenses: [],
  });
}

describe('the usage report', () => {
  test('chains each day to the one before with SHA-256 over the chain and the JCS of the row', () => {
    const r = report([0, 0, 1, 5, 2], '2026-01-01', '2026-01-05');
    assert.deepEqual(
      r.days.map((d) => d.day),
      ['2026-01-03', '2026-01-04', '2026-01-05'],
      'leading empty days left out',
    );
    const first = r.days[0]!;
    const expected = createHash('sha256')
      .update(`${CHAIN_GENESIS}{"day":"2026-01-03","hardSeats":3,"licenseSeats":3,"peakActive":{"all":1}}`)
      .digest('hex');
    assert.equal(first.chain, expected);
    assert.deepEqual(r.summary, { peakActive: 5, peakDay: '2026-01-04', daysOverSeats: 1, maxOverage: 2 });
    assert.deepEqual(checkReport({ ...r }), r);
  });

  test('checkReport refuses a changed count, a dropped day, a reordered day and a doctored summary', () => {
    const r = report([1, 5, 2, 4], '2026-01-01', '2026-01-04');
    const changed = structuredClone(r);
    changed.days[1]!.peakActive.all = 3;
    assert.match(problemOf(changed), /2026-01-02: its chain/);
    const dropped = structuredClone(r);
    dropped.days.splice(1, 1);
    assert.match(problemOf(dropped), /2026-01-03: its chain/);
    const reordered = structuredClone(r);
    reordered.days.reverse();
    assert.match(problemOf(reordered), /its chain|out of order/);
    const outside = structuredClone(r);
    outside.from = '2026-01-02';
    assert.match(problemOf(outside), /outside the period/);
    const summary = structuredClone(r);
    summary.summary.maxOverage = 0;
    assert.match(problemOf(summary), /summary/);
  });

  test('reconcile names the first shared day that differs, or the first whose chain shows an earlier rewrite', () => {
    const before = report([1, 2, 3, 4, 5], '2026-01-02', '2026-01-05');
    assert.equal(
      reconcile(report([1, 2, 3, 4, 5, 6], '2026-01-03', '2026-01-06'), before).previous?.agrees,
      true,
    );
    const rewritten = reconcile(report([1, 2, 3, 9, 5, 6], '2026-01-03', '2026-01-06'), before).previous;
    assert.equal(rewritten?.firstDifferentDay, '2026-01-04');
    assert.match(rewritten?.reason ?? '', /counts differ/);
    const earlier = reconcile(report([1, 7, 3, 4, 5, 6], '2026-01-03', '2026-01-06'), before).previous;
    assert.equal(earlier?.firstDifferentDay, '2026-01-03');
    assert.match(earlier?.reason ?? '', /before day 2026-01-03/);
  });

  test('a day recorded with peaks by type carries them in its row and chain; a day recorded before carries all alone', () => {
    const r = report([1, 5, 2, 4], '2026-01-01', '2026-01-04', 2);
    assert.deepEqual(
      r.days.map((d) => d.peakActive),
      [
        { all: 1 },
        { all: 5 },
        { all: 2, dataConsumer: 1, policyOwner: 1 },
        { all: 4, dataConsumer: 3, policyOwner: 1 },
      ],
    );
    const third = r.days[2]!;
    assert.equal(
      third.chain,
      createHash('sha256')
        .update(
          `${r.days[1]!.chain}{"day":"2026-01-03","hardSeats":3,"licenseSeats":3,"peakActive":{"all":2,"dataConsumer":1,"policyOwner":1}}`,
        )
        .digest('hex'),
    );
    // The days before the types were recorded chain exactly as a report made before did.
    const untyped = report([1, 5, 2, 4], '2026-01-01', '2026-01-04');
    assert.deepEqual(r.days.slice(0, 2), untyped.days.slice(0, 2));
    assert.deepEqual(checkReport({ ...r }), r);
    assert.deepEqual(reconcile(r).peaksByType, {
      byType: { dataConsumer: 3, policyOwner: 1 },
      days: 2,
      from: '2026-01-03',
    });
    assert.equal(reconcile(untyped).peaksByType, null);
    // Overage stays on all users: the seats are not per type.
    const lic = {
      uuid: 'l',
      licensee: null,
      seats: 3,
      softSeats: 0,
      startsAt: '2026-01-01T00:00:00.000Z',
      expires: null,
    };
    assert.deepEqual(reconcile({ ...r, licenses: [lic] }).licenses[0]?.daysOverSeats, [
      '2026-01-02',
      '2026-01-04',
    ]);
  });

  test('checkReport refuses a changed or missing peak by type, a type it does not know, and one above all', () => {
    const r = report([1, 5, 2, 4], '2026-01-01', '2026-01-04', 2);
    const changed = structuredClone(r);
    changed.days[3]!.peakActive.policyOwner = 2;
    assert.match(problemOf(changed), /2026-01-04: its chain/);
    // Rechained after the change: the row's own rules still hold.
    const rechain = (x: UsageReport): UsageReport => {
      let previous = x.chainStart;
      for (const d of x.days) d.chain = previous = chainOf(previous, d);
      return x;
    };
    const half = structuredClone(r);
    delete half.days[2]!.peakActive.policyOwner;
    assert.match(problemOf(rechain(half)), /2026-01-03 has the peak of some user types only/);
    const unknown = structuredClone(r);
    (unknown.days[2]!.peakActive as Record<string, number>).guest = 1;
    assert.match(problemOf(rechain(unknown)), /2026-01-03 has a peak of a user type other than/);
    const above = structuredClone(r);
    above.days[2]!.peakActive.dataConsumer = 3;
    assert.match(problemOf(rechain(above)), /2026-01-03 has a dataConsumer peak above/);
    const fraction = structuredClone(r);
    fraction.days[2]!.peakActive.dataConsumer = 0.5;
    assert.match(problemOf(rechain(fraction)), /2026-01-03 has counts that are not whole numbers/);
  });

  test('reconcile --previous names the day whose peak by type alone was rewritten', () => {
    const before = report([1, 5, 2, 4, 3], '2026-01-01', '2026-01-05', 2);
    const history5 = history([1, 5, 2, 4, 3], 3, 2);
    history5[3]!.peakByType = { dataConsumer: 2, policyOwner: 2 };
    const after = buildUsageReport({
      instanceId: 'i',
      generatedAt: new Date(0),
      from: '2026-01-02',
      to: '2026-01-05',
      history: history5,
      licenses: [],
    });
    assert.deepEqual(checkReport({ ...after }), after, 'a rewrite the store made still verifies on its own');
    const p = reconcile(after, before).previous;
    assert.equal(p?.agrees, false);
    assert.equal(p?.firstDifferentDay, '2026-01-04');
    assert.match(p?.reason ?? '', /counts differ/);
  });
});
