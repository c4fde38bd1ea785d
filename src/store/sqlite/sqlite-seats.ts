import { claimSeat, type SeatClaim, type SeatState } from '../../domain/user-changes.js';
import { activeSince, type UserType } from '../../domain/users.js';
import type { SqliteChanges } from './sqlite-change.js';
import { activeAt } from './sqlite-queries.js';

/**
 * What the SQLite store's seat decisions read inside the write lock: the active count by type
 * (docs/seats.md), the effective license, the settings and the fired thresholds.
 */
export class SqliteSeats {
  readonly #c: SqliteChanges;

  constructor(changes: SqliteChanges) {
    this.#c = changes;
  }

  /** Active users by type at the window start `since`, read in the current transaction. */
  activeByType(since: Date): Record<UserType, number> {
    return activeAt(this.#c.q, since);
  }

  /** Active users at `now`, read in the current transaction. */
  activeCount(now: Date): number {
    const byType = this.activeByType(activeSince(now, this.#c.windowDays));
    return byType.dataConsumer + byType.policyOwner;
  }

  /** What a seat decision reads, under the write lock, at `now` (read after taking it). */
  state(now: Date): SeatState {
    const activeByType = this.activeByType(activeSince(now, this.#c.windowDays));
    return {
      activeUserCount: activeByType.dataConsumer + activeByType.policyOwner,
      activeByType,
      effective: this.#c.effectiveAt(this.#c.liveLicenses(), now),
      settings: this.#c.q.seatSettings(),
      firedThresholds: this.#c.q.firedThresholds(),
    };
  }

  /** Takes a seat under the write lock, at `now` (read after taking it), or refuses. */
  claim(now: Date, claimant: UserType): SeatClaim {
    return claimSeat(this.state(now), now, claimant);
  }
}
