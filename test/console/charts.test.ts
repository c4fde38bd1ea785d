import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chartRange, niceMax } from '../../src/console/charts.js';

const day = (d: string, peak = 1) => ({
  day: d,
  peakActiveUsers: peak,
  peakByType: null,
  licenseSeats: 5,
  hardSeats: 5,
});

describe('the usage chart', () => {
  test('spans the recorded days only: one day of data is one day, not two weeks', () => {
    const history = { from: '2026-05-03', to: '2026-06-01', days: [day('2026-06-01')] };
    assert.deepEqual(chartRange(history), { from: '2026-06-01', dayCount: 1 });
    assert.deepEqual(chartRange({ ...history, days: [day('2026-05-29'), day('2026-06-01')] }), {
      from: '2026-05-29',
      dayCount: 4,
    });
  });

  test('with nothing recorded, the last day alone; never before the range asked for', () => {
    assert.deepEqual(chartRange({ from: '2026-05-03', to: '2026-06-01', days: [] }), {
      from: '2026-06-01',
      dayCount: 1,
    });
    assert.deepEqual(chartRange({ from: '2026-05-20', to: '2026-06-01', days: [day('2026-05-01')] }), {
      from: '2026-05-20',
      dayCount: 13,
    });
  });

  test('the y axis ends on an even whole number, so its middle tick is a whole number of users', () => {
    for (let value = 0; value <= 5000; value++) {
      const top = niceMax(value);
      assert.ok(top >= value, `${value} fits under ${top}`);
      assert.ok(Number.isInteger(top / 2), `${value}: top ${top} halves to a whole number`);
      assert.ok(top <= Math.max(2, value * 5), `${value}: top ${top} is not far above it`);
    }
    assert.equal(niceMax(0), 2);
    assert.equal(niceMax(3), 4);
    assert.equal(niceMax(5), 10);
    assert.equal(niceMax(38), 40);
  });
});
