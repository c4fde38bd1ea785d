import type { GuardedClaim } from '../../domain/seat-claim-guard.js';
import type { SeatSettings } from '../../domain/seat-policy.js';
import type { UsageRaise } from '../../domain/changes.js';
import type { UserType } from '../../domain/users.js';
import {
  COUNT_LOOKAHEAD_MS,
  firedThresholdsAre,
  licensesGenIs,
  seatCountStatements,
  seatSettingsAre,
  USAGE_RAISE_ON_CONFLICT,
} from './postgres-queries.js';
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
  const usage = guarded.claim.usage;
  const plus = (type: UserType): number => (guarded.claimant === type ? 1 : 0);
  const ok = `c.n BETWEEN ${guarded.minCount} AND ${guarded.maxCount}
      AND ${licensesGenIs(basis.licensesGen)}
      AND ${seatSettingsAre(basis.settings)}
      AND ${firedThresholdsAre(basis.fired)}
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

/** What a batch of creates was decided with, from what the last batch left (docs/seats.md#guarded-batches). */
export interface BatchClaimBasis {
  /** The window's start at the first create's instant. */
  since: Date;
  /** The window's start at the last create's instant. */
  sinceLast: Date;
  /** The range of the active count before the batch at which every claim decides the same. */
  minCount: number;
  maxCount: number;
  licensesGen: string;
  settings: SeatSettings;
  fired: readonly number[];
  identityKeys: readonly string[];
  /** How many of the batch's claims are for users of each type. */
  claimants: Record<UserType, number>;
  /** The day's usage row the claims raise (its licensed and hard seats). */
  usage: UsageRaise;
}

/**
 * One statement for a batch of claims decided before the seat lock: counts the active users at
 * `basis.since` under the lock, by type, and answers them (`n`, `dc`, `po`); fails (a cast of a
 * non-number) unless no user leaves the window between the first create's instant and the last's
 * (so each create's count is that one), the count is in the range at `since` and for the next
 * COUNT_LOOKAHEAD_MS (the users whose activity leaves the window by then subtracted: the count only
 * falls as time passes), the licenses' generation, the settings and the fired thresholds are
 * unchanged and none of the users is registered yet; then raises the day's usage peaks to those
 * counts plus the batch's claimants, as the claims one by one would.
 */
export function guardedBatchUsageRaise(basis: BatchClaimBasis): string {
  const [counts] = seatCountStatements(basis.since);
  const soon = new Date(basis.since.getTime() + COUNT_LOOKAHEAD_MS);
  const { dataConsumer, policyOwner } = basis.claimants;
  const usage = basis.usage;
  const ok = `c.n <= ${basis.maxCount} AND c.n - l.n >= ${basis.minCount} AND l.inside = 0
      AND ${licensesGenIs(basis.licensesGen)}
      AND ${seatSettingsAre(basis.settings)}
      AND ${firedThresholdsAre(basis.fired)}
      AND (${sql`SELECT count(*) FROM users WHERE identity_key = ANY(${basis.identityKeys})`}) = 0`;
  // The failing branch depends on the count, so the planner cannot fold the cast ahead of time.
  return sql`WITH t AS (SELECT user_type, n FROM (${new Raw(counts as string)}) AS counts),
    c AS (SELECT coalesce(sum(n), 0)::bigint AS n,
      coalesce(sum(n) FILTER (WHERE user_type = 'dataConsumer'), 0)::bigint AS dc,
      coalesce(sum(n) FILTER (WHERE user_type = 'policyOwner'), 0)::bigint AS po FROM t),
    l AS (SELECT count(*)::bigint AS n,
        count(*) FILTER (WHERE last_activity_at < ${basis.sinceLast}) AS inside FROM users
      WHERE NOT disabled AND last_activity_at >= ${basis.since} AND last_activity_at < ${soon}),
    g AS (SELECT c.n, c.dc, c.po, CAST(CASE WHEN ${new Raw(ok)} THEN '1' ELSE ${CLAIM_GUARD_FAILED} || ' (' || c.n || ')' END AS integer) AS ok FROM c, l),
    raised AS (INSERT INTO usage_daily
      (day, peak_active_users, peak_data_consumers, peak_policy_owners, license_seats, hard_seats)
    SELECT ${usage.day}, g.n + ${dataConsumer + policyOwner}, g.dc + ${dataConsumer}, g.po + ${policyOwner},
      ${usage.licenseSeats}, ${usage.hardSeats} FROM g WHERE g.ok = 1
    ${new Raw(USAGE_RAISE_ON_CONFLICT)} RETURNING 1)
    SELECT g.n, g.dc, g.po, g.ok FROM g`;
}
