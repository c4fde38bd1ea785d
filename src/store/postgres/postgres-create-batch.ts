import type { QueryResultRow } from 'pg';
import { changeAudit } from '../../domain/changes.js';
import {
  afterClaims,
  claimSeatOrQueue,
  planCreateUser,
  planPendingUser,
  type EarlierClaim,
  type SeatState,
  type UserValues,
} from '../../domain/user-changes.js';
import { identityKey } from '../../domain/user-identity.js';
import { activeSince, type UserRecord } from '../../domain/users.js';
import { userFromRow, type UserRow } from '../rows.js';
import type { ChangeContext, NewUser } from '../store.js';
import { ChangeBatches, isRefusal, oneOf, type Outcome, type Queued } from './postgres-batches.js';
import type { EffectsAt, PostgresChanges } from './postgres-change.js';
import * as q from './postgres-queries.js';
import type { PostgresSeats } from './postgres-seats.js';
import { batch, sql } from './postgres-sql.js';

type QueuedCreate = Queued<NewUser, UserRecord>;

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
 * transaction under one seat lock, in two round trips: the locks and reads, then every create's
 * writes, audit entry and events and one COMMIT. The domain decides them in the order asked, each
 * from the count read under the lock plus the claims decided before it (afterClaims), so the limit
 * and the thresholds stay as exact as one create at a time. A refused create (a duplicate, no seat)
 * writes nothing and the others go on. A create alone is guarded (docs/seats.md#guarded-claims) and,
 * when the guard says no, a batch of one.
 */
export class PostgresCreateBatches {
  readonly #c: PostgresChanges;
  readonly #seats: PostgresSeats;
  readonly #batches: ChangeBatches<NewUser, UserRecord>;

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
    const together = (creates: QueuedCreate[]): Promise<Outcome<NewUser, UserRecord>[]> =>
      this.#commit(creates);
    const locked = oneOf(together);
    this.#batches = new ChangeBatches(
      together,
      async (user, ctx) => (await guarded(user, ctx)) ?? locked(user, ctx),
    );
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
    const keys = creates.map((c) => identityKey(c.input.iamid, c.input.userid));
    const results = await this.#c.tx(async (client) => {
      const since0 = activeSince(creates[0]?.ctx.clock.now() ?? new Date(), this.#seats.windowDays);
      const read = await batch(client, [
        'BEGIN',
        ...this.#seats.readStatements(since0),
        sql`SELECT identity_key, id FROM users WHERE identity_key = ANY(${keys})`,
        sql`SELECT nextval(pg_get_serial_sequence('users', 'id')) AS id FROM generate_series(1, ${creates.length})`,
      ]);
      const reads = this.#seats.reads(read, 1);
      const taken = new Map((read[7] ?? []).map((r) => [String(r.identity_key), Number(r.id)]));
      const ids = (read[8] ?? []).map((r) => Number(r.id));
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
      if (writing.length === 0) {
        await client.query('ROLLBACK');
        return { decided, rows: new Map<number, QueryResultRow>(), touches: [] };
      }
      // Pending users hold no seat: a batch of only them alters nothing the snapshot holds.
      const touches = [...new Set(writing.flatMap((d) => d.effects.effects.touches))];
      const [inserted] = await batch(client, [
        q.insertUsers(writing.map((d) => ({ id: d.id, user: d.row }))),
        ...this.#c.effectRows(writing.map((d) => d.effects)),
        ...this.#c.commitStatements(touches),
      ]);
      const rows = new Map((inserted ?? []).map((row) => [Number(row.id), row]));
      return { decided, rows, touches };
    });
    // Answered only once committed: a create told of its user survives a crash.
    this.#c.committed(results.touches);
    return results.decided.map((one) =>
      one.writes
        ? { change: one.create, result: () => userFromRow(results.rows.get(one.id) as UserRow) }
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
