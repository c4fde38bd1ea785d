import type { PoolClient } from 'pg';
import { changeAudit, type CounterMove, netCounterMoves, type SnapshotPart } from '../../domain/changes.js';
import { LicensorError } from '../../domain/errors.js';
import { guardedClaim } from '../../domain/seat-claim-guard.js';
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
  activityFastPath,
  planActivity,
  planApproveUser,
  planCreateUser,
  planDeleteUser,
  planRejectUser,
  planUpdateUser,
  type SeatClaim,
  type UserPlan,
} from '../../domain/user-changes.js';
import { identityKey } from '../../domain/user-identity.js';
import { activeSince, type UserRecord } from '../../domain/users.js';
import { userFromRow, type UserRow } from '../rows.js';
import type { ChangeContext, NewUser, UserPatch } from '../store.js';
import type { PostgresChanges } from './postgres-change.js';
import { PostgresCreateBatches } from './postgres-create-batch.js';
import { guardedUsageRaise, isClaimGuardFailure } from './postgres-claim.js';
import * as q from './postgres-queries.js';
import type { PostgresReads } from './postgres-reads.js';
import type { PostgresSeats } from './postgres-seats.js';
import { batch, sql } from './postgres-sql.js';

/**
 * The user changes of the PostgreSQL store (docs/seats.md): a change of one user locks its row,
 * then the seat lock when it may take a seat. New users asked for together are created in one
 * transaction (docs/seats.md#batched-creates), one alone is guarded (docs/seats.md#guarded-claims).
 * Each change commits with its audit entry and events.
 */
export class PostgresUsers {
  readonly #c: PostgresChanges;
  readonly #seats: PostgresSeats;
  readonly #reads: PostgresReads;
  readonly #batches: PostgresCreateBatches;

