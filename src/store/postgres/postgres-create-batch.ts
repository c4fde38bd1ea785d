import type { QueryResultRow } from 'pg';
import { changeAudit, type UsageRaise } from '../../domain/changes.js';
import { guardedClaim } from '../../domain/seat-claim-guard.js';
import type { SeatSettings } from '../../domain/seat-policy.js';
import {
  afterClaims,
  claimSeatOrQueue,
  planCreateUser,
  planPendingUser,
  type EarlierClaim,
  type SeatState,
  type UserPlan,
  type UserValues,
} from '../../domain/user-changes.js';
import { identityKey } from '../../domain/user-identity.js';
import { activeSince, type UserRecord, type UserType } from '../../domain/users.js';
import { userFromRow, type UserRow } from '../rows.js';
import type { ChangeContext, NewUser } from '../store.js';
import { ChangeBatches, isRefusal, oneOf, settle, type Outcome, type Queued } from './postgres-batches.js';
import { guardedBatchUsageRaise, isClaimGuardFailure } from './postgres-claim.js';
import type { EffectsAt, PostgresChanges } from './postgres-change.js';
import * as q from './postgres-queries.js';
import type { PostgresSeats } from './postgres-seats.js';
import { batch, sql } from './postgres-sql.js';

type QueuedCreate = Queued<NewUser, UserRecord>;

/** How many user ids a process takes from the sequence ahead of its creates. */
const RESERVE = 64;

/** Takes `n` ids from the users sequence, as `id`, in order (none when `n` is 0). */
function reserveIds(n: number): string {
  return sql`SELECT nextval(pg_get_serial_sequence('users', 'id')) AS id FROM generate_series(1, ${n})`;
}

/** What the seat state was left at by the last batch of creates (docs/seats.md#guarded-batches). */
interface CreateBasis {
  /** The active users by type at the batch's instant, its own claims included. */
  byType: Record<UserType, number>;
  fired: readonly number[];
  licensesGen: string;
  settings: SeatSettings;
}

/** A create of a batch that writes: its row and its effects. */
interface Writing {
  create: QueuedCreate;
  writes: true;
  id: number;
  row: UserValues;
  effects: EffectsAt;
}

/** What one create of a batch came to: its writes, or its refusal. */
type Decided = Writing | { create: QueuedCreate; refusal: unknown; writes: false };

/**
 * Batched creates on PostgreSQL (docs/seats.md#batched-creates): the creates this process is asked
 * for while it commits others are decided and committed together (ChangeBatches), in one
 * transaction under one seat lock. The domain decides them in the order asked, each from the count
 * plus the claims decided before it (afterClaims), so the limit and the thresholds stay as exact as
 * one create at a time. A refused create (a duplicate, no seat) writes nothing and the others go
 * on. A batch (a create alone included) is first decided from what the last one left and sent in
 * one round trip with its guard (docs/seats.md#guarded-batches); when it cannot be, it is decided
 * under the lock in two round trips (the lock and reads, then the writes and COMMIT), a create
 * alone first guarded on its own (docs/seats.md#guarded-claims). After a lock wait that ran out,
 * only under the lock: a create decided before the lock must not wait long for it.
 */
export class PostgresCreateBatches {
  readonly #c: PostgresChanges;
  readonly #seats: PostgresSeats;
  readonly #batches: ChangeBatches<NewUser, UserRecord>;
  /**
   * User ids taken from the sequence ahead (docs/seats.md#guarded-batches), in order: every create
   * of this process takes the next one, so its users are numbered in the order it created them.
   */
  readonly #ids: number[] = [];
  /** What the last batch left, while nothing is known to have changed since. */
  #basis: CreateBasis | undefined;

