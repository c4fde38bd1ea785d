import type pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import { auditEntry, changeAudit, type SnapshotPart, usageRaise } from '../../domain/changes.js';
import { LicensorError } from '../../domain/errors.js';
import type { EventDraft, EventRecord } from '../../domain/events.js';
import {
  licenseChangeEffects,
  licensesAfterAdd,
  planAddLicense,
  storedLicense,
} from '../../domain/license-changes.js';
import type { LicenseRecord } from '../../domain/license.js';
import { guardedClaim } from '../../domain/seat-claim-guard.js';
import { parseSeatSettings, seatSettingsAudit, type SeatSettings } from '../../domain/seat-policy.js';
import {
  activityFastPath,
  claimSeat,
  claimSeatOrQueue,
  planActivity,
  planApproveUser,
  planCreateUser,
  planDeleteUser,
  planPendingUser,
  planRejectUser,
  planUpdateUser,
  type SeatClaim,
  type SeatState,
  type UserPlan,
} from '../../domain/user-changes.js';
import { inactiveBefore, planDisableInactive } from '../../domain/user-bulk.js';
import { identityKey } from '../../domain/user-identity.js';
import { activeSince, type UserRecord, type UserType } from '../../domain/users.js';
import { licenseFromRow, userFromRow, type LicenseRow, type UserRow } from '../rows.js';
import { Snapshot } from '../snapshot.js';
import type {
  AuditEntry,
  AuditQuery,
  AuthFailureCount,
  ChangeContext,
  EventQuery,
  InactiveUsersDisabled,
  NewAuditEntry,
  NewLicense,
  NewToken,
  NewUser,
  Store,
  TokenRecord,
  UsageDay,
  UsageSummary,
  UserPatch,
  UserQuery,
  ReadView,
} from '../store.js';
import { guardedUsageRaise, isClaimGuardFailure } from './postgres-claim.js';
import { Coherence } from './postgres-coherence.js';
import { inTransaction, reportPoolError, translate, withTransaction } from './postgres-connection.js';
import { migrate, POSTGRES_MIGRATIONS } from './postgres-migrations.js';
import { ensurePostgresInstanceIdentity, readPostgresInstanceIdentity } from './postgres-instance.js';
import type { InstanceIdentity } from '../instance-identity.js';
import { PostgresWebhooks } from './postgres-webhooks.js';
import * as q from './postgres-queries.js';
import { PostgresReads } from './postgres-reads.js';
import { batch, sql } from './postgres-sql.js';
import type { PostgresEffects } from './postgres-change.js';
import { createPool, type PostgresStoreOptions } from './postgres-pool.js';
import { PostgresTokens } from './postgres-tokens.js';

export type { PostgresStoreOptions } from './postgres-pool.js';

/** What a seat decision reads in one round trip, under the seat lock. */
interface SeatReads {
  counts: QueryResultRow[];
  soon: QueryResultRow[];
  fired: number[];
  licensesGen: string;
  settings: SeatSettings;
}

