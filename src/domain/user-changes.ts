import { usageRaise, type CounterMove, type UsageRaise } from './changes.js';
import { LicensorError } from './errors.js';
import { seatFigures, seatThresholds, type EventDraft } from './events.js';
import type { EffectiveLicense } from './license.js';
import { seatLimit, type SeatSettings } from './seat-policy.js';
import { storedIdentifiers, storedText } from './user-identity.js';
import {
  activeSince,
  isUserActive,
  startOfNextUtcDay,
  utcDay,
  type UserRecord,
  type UserType,
} from './users.js';

/**
 * Every change to users, decided as a plan (docs/seats.md): what the user row becomes, which
 * activity counters move, whether the change takes a seat, and its audit entry. The stores load
 * the user under its row lock, read the clock, ask for the plan, and (when it takes a seat) load
 * the seat state under the seat lock, read the clock again and ask again. They only execute.
 */

export interface NewUser {
  userid: string;
  iamid: string;
  name: string | null;
  email: string | null;
  userType: UserType;
}

export interface UserPatch {
  name?: string | null;
  email?: string | null;
  userType?: UserType;
  disabled?: boolean;
}

/** A user row's values, without its id. */
export type UserValues = Omit<UserRecord, 'id'>;

export interface UserPlan {
  /** The row after the change; null when the user is removed. */
  next: UserValues | null;
  counters: CounterMove[];
  /** The change makes an inactive user active: it needs a free seat (claimSeat). */
  takesSeat: boolean;
  /**
   * The decision depends on the instant closely enough that it must be taken under the seat lock
   * on a store whose readers do not all wait for one writer (docs/seats.md#time-under-the-lock).
   */
  needsSeatLock: boolean;
  /** The audit action; null when the change is usage, not a change (activity of an active user). */
  auditAction: string | null;
}

/**
 * How close to leaving the activity window a user may be and still record activity without the
 * seat lock. A seat claim running at the same time judges the user at its own, later instant; as
 * long as this change commits within this margin of reading its clock, that instant still finds
 * the user active, so both see the same count (docs/seats.md#time-under-the-lock).
 */
export const SEAT_LOCK_MARGIN_MS = 60 * 60 * 1000;

function move(at: Date, userType: UserType, delta: number): CounterMove {
  return { day: utcDay(at), userType, delta };
}

/** A name or email as stored: refused (INVALID_IDENTIFIER) or in NFC (docs/users.md). */
function storedOptional(field: 'name' | 'email', value: string | null): string | null {
  return value === null ? null : storedText(field, value);
}

/**
 * Registers a user, active from `now`. INVALID_IDENTIFIER when a field holds a refused character;
 * USER_ALREADY_EXISTS when `takenBy`, the user holding the identity key of (iamid, userid)
 * (user-identity.ts), is there. The row keeps the spelling given, in NFC.
 */
export function planCreateUser(user: NewUser, takenBy: number | undefined, now: Date): UserPlan {
  const stored = {
    ...user,
    ...storedIdentifiers(user),
    name: storedOptional('name', user.name),
    email: storedOptional('email', user.email),
  };
  if (takenBy !== undefined)
    throw new LicensorError(
      'USER_ALREADY_EXISTS',
      `user "${stored.userid}" of "${stored.iamid}" is already registered (id ${takenBy}), ignoring case, width and Unicode form`,
    );
  return {
    next: { ...stored, createdAt: now, lastActivityAt: now, disabled: false, pending: false },
    counters: [move(now, user.userType, +1)],
    takesSeat: true,
    needsSeatLock: true,
    auditAction: 'user.create',
  };
}

/**
 * Activity now. An active user always succeeds; an inactive one takes a seat; a disabled one is
 * USER_DISABLED.
 */
export function planActivity(user: UserRecord, now: Date, windowDays: number): UserPlan {
  if (user.pending) throw userPending(user);
  if (user.disabled) throw new LicensorError('USER_DISABLED', `user ${user.id} is disabled; enable it first`);
  const since = activeSince(now, windowDays);
  const takesSeat = !isUserActive(user, since);
  const nearEdge = user.lastActivityAt.getTime() < since.getTime() + SEAT_LOCK_MARGIN_MS;
  return {
    next: { ...user, lastActivityAt: now },
    counters:
      utcDay(user.lastActivityAt) === utcDay(now)
        ? []
        : [move(user.lastActivityAt, user.userType, -1), move(now, user.userType, +1)],
    takesSeat,
    needsSeatLock: takesSeat || nearEdge,
    auditAction: takesSeat ? 'user.activity' : null,
  };
}

