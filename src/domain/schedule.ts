import { graceTransitionsBetween } from './license-grace.js';
import { dataAccessBlockedAt, graceUntil, type LicenseRecord } from './license.js';
import { licenseView } from './license-view.js';
import type { EventDraft, EventType, SeatFigures } from './events.js';

/**
 * The time-based events (docs/events.md#time-based-events): what falls due by the clock rather than
 * by a change. Decided here, from the live licenses and two instants; each store writes what is
 * due under a unique key per license and milestone, so every instance may run the scheduler and
 * each milestone is still produced once.
 */

/** The days before `expires` at which `license.expiring` is produced, latest first. */
export const EXPIRING_DAYS = [30, 7, 1] as const;

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * One milestone of one license. `key` is unique per license: `started`, `expiring:30`,
 * `expiring:7`, `expiring:1`, `expired`, `grace:start` / `grace:end` for a license with
 * `graceDays`, and `access:start` / `access:end` / `access:grace-end` for a turn of data access at
 * the license's `startsAt`, `expires` or end of grace.
 */
export interface DueMilestone {
  licenseId: number;
  key: string;
  type: EventType;
  dueAt: Date;
  /** For `license.expiring`. */
  daysLeft?: number;
}

/** The live licenses: neither deleted nor invalidated. Their `updatedAt` is when they were added. */
function live(licenses: readonly LicenseRecord[]): LicenseRecord[] {
  return licenses.filter((l) => !l.deleted && !l.invalidated);
}

/**
 * The milestones due at `now` for `licenses`:
 * - `license.started` when `startsAt` passed after the license was added and after `since`;
 * - `license.expired` likewise for `expires`;
 * - `license.expiring` for the latest of the 30, 7 and 1 day milestones reached while the license
 *   has not expired yet, however late (a license added, or an instance catching up, inside a
 *   window produces only that window's milestone: 5 days before expiry that is 7, not 30 as well);
 * - `license.grace_started` and `.grace_ended` for a license with `graceDays`, at `expires` and
 *   at the end of its grace (docs/licenses.md#grace-period), likewise;
 * - `data_access.blocked` or `.restored` when data access turns over at a license's `startsAt`,
 *   `expires` or end of grace that passed after `since` and after the license was added, judged
 *   over the licenses added by then.
 *
 * `since` is the instant the scheduler first ran on this database: nothing that fell due before it
 * is produced (an upgraded database does not replay its history). The caller drops the keys already
 * produced.
 */
export function dueMilestones(licenses: readonly LicenseRecord[], since: Date, now: Date): DueMilestone[] {
  const standing = live(licenses);
  return milestonesOf(standing, () => standing, since, now);
}

/**
 * dueMilestones' rules for the live licenses `candidates`, each data-access turn judged over
 * `standing()` (every live license; asked for only when a turn is to be judged).
 */
function milestonesOf(
  candidates: readonly LicenseRecord[],
  standing: () => readonly LicenseRecord[],
  since: Date,
  now: Date,
): DueMilestone[] {
  const due: DueMilestone[] = [];
  const t = now.getTime();
  // One turn of data access per instant, however many licenses start or end at it.
  const turns = new Set<number>();
  for (const license of candidates) {
    const { startsAt, expires } = license.claims;
    const floor = Math.max(license.updatedAt.getTime(), since.getTime());
    const passed = (at: Date | null): at is Date => at !== null && at.getTime() > floor && at.getTime() <= t;
    if (passed(startsAt))
      due.push({ licenseId: license.id, key: 'started', type: 'license.started', dueAt: startsAt });
    if (expires !== null && t >= expires.getTime()) {
      if (passed(expires))
        due.push({ licenseId: license.id, key: 'expired', type: 'license.expired', dueAt: expires });
    } else if (expires !== null) {
      const reached = EXPIRING_DAYS.filter((d) => t >= expires.getTime() - d * DAY_MS).at(-1);
      if (reached !== undefined)
        due.push({
          licenseId: license.id,
          key: `expiring:${reached}`,
          type: 'license.expiring',
          dueAt: new Date(expires.getTime() - reached * DAY_MS),
          daysLeft: reached,
        });
    }
    for (const grace of graceTransitionsBetween([license], new Date(floor), now))
      due.push({
        licenseId: license.id,
        key: grace.type === 'license.grace_started' ? 'grace:start' : 'grace:end',
        type: grace.type,
        dueAt: grace.at,
      });
    for (const [bound, key] of [
      [startsAt, 'access:start'],
      [expires, 'access:end'],
      [graceUntil(license.claims), 'access:grace-end'],
    ] as const) {
      if (!passed(bound) || turns.has(bound.getTime())) continue;
      turns.add(bound.getTime());
      const turn = dataAccessTurn(standing(), bound);
      if (turn !== null) due.push({ licenseId: license.id, key, type: turn, dueAt: bound });
    }
  }
  return due.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || a.licenseId - b.licenseId);
}