  /**
   * `guarded`: one create decided before the seat lock, or undefined, with nothing written, when it
   * must be decided under it (then it runs as a batch of one).
   */
  constructor(
    changes: PostgresChanges,
    seats: PostgresSeats,
    guarded: (user: NewUser, ctx: ChangeContext) => Promise<UserRecord | undefined>,
  ) {
    this.#c = changes;
    this.#seats = seats;
    const locked = oneOf((creates: QueuedCreate[]) => this.#commit(creates));
    this.#batches = new ChangeBatches(
      async (creates) => {
        const outcomes = await this.#guardedBatch(creates);
        return Array.isArray(outcomes) ? outcomes : this.#commit(creates);
      },
      async (user, ctx) => {
        let queued: QueuedCreate | undefined;
        const answered = new Promise<UserRecord>((resolve, reject) => {
          queued = { input: user, ctx, resolve, reject };
        });
        const outcomes = await this.#guardedBatch([queued as QueuedCreate]);
        if (outcomes === 'locked') return locked(user, ctx);
        if (outcomes === undefined) {
          // What the last batch left does not count the user a create on its own may commit.
          this.#basis = undefined;
          return (await guarded(user, ctx)) ?? locked(user, ctx);
        }
        settle(outcomes);
        return answered;
      },
    );
  }

  /** An id from those this process holds, in order; undefined when it holds none. */
  reservedId(): number | undefined {
    return this.#ids.shift();
  }

  create(user: NewUser, ctx: ChangeContext): Promise<UserRecord> {
    return this.#batches.submit(user, ctx);
  }

  /** Resolves once the creates asked for so far are answered. */
  drain(): Promise<void> {
    return this.#batches.drain();
  }

