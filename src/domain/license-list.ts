import type { LicenseRecord } from './license.js';

/**
 * The live licenses in id order, as an immutable list that an add appends to in O(1)
 * (docs/performance.md#license-adds). Copying the array on every add cost each add O(licenses)
 * (with thousands stored, more than the add's own work), so an appended list keeps the list it
 * was appended to and the license, and builds its array only when a reader asks, once.
 */
export class LicenseList {
  /** The list this one appended `#last` to; dropped once this list's array is built. */
  #before: LicenseList | undefined;
  #last: LicenseRecord | undefined;
  #array: readonly LicenseRecord[] | undefined;
  /** The highest id in the list; 0 when it is empty. */
  readonly maxId: number;

  private constructor(
    array: readonly LicenseRecord[] | undefined,
    before: LicenseList | undefined,
    last: LicenseRecord | undefined,
    maxId: number,
  ) {
    this.#array = array;
    this.#before = before;
    this.#last = last;
    this.maxId = maxId;
  }

  /** The list of `licenses`, which are in id order; the array is frozen and kept as it is. */
  static of(licenses: readonly LicenseRecord[]): LicenseList {
    const maxId = licenses.reduce((max, l) => Math.max(max, l.id), 0);
    return new LicenseList(Object.freeze(licenses), undefined, undefined, maxId);
  }

  /** This list with `license` after its last one, in O(1). */
  append(license: LicenseRecord): LicenseList {
    return new LicenseList(undefined, this, license, Math.max(this.maxId, license.id));
  }

  /**
   * When this list is another with one license appended and its array was not built since: that
   * list and the license. A reader that kept something derived from the shorter list extends it.
   */
  get appended(): { before: LicenseList; license: LicenseRecord } | undefined {
    return this.#before && this.#last && { before: this.#before, license: this.#last };
  }

  /**
   * The licenses as an array, built on the first call from the nearest list back that has one,
   * then kept (and the list it was appended to let go, so a long run of adds does not keep every
   * array built along it).
   */
  array(): readonly LicenseRecord[] {
    if (this.#array !== undefined) return this.#array;
    const tail = [this.#last as LicenseRecord];
    let list = this.#before as LicenseList;
    while (list.#array === undefined) {
      tail.push(list.#last as LicenseRecord);
      list = list.#before as LicenseList;
    }
    // Frozen: the stores hand this very array to every reader (Store.listLicenses).
    const array = Object.freeze(list.#array.concat(tail.reverse()));
    this.#array = array;
    this.#before = undefined;
    this.#last = undefined;
    return array;
  }
}
