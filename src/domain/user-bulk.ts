import { changeAudit, type AuditDraft, type CounterMove } from './changes.js';
import { LicensorError } from './errors.js';
import { planUpdateUser, type UserPlan } from './user-changes.js';
import { activeSince, isUserActive, type UserRecord } from './users.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The longest inactivity the bulk disable takes: ten years. */
export const MAX_INACTIVE_DAYS = 3650;

/** How many users the answer names, the first in id order; `count` gives how many there were. */
export const DISABLE_INACTIVE_LISTED = 100;

/**
 * How many users a store loads, decides and writes at a time, all in the one transaction: its
 * memory stays bounded however many users are taken (docs/users.md#disabling-inactive-users).
 */
export const DISABLE_INACTIVE_CHUNK = 1_000;

/** The audit action of each user disabled in bulk (docs/users.md#disabling-inactive-users). */
export const DISABLE_INACTIVE_ACTION = 'user.disable-inactive';

/**
 * The instant before which a user's last activity makes it "inactive for `inactiveDays` days":
 * `now` minus that many days. A user last active exactly then is not taken.
 */
export function inactiveBefore(now: Date, inactiveDays: number): Date {
  if (!Number.isInteger(inactiveDays) || inactiveDays < 1 || inactiveDays > MAX_INACTIVE_DAYS)
    throw new LicensorError(
      'VALIDATION_FAILED',
      `inactiveDays must be a whole number from 1 to ${MAX_INACTIVE_DAYS}, not ${inactiveDays}`,
    );
  return new Date(now.getTime() - inactiveDays * DAY_MS);
}

/** What disabling the users inactive for N days does, decided once for both stores. */
export interface DisableInactivePlan {
  inactiveBefore: Date;
  /** The users taken, in id order, each with its own plan (the same as PATCH {disabled: true}). */
  users: { user: UserRecord; plan: UserPlan }[];
  /** How many of them hold a seat now (active within the activity window): the seats freed. */
  seatsFreed: number;
  /** Every user's counter moves, in one list (a store nets and orders them). */
  counters: CounterMove[];
  /** One entry per user disabled, naming it. */
  audits: AuditDraft[];
}

/**
 * Disables every user that is not disabled and whose last activity is before
 * `inactiveBefore(now, inactiveDays)`. `candidates` are the users a store loaded with those bounds
 * (under its locks); any outside them is left alone, so the decision is this function's. Users
 * inactive for longer than the activity window hold no seat: disabling them frees none, but keeps
 * them from taking one back with their next login.
 */
export function planDisableInactive(
  candidates: readonly UserRecord[],
  now: Date,
  inactiveDays: number,
  windowDays: number,
): DisableInactivePlan {
  const before = inactiveBefore(now, inactiveDays);
  const seatSince = activeSince(now, windowDays);
  const taken = candidates
    .filter((u) => !u.disabled && u.lastActivityAt.getTime() < before.getTime())
    .sort((a, b) => a.id - b.id);
  const users = taken.map((user) => ({
    user,
    plan: {
      ...planUpdateUser(user, { disabled: true }, now, windowDays),
      auditAction: DISABLE_INACTIVE_ACTION,
    },
  }));
  return {
    inactiveBefore: before,
    users,
    seatsFreed: taken.filter((u) => isUserActive(u, seatSince)).length,
    counters: users.flatMap(({ plan }) => plan.counters),
    audits: users.map(({ user }) => changeAudit(DISABLE_INACTIVE_ACTION, 'user', user.id, user.userid)),
  };
}

/** What disabling the inactive users answers, summed over the chunks a store decided. */
export interface InactiveUsersDisabled {
  /** Users last active before this instant were taken. */
  inactiveBefore: Date;
  /** How many users were taken. */
  count: number;
  /** How many of them held a seat. */
  seatsFreed: number;
  /**
   * The first DISABLE_INACTIVE_LISTED users taken, in id order: as they are after the change, or
   * now for a dry run.
   */
  users: UserRecord[];
}

/** The answer before any chunk: nothing taken yet, of the users last active before `cutOff`. */
export function noneDisabled(cutOff: Date): InactiveUsersDisabled {
  return { inactiveBefore: cutOff, count: 0, seatsFreed: 0, users: [] };
}

/**
 * The users of a chunk the answer names, as they were before it: its first ones, up to
 * DISABLE_INACTIVE_LISTED over all the chunks. A store answers them as it leaves them (withChunk).
 */
export function namedIn(sofar: InactiveUsersDisabled, plan: DisableInactivePlan): UserRecord[] {
  const room = Math.max(0, DISABLE_INACTIVE_LISTED - sofar.users.length);
  return plan.users.slice(0, room).map(({ user }) => user);
}

/**
 * The answer once one more chunk is decided: its counts added, and `named` (the users namedIn
 * gave, as the store left them) named after the ones before.
 */
export function withChunk(
  sofar: InactiveUsersDisabled,
  plan: DisableInactivePlan,
  named: readonly UserRecord[],
): InactiveUsersDisabled {
  return {
    inactiveBefore: sofar.inactiveBefore,
    count: sofar.count + plan.users.length,
    seatsFreed: sofar.seatsFreed + plan.seatsFreed,
    users: [...sofar.users, ...named],
  };
}
