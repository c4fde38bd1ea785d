import type { AddCountRange } from '../../domain/license-changes.js';
import type { SnapshotPart } from '../../domain/changes.js';
import { COUNT_LOOKAHEAD_MS, firedThresholdsAre, seatCountStatements } from './postgres-queries.js';
import { Raw, sql } from './postgres-sql.js';

/**
 * The guard of license adds decided before their locks (docs/licenses.md#guarded-adds). It decides
 * nothing: after LOCK_LICENSES and LOCK_SEATS in the same round trip, it checks that what the adds
 * were decided from still holds, and fails the transaction when it does not; the statements after
 * it in the round trip then never run.
 */

/** The text of the guard's failure; the store tells it from any other error by this. */
export const ADD_GUARD_FAILED = 'licensor license add guard';

/** Whether `err` is the guard failing (the adds are then decided again under the locks). */
export function isAddGuardFailure(err: unknown): boolean {
  return err instanceof Error && err.message.includes(ADD_GUARD_FAILED);
}

/** What the adds were decided from. */
export interface AddGuardBasis extends AddCountRange {
  /** The window's start at the first add's instant. */
  since: Date;
  fired: readonly number[];
  uuids: readonly string[];
}

/**
 * One statement, answering the active count as `n`: fails (a cast of a non-number) unless the
 * fired thresholds are the ones decided with, no license has one of the uuids (a deleted one is not
 * among the live licenses kept), and the active count is in the range both at `since` and for the
 * next COUNT_LOOKAHEAD_MS (the users whose activity leaves the window by then subtracted: the count
 * only falls as time passes, and the adds commit within that time of their clock). The licenses'
 * generation and the ids are checked by advanceGenerationTo() and takeLicenseIds(), next.
 */
export function addGuard(basis: AddGuardBasis): string {
  const [counts] = seatCountStatements(basis.since);
  const soon = new Date(basis.since.getTime() + COUNT_LOOKAHEAD_MS);
  const ok = `c.n <= ${basis.maxCount} AND c.n - l.n >= ${basis.minCount}
      AND ${firedThresholdsAre(basis.fired)}
      AND (${sql`SELECT count(*) FROM licenses WHERE uuid = ANY(${basis.uuids})`}) = 0`;
  // The failing branch depends on the count, so the planner cannot fold the cast ahead of time.
  return sql`WITH c AS (SELECT coalesce(sum(n), 0)::bigint AS n FROM (${new Raw(counts as string)}) AS counts),
    l AS (SELECT count(*)::bigint AS n FROM users
      WHERE NOT disabled AND last_activity_at >= ${basis.since} AND last_activity_at < ${soon})
    SELECT c.n, CAST(CASE WHEN ${new Raw(ok)} THEN '1' ELSE ${ADD_GUARD_FAILED} || ' (' || c.n || ')' END AS integer) AS ok
    FROM c, l`;
}

/**
 * Advances a part's generation, failing as the guard does unless it comes to `gen`: one past the
 * generation the adds were decided at, so no other change of the part has been made since (every
 * change of the licenses advances it under the licenses lock, even one that then rolls back).
 */
export function advanceGenerationTo(part: SnapshotPart, gen: string): string {
  return sql`SELECT CAST(CASE WHEN nextval(${`snapshot_gen_${part}`}::regclass) = ${gen}::bigint
    THEN '1' ELSE ${ADD_GUARD_FAILED} END AS integer) AS ok`;
}

/**
 * Takes `count` ids from the license id sequence, failing as the guard does unless they are the
 * ones after `lastId`, the ids the adds were decided with: taken one by one, nothing can take an
 * id meanwhile that they would then reuse.
 */
export function takeLicenseIds(lastId: number, count: number): string {
  return sql`SELECT CAST(CASE WHEN count(*) = ${count} AND min(id) = ${lastId + 1} AND max(id) = ${lastId + count}
    THEN '1' ELSE ${ADD_GUARD_FAILED} END AS integer) AS ok
    FROM (SELECT nextval(pg_get_serial_sequence('licenses', 'id')) AS id FROM generate_series(1, ${count})) AS ids`;
}
