import {
  addInForce,
  effectiveLicense,
  isActive,
  isExpired,
  isLapsed,
  licenseTimeBounds,
  type EffectiveLicense,
  type InForceTotals,
  type LicenseRecord,
  type Notice,
} from './license.js';
import type { LicenseList } from './license-list.js';

/**
 * The effective license of a list of licenses, with the interval [from, until) around the instant
 * it was computed at over which it holds (licenseTimeBounds; null is unbounded). A store keeps the
 * last one and hands it back with the next question (docs/performance.md#license-adds).
 */
export interface EffectiveSpan {
  licenses: LicenseList;
  from: number | null;
  until: number | null;
  value: EffectiveLicense;
}

function holds(span: EffectiveSpan, ms: number): boolean {
  return (span.from === null || span.from <= ms) && (span.until === null || ms < span.until);
}

const later = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.max(a, b);
const earlier = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.min(a, b);

/**
 * The effective license over `licenses` at `now` (effectiveLicense), reusing `known`, the span a
 * store kept from its last question:
 * - the same list while `now` is inside its interval: `known` itself;
 * - the list with one license appended (LicenseList.append: a license just added) whose id is above
 *   every id before it, while `now` is inside its interval: that license stacked onto it
 *   (stackLicense), in O(its claims) where computing afresh costs O(licenses);
 * - anything else (a deletion, an invalidation, a later instant): computed afresh.
 */
export function effectiveSpan(licenses: LicenseList, now: Date, known?: EffectiveSpan): EffectiveSpan {
  if (known !== undefined && holds(known, now.getTime())) {
    if (known.licenses === licenses) return known;
    const appended = licenses.appended;
    if (appended?.before === known.licenses && appended.license.id > known.licenses.maxId) {
      const added = appended.license;
      const own = licenseTimeBounds([added], now);
      return {
        licenses,
        from: later(known.from, own.from),
        until: earlier(known.until, own.until),
        value: stackLicense(known.value, added, now),
      };
    }
  }
  const all = licenses.array();
  return { licenses, ...licenseTimeBounds(all, now), value: effectiveLicense(all, now) };
}

const shows = (text: string | null): text is string => text !== null && text.trim() !== '';

/**
 * effectiveLicense at `now` of a list of licenses with `added` appended, given `before`, the
 * list's own effective license at `now`. It holds when `added`'s id is above every id in the list,
 * so that it comes last in id order: its seats add up last, its handlers win, its features and
 * notices come after theirs. The rules are effectiveLicense's applied to one more license;
 * test/domain/license-stacking.test.ts checks that both agree.
 */
export function stackLicense(before: EffectiveLicense, added: LicenseRecord, now: Date): EffectiveLicense {
  const active = isActive(added, now);
  const lapsed = isLapsed(added, now);
  // Neither in force nor lapsed (scheduled, deleted, invalidated): it changes nothing now.
  if (!active && !lapsed) return before;
  const { claims } = added;
  let { hardSeats, licenseSeats, features, handlers, nextExpiry, activeLicenses, grace } = before;
  if (active) {
    const totals: InForceTotals = {
      hardSeats,
      licenseSeats,
      features: new Map(Object.entries(features)),
      handlers: new Map(Object.entries(handlers)),
      nextExpiry,
      grace,
    };
    addInForce(totals, added, now);
    ({ hardSeats, licenseSeats, nextExpiry, grace } = totals);
    features = Object.fromEntries(totals.features);
    handlers = Object.fromEntries(totals.handlers);
    activeLicenses += 1;
  }

  let notices = before.notices;
  const seen = (kind: Notice['kind'], text: string): boolean =>
    notices.some((n) => n.kind === kind && n.text === text);
  // Every `notice` comes before every `noticeOnExpire`; within each kind, in license id order.
  if (active && !isExpired(added, now) && shows(claims.notice) && !seen('notice', claims.notice)) {
    const entry: Notice = { kind: 'notice', text: claims.notice, licenseId: added.id };
    const at = notices.findIndex((n) => n.kind === 'noticeOnExpire');
    notices = at === -1 ? [...notices, entry] : [...notices.slice(0, at), entry, ...notices.slice(at)];
  }
  if (lapsed && shows(claims.noticeOnExpire) && !seen('noticeOnExpire', claims.noticeOnExpire))
    notices = [...notices, { kind: 'noticeOnExpire', text: claims.noticeOnExpire, licenseId: added.id }];

  return {
    hardSeats,
    licenseSeats,
    features,
    handlers,
    // Blocked while no license is in force and a lapsed one has hardExpiration: with none in force
    // before, `before.dataAccessBlocked` says whether one of the others has.
    dataAccessBlocked:
      !active &&
      before.activeLicenses === 0 &&
      (before.dataAccessBlocked || (lapsed && claims.hardExpiration)),
    notices,
    nextExpiry,
    activeLicenses,
    grace,
  };
}