/**
 * Changes a user; re-enabling one whose last activity is in the window takes a seat. A name or
 * email given is refused or stored as planCreateUser does.
 */
export function planUpdateUser(user: UserRecord, patch: UserPatch, now: Date, windowDays: number): UserPlan {
  // A pending user is approved or rejected, not enabled or disabled.
  if (user.pending && patch.disabled !== undefined) throw userPending(user);
  const next: UserValues = {
    ...user,
    name: patch.name === undefined ? user.name : storedOptional('name', patch.name),
    email: patch.email === undefined ? user.email : storedOptional('email', patch.email),
    userType: patch.userType ?? user.userType,
    disabled: patch.disabled ?? user.disabled,
  };
  const takesSeat = user.disabled && !next.disabled && isUserActive(next, activeSince(now, windowDays));
  const counters: CounterMove[] = [];
  if (user.disabled !== next.disabled || user.userType !== next.userType) {
    if (!user.disabled) counters.push(move(user.lastActivityAt, user.userType, -1));
    if (!next.disabled) counters.push(move(user.lastActivityAt, next.userType, +1));
  }
  return { next, counters, takesSeat, needsSeatLock: takesSeat, auditAction: 'user.update' };
}

function userPending(user: UserRecord): LicensorError {
  return new LicensorError(
    'USER_PENDING',
    `user ${user.id} is waiting for approval and holds no seat; approve it first`,
  );
}

/**
 * The user as queue mode stores it when no seat is free: pending, holding no seat (stored disabled,
 * so no count sees it), no counter moves. Its `user.pending` event carries the seat figures.
 */
export function planPendingUser(
  plan: UserPlan,
  state: SeatState,
): { next: UserValues; events: EventDraft[] } {
  const next = plan.next as UserValues;
  return {
    next: { ...next, disabled: true, pending: true },
    events: [
      {
        type: 'user.pending',
        data: {
          userid: next.userid,
          iamid: next.iamid,
          seatLimit: seatLimit(state.effective, state.settings),
          ...seatFigures(state.effective, state.activeUserCount),
        },
      },
    ],
  };
}

/**
 * Approves a pending user: it becomes active from `now` and takes a seat (claimSeat, never queued
 * again). USER_NOT_PENDING for a user that is not waiting.
 */
export function planApproveUser(user: UserRecord, now: Date): UserPlan {
  if (!user.pending) throw notPending(user);
  return {
    next: { ...user, disabled: false, pending: false, lastActivityAt: now },
    counters: [move(now, user.userType, +1)],
    takesSeat: true,
    needsSeatLock: true,
    auditAction: 'user.approve',
  };
}

/** Rejects a pending user: it is removed. USER_NOT_PENDING for a user that is not waiting. */
export function planRejectUser(user: UserRecord): UserPlan {
  if (!user.pending) throw notPending(user);
  return { next: null, counters: [], takesSeat: false, needsSeatLock: false, auditAction: 'user.reject' };
}

function notPending(user: UserRecord): LicensorError {
  return new LicensorError('USER_NOT_PENDING', `user ${user.id} is not waiting for approval`);
}

/** Removes a user for good, freeing its seat. */
export function planDeleteUser(user: UserRecord): UserPlan {
  return {
    next: null,
    counters: user.disabled ? [] : [move(user.lastActivityAt, user.userType, -1)],
    takesSeat: false,
    needsSeatLock: false,
    auditAction: 'user.delete',
  };
}

/** What a seat decision reads, under the seat lock, at the instant read after taking it. */
export interface SeatState {
  /** Active users at that instant, before the change. */
  activeUserCount: number;
  /** The same users by type (they add up to activeUserCount): the day's peaks by type. */
  activeByType: Readonly<Record<UserType, number>>;
  effective: EffectiveLicense;
  /** The customer's cap and queue mode, read under the same lock. */
  settings: SeatSettings;
  /** The `seats.threshold` levels that fired and are not re-armed. */
  firedThresholds: readonly number[];
}