  /** The batch's transaction; answers what each create came to once it has committed. */
  async #commit(creates: QueuedCreate[]): Promise<Outcome<NewUser, UserRecord>[]> {
    this.#basis = undefined;
    const keys = creates.map((c) => identityKey(c.input.iamid, c.input.userid));
    const more = creates.length > this.#ids.length ? creates.length - this.#ids.length + RESERVE : 0;
    const results = await this.#c.tx(async (client) => {
      const since0 = activeSince(creates[0]?.ctx.clock.now() ?? new Date(), this.#seats.windowDays);
      const read = await batch(client, [
        'BEGIN',
        ...this.#seats.readStatements(since0),
        sql`SELECT identity_key, id FROM users WHERE identity_key = ANY(${keys})`,
        reserveIds(more),
      ]);
      const reads = this.#seats.reads(read, 1);
      const taken = new Map((read[7] ?? []).map((r) => [String(r.identity_key), Number(r.id)]));
      this.#ids.push(...(read[8] ?? []).map((r) => Number(r.id)));
      const ids = this.#ids.splice(0, creates.length);
      const earlier: EarlierClaim[] = [];
      const decided: Decided[] = [];
      for (const [i, create] of creates.entries()) {
        const id = ids[i] as number;
        const key = keys[i] as string;
        try {
          decided.push(
            await this.#decide(create, id, taken.get(key), earlier, (now) =>
              this.#seats.state(client, reads, since0, now),
            ),
          );
          // A second create of the same user in this batch finds the first one's id.
          taken.set(key, id);
        } catch (refusal) {
          if (!isRefusal(refusal)) throw refusal;
          decided.push({ create, refusal, writes: false });
        }
      }
      const writing = decided.filter((d): d is Writing => d.writes);
      const lastNow = decided.at(-1)?.create.ctx.clock.now() ?? new Date();
      const after = afterClaims(await this.#seats.state(client, reads, since0, lastNow), earlier);
      const basis: CreateBasis = {
        byType: after.activeByType,
        fired: after.firedThresholds,
        licensesGen: reads.licensesGen,
        settings: reads.settings,
      };
      if (writing.length === 0) {
        await client.query('ROLLBACK');
        return { decided, rows: new Map<number, QueryResultRow>(), touches: [], basis };
      }
      // Pending users hold no seat: a batch of only them alters nothing the snapshot holds.
      const touches = [...new Set(writing.flatMap((d) => d.effects.effects.touches))];
      const [inserted] = await batch(client, [
        q.insertUsers(writing.map((d) => ({ id: d.id, user: d.row }))),
        ...this.#c.effectRows(writing.map((d) => d.effects)),
        ...this.#c.commitStatements(touches),
      ]);
      const rows = new Map((inserted ?? []).map((row) => [Number(row.id), row]));
      return { decided, rows, touches, basis };
    });
    this.#basis = results.basis;
    // Answered only once committed: a create told of its user survives a crash.
    this.#c.committed(results.touches);
    return results.decided.map((one) =>
      one.writes
        ? { change: one.create, result: () => userFromRow(results.rows.get(one.id) as UserRow) }
        : { change: one.create, refusal: one.refusal },
    );
  }

  /**
   * Creates decided before the seat lock from what the last batch left, and sent with the lock, a
   * guard and their writes in one round trip (docs/seats.md#guarded-batches); with nothing written,
   * undefined when they must be decided otherwise, 'locked' when under the lock only (its wait ran
   * out).
   */
  async #guardedBatch(
    creates: QueuedCreate[],
  ): Promise<Outcome<NewUser, UserRecord>[] | undefined | 'locked'> {
    const basis = this.#basis;
    const live = basis && this.#seats.keptLicenses(basis.licensesGen);
    if (!basis || !live || this.#ids.length < creates.length) return undefined;
    const first = (creates[0] as QueuedCreate).ctx.clock.now();
    const span = this.#seats.spanAt(live, first);
    const start: SeatState = {
      activeUserCount: basis.byType.dataConsumer + basis.byType.policyOwner,
      activeByType: basis.byType,
      effective: span.value,
      settings: basis.settings,
      firedThresholds: basis.fired,
    };
    const keys = creates.map((c) => identityKey(c.input.iamid, c.input.userid));
    const ids = this.#ids.slice(0, creates.length);
    const taken = new Map<string, number>();
    const earlier: EarlierClaim[] = [];
    const decided: Decided[] = [];
    let minCount = 0;
    let maxCount = Number.MAX_SAFE_INTEGER;
    let usage: UsageRaise | undefined;
    for (const [i, create] of creates.entries()) {
      const now = create.ctx.clock.now();
      if (now.getTime() < first.getTime() || now.getTime() - first.getTime() >= q.COUNT_LOOKAHEAD_MS)
        return undefined;
      const id = ids[i] as number;
      const key = keys[i] as string;
      let plan: UserPlan;
      try {
        plan = planCreateUser(create.input, taken.get(key), now);
      } catch (refusal) {
        if (!isRefusal(refusal)) throw refusal;
        decided.push({ create, refusal, writes: false });
        continue;
      }
      taken.set(key, id);
      const guarded = guardedClaim(afterClaims(start, earlier), span.until, now, create.input.userType);
      if (!guarded || (usage && guarded.claim.usage.day !== usage.day)) return undefined;
      // The claim before it in the batch counts: its own count is the batch's plus theirs.
      minCount = Math.max(minCount, guarded.minCount - earlier.length);
      maxCount = Math.min(maxCount, guarded.maxCount - earlier.length);
      usage = guarded.claim.usage;
      earlier.push({ claim: guarded.claim, claimant: create.input.userType });
      const next = plan.next as UserValues;
      decided.push({
        create,
        writes: true,
        id,
        row: next,
        effects: {
          ctx: create.ctx,
          now,
          effects: {
            audit: changeAudit('user.create', 'user', id, next.userid),
            counters: plan.counters,
            touches: ['users'],
          },
        },
      });
    }
    const writing = decided.filter((d): d is Writing => d.writes);
    if (!usage || writing.length === 0 || minCount > maxCount) return undefined;
    const last = Math.max(...writing.map((d) => d.effects.now.getTime()));
    const claimants = { dataConsumer: 0, policyOwner: 0 };
    for (const { claimant } of earlier) claimants[claimant]++;
    const fired = afterClaims(start, earlier).firedThresholds;
    const guard = guardedBatchUsageRaise({
      since: activeSince(first, this.#seats.windowDays),
      sinceLast: activeSince(new Date(last), this.#seats.windowDays),
      minCount,
      maxCount,
      licensesGen: basis.licensesGen,
      settings: basis.settings,
      fired: basis.fired,
      identityKeys: keys,
      claimants,
      usage,
    });
    this.#basis = undefined;
    // The ids are this process's whatever becomes of the transaction: used if it committed, kept for
    // the next creates if the guard turned it back, dropped if it is not known which.
    this.#ids.splice(0, creates.length);
    const more = this.#ids.length < RESERVE ? RESERVE - this.#ids.length : 0;
    const results = await this.#c.tx(async (client) => {
      try {
        return await batch(client, [
          'BEGIN',
          q.GUARDED_LOCK_WAIT_SQL,
          q.LOCK_SEATS_SQL,
          guard,
          reserveIds(more),
          q.insertUsers(writing.map((d) => ({ id: d.id, user: d.row }))),
          ...q.setFiredThresholds(basis.fired, fired),
          ...this.#c.effectRows(writing.map((d) => d.effects)),
          ...this.#c.commitStatements(['users']),
        ]);
      } catch (err) {
        const waited = q.isLockWaitTimeout(err);
        if (!isClaimGuardFailure(err) && !waited) throw err;
        await client.query('ROLLBACK');
        this.#ids.unshift(...ids);
        return waited ? ('locked' as const) : undefined;
      }
    });
    if (!Array.isArray(results)) return results;
    this.#ids.push(...(results[4] ?? []).map((r) => Number(r.id)));
    const counted = results[3]?.[0] ?? {};
    this.#basis = {
      byType: {
        dataConsumer: Number(counted.dc) + claimants.dataConsumer,
        policyOwner: Number(counted.po) + claimants.policyOwner,
      },
      fired,
      licensesGen: basis.licensesGen,
      settings: basis.settings,
    };
    this.#c.committed(['users']);
    const rows = new Map((results[5] ?? []).map((row) => [Number(row.id), row]));
    return decided.map((one) =>
      one.writes
        ? { change: one.create, result: () => userFromRow(rows.get(one.id) as UserRow) }
        : { change: one.create, refusal: one.refusal },
    );
  }

  /**
   * One create of the batch, decided at its own instant from the state read under the lock plus
   * the claims decided before it; throws its refusal.
   */
  async #decide(
    create: QueuedCreate,
    id: number,
    takenBy: number | undefined,
    earlier: EarlierClaim[],
    stateAt: (now: Date) => Promise<SeatState>,
  ): Promise<Writing> {
    const now = create.ctx.clock.now();
    const plan = planCreateUser(create.input, takenBy, now);
    const state = afterClaims(await stateAt(now), earlier);
    const claim = claimSeatOrQueue(state, now, create.input.userType);
    const next = plan.next as UserValues;
    const at = { ctx: create.ctx, now };
    if (claim === 'queue') {
      const pending = planPendingUser(plan, state);
      return {
        create,
        writes: true,
        id,
        row: pending.next,
        effects: {
          ...at,
          effects: {
            audit: changeAudit('user.pending', 'user', id, next.userid),
            events: pending.events,
            touches: [],
          },
        },
      };
    }
    earlier.push({ claim, claimant: create.input.userType });
    return {
      create,
      writes: true,
      id,
      row: next,
      effects: {
        ...at,
        effects: {
          audit: changeAudit('user.create', 'user', id, next.userid),
          counters: plan.counters,
          claim,
          firedBefore: state.firedThresholds,
          touches: ['users'],
        },
      },
    };
  }
}
