import type { GuardedClaim } from '../../domain/seat-claim-guard.js';
import type { SeatSettings } from '../../domain/seat-policy.js';
import { seatCountStatements } from './postgres-queries.js';
import { Raw, sql } from './postgres-sql.js';

/**
 * The guard of a claim decided before its seat lock (src/domain/seat-claim-guard.ts,
 * docs/seats.md#guarded-claims). It decides nothing: it checks, after LOCK_SEATS in the same
 * batch, that what the domain decided with still holds, and fails the transaction when it does not.
 */

/** The text of the guard's failure; the store tells it from any other error by this. */
export const CLAIM_GUARD_FAILED = 'licensor seat claim guard';

/** Whether `err` is the guard failing (the claim is then decided again under the lock). */
export function isClaimGuardFailure(err: unknown): boolean {
  return err instanceof Error && err.message.includes(CLAIM_GUARD_FAILED);
}

/** What the claim was decided with, as read without the lock. */
export interface ClaimBasis {
  /** The window's start at the claim's instant. */
  since: Date;
  identityKey: string;
  licensesGen: string;
  settings: SeatSettings;
  fired: readonly number[];
}

/**
 * One statement: counts the active users at `basis.since` under the lock, fails (a cast of a
 * non-number) unless the count is in the guarded range and the licenses' generation, the settings,
 * the fired thresholds are unchanged and the user is not registered yet, then raises the day's usage
 * peak to that count plus one, as claimSeat() does.
 */
export function guardedUsageRaise(guarded: GuardedClaim, basis: ClaimBasis): string {
  const [counts] = seatCountStatements(basis.since);
  const { userCap, whenFull } = basis.settings;
  const usage = guarded.claim.usage;
  const ok = `c.n BETWEEN ${guarded.minCount} AND ${guarded.maxCount}
      AND (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM snapshot_gen_licenses) = ${sql`${basis.licensesGen}`}::bigint
      AND ${sql`(SELECT count(*) FROM seat_settings WHERE id = 1 AND user_cap IS NOT DISTINCT FROM ${userCap}::bigint AND when_full = ${whenFull})`} = 1
      AND (SELECT coalesce(string_agg(percent::text, ',' ORDER BY percent), '') FROM seat_alerts) = ${sql`${basis.fired.join(',')}`}
      AND NOT EXISTS (${sql`SELECT 1 FROM users WHERE identity_key = ${basis.identityKey}`})`;
  // The failing branch depends on the count, so the planner cannot fold the cast ahead of time.
  return sql`WITH c AS (SELECT coalesce(sum(n), 0)::bigint AS n FROM (${new Raw(counts as string)}) AS counts),
    g AS (SELECT c.n, CAST(CASE WHEN ${new Raw(ok)} THEN '1' ELSE ${CLAIM_GUARD_FAILED} || ' (' || c.n || ')' END AS integer) AS ok FROM c)
    INSERT INTO usage_daily (day, peak_active_users, license_seats, hard_seats)
    SELECT ${usage.day}, g.n + 1, ${usage.licenseSeats}, ${usage.hardSeats} FROM g WHERE g.ok = 1
    ON CONFLICT (day) DO UPDATE SET
      peak_active_users = GREATEST(usage_daily.peak_active_users, EXCLUDED.peak_active_users),
      license_seats = EXCLUDED.license_seats, hard_seats = EXCLUDED.hard_seats`;
}
