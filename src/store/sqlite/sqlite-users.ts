import { changeAudit } from '../../domain/changes.js';
import { LicensorError } from '../../domain/errors.js';
import {
  DISABLE_INACTIVE_CHUNK,
  inactiveBefore,
  type InactiveUsersDisabled,
  namedIn,
  noneDisabled,
  planDisableInactive,
  withChunk,
} from '../../domain/user-bulk.js';
import {
  claimSeatOrQueue,
  planActivity,
  planApproveUser,
  planCreateUser,
  planDeleteUser,
  planPendingUser,
  planRejectUser,
  planUpdateUser,
  type UserPlan,
} from '../../domain/user-changes.js';
import { identityKey } from '../../domain/user-identity.js';
import type { UserRecord } from '../../domain/users.js';
import type { ChangeContext, NewUser, UserPatch } from '../store.js';
import type { SqliteChanges } from './sqlite-change.js';
import type { SqliteSeats } from './sqlite-seats.js';

/**
 * The user changes of the SQLite store (docs/seats.md), each one transaction under the write lock,
 * with its audit entry and events; the clock is read inside it.
 */
export class SqliteUsers {
  readonly #c: SqliteChanges;
  readonly #seats: SqliteSeats;

  constructor(changes: SqliteChanges, seats: SqliteSeats) {
    this.#c = changes;
    this.#seats = seats;
  }

  /** Executes a user plan's side effects: the claim (if it takes a seat), counters, audit. */
  #commitUserPlan(plan: UserPlan, user: UserRecord, ctx: ChangeContext, now: Date): void {
    const claim = plan.takesSeat ? this.#seats.claim(now, plan.next?.userType ?? user.userType) : undefined;
    this.#c.commitEffects(
      {
        audit: plan.auditAction === null ? null : changeAudit(plan.auditAction, 'user', user.id, user.userid),
        events: claim?.events ?? [],
        counters: plan.counters,
        ...(claim && { usage: claim.usage, firedThresholds: claim.firedThresholds }),
        touches: plan.counters.length > 0 ? ['users'] : [],
      },
      ctx,
      now,
    );
  }

  createUser(user: NewUser, ctx: ChangeContext): Promise<UserRecord> {
    return this.#c.change(() => {
      const now = ctx.clock.now();
      const plan = planCreateUser(user, this.#c.q.userIdByKey(identityKey(user.iamid, user.userid)), now);
      // The claim first: a refused seat must not have inserted anything to roll back in memory.
      const state = this.#seats.state(now);
      const claim = claimSeatOrQueue(state, now, user.userType);
      if (claim === 'queue') {
        const pending = planPendingUser(plan, state);
        const id = this.#c.q.insertUser(pending.next);
        this.#c.commitEffects(
          {
            audit: changeAudit('user.pending', 'user', id, user.userid),
            events: pending.events,
            touches: [],
          },
          ctx,
          now,
        );
        return this.#user(id);
      }
      const id = this.#c.q.insertUser(plan.next as NonNullable<UserPlan['next']>);
      this.#c.commitEffects(
        {
          audit: changeAudit('user.create', 'user', id, plan.next?.userid ?? null),
          events: claim.events,
          counters: plan.counters,
          usage: claim.usage,
          firedThresholds: claim.firedThresholds,
          touches: ['users'],
        },
        ctx,
        now,
      );
      return this.#user(id);
    });
  }

  #user(id: number): UserRecord {
    const user = this.#c.q.userById(id);
    if (!user) throw new LicensorError('USER_NOT_FOUND', `no user with id ${id}`);
    return user;
  }

  /**
   * A change of one existing user under the write lock: the plan at the instant read inside it,
   * its side effects, then the row written, or removed when the plan leaves none.
   */
  #changeUser(id: number, ctx: ChangeContext, decide: (user: UserRecord, now: Date) => UserPlan) {
    return this.#c.change(() => {
      const now = ctx.clock.now();
      const user = this.#user(id);
      const plan = decide(user, now);
      this.#commitUserPlan(plan, user, ctx, now);
      if (plan.next === null) {
        this.#c.q.deleteUser(id);
        return { user, plan };
      }
      this.#c.q.updateUser(id, plan.next);
      return { user: this.#user(id), plan };
    });
  }

  async recordActivity(id: number, ctx: ChangeContext): Promise<{ user: UserRecord; seatTaken: boolean }> {
    const { user, plan } = await this.#changeUser(id, ctx, (u, now) =>
      planActivity(u, now, this.#c.windowDays),
    );
    return { user, seatTaken: plan.takesSeat };
  }

  async updateUser(id: number, patch: UserPatch, ctx: ChangeContext): Promise<UserRecord> {
    return (await this.#changeUser(id, ctx, (u, now) => planUpdateUser(u, patch, now, this.#c.windowDays)))
      .user;
  }

  async approveUser(id: number, ctx: ChangeContext): Promise<UserRecord> {
    return (await this.#changeUser(id, ctx, (u, now) => planApproveUser(u, now))).user;
  }

  async rejectUser(id: number, ctx: ChangeContext): Promise<UserRecord> {
    return (await this.#changeUser(id, ctx, (u) => planRejectUser(u))).user;
  }

  async deleteUser(id: number, ctx: ChangeContext): Promise<UserRecord> {
    return (await this.#changeUser(id, ctx, (u) => planDeleteUser(u))).user;
  }

  disableInactiveUsers(
    inactiveDays: number,
    ctx: ChangeContext,
    options: { dryRun: boolean },
  ): Promise<InactiveUsersDisabled> {
    // DISABLE_INACTIVE_CHUNK users at a time, in id order, in the one transaction: loaded, decided,
    // written, and only the answer's first users kept (docs/users.md#disabling-inactive-users).
    let moved = false;
    const sweep = (now: Date, write: boolean): InactiveUsersDisabled => {
      let result = noneDisabled(inactiveBefore(now, inactiveDays));
      for (let afterId = 0; ;) {
        const chunk = this.#c.q.usersInactiveBefore(result.inactiveBefore, afterId, DISABLE_INACTIVE_CHUNK);
        const last = chunk.at(-1);
        if (!last) return result;
        afterId = last.id;
        const plan = planDisableInactive(chunk, now, inactiveDays, this.#c.windowDays);
        const named = namedIn(result, plan);
        if (write) {
          for (const { user, plan: one } of plan.users)
            this.#c.q.updateUser(user.id, one.next as NonNullable<UserPlan['next']>);
          this.#c.commitEffects(
            { audit: null, audits: plan.audits, events: [], counters: plan.counters, touches: [] },
            ctx,
            now,
          );
          moved ||= plan.counters.length > 0;
        }
        result = withChunk(result, plan, write ? named.map((user) => this.#user(user.id)) : named);
      }
    };
    if (options.dryRun) return this.#c.read(() => sweep(ctx.clock.now(), false));
    return this.#c.change(() => {
      const result = sweep(ctx.clock.now(), true);
      // The snapshot's users part holds the counts: it turns over only when a counter moved.
      if (moved) this.#c.bump('users');
      return result;
    });
  }
}
