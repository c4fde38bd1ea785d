import type { LicenseStatus } from '../../client/types.js';
import { RefusedError, UnreachableError, UsageError } from '../cli-errors.js';
import { formatTime, plural, relativeDays } from '../output.js';

/** The monitoring-plugins exit codes (README.md, "Command line"). */
export const CHECK_EXIT = { ok: 0, warning: 1, critical: 2, unknown: 3 } as const;
export type CheckState = keyof typeof CHECK_EXIT;

export const DEFAULT_WARN_DAYS = 14;
/** Seats in use at or above this share of the license seats is a WARNING. */
export const SEAT_WARNING_SHARE = 0.9;

export interface CheckResult {
  state: CheckState;
  /** One line: `LICENSOR OK - ...`, with performance data after `|`. */
  line: string;
}

/** --warn-days: a whole number of days from 0 to 3650. */
export function warnDaysOption(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_WARN_DAYS;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) > 3650)
    throw new UsageError(`--warn-days must be a whole number of days from 0 to 3650, not "${raw}"`);
  return Number(raw);
}

/**
 * The state of a server from its license status: CRITICAL when data access is blocked or more users
 * are active than the license seats; WARNING when no license is active, a license expires within
 * `warnDays`, or the active users reach 90 % of the seats; else OK. The worst reason wins and is
 * named first.
 */
export function checkStatus(status: LicenseStatus, warnDays: number, now: Date): CheckResult {
  const critical: string[] = [];
  const warning: string[] = [];
  const { activeUserCount: used, licenseSeats: seats } = status;
  if (status.dataAccessBlocked) critical.push('DATA ACCESS BLOCKED: an expired license has hardExpiration');
  if (used > seats) critical.push(`${used} active users over ${plural(seats, 'license seat')}`);
  if (status.activeLicenses === 0 && !status.dataAccessBlocked) warning.push('no active license');
  if (status.nextExpiry !== null) {
    const left = Date.parse(status.nextExpiry) - now.getTime();
    if (left <= warnDays * 86_400_000)
      warning.push(
        `a license expires ${formatTime(status.nextExpiry)} (${relativeDays(status.nextExpiry, now)})`,
      );
  }
  if (seats > 0 && used <= seats && used >= SEAT_WARNING_SHARE * seats)
    warning.push(`${used} of ${seats} seats used (${Math.floor((used / seats) * 100)} %)`);
  const state: CheckState = critical.length > 0 ? 'critical' : warning.length > 0 ? 'warning' : 'ok';
  const reasons = [...critical, ...warning];
  const summary =
    reasons.length > 0
      ? reasons.join('; ')
      : `${used} of ${seats} seats used` +
        (status.nextExpiry === null ? ', no expiry' : `, next expiry ${formatTime(status.nextExpiry)}`);
  const perf = `active_users=${used};${Math.ceil(SEAT_WARNING_SHARE * seats)};${seats};0 license_seats=${seats}`;
  return { state, line: `LICENSOR ${state.toUpperCase()} - ${summary} | ${perf}` };
}

/** Why the check could not be made: UNKNOWN, with the reason on the one line. */
export function uncheckable(err: unknown): CheckResult {
  const reason =
    err instanceof RefusedError
      ? `${err.code}: ${err.message}`
      : err instanceof UnreachableError || err instanceof UsageError
        ? err.message
        : err instanceof Error
          ? err.message
          : String(err);
  return { state: 'unknown', line: `LICENSOR UNKNOWN - ${reason.replace(/\s*[\r\n]+\s*/g, ' ')}` };
}