/**
 * The first instant after `now` at which `dueMilestones(licenses, since, ·)` can answer differently:
 * the earliest `startsAt`, expiring milestone, `expires` or end of grace still ahead among the live
 * licenses; null when none is. Every test in `dueMilestones` compares one of those instants with the
 * clock, so with the same licenses and `since` nothing new falls due before it.
 */
export function nextMilestoneAt(licenses: readonly LicenseRecord[], now: Date): Date | null {
  const t = now.getTime();
  let next = Infinity;
  const consider = (at: number): void => {
    if (at > t && at < next) next = at;
  };
  for (const license of live(licenses)) {
    const { startsAt, expires } = license.claims;
    if (startsAt !== null) consider(startsAt.getTime());
    if (expires === null) continue;
    consider(expires.getTime());
    for (const days of EXPIRING_DAYS) consider(expires.getTime() - days * DAY_MS);
    const grace = graceUntil(license.claims);
    if (grace !== null) consider(grace.getTime());
  }
  return next === Infinity ? null : new Date(next);
}

/**
 * What the scheduler last looked at (docs/events.md#time-based-events): the licenses, the instant it
 * looked, and the first instant after it at which anything among them can fall due.
 */
export interface MilestoneLook {
  licenses: readonly LicenseRecord[];
  at: Date;
  until: Date | null;
}

/**
 * What is due at `now` among `licenses`, and the look to keep; undefined when nothing can have
 * fallen due since `last` (the same licenses, and the clock short of `last.until`). The answer is
 * dueMilestones' less what `last` already answered:
 * - when `licenses` are `last.licenses` (the very same records, in order) with licenses appended
 *   that were added after `last.at`, and the clock is between `last.at` and `last.until`, only the
 *   appended licenses are looked at: nothing of the others falls due before `last.until`, and a
 *   data-access turn they had at or before `last.at` is judged over licenses added by then, which
 *   the appended ones were not. A turn at an appended license's instant is judged over all of them.
 *   So a run of adds costs each poll O(licenses) pointer comparisons, not the milestones of every
 *   license;
 * - anything else (a license deleted or invalidated, a list read afresh, the clock past
 *   `last.until` or gone back) looks at every license.
 */
export function lookForMilestones(
  last: MilestoneLook | undefined,
  licenses: readonly LicenseRecord[],
  since: Date,
  now: Date,
): { due: DueMilestone[]; look: MilestoneLook } | undefined {
  const t = now.getTime();
  if (last !== undefined && (last.until === null || t < last.until.getTime())) {
    if (last.licenses === licenses) return undefined;
    const appended = t >= last.at.getTime() ? appendedAfter(last, licenses) : undefined;
    if (appended !== undefined) {
      const standing = live(appended);
      let everyone: LicenseRecord[] | undefined;
      const due = milestonesOf(standing, () => (everyone ??= live(licenses)), since, now);
      const next = nextMilestoneAt(standing, now);
      const until = next !== null && (last.until === null || next < last.until) ? next : last.until;
      return { due, look: { licenses, at: now, until } };
    }
  }
  return {
    due: dueMilestones(licenses, since, now),
    look: { licenses, at: now, until: nextMilestoneAt(licenses, now) },
  };
}

/**
 * The licenses `licenses` has after `last.licenses`, when it is that list (the same records, in
 * order) with only licenses added after `last.at` appended; undefined otherwise.
 */
function appendedAfter(last: MilestoneLook, licenses: readonly LicenseRecord[]): LicenseRecord[] | undefined {
  const before = last.licenses;
  if (licenses.length <= before.length) return undefined;
  for (let i = 0; i < before.length; i++) if (licenses[i] !== before[i]) return undefined;
  const appended = licenses.slice(before.length);
  return appended.every((l) => l.updatedAt.getTime() > last.at.getTime()) ? appended : undefined;
}

/** Whether data access turns over at `at`, over the licenses added by then. */
function dataAccessTurn(licenses: readonly LicenseRecord[], at: Date): EventType | null {
  const known = licenses.filter((l) => l.updatedAt.getTime() <= at.getTime());
  const before = dataAccessBlockedAt(known, new Date(at.getTime() - 1));
  const after = dataAccessBlockedAt(known, at);
  if (before === after) return null;
  return after ? 'data_access.blocked' : 'data_access.restored';
}

/** The event a milestone produces: the license as the API shows it, or the seat figures. */
export function milestoneEvent(
  milestone: DueMilestone,
  license: LicenseRecord,
  figures: SeatFigures,
  now: Date,
): EventDraft {
  if (milestone.type.startsWith('data_access.')) return { type: milestone.type, data: { ...figures } };
  const data: Record<string, unknown> = { ...licenseView(license, now) };
  if (milestone.daysLeft !== undefined) data.daysLeft = milestone.daysLeft;
  return { type: milestone.type, data };
}
