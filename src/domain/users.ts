const DAY_MS = 24 * 60 * 60 * 1000;

export const USER_TYPES = ['dataConsumer', 'policyOwner'] as const;
export type UserType = (typeof USER_TYPES)[number];

/** A user of the host product, as registered with Licensor. */
export interface UserRecord {
  id: number;
  userid: string;
  iamid: string;
  name: string | null;
  email: string | null;
  userType: UserType;
  createdAt: Date;
  /** Creating a user is its first activity, so this is never empty. */
  lastActivityAt: Date;
  /**
   * Holds no seat and reports no activity. A pending user is stored disabled, so every count of
   * active users leaves it out by the same condition (docs/seats.md#user-cap-and-approval-queue).
   */
  disabled: boolean;
  /** Waiting in the approval queue: created over the seat limit in queue mode. */
  pending: boolean;
}

/**
 * The start of the activity window: a user whose last activity is at or after this instant is
 * active. The boundary itself counts as inside the window.
 */
export function activeSince(now: Date, activityWindowDays: number): Date {
  return new Date(now.getTime() - activityWindowDays * DAY_MS);
}

export function isUserActive(user: Pick<UserRecord, 'disabled' | 'lastActivityAt'>, since: Date): boolean {
  return !user.disabled && user.lastActivityAt.getTime() >= since.getTime();
}

/** The UTC calendar day of an instant, `YYYY-MM-DD`: the key of the per-day activity counters. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

// The last day asked about and its first instant: the hot read path asks about the same day all day.
let knownDay = '';
let knownDayStart = Number.NaN;

/** Whether `at` falls on the UTC day `day` (`YYYY-MM-DD`), without formatting `at`. */
export function isOnUtcDay(at: Date, day: string): boolean {
  if (day !== knownDay) {
    knownDayStart = Date.parse(`${day}T00:00:00.000Z`);
    knownDay = day;
  }
  const ms = at.getTime();
  return ms >= knownDayStart && ms < knownDayStart + DAY_MS;
}

/** The first instant of the UTC day after `at`'s. */
export function startOfNextUtcDay(at: Date): Date {
  const start = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  return new Date(start + DAY_MS);
}

/**
 * What the active user count is computed from at any instant of one window position
 * (docs/seats.md#why-the-check-stays-cheap-at-a-million-users): the per-day counters of the days
 * after the window's first day, and the last-activity instants of the users whose last activity
 * falls on that first day, sorted. Only part of the first day lies inside the window, and that part
 * shrinks as time passes.
 */
export interface ActivityCounts {
  /** The UTC day of `activeSince`: the window's first, partial day. */
  firstDay: string;
  /** Non-disabled users whose last activity is after `firstDay`, by type. */
  afterFirstDay: Record<UserType, number>;
  /** Epoch milliseconds of the first day's non-disabled users' last activity, ascending, by type. */
  firstDayTimes: Record<UserType, readonly number[]>;
}

/** How many of `sorted` (ascending) are at or after `ms`. */
function countFrom(sorted: readonly number[], ms: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < ms) lo = mid + 1;
    else hi = mid;
  }
  return sorted.length - lo;
}

/**
 * Active users by type at the window start `since`, which must lie on `counts.firstDay`; undefined
 * when it does not (the counts must then be loaded for the new first day).
 */
export function activeUsersAt(counts: ActivityCounts, since: Date): Record<UserType, number> | undefined {
  if (!isOnUtcDay(since, counts.firstDay)) return undefined;
  const ms = since.getTime();
  return {
    dataConsumer: counts.afterFirstDay.dataConsumer + countFrom(counts.firstDayTimes.dataConsumer, ms),
    policyOwner: counts.afterFirstDay.policyOwner + countFrom(counts.firstDayTimes.policyOwner, ms),
  };
}
