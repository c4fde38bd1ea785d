import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { LicenseList } from '../../src/domain/license-list.js';
import { licenseRecord } from '../helpers/records.js';

const license = (id: number) =>
  licenseRecord(id, { uuid: `u${id}`, createdAt: '2026-06-01T00:00:00Z', seats: 1 });
const ids = (list: LicenseList): number[] => list.array().map((l) => l.id);

describe('LicenseList', () => {
  test('its arrays are frozen: the stores hand them to every reader', () => {
    const base = LicenseList.of([license(1)]);
    const two = base.append(license(2));
    for (const list of [base, two]) {
      const array = list.array() as ReturnType<typeof license>[];
      assert.throws(() => array.push(license(9)), TypeError);
    }
    const array = two.array() as ReturnType<typeof license>[];
    assert.throws(() => array.sort((a, b) => b.id - a.id), TypeError);
    assert.deepEqual(ids(two), [1, 2]);
  });

  test('an append leaves the list it was appended to as it was', () => {
    const base = LicenseList.of([license(1), license(2)]);
    const three = base.append(license(3));
    const four = three.append(license(4));
    assert.deepEqual(ids(four), [1, 2, 3, 4]);
    assert.deepEqual(ids(three), [1, 2, 3]);
    assert.deepEqual(ids(base), [1, 2]);
    // Two appends to the same list are two lists.
    assert.deepEqual(ids(base.append(license(9))), [1, 2, 9]);
    assert.deepEqual([four.maxId, base.maxId], [4, 2]);
  });

  test('names the list and license it appended until its array is built', () => {
    const base = LicenseList.of([license(1)]);
    const added = license(2);
    const two = base.append(added);
    assert.equal(two.appended?.before, base);
    assert.equal(two.appended?.license, added);
    assert.equal(base.appended, undefined);
    const built = two.array();
    assert.equal(two.array(), built, 'built once');
    assert.equal(two.appended, undefined);
  });

  test('a list whose array is built lets go of the list it was appended to', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const make = (): { kept: LicenseList; earlier: WeakRef<readonly unknown[]> } => {
      const first = LicenseList.of([license(1)]).append(license(2));
      const earlier = new WeakRef(first.array());
      const kept = first.append(license(3));
      kept.array();
      return { kept, earlier };
    };
    const { kept, earlier } = make();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    assert.equal(earlier.deref(), undefined, 'the earlier array is still reachable from the kept list');
    assert.deepEqual(ids(kept), [1, 2, 3]);
  });

  test('any run of appends and reads gives the licenses appended, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 60 }), (reads) => {
        let list = LicenseList.of([]);
        const lists: { list: LicenseList; expected: number[] }[] = [];
        const expected: number[] = [];
        for (const [i, read] of reads.entries()) {
          list = list.append(license(i + 1));
          expected.push(i + 1);
          lists.push({ list, expected: [...expected] });
          if (read) list.array();
        }
        for (const { list: l, expected: e } of lists) assert.deepEqual(ids(l), e);
      }),
    );
  });
});
