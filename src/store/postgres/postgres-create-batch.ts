import { changeAudit } from '../../domain/changes.js';
import type { QueryResultRow } from 'pg';
import { LicensorError } from '../../domain/errors.js';
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
import type { EffectsAt, PostgresChanges } from './postgres-change.js';
import * as q from './postgres-queries.js';
import type { PostgresSeats } from './postgres-seats.js';
import { batch, sql } from './postgres-sql.js';

/** The most creates one transaction commits. */
const MAX_BATCH = 64;

interface QueuedCreate {
  user: NewUser;
  ctx: ChangeContext;
  resolve: (user: UserRecord) => void;
  reject: (err: unknown) => void;
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
 * for while it commits others are decided and committed together, in one transaction under one
 * seat lock, in two round trips: the locks and reads, then every create's writes, audit entry and
 * events and one COMMIT. The domain decides them in the order asked, each from the count read under
 * the lock plus the claims decided before it (afterClaims), so the limit and the thresholds stay as
 * exact as one create at a time. A refused create (a duplicate, no seat) writes nothing and the
 * others go on. When the writes fail for any other reason than a lost connection, each create is
 * tried again alone, so one create's failure is its own; a lost connection fails them all, as it
 * would have failed each. A batch of one create runs as a create alone does (`alone`: guarded,
 * docs/seats.md#guarded-claims). One batch commits at a time in a process; the next one gathers
 * meanwhile.
 */
export class PostgresCreateBatches {
  readonly #c: PostgresChanges;
  readonly #seats: PostgresSeats;
  readonly #alone: (user: NewUser, ctx: ChangeContext) => Promise<UserRecord>;
  readonly #queue: QueuedCreate[] = [];
  #running = false;
  #scheduled = false;

  constructor(
    changes: PostgresChanges,
    seats: PostgresSeats,
    alone: (user: NewUser, ctx: ChangeContext) => Promise<UserRecord>,
  ) {
    this.#c = changes;
    this.#seats = seats;
    this.#alone = alone;
  }

  create(user: NewUser, ctx: ChangeContext): Promise<UserRecord> {
    return new Promise<UserRecord>((resolve, reject) => {
      this.#queue.push({ user, ctx, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      // The end of this turn: the creates asked for in it go together.
      setImmediate(() => {
        this.#scheduled = false;
        this.#start();
      });
    });
  }

  /** Starts a batch of what is queued, unless one is committing: the next one gathers meanwhile. */
  #start(): void {
    if (this.#running || this.#queue.length === 0) return;
    const creates = this.#queue.splice(0, MAX_BATCH);
    this.#running = true;
    void this.#run(creates).finally(() => {
      this.#running = false;
      this.#start();
    });
  }

  async #run(creates: QueuedCreate[]): Promise<void> {
    if (creates.length === 1) {
      const [only] = creates as [QueuedCreate];
      await this.#alone(only.user, only.ctx).then(only.resolve, only.reject);
    } else await this.#together(creates);
  }

  async #together(creates: QueuedCreate[]): Promise<void> {
    try {
      await this.#commit(creates);
    } catch (err) {
      if (err instanceof LicensorError && err.code === 'STORE_UNAVAILABLE') {
        for (const create of creates) create.reject(err);
        return;
      }
      // One create's writes failed the transaction: each goes alone, and fails alone.
      await Promise.all(creates.map((c) => this.#alone(c.user, c.ctx).then(c.resolve, c.reject)));
    }
  }

  /** The batch's transaction; settles each create once it has committed. */
  async #commit(creates: QueuedCreate[]): Promise<void> {
    const keys = creates.map((c) => identityKey(c.user.iamid, c.user.userid));
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
          decided.push({ create, refusal, writes: false });
        }
      }
      const writing = decided.filter((d): d is Writing => d.writes);
      if (writing.length === 0) {
        await client.query('ROLLBACK');
        return { decided, rows: new Map<number, QueryResultRow>() };
      }
      const [inserted] = await batch(client, [
        q.insertUsers(writing.map((d) => ({ id: d.id, user: d.row }))),
        ...this.#c.effectRows(writing.map((d) => d.effects)),
        ...this.#c.commitStatements(['users']),
      ]);
      const rows = new Map((inserted ?? []).map((row) => [Number(row.id), row]));
      return { decided, rows };
    });
    // Answered only once committed: a create told of its user survives a crash.
    if (results.rows.size > 0) this.#c.committed(['users']);
    // Past the commit nothing may throw into #together, which would run the creates again.
    for (const one of results.decided) {
      if (!one.writes) one.create.reject(one.refusal);
      else
        try {
          one.create.resolve(userFromRow(results.rows.get(one.id) as UserRow));
        } catch (err) {
          one.create.reject(err);
        }
    }
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
    const plan = planCreateUser(create.user, takenBy, now);
    const state = afterClaims(await stateAt(now), earlier);
    const claim = claimSeatOrQueue(state, now, create.user.userType);
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
    earlier.push({ claim, claimant: create.user.userType });
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
