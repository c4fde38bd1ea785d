import type { GuardedClaim } from '../../domain/seat-claim-guard.js';
import type { SeatSettings } from '../../domain/seat-policy.js';
import type { UserType } from '../../domain/users.js';
import { seatCountStatements, USAGE_RAISE_ON_CONFLICT } from './postgres-queries.js';
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
 * One statement: counts the active users at `basis.since` under the lock, by type, fails (a cast of
 * a non-number) unless the total is in the guarded range and the licenses' generation, the
 * settings, the fired thresholds are unchanged and the user is not registered yet, then raises the
 * day's usage peaks to those counts plus the claimant, as claimSeat() does: the total and the
 * claimant's type by one (a day recorded before peaks by type keeps none;
 * docs/usage-report.md#peaks-by-user-type).
 */
export function guardedUsageRaise(guarded: GuardedClaim, basis: ClaimBasis): string {
  const [counts] = seatCountStatements(basis.since);
  const { userCap, whenFull } = basis.settings;
  const usage = guarded.claim.usage;
  const plus = (type: UserType): number => (guarded.claimant === type ? 1 : 0);
  const ok = `c.n BETWEEN ${guarded.minCount} AND ${guarded.maxCount}
      AND (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM snapshot_gen_licenses) = ${sql`${basis.licensesGen}`}::bigint
      AND ${sql`(SELECT count(*) FROM seat_settings WHERE id = 1 AND user_cap IS NOT DISTINCT FROM ${userCap}::bigint AND when_full = ${whenFull})`} = 1
      AND (SELECT coalesce(string_agg(percent::text, ',' ORDER BY percent), '') FROM seat_alerts) = ${sql`${basis.fired.join(',')}`}
      AND NOT EXISTS (${sql`SELECT 1 FROM users WHERE identity_key = ${basis.identityKey}`})`;
  // The failing branch depends on the count, so the planner cannot fold the cast ahead of time.
  return sql`WITH t AS (SELECT user_type, n FROM (${new Raw(counts as string)}) AS counts),
    c AS (SELECT coalesce(sum(n), 0)::bigint AS n,
      coalesce(sum(n) FILTER (WHERE user_type = 'dataConsumer'), 0)::bigint AS dc,
      coalesce(sum(n) FILTER (WHERE user_type = 'policyOwner'), 0)::bigint AS po FROM t),
    g AS (SELECT c.n, c.dc, c.po, CAST(CASE WHEN ${new Raw(ok)} THEN '1' ELSE ${CLAIM_GUARD_FAILED} || ' (' || c.n || ')' END AS integer) AS ok FROM c)
    INSERT INTO usage_daily
      (day, peak_active_users, peak_data_consumers, peak_policy_owners, license_seats, hard_seats)
    SELECT ${usage.day}, g.n + 1, g.dc + ${plus('dataConsumer')}, g.po + ${plus('policyOwner')},
      ${usage.licenseSeats}, ${usage.hardSeats} FROM g WHERE g.ok = 1
    ${new Raw(USAGE_RAISE_ON_CONFLICT)}`;
}