  constructor(changes: PostgresChanges, seats: PostgresSeats, reads: PostgresReads) {
    this.#c = changes;
    this.#seats = seats;
    this.#reads = reads;
    this.#batches = new PostgresCreateBatches(changes, seats, (user, ctx) =>
      this.#createGuardedAlone(user, ctx),
    );
  }

  createUser(user: NewUser, ctx: ChangeContext): Promise<UserRecord> {
    return this.#batches.create(user, ctx);
  }

  /** Resolves once the creates asked for so far are answered. */
  drain(): Promise<void> {
    return this.#batches.drain();
  }

  /** A create alone, guarded (docs/seats.md#guarded-claims); undefined when the guard says no. */
  async #createGuardedAlone(user: NewUser, ctx: ChangeContext): Promise<UserRecord | undefined> {
    const guarded = await this.#c.tx((client) => this.#createGuarded(client, user, ctx));
    if (guarded) this.#c.committed(['users']);
    return guarded;
  }

  /**
   * A create decided before the seat lock (docs/seats.md#guarded-claims): its reads under the shared
   * licenses lock only, the domain's guardedClaim(), then the seat lock, the guard and the writes in
   * one round trip, so the seat lock is held for that statement batch and the commit's flush alone.
   * Undefined, with nothing written, when the domain or the guard says to decide under the lock.
   */
  async #createGuarded(
    client: PoolClient,
    user: NewUser,
    ctx: ChangeContext,
  ): Promise<UserRecord | undefined> {
    const since0 = activeSince(ctx.clock.now(), this.#seats.windowDays);
    const key = identityKey(user.iamid, user.userid);
    const [, ...seatReads] = this.#seats.readStatements(since0);
    // An id this process holds, if any, keeps its users numbered in the order it created them.
    const reserved = this.#batches.reservedId();
    const results = await batch(client, [
      'BEGIN',
      q.LOCK_LICENSES_SHARED_SQL,
      ...seatReads,
      sql`SELECT id FROM users WHERE identity_key = ${key}`,
      reserved === undefined
        ? `SELECT nextval(pg_get_serial_sequence('users', 'id')) AS id`
        : sql`SELECT ${reserved}::bigint AS id`,
    ]);
    const reads = this.#seats.reads(results, 1);
    const now = ctx.clock.now();
    const taken: unknown = results[7]?.[0]?.id;
    const plan = planCreateUser(user, taken === undefined ? undefined : Number(taken), now);
    const state = await this.#seats.state(client, reads, since0, now);
    const decided = guardedClaim(state, state.nextChangeAt, now, user.userType);
    if (!decided) {
      await client.query('ROLLBACK');
      return undefined;
    }
    const id = Number(results[8]?.[0]?.id);
    const basis = { since: activeSince(now, this.#seats.windowDays), identityKey: key, ...reads };
    try {
      // The seat lock waited for 2 s at most, as a guarded batch's: the create is dated with the
      // clock read before it (docs/seats.md#guarded-claims).
      const written = await batch(client, [
        q.GUARDED_LOCK_WAIT_SQL,
        q.LOCK_SEATS_SQL,
        guardedUsageRaise(decided, basis),
        q.insertUser(id, plan.next as NonNullable<UserPlan['next']>),
        ...q.setFiredThresholds(reads.fired, decided.claim.firedThresholds),
        ...this.#c.effectStatements(
          {
            audit: changeAudit('user.create', 'user', id, plan.next?.userid ?? null),
            counters: plan.counters,
            touches: ['users'],
          },
          ctx,
          now,
        ),
      ]);
      return userFromRow(written[3]?.[0] as UserRow);
    } catch (err) {
      if (!isClaimGuardFailure(err) && !q.isLockWaitTimeout(err)) throw err;
      await client.query('ROLLBACK');
      return undefined;
    }
  }

  /**
   * A change of one existing user: its row locked, the plan at the instant read after that, and,
   * when the plan needs the seat lock, the lock, the instant read again and the plan again.
   */
  async #changeUser(
    id: number,
    ctx: ChangeContext,
    decide: (user: UserRecord, now: Date) => UserPlan,
  ): Promise<{ user: UserRecord; plan: UserPlan }> {
    if (!Number.isSafeInteger(id)) throw userNotFound(id);
    const result = await this.#c.tx(async (client) => {
      const [, locked] = await batch(client, [
        'BEGIN',
        sql`SELECT ${q.USER_COLUMNS_SQL} FROM users WHERE id = ${id} FOR UPDATE`,
      ]);
      const row = locked?.[0];
      if (!row) throw userNotFound(id);
      const user = userFromRow(row as UserRow);
      let now = ctx.clock.now();
      let plan = decide(user, now);
      let claim: SeatClaim | undefined;
      let fired: number[] = [];
      if (plan.needsSeatLock) {
        const since0 = activeSince(now, this.#seats.windowDays);
        const reads = this.#seats.reads(await batch(client, this.#seats.readStatements(since0)), 0);
        now = ctx.clock.now();
        plan = decide(user, now);
        fired = reads.fired;
        if (plan.takesSeat)
          claim = await this.#seats.claim(client, reads, since0, now, plan.next?.userType ?? user.userType);
      }
      const touches: SnapshotPart[] = plan.counters.length > 0 ? ['users'] : [];
      const written = await batch(client, [
        plan.next === null ? sql`DELETE FROM users WHERE id = ${id}` : q.updateUser(id, plan.next),
        ...this.#c.effectStatements(
          {
            audit: plan.auditAction === null ? null : changeAudit(plan.auditAction, 'user', id, user.userid),
            counters: plan.counters,
            ...(claim && { claim, firedBefore: fired }),
            touches,
          },
          ctx,
          now,
        ),
      ]);
      return { user: plan.next === null ? user : userFromRow(written[0]?.[0] as UserRow), plan, touches };
    });
    this.#c.committed(result.touches);
    return result;
  }

  async recordActivity(id: number, ctx: ChangeContext): Promise<{ user: UserRecord; seatTaken: boolean }> {
    if (!Number.isSafeInteger(id)) throw userNotFound(id);
    // The per-login call: a user well inside the window, already active today, is one statement
    // and one round trip (the domain says which users those are; docs/seats.md).
    const now = ctx.clock.now();
    const fast = activityFastPath(now, this.#seats.windowDays);
    const rows = await this.#reads.query(
      sql`UPDATE users SET last_activity_at = GREATEST(last_activity_at, ${now})
        WHERE id = ${id} AND NOT disabled AND last_activity_at >= ${fast.from} AND last_activity_at < ${fast.until}
        RETURNING ${q.USER_COLUMNS_SQL}`,
    );
    if (rows[0]) return { user: userFromRow(rows[0] as UserRow), seatTaken: false };
    const { user, plan } = await this.#changeUser(id, ctx, (u, at) =>
      planActivity(u, at, this.#seats.windowDays),
    );
    return { user, seatTaken: plan.takesSeat };
  }

  async updateUser(id: number, patch: UserPatch, ctx: ChangeContext): Promise<UserRecord> {
    const { user } = await this.#changeUser(id, ctx, (u, at) =>
      planUpdateUser(u, patch, at, this.#seats.windowDays),
    );
    return user;
  }

  async deleteUser(id: number, ctx: ChangeContext): Promise<UserRecord> {
    const { user } = await this.#changeUser(id, ctx, (u) => planDeleteUser(u));
    return user;
  }

  async approveUser(id: number, ctx: ChangeContext): Promise<UserRecord> {
    const { user } = await this.#changeUser(id, ctx, (u, at) => planApproveUser(u, at));
    return user;
  }

  async rejectUser(id: number, ctx: ChangeContext): Promise<UserRecord> {
    const { user } = await this.#changeUser(id, ctx, (u) => planRejectUser(u));
    return user;
  }

  async disableInactiveUsers(
    inactiveDays: number,
    ctx: ChangeContext,
    options: { dryRun: boolean },
  ): Promise<InactiveUsersDisabled> {
    const write = !options.dryRun;
    const done = await this.#c.tx(async (client) => {
      // The candidates are chosen with the time before the locks, walked in id order by one cursor
      // (one scan, however many chunks), DISABLE_INACTIVE_CHUNK at a time; only the answer's first
      // users and the counters' net moves are kept (docs/users.md#disabling-inactive-users). A dry
      // run reads them all from one snapshot of the database.
      const started = ctx.clock.now();
      const chosenBy = inactiveBefore(started, inactiveDays);
      await batch(client, [
        write ? 'BEGIN' : 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY',
        sql`DECLARE disable_inactive NO SCROLL CURSOR FOR SELECT ${q.USER_COLUMNS_SQL} FROM users
          WHERE NOT disabled AND last_activity_at < ${chosenBy} ORDER BY id` + (write ? ' FOR UPDATE' : ''),
      ]);
      let result = noneDisabled(chosenBy);
      let counters: CounterMove[] = [];
      let now = started;
      for (;;) {
        // FETCH locks the chunk's rows. A login or enable of one of them then waits for this
        // change and finds the user disabled; one that committed first made its user active, and
        // the row is passed over.
        const [rows = []] = await batch(client, [`FETCH ${DISABLE_INACTIVE_CHUNK} FROM disable_inactive`]);
        if (rows.length === 0) break;
        // Read after the chunk's rows are locked (docs/seats.md#time-under-the-lock), never
        // earlier than the start or the chunk before's, so every row chosen is still inactive.
        const read = ctx.clock.now();
        if (read > now) now = read;
        const plan = planDisableInactive(
          rows.map((row) => userFromRow(row as UserRow)),
          now,
          inactiveDays,
          this.#seats.windowDays,
        );
        const named = namedIn(result, plan);
        if (!write || plan.users.length === 0) {
          result = withChunk(result, plan, named);
          continue;
        }
        // Counters are moved once, before COMMIT, in the (day, type) order every change uses: a
        // counter row locked between chunks would wait on a login that waits on a later chunk.
        counters = netCounterMoves([...counters, ...plan.counters]);
        const ids = named.map((user) => String(user.id));
        const statements = [
          q.updateUsers(
            plan.users.map(({ user, plan: one }) => ({
              id: user.id,
              user: one.next as NonNullable<UserPlan['next']>,
            })),
          ),
          sql`SELECT ${q.USER_COLUMNS_SQL} FROM users WHERE id = ANY(${ids}::bigint[]) ORDER BY id`,
          ...this.#c.effectRows([{ effects: { audit: null, audits: plan.audits, touches: [] }, ctx, now }]),
        ];
        // A row and an audit entry per user of the chunk: the time limit grows with them.
        const written = await batch(
          client,
          statements,
          this.#c.timeoutFor(plan.users.length + plan.audits.length),
        );
        result = withChunk(
          result,
          plan,
          (written[1] ?? []).map((row) => userFromRow(row as UserRow)),
        );
      }
      if (!write) {
        await client.query('COMMIT');
        return { result, touches: [] };
      }
      // The snapshot's users part holds the counts: it turns over only when a counter moved.
      const touches: SnapshotPart[] = counters.length > 0 ? ['users'] : [];
      await batch(client, [...q.moveCounters(counters), ...this.#c.commitStatements(touches)]);
      return { result, touches };
    });
    this.#c.committed(done.touches);
    return done.result;
  }
}

function userNotFound(id: number): LicensorError {
  return new LicensorError('USER_NOT_FOUND', `no user with id ${id}`);
}
