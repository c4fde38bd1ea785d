import { seatThresholdLevels } from './events.js';
import { seatLimit } from './seat-policy.js';
import { claimSeat, SEAT_LOCK_MARGIN_MS, type SeatClaim, type SeatState } from './user-changes.js';
import type { UserType } from './users.js';

/**
 * A seat claim decided ahead of its lock (docs/seats.md#guarded-claims): the store reads the seat
 * state without the seat lock, the domain decides here, and the store sends the lock, a guard and
 * the writes in one round trip. Under the lock the guard reads the count again (and checks that the
 * licenses, the settings and the fired thresholds are the ones decided with); the claim commits only
 * when the count is in [minCount, maxCount], the counts at which claimSeat() decides exactly the same
 * thing. Otherwise the store rolls back and decides again under the lock, as every claim did before.
 */
export interface GuardedClaim {
  /**
   * The claim as decided at the count read: its threshold bookkeeping holds for every count in the
   * range. Its usage peaks are the counts the guard reads plus one (the total and `claimant`'s
   * type), which the store writes in the guard's statement.
   */
  claim: SeatClaim;
  /** The fewest active users, before the claim, at which the claim is the same. */
  minCount: number;
  /** The most: one fewer than the seat limit, or than the next threshold the claim would cross. */
  maxCount: number;
  /** The type of the user the claim is for: its peak rises with the total. */
  claimant: UserType;
}

/**
 * Decides a seat claim at `now` from a state read without the seat lock, or says it must be decided
 * under the lock (undefined): when no seat is free at that count, when it fires a `seats.threshold`
 * event (whose figures name the exact count), or when the effective license can change by itself
 * (a start, an expiry, the end of a grace period) within SEAT_LOCK_MARGIN_MS of `now`: the claim
 * commits after `now`, and must commit under the same seat limit. `nextChangeAt` is the first
 * instant after `now` at which `state.effective` can change by itself (licenseTimeBounds' `until`
 * over the live licenses, which a store keeps with the effective license: O(1) per claim), null when
 * none can; `claimant` is the new user's type.
 */
export function guardedClaim(
  state: SeatState,
  nextChangeAt: number | null,
  now: Date,
  claimant: UserType,
): GuardedClaim | undefined {
  const count = state.activeUserCount;
  const limit = seatLimit(state.effective, state.settings);
  if (count >= limit) return undefined;
  if (nextChangeAt !== null && nextChangeAt - now.getTime() < SEAT_LOCK_MARGIN_MS) return undefined;
  const claim = claimSeat(state, now, claimant);
  if (claim.events.length > 0) return undefined;
  // seatThresholds() compares `before` with each level and `before + 1` with it: the decision is
  // the same for every count on the same side of each level L and of L - 1.
  const cuts = state.effective.licenseSeats === 0 ? [] : seatThresholdLevels(state.effective.licenseSeats);
  let minCount = 0;
  let maxCount = limit - 1;
  for (const level of cuts)
    for (const cut of [level - 1, level]) {
      if (cut <= count) minCount = Math.max(minCount, cut);
      else maxCount = Math.min(maxCount, cut - 1);
    }
  return { claim, minCount, maxCount, claimant };
}
