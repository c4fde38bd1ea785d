import { LicensorError } from './errors.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export const USER_TYPES = ['dataConsumer', 'policyOwner'] as const;
export type UserType = (typeof USER_TYPES)[number];

/** A user of the host product, as registered with Licensor (SPEC §4). */
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
  disabled: boolean;
}

/**
 * The start of the activity window: a user whose last activity is at or after this instant is
 * active (SPEC §4). The boundary itself counts as inside the window.
 */
export function activeSince(now: Date, activityWindowDays: number): Date {
  return new Date(now.getTime() - activityWindowDays * DAY_MS);
}

export function isUserActive(user: UserRecord, since: Date): boolean {
  return !user.disabled && user.lastActivityAt.getTime() >= since.getTime();
}

/** The UTC calendar day of an instant, `YYYY-MM-DD`: the key of the per-day activity counters. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** The first instant of the UTC day after `at`'s. */
export function startOfNextUtcDay(at: Date): Date {
  const start = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  return new Date(start + DAY_MS);
}

/**
 * The seat rule (SPEC §4): a change that would make a user active succeeds only while
 * activeUserCount < licenseSeats. Stores call it inside the transaction that writes.
 */
export function checkSeatAvailable(activeUserCount: number, licenseSeats: number): void {
  if (activeUserCount >= licenseSeats)
    throw new LicensorError(
      'SEAT_LIMIT_REACHED',
      `all ${licenseSeats} license seats are taken (${activeUserCount} active users)`,
    );
}
