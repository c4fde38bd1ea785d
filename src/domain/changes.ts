import type { Clock } from './clock.js';
import { utcDay, type UserType } from './users.js';

/**
 * What a change writes besides its own rows, decided here and executed by each store in the same
 * transaction as the change (docs/architecture.md#changes): its audit entry, its events (the
 * outbox), the per-day activity counter moves and the day's usage peak. A store never decides any
 * of these; it only loads the state a decision needs, under its locks, and writes the plan.
 */

/** Who made a change: the token and the address the request came from. */
export interface Actor {
  /** The token that acted; null for the server itself or a request without a valid token. */
  tokenId: number | null;
  tokenName: string | null;
  clientAddress: string;
}

/** The server acting on its own (start-up, samplers). */
export const SYSTEM_ACTOR: Actor = { tokenId: null, tokenName: null, clientAddress: 'local' };

export type AuditOutcome = 'success' | 'refused';

export interface AuditDraft {
  action: string;
  /** What was acted on, e.g. "license:12", "user:3"; null when nothing was identified. */
  target: string | null;
  /**
   * The target's name when the change was made (a user's userid, a token's name, a licensee's
   * name or a license's uuid), so the log still names a user after it is removed; null for
   * refusals and entries written before it was kept (docs/audit.md).
   */
  targetName: string | null;
  outcome: AuditOutcome;
  /** The error code of a refusal. */
  code: string | null;
}

/** An audit entry as stored: the draft, with who and when. */
export interface NewAuditEntry extends AuditDraft {
  at: Date;
  actorTokenId: number | null;
  actorName: string | null;
  clientAddress: string;
}

/**
 * The audit entry of a change that succeeded, naming what it changed, e.g. "user:3", and its name
 * then, e.g. "ada".
 */
export function changeAudit(
  action: string,
  kind: 'license' | 'user' | 'token' | 'webhook',
  id: number,
  name: string | null,
): AuditDraft {
  return { action, target: `${kind}:${id}`, targetName: name, outcome: 'success', code: null };
}

export function auditEntry(draft: AuditDraft, actor: Actor, at: Date): NewAuditEntry {
  return {
    ...draft,
    at,
    actorTokenId: actor.tokenId,
    actorName: actor.tokenName,
    clientAddress: actor.clientAddress,
  };
}

/** Moves users in or out of one per-day activity counter; `delta` is +1 or -1 per user. */
export interface CounterMove {
  /** The UTC day of the users' last activity, YYYY-MM-DD. */
  day: string;
  userType: UserType;
  delta: number;
}

/**
 * Sums moves of the same counter and orders them by (day, type): a store writes them in this order
 * so that two transactions touching the same counters lock them in the same order.
 */
export function netCounterMoves(moves: readonly CounterMove[]): CounterMove[] {
  const sums = new Map<string, CounterMove>();
  for (const move of moves) {
    const key = `${move.day} ${move.userType}`;
    const entry = sums.get(key) ?? { day: move.day, userType: move.userType, delta: 0 };
    entry.delta += move.delta;
    sums.set(key, entry);
  }
  return [...sums.values()]
    .filter((m) => m.delta !== 0)
    .sort((a, b) => (a.day !== b.day ? (a.day < b.day ? -1 : 1) : a.userType < b.userType ? -1 : 1));
}

/**
 * Raises one day's usage row: the peaks never fall, the seats are the latest seen. The peak by
 * user type is raised with the total, from the same count (docs/usage-report.md#peaks-by-user-type).
 */
export interface UsageRaise {
  day: string;
  peakActiveUsers: number;
  /** Active users of each type at the same instant; they add up to peakActiveUsers. */
  peakByType: Record<UserType, number>;
  licenseSeats: number;
  hardSeats: number;
}

/** The usage raise of `now`'s day from the active users by type then and the seats then. */
export function usageRaise(
  now: Date,
  activeByType: Readonly<Record<UserType, number>>,
  seats: { licenseSeats: number; hardSeats: number },
): UsageRaise {
  return {
    day: utcDay(now),
    peakActiveUsers: activeByType.dataConsumer + activeByType.policyOwner,
    peakByType: { dataConsumer: activeByType.dataConsumer, policyOwner: activeByType.policyOwner },
    licenseSeats: seats.licenseSeats,
    hardSeats: seats.hardSeats,
  };
}

/**
 * The parts of the in-memory read snapshot a change alters
 * (docs/performance.md#the-read-snapshot).
 */
export type SnapshotPart = 'licenses' | 'tokens' | 'users' | 'settings';

/**
 * What every change is given: the clock, read only once the change holds its locks (so a request
 * that waited for a lock never decides with the instant it arrived at), and who is acting, for the
 * audit entry the change commits with.
 */
export interface ChangeContext {
  clock: Clock;
  actor: Actor;
}