/**
 * The multi-instance store: any number of Licensor processes share one PostgreSQL database.
 *
 * Concurrency, across every process (READ COMMITTED; docs/seats.md):
 * - A change that can raise the active count or change the licenses takes LOCK_SEATS, one
 *   advisory lock, and holds it to its commit; it reads the clock only once it holds the lock. A
 *   change of one user first locks the user's row, then LOCK_SEATS: one order, no deadlock.
 * - A change that cannot raise the count (activity of a user well inside the window, disable,
 *   delete) never waits for LOCK_SEATS: activity is the per-login hot path.
 * - Each change is sent in as few round trips as it can: its reads in one batch, its writes, audit
 *   entry, events and COMMIT in another (postgres-sql.ts).
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly webhooks: PostgresWebhooks;
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #windowDays: number;
  readonly #snapshot: Snapshot;
  readonly #coherence: Coherence;
  readonly #reads: PostgresReads;
  readonly #tokens: PostgresTokens;
  /** Live licenses as of a generation; seat decisions use them while the generation holds. */
  #live: { gen: string; licenses: LicenseRecord[] } | undefined;
  /**
   * This instance's license changes by the generation they advanced to, from just before their
   * COMMIT is sent until this process has heard how it went. Another change of this instance can
   * read that generation under the lock before that (its reply may be handled first): it then waits
   * for the outcome instead of reading every license again.
   */
  readonly #pendingLive = new Map<string, { licenses: LicenseRecord[]; committed: Promise<boolean> }>();
  #closing: Promise<void> | undefined;

  private constructor(
    pool: pg.Pool,
    clientConfig: pg.ClientConfig,
    schema: string,
    options: PostgresStoreOptions,
  ) {
    this.#pool = pool;
    this.#schema = schema;
    this.#windowDays = options.activityWindowDays ?? 365;
    this.#reads = new PostgresReads(pool);
    this.webhooks = new PostgresWebhooks(pool);
    this.#snapshot = new Snapshot(
      {
        licenses: () => this.#tx((client) => this.#loadLicenses(client)),
        tokens: async () => q.tokensFromRows(await this.#reads.query(q.LIVE_TOKENS_SQL)),
        activity: (firstDay) => this.#tx((client) => q.loadActivityCounts(client, firstDay)),
        settings: async () => q.seatSettingsFromRows(await this.#reads.query(q.SEAT_SETTINGS_SQL)),
      },
      this.#windowDays,
    );
    this.#coherence = new Coherence({
      clientConfig,
      pool,
      schema,
      snapshot: this.#snapshot,
      onError: options.onPoolError ?? reportPoolError,
    });
    this.#tokens = new PostgresTokens({
      schema,
      tx: (work) => this.#tx(work),
      effectStatements: (effects, ctx, now) => this.#effectStatements(effects, ctx, now),
      committed: (touches) => this.#committed(touches),
    });
  }

  /**
   * Connects, creates the schema when asked and missing, applies pending migrations and starts
   * listening for other instances' changes. A server that cannot be reached is STORE_UNAVAILABLE; a
   * database written by a newer Licensor is refused.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const { schema } = options;
    const { pool, clientConfig } = createPool(options);
    let store: PostgresStore | undefined;
    try {
      const current = await inTransaction(pool, async (client) => {
        await migrate(client, schema, POSTGRES_MIGRATIONS);
        const { rows } = await client.query<{ schema: string }>('SELECT current_schema() AS schema');
        return rows[0]?.schema ?? 'public';
      });
      await inTransaction(pool, (client) => ensurePostgresInstanceIdentity(client, new Date()));
      store = new PostgresStore(pool, clientConfig, current, options);
      await store.#coherence.start();
    } catch (err) {
      if (store) await store.#coherence.close();
      await pool.end().catch(() => undefined);
      throw translate(err);
    }
    return store;
  }

  async #tx<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    try {
      return await withTransaction(this.#pool, work);
    } catch (err) {
      throw translate(err);
    }
  }

  /** The live licenses under a shared licenses lock, so no license change is half done meanwhile. */
  async #loadLicenses(client: PoolClient): Promise<LicenseRecord[]> {
    const [, , gens] = await batch(client, ['BEGIN', q.LOCK_LICENSES_SHARED_SQL, q.LICENSES_GEN_SQL]);
    const licenses = await this.#licensesAt(client, String(gens?.[0]?.gen));
    await client.query('COMMIT');
    return licenses;
  }

  /** The live licenses at the generation a seat decision read under the lock. */
  async #licensesAt(client: PoolClient, gen: string): Promise<LicenseRecord[]> {
    if (this.#live?.gen === gen) return this.#live.licenses;
    const pending = this.#pendingLive.get(gen);
    if (pending && (await pending.committed)) return pending.licenses;
    const [rows] = await batch(client, [q.LIVE_LICENSES_SQL]);
    const licenses = q.licensesFromRows(rows ?? []);
    this.#live = { gen, licenses };
    return licenses;
  }

  /** The reads of a seat decision, batched after `head` (BEGIN, a row lock...) and the seat lock. */
  #seatReadStatements(since: Date): string[] {
    return [
      q.LOCK_SEATS_SQL,
      ...q.seatCountStatements(since),
      q.FIRED_THRESHOLDS_SQL,
      q.LICENSES_GEN_SQL,
      q.SEAT_SETTINGS_SQL,
    ];
  }

  #seatReads(results: QueryResultRow[][], at: number): SeatReads {
    return {
      counts: results[at + 1] ?? [],
      soon: results[at + 2] ?? [],
      fired: (results[at + 3] ?? []).map((r) => Number(r.percent)),
      licensesGen: String(results[at + 4]?.[0]?.gen),
      settings: q.seatSettingsFromRows(results[at + 5] ?? []),
    };
  }

  /** Active users by type at `now`, from reads made at `since` under the lock, counting again if needed. */
  async #countByTypeAt(
    client: PoolClient,
    reads: SeatReads,
    since: Date,
    now: Date,
  ): Promise<Record<UserType, number>> {
    const later = activeSince(now, this.#windowDays);
    const n = q.seatCountAt(reads, since, later);
    if (n !== undefined) return n;
    const [counts, soon] = await batch(client, q.seatCountStatements(later));
    return q.seatCountAt({ counts: counts ?? [], soon: soon ?? [] }, later, later) as Record<
      UserType,
      number
    >;
  }

  async #countAt(client: PoolClient, reads: SeatReads, since: Date, now: Date): Promise<number> {
    const n = await this.#countByTypeAt(client, reads, since, now);
    return n.dataConsumer + n.policyOwner;
  }

  /** What a seat decision reads at `now` (read after the lock was taken), from the reads. */
  async #seatState(client: PoolClient, reads: SeatReads, since: Date, now: Date): Promise<SeatState> {
    const licenses = await this.#licensesAt(client, reads.licensesGen);
    const activeByType = await this.#countByTypeAt(client, reads, since, now);
    return {
      activeUserCount: activeByType.dataConsumer + activeByType.policyOwner,
      activeByType,
      effective: this.#snapshot.effectiveAt(licenses, now),
      settings: reads.settings,
      firedThresholds: reads.fired,
    };
  }

  /** Takes a seat at `now` (read after the lock was taken) from the reads, or refuses. */
  async #claim(
    client: PoolClient,
    reads: SeatReads,
    since: Date,
    now: Date,
    claimant: UserType,
  ): Promise<SeatClaim> {
    return claimSeat(await this.#seatState(client, reads, since, now), now, claimant);
  }

  /** The statements that commit a change's effects, the announcements of what it altered, COMMIT. */
  #effectStatements(effects: PostgresEffects, ctx: ChangeContext, now: Date): string[] {
    const { claim } = effects;
    return [
      ...q.moveCounters(effects.counters ?? []),
      ...(claim
        ? [
            q.raiseUsage(claim.usage),
            ...q.setFiredThresholds(effects.firedBefore ?? [], claim.firedThresholds),
          ]
        : []),
      ...[...(effects.events ?? []), ...(claim?.events ?? [])].map((e) => q.insertEvent(e, now)),
      ...(effects.audit ? [q.insertAudit(auditEntry(effects.audit, ctx.actor, now))] : []),
      ...(effects.audits ?? []).map((draft) => q.insertAudit(auditEntry(draft, ctx.actor, now))),
      ...effects.touches.flatMap((part) => q.announce(this.#schema, part)),
      'COMMIT',
    ];
  }

  /** After a commit: this instance's snapshot need not wait for its own notification. */
  #committed(touches: readonly SnapshotPart[]): void {
    for (const part of touches) this.#snapshot.invalidate(part);
  }

  /**
   * The rest of a license change, once its row is planned: its audit entry and events (decided by
   * the domain at `now`, with the count read under the lock), its writes, and the commit.
   */
  async #commitLicenseChange(
    client: PoolClient,
    ctx: ChangeContext,
    at: { reads: SeatReads; since0: Date; now: Date; gen: string },
    change: {
      kind: 'added' | 'deleted';
      license: LicenseRecord;
      liveBefore: LicenseRecord[];
      liveAfter: LicenseRecord[];
      writes: string[];
    },
  ): Promise<QueryResultRow[][]> {
    const { reads, since0, now, gen } = at;
    const effects = licenseChangeEffects(
      change.kind,
      change.license,
      {
        liveBefore: change.liveBefore,
        liveAfter: change.liveAfter,
        activeUserCount: await this.#countAt(client, reads, since0, now),
        firedThresholds: reads.fired,
      },
      now,
      (licenses) => this.#snapshot.effectiveAt(licenses, now),
    );
    return this.#commitLicenses(client, gen, change.liveAfter, [
      ...change.writes,
      ...q.setFiredThresholds(reads.fired, effects.firedThresholds),
      ...this.#effectStatements({ audit: effects.audit, events: effects.events, touches: [] }, ctx, now),
    ]);
  }

  /**
   * Sends a license change's writes and COMMIT (the last of `statements`), announcing the
   * licenses; `liveAfter` becomes the live licenses at `gen` once it commits.
   */
  async #commitLicenses(
    client: PoolClient,
    gen: string,
    liveAfter: LicenseRecord[],
    statements: string[],
  ): Promise<QueryResultRow[][]> {
    let settle: (committed: boolean) => void = () => undefined;
    const committed = new Promise<boolean>((resolve) => (settle = resolve));
    this.#pendingLive.set(gen, { licenses: liveAfter, committed });
    const commit = statements.pop() as string;
    try {
      const written = await batch(client, [...statements, q.notifyChange(this.#schema, 'licenses'), commit]);
      this.#live = { gen, licenses: liveAfter };
      settle(true);
      return written;
    } catch (err) {
      settle(false);
      throw err;
    } finally {
      this.#pendingLive.delete(gen);
    }
  }

  async addLicense(license: NewLicense, ctx: ChangeContext): Promise<LicenseRecord> {
    const result = await this.#tx(async (client) => {
      const since0 = activeSince(ctx.clock.now(), this.#windowDays);
      const results = await batch(client, [
        'BEGIN',
        q.LOCK_LICENSES_SQL,
        ...this.#seatReadStatements(since0),
        sql`SELECT ${q.LICENSE_COLUMNS_SQL} FROM licenses WHERE uuid = ${license.claims.uuid} ORDER BY id`,
        `SELECT nextval(pg_get_serial_sequence('licenses', 'id')) AS id`,
        q.advanceGeneration('licenses'),
      ]);
      const reads = this.#seatReads(results, 2);
      const now = ctx.clock.now();
      const { supersede } = planAddLicense(license, q.licensesFromRows(results[8] ?? []));
      const id = Number(results[9]?.[0]?.id);
      const gen = String(results[10]?.[0]?.gen);
      const liveBefore = await this.#licensesAt(client, reads.licensesGen);
      const added = storedLicense(license, id, now);
      const liveAfter = licensesAfterAdd(liveBefore, added, supersede, now);
      const written = await this.#commitLicenseChange(
        client,
        ctx,
        { reads, since0, now, gen },
        {
          kind: 'added',
          license: added,
          liveBefore,
          liveAfter,
          writes: [
            q.insertLicense(id, license, now),
            ...(supersede.length > 0 ? [q.invalidateLicenses(supersede, now)] : []),
          ],
        },
      );
      return licenseFromRow(written[0]?.[0] as LicenseRow);
    });
    this.#committed(['licenses']);
    return result;
  }

  async listLicenses(options: { includeDeleted?: boolean } = {}): Promise<LicenseRecord[]> {
    if (!options.includeDeleted) return [...(await this.#snapshot.licenses())];
    return q.licensesFromRows(
      await this.#reads.query(`SELECT ${q.LICENSE_COLUMNS} FROM licenses ORDER BY id`),
    );
  }

  async getLicense(id: number): Promise<LicenseRecord | undefined> {
    // A bigint column refuses 1.5 with an error where SQLite finds nothing; answer as SQLite does.
    if (!Number.isSafeInteger(id)) return undefined;
    const rows = await this.#reads.query(sql`SELECT ${q.LICENSE_COLUMNS_SQL} FROM licenses WHERE id = ${id}`);
    return rows[0] && licenseFromRow(rows[0] as LicenseRow);
  }

  async deleteLicense(id: number, ctx: ChangeContext): Promise<LicenseRecord> {
    const notFound = (): LicensorError => new LicensorError('LICENSE_NOT_FOUND', `no license with id ${id}`);
    if (!Number.isSafeInteger(id)) throw notFound();
    const result = await this.#tx(async (client) => {
      const since0 = activeSince(ctx.clock.now(), this.#windowDays);
      const results = await batch(client, [
        'BEGIN',
        q.LOCK_LICENSES_SQL,
        ...this.#seatReadStatements(since0),
        sql`SELECT ${q.LICENSE_COLUMNS_SQL} FROM licenses WHERE id = ${id}`,
        q.advanceGeneration('licenses'),
      ]);
      const reads = this.#seatReads(results, 2);
      const gen = String(results[9]?.[0]?.gen);
      const now = ctx.clock.now();
      const existing = results[8]?.[0] && licenseFromRow(results[8][0] as LicenseRow);
      if (!existing || existing.deleted) throw notFound();
      const liveBefore = await this.#licensesAt(client, reads.licensesGen);
      const deleted: LicenseRecord = { ...existing, deleted: true, updatedAt: now };
      const liveAfter = liveBefore.filter((l) => l.id !== id);
      const written = await this.#commitLicenseChange(
        client,
        ctx,
        { reads, since0, now, gen },
        {
          kind: 'deleted',
          license: deleted,
          liveBefore,
          liveAfter,
          writes: [
            sql`UPDATE licenses SET deleted = true, updated_at = ${now} WHERE id = ${id} RETURNING ${q.LICENSE_COLUMNS_SQL}`,
          ],
        },
      );
      return licenseFromRow(written[0]?.[0] as LicenseRow);
    });
    this.#committed(['licenses']);
    return result;
  }

  currentView(now: Date): ReadView | undefined {
    return this.#snapshot.currentView(now);
  }

  currentToken(hash: string): TokenRecord | null | undefined {
    return this.#snapshot.currentToken(hash);
  }

  async readView(now: Date): Promise<ReadView> {
    try {
      return await this.#snapshot.view(now);
    } catch (err) {
      throw translate(err);
    }
  }

  async createUser(user: NewUser, ctx: ChangeContext): Promise<UserRecord> {
    const guarded = await this.#tx((client) => this.#createGuarded(client, user, ctx));
    if (guarded) {
      this.#committed(['users']);
      return guarded;
    }
    const created = await this.#tx(async (client) => {
      const since0 = activeSince(ctx.clock.now(), this.#windowDays);
      // Every insert into users holds LOCK_SEATS, so the name check under it sees any insert of
      // the same user that committed while this one waited; the unique constraint is the backstop.
      const results = await batch(client, [
        'BEGIN',
        ...this.#seatReadStatements(since0),
        sql`SELECT id FROM users WHERE identity_key = ${identityKey(user.iamid, user.userid)}`,
        `SELECT nextval(pg_get_serial_sequence('users', 'id')) AS id`,
      ]);
      const reads = this.#seatReads(results, 1);
      const now = ctx.clock.now();
      const taken: unknown = results[7]?.[0]?.id;
      const plan = planCreateUser(user, taken === undefined ? undefined : Number(taken), now);
      const state = await this.#seatState(client, reads, since0, now);
      const claim = claimSeatOrQueue(state, now, user.userType);
      const id = Number(results[8]?.[0]?.id);
      if (claim === 'queue') {
        const pending = planPendingUser(plan, state);
        const queued = await batch(client, [
          q.insertUser(id, pending.next),
          ...this.#effectStatements(
            {
              audit: changeAudit('user.pending', 'user', id, user.userid),
              events: pending.events,
              touches: [],
            },
            ctx,
            now,
          ),
        ]);
        return userFromRow(queued[0]?.[0] as UserRow);
      }
      const written = await batch(client, [
        q.insertUser(id, plan.next as NonNullable<UserPlan['next']>),
        ...this.#effectStatements(
          {
            audit: changeAudit('user.create', 'user', id, plan.next?.userid ?? null),
            counters: plan.counters,
            claim,
            firedBefore: reads.fired,
            touches: ['users'],
          },
          ctx,
          now,
        ),
      ]);
      return userFromRow(written[0]?.[0] as UserRow);
    });
    this.#committed(['users']);
    return created;
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
    const since0 = activeSince(ctx.clock.now(), this.#windowDays);
    const key = identityKey(user.iamid, user.userid);
    const [, ...seatReads] = this.#seatReadStatements(since0);
    const results = await batch(client, [
      'BEGIN',
      q.LOCK_LICENSES_SHARED_SQL,
      ...seatReads,
      sql`SELECT id FROM users WHERE identity_key = ${key}`,
      `SELECT nextval(pg_get_serial_sequence('users', 'id')) AS id`,
    ]);
    const reads = this.#seatReads(results, 1);
    const now = ctx.clock.now();
    const taken: unknown = results[7]?.[0]?.id;
    const plan = planCreateUser(user, taken === undefined ? undefined : Number(taken), now);
    const state = await this.#seatState(client, reads, since0, now);
    const decided = guardedClaim(
      state,
      await this.#licensesAt(client, reads.licensesGen),
      now,
      user.userType,
    );
    if (!decided) {
      await client.query('ROLLBACK');
      return undefined;
    }
    const id = Number(results[8]?.[0]?.id);
    const basis = { since: activeSince(now, this.#windowDays), identityKey: key, ...reads };
    try {
      const written = await batch(client, [
        q.LOCK_SEATS_SQL,
        guardedUsageRaise(decided, basis),
        q.insertUser(id, plan.next as NonNullable<UserPlan['next']>),
        ...q.setFiredThresholds(reads.fired, decided.claim.firedThresholds),
        ...this.#effectStatements(
          {
            audit: changeAudit('user.create', 'user', id, plan.next?.userid ?? null),
            counters: plan.counters,
            touches: ['users'],
          },
          ctx,
          now,
        ),
      ]);
      return userFromRow(written[2]?.[0] as UserRow);
    } catch (err) {
      if (!isClaimGuardFailure(err)) throw err;
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
    write: (plan: UserPlan) => string,
  ): Promise<{ user: UserRecord; plan: UserPlan }> {
    if (!Number.isSafeInteger(id)) throw userNotFound(id);
    const result = await this.#tx(async (client) => {
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
        const since0 = activeSince(now, this.#windowDays);
        const reads = this.#seatReads(await batch(client, this.#seatReadStatements(since0)), 0);
        now = ctx.clock.now();
        plan = decide(user, now);
        fired = reads.fired;
        if (plan.takesSeat)
          claim = await this.#claim(client, reads, since0, now, plan.next?.userType ?? user.userType);
      }
      const touches: SnapshotPart[] = plan.counters.length > 0 ? ['users'] : [];
      const written = await batch(client, [
        write(plan),
        ...this.#effectStatements(
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
    this.#committed(result.touches);
    return result;
  }

  async recordActivity(id: number, ctx: ChangeContext): Promise<{ user: UserRecord; seatTaken: boolean }> {
    if (!Number.isSafeInteger(id)) throw userNotFound(id);
    // The per-login call: a user well inside the window, already active today, is one statement
    // and one round trip (the domain says which users those are; docs/seats.md).
    const now = ctx.clock.now();
    const fast = activityFastPath(now, this.#windowDays);
    const rows = await this.#reads.query(
      sql`UPDATE users SET last_activity_at = ${now}
        WHERE id = ${id} AND NOT disabled AND last_activity_at >= ${fast.from} AND last_activity_at < ${fast.until}
        RETURNING ${q.USER_COLUMNS_SQL}`,
    );
    if (rows[0]) return { user: userFromRow(rows[0] as UserRow), seatTaken: false };
    const { user, plan } = await this.#changeUser(
      id,
      ctx,
      (u, at) => planActivity(u, at, this.#windowDays),
      (plan) => q.updateUser(id, plan.next as NonNullable<UserPlan['next']>),
    );
    return { user, seatTaken: plan.takesSeat };
  }

  async updateUser(id: number, patch: UserPatch, ctx: ChangeContext): Promise<UserRecord> {
    const { user } = await this.#changeUser(
      id,
      ctx,
      (u, at) => planUpdateUser(u, patch, at, this.#windowDays),
      (plan) => q.updateUser(id, plan.next as NonNullable<UserPlan['next']>),
    );
    return user;
  }

  async deleteUser(id: number, ctx: ChangeContext): Promise<UserRecord> {
    const { user } = await this.#changeUser(
      id,
      ctx,
      (u) => planDeleteUser(u),
      () => sql`DELETE FROM users WHERE id = ${id}`,
    );
    return user;
  }

  async approveUser(id: number, ctx: ChangeContext): Promise<UserRecord> {
    const { user } = await this.#changeUser(
      id,
      ctx,
      (u, at) => planApproveUser(u, at),
      (plan) => q.updateUser(id, plan.next as NonNullable<UserPlan['next']>),
    );
    return user;
  }

  async rejectUser(id: number, ctx: ChangeContext): Promise<UserRecord> {
    const { user } = await this.#changeUser(
      id,
      ctx,
      (u) => planRejectUser(u),
      () => sql`DELETE FROM users WHERE id = ${id}`,
    );
    return user;
  }

  async getSeatSettings(): Promise<SeatSettings> {
    try {
      return await this.#snapshot.settings();
    } catch (err) {
      throw translate(err);
    }
  }

  async setSeatSettings(settings: SeatSettings, ctx: ChangeContext): Promise<SeatSettings> {
    const next = parseSeatSettings(settings);
    await this.#tx(async (client) => {
      // Under the seat lock: a seat decision reads the settings under it, whole, before or after.
      await batch(client, ['BEGIN', q.LOCK_SEATS_SQL]);
      const now = ctx.clock.now();
      await batch(client, [
        q.setSeatSettings(next),
        ...this.#effectStatements({ audit: seatSettingsAudit(), touches: ['settings'] }, ctx, now),
      ]);
    });
    this.#committed(['settings']);
    return next;
  }

  async disableInactiveUsers(
    inactiveDays: number,
    ctx: ChangeContext,
    options: { dryRun: boolean },
  ): Promise<InactiveUsersDisabled> {
    if (options.dryRun) {
      const now = ctx.clock.now();
      const candidates = await this.#reads.usersInactiveBefore(inactiveBefore(now, inactiveDays));
      const plan = planDisableInactive(candidates, now, inactiveDays, this.#windowDays);
      return { ...plan, users: plan.users.map((u) => u.user) };
    }
    const result = await this.#tx(async (client) => {
      // The candidates' rows locked: a concurrent login or enable of one of them waits for this
      // change, then finds the user disabled (or, having committed first, keeps it out of it).
      const now = ctx.clock.now();
      const [, rows] = await batch(client, [
        'BEGIN',
        sql`SELECT ${q.USER_COLUMNS_SQL} FROM users
          WHERE NOT disabled AND last_activity_at < ${inactiveBefore(now, inactiveDays)}
          ORDER BY id FOR UPDATE`,
      ]);
      const plan = planDisableInactive(
        (rows ?? []).map((row) => userFromRow(row as UserRow)),
        now,
        inactiveDays,
        this.#windowDays,
      );
      const touches: SnapshotPart[] = plan.counters.length > 0 ? ['users'] : [];
      const written = await batch(client, [
        ...plan.users.map(({ user, plan: one }) =>
          q.updateUser(user.id, one.next as NonNullable<UserPlan['next']>),
        ),
        ...this.#effectStatements(
          { audit: null, audits: plan.audits, counters: plan.counters, touches },
          ctx,
          now,
        ),
      ]);
      const users = plan.users.map((_, i) => userFromRow(written[i]?.[0] as UserRow));
      return { inactiveBefore: plan.inactiveBefore, seatsFreed: plan.seatsFreed, users, touches };
    });
    this.#committed(result.touches);
    return { inactiveBefore: result.inactiveBefore, seatsFreed: result.seatsFreed, users: result.users };
  }

  getUser(id: number): Promise<UserRecord | undefined> {
    return this.#reads.getUser(id);
  }

  listUsers(query: UserQuery): Promise<{ users: UserRecord[]; total: number }> {
    return this.#reads.listUsers(query);
  }

  usageSummary(since: Date): Promise<UsageSummary> {
    return this.#reads.usageSummary(since);
  }

  async recordUsage(now: Date): Promise<UsageDay> {
    // No seat lock: the peak only ever rises (GREATEST), so racing a seat taker loses nothing.
    const { effective, activeByType } = await this.readView(now);
    return this.#reads.raiseUsage(usageRaise(now, activeByType, effective));
  }

  usageHistory(fromDay: string, toDay: string): Promise<UsageDay[]> {
    return this.#reads.usageHistory(fromDay, toDay);
  }

  createToken(token: NewToken, ctx: ChangeContext): Promise<TokenRecord> {
    return this.#tokens.createToken(token, ctx);
  }

  listTokens(): Promise<TokenRecord[]> {
    return this.#reads.listTokens();
  }

  revokeToken(id: number, ctx: ChangeContext): Promise<TokenRecord> {
    return this.#tokens.revokeToken(id, ctx);
  }

  recordRefusal(entry: NewAuditEntry, events: readonly EventDraft[]): Promise<void> {
    return this.#tx(async (client) => {
      await batch(client, [
        'BEGIN',
        ...events.map((e) => q.insertEvent(e, entry.at)),
        q.insertAudit(entry),
        'COMMIT',
      ]);
    });
  }

  recordAuthFailures(counts: readonly AuthFailureCount[]): Promise<void> {
    if (counts.length === 0) return Promise.resolve();
    return this.#tx(async (client) => {
      await batch(client, ['BEGIN', ...counts.map(q.addAuthFailures), 'COMMIT']);
    });
  }

  listAudit(query: AuditQuery): Promise<{ entries: AuditEntry[]; total: number }> {
    return this.#reads.listAudit(query);
  }

  listAuthFailures(page: {
    offset: number;
    size: number;
  }): Promise<{ entries: AuthFailureCount[]; total: number }> {
    return this.#reads.listAuthFailures(page);
  }

  listEvents(query: EventQuery): Promise<{ events: EventRecord[]; total: number }> {
    return this.#reads.listEvents(query);
  }

  async findTokenByHash(hash: string): Promise<TokenRecord | undefined> {
    try {
      return await this.#snapshot.token(hash);
    } catch (err) {
      throw translate(err);
    }
  }

  setBootstrapToken(hash: string, now: Date): Promise<TokenRecord> {
    return this.#tokens.setBootstrapToken(hash, now);
  }

  createBootstrapTokenIfNone(hash: string, now: Date): Promise<boolean> {
    return this.#tokens.createBootstrapTokenIfNone(hash, now);
  }

  instanceIdentity(): Promise<InstanceIdentity> {
    return this.#tx(readPostgresInstanceIdentity);
  }

  async ping(): Promise<void> {
    await this.#reads.query('SELECT 1');
  }

  /** Ends the listener and the pool after its connections are returned; idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#coherence.close().then(() => this.#pool.end());
    return this.#closing;
  }
}

function userNotFound(id: number): LicensorError {
  return new LicensorError('USER_NOT_FOUND', `no user with id ${id}`);
}
