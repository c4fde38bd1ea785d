import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { canonicalJson } from '../../src/domain/canonical-json.js';
import { checkReport, reconcile } from '../../src/domain/usage-reconcile.js';
import {
  buildUsageReport,
  CHAIN_GENESIS,
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

function history(peaks: number[], seats = 3): HistoryDay[] {
  return peaks.map((peak, i) => ({
    day: `2026-01-${String(i + 1).padStart(2, '0')}`,
    peakActiveUsers: peak,
    licenseSeats: peak === 0 ? 0 : seats,
    hardSeats: peak === 0 ? 0 : seats,
  }));
}

function report(peaks: number[], from: string, to: string) {
  return buildUsageReport({
    instanceId: 'i',
    generatedAt: new Date(0),
    from,
    to,
    history: history(peaks),
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
});