export interface SeatClaim {
  usage: UsageRaise;
  events: EventDraft[];
  firedThresholds: number[];
}

/**
 * The seat rule (docs/seats.md): a change that makes a user active succeeds only while
 * activeUserCount < seatLimit (licenseSeats, or the customer's cap when lower); otherwise
 * SEAT_LIMIT_REACHED, carrying the figures for the `seats.refused` event. A claim raises the day's
 * usage peak and may cross a seat threshold. Create, re-enable, activity of an inactive user and
 * approve all claim here.
 */
export function claimSeat(state: SeatState, now: Date, claimant: UserType): SeatClaim {
  const { activeUserCount, effective } = state;
  checkSeatAvailable(activeUserCount, effective, state.settings);
  const after = seatFigures(effective, activeUserCount + 1);
  const thresholds = seatThresholds(state.firedThresholds, activeUserCount, after);
  const byTypeAfter = { ...state.activeByType, [claimant]: state.activeByType[claimant] + 1 };
  return {
    // The peak by type from the same count as the total (docs/usage-report.md#peaks-by-user-type).
    usage: usageRaise(now, byTypeAfter, effective),
    events: thresholds.events,
    firedThresholds: thresholds.fired,
  };
}

/** A seat claim already decided in the same transaction, and the type of the user it is for. */
export interface EarlierClaim {
  claim: SeatClaim;
  claimant: UserType;
}

/**
 * The seat state a claim sees when `earlier` claims commit in the same transaction before it
 * (docs/seats.md#batched-creates): each made one more user of its type active, and the thresholds
 * the last one left fired stay fired. A store that decides several claims from one read of the
 * count decides each one from this, so the limit and the thresholds stay exact.
 */
export function afterClaims(state: SeatState, earlier: readonly EarlierClaim[]): SeatState {
  const last = earlier.at(-1);
  if (last === undefined) return state;
  const activeByType = { ...state.activeByType };
  for (const { claimant } of earlier) activeByType[claimant] += 1;
  return {
    ...state,
    activeUserCount: state.activeUserCount + earlier.length,
    activeByType,
    firedThresholds: last.claim.firedThresholds,
  };
}

/**
 * A new user: a seat when one is free; in queue mode, when none is, the pending user instead of
 * SEAT_LIMIT_REACHED. Only a create queues: re-enabling, activity and approval always claimSeat.
 */
export function claimSeatOrQueue(state: SeatState, now: Date, claimant: UserType): SeatClaim | 'queue' {
  if (
    state.settings.whenFull === 'queue' &&
    state.activeUserCount >= seatLimit(state.effective, state.settings)
  )
    return 'queue';
  return claimSeat(state, now, claimant);
}

export function checkSeatAvailable(
  activeUserCount: number,
  effective: EffectiveLicense,
  settings: SeatSettings,
): void {
  const limit = seatLimit(effective, settings);
  if (activeUserCount >= limit)
    throw new LicensorError(
      'SEAT_LIMIT_REACHED',
      effective.licenseSeats === 0
        ? 'no license is active, so no seat is free'
        : limit < effective.licenseSeats
          ? `the user cap of ${limit} is reached (${activeUserCount} active users, ${effective.licenseSeats} license seats)`
          : `all ${effective.licenseSeats} license seats are taken (${activeUserCount} active users)`,
      { facts: seatFigures(effective, activeUserCount) },
    );
}

/**
 * The users whose activity at `now` plans nothing but the new instant (no counter moves, no seat,
 * no seat lock, no audit): not disabled, last active in [from, until). A store may record their
 * activity in one statement guarded by these bounds, and plan the rest (docs/seats.md).
 */
export function activityFastPath(now: Date, windowDays: number): { from: Date; until: Date } {
  const startOfToday = new Date(`${utcDay(now)}T00:00:00.000Z`);
  const safe = new Date(activeSince(now, windowDays).getTime() + SEAT_LOCK_MARGIN_MS);
  return { from: safe > startOfToday ? safe : startOfToday, until: startOfNextUtcDay(now) };
}
