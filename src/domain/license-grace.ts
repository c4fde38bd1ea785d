import { graceUntil, type LicenseRecord } from './license.js';

/**
 * The grace transitions of licenses (docs/licenses.md#grace-period): a license with `graceDays`
 * enters its grace at `expires` (`license.grace_started`) and leaves it, out of force, at
 * `expires` + `graceDays` (`license.grace_ended`). A time-based producer asks which fell due
 * between the instant it last looked and now, and stores one event per transition.
 */

export type GraceEventType = 'license.grace_started' | 'license.grace_ended';

export interface GraceTransition {
  type: GraceEventType;
  license: LicenseRecord;
  /** When it fell due. */
  at: Date;
}

/**
 * The grace transitions that fell due in (after, upTo]: each at most once for a window, in the
 * order they fell due (a start before its end). Deleted and invalidated licenses have none, nor do
 * licenses without grace; a license whose grace started before it was in force (a `startsAt`
 * after `expires` is refused, so this cannot happen) is not special-cased.
 */
export function graceTransitionsBetween(
  licenses: readonly LicenseRecord[],
  after: Date,
  upTo: Date,
): GraceTransition[] {
  const due: GraceTransition[] = [];
  const inWindow = (at: Date): boolean => at.getTime() > after.getTime() && at.getTime() <= upTo.getTime();
  for (const license of licenses) {
    if (license.deleted || license.invalidated) continue;
    const until = graceUntil(license.claims);
    const expires = license.claims.expires;
    if (until === null || expires === null) continue;
    if (inWindow(expires)) due.push({ type: 'license.grace_started', license, at: expires });
    if (inWindow(until)) due.push({ type: 'license.grace_ended', license, at: until });
  }
  return due.sort(
    (a, b) =>
      a.at.getTime() - b.at.getTime() ||
      a.license.id - b.license.id ||
      (a.type === b.type ? 0 : a.type === 'license.grace_started' ? -1 : 1),
  );
}
