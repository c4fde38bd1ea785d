import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { PoolClient } from 'pg';
import { auditEntry, type SnapshotPart, usageRaise } from '../../domain/changes.js';
import type { EventDraft } from '../../domain/events.js';
import type { LicenseRecord } from '../../domain/license.js';
import { parseSeatSettings, seatSettingsAudit, type SeatSettings } from '../../domain/seat-policy.js';
import { licenseFromRow, type LicenseRow } from '../rows.js';
import { ComposedStore, storeClosed } from '../composed-store.js';
import { Snapshot } from '../snapshot.js';
import type {
  AuthFailureCount,
  ChangeContext,
  NewAuditEntry,
  Store,
  TokenRecord,
  UsageDay,
  UsageSummary,
  ReadView,
} from '../store.js';
import { Coherence } from './postgres-coherence.js';
import { inTransaction, reportPoolError, translate, withTransaction } from './postgres-connection.js';
import { migrate, POSTGRES_MIGRATIONS } from './postgres-migrations.js';
import { ensurePostgresInstanceIdentity, readPostgresInstanceIdentity } from './postgres-instance.js';
import type { InstanceIdentity } from '../instance-identity.js';
import { PostgresWebhooks } from './postgres-webhooks.js';
import * as q from './postgres-queries.js';
import { PostgresReads } from './postgres-reads.js';
import { batch, sql } from './postgres-sql.js';
import { PER_ROW_MS, type EffectsAt, type PostgresChanges, type PostgresEffects } from './postgres-change.js';
import { createPool, setupPool, type PostgresStoreOptions } from './postgres-pool.js';
import { PostgresTokens } from './postgres-tokens.js';
import { PostgresSeats } from './postgres-seats.js';
import { PostgresLicenses } from './postgres-licenses.js';
import { PostgresUsers } from './postgres-users.js';

export type { PostgresStoreOptions } from './postgres-pool.js';

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
export class PostgresStore extends ComposedStore implements Store {
  readonly kind = 'postgres';
  readonly webhooks: PostgresWebhooks;
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #windowDays: number;
  readonly #snapshot: Snapshot;
  readonly #coherence: Coherence;
  readonly #reads: PostgresReads;
  readonly #seats: PostgresSeats;
  /** The modules whose changes wait in batches: close() lets them answer first. */
  readonly #batches: readonly { drain(): Promise<void> }[];
  #closing: Promise<void> | undefined;

  private constructor(
    { pool, clientConfig, queryTimeoutMs }: ReturnType<typeof createPool>,
    schema: string,
    options: PostgresStoreOptions,
  ) {
    super();
    this.#pool = pool;
    this.#schema = schema;
    this.#windowDays = options.activityWindowDays ?? 365;
    this.#reads = new PostgresReads(pool);
    this.webhooks = new PostgresWebhooks(pool);
    this.#snapshot = new Snapshot(
      {
        licenses: () => this.#tx((client) => this.#seats.loadLicenses(client)),
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
    const changes: PostgresChanges = {
      schema,
      tx: (work) => this.#tx(work),
      effectStatements: (effects, ctx, now) => this.#effectStatements(effects, ctx, now),
      effectRows: (changes) => this.#effectRows(changes),
      commitStatements: (touches) => this.#commitStatements(touches),
      timeoutFor: (rows) => queryTimeoutMs + rows * PER_ROW_MS,
      committed: (touches) => this.#committed(touches),
    };
    this.#seats = new PostgresSeats(this.#snapshot, schema, this.#windowDays);
    const licenses = new PostgresLicenses(changes, this.#seats);
    const users = new PostgresUsers(changes, this.#seats, this.#reads);
    this.#batches = [licenses, users];
    this.compose({ licenses, users, tokens: new PostgresTokens(changes), reads: this.#reads });
  }

  /**
   * Connects, creates the schema when asked and missing, applies pending migrations and starts
   * listening for other instances' changes. A server that cannot be reached is STORE_UNAVAILABLE; a
   * database written by a newer Licensor is refused.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const { schema } = options;
    const connection = createPool(options);
    const { pool, clientConfig } = connection;
    let store: PostgresStore | undefined;
    // Migrations on a connection of their own, without the pool's query timeout: a backfill over
    // many rows may take longer, and nothing else waits for it.
    const setup = setupPool(clientConfig);
    try {
      const current = await inTransaction(setup, async (client) => {
        await migrate(client, schema, POSTGRES_MIGRATIONS);
        const { rows } = await client.query<{ schema: string }>('SELECT current_schema() AS schema');
        return rows[0]?.schema ?? 'public';
      }).finally(() => setup.end());
      await inTransaction(pool, (client) => ensurePostgresInstanceIdentity(client, new Date()));
      store = new PostgresStore(connection, current, options);
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

  /** The statements that commit a change's effects, the announcements of what it altered, COMMIT. */
  #effectStatements(effects: PostgresEffects, ctx: ChangeContext, now: Date): string[] {
    return [...this.#effectRows([{ effects, ctx, now }]), ...this.#commitStatements(effects.touches)];
  }

  /**
   * The counters, usage, thresholds, events and audit entries of changes committed together, in
   * their order, without the commit: a few statements however many changes there are (the counter
   * moves summed, the usage raises merged, the audit entries in one insert).
   */
  #effectRows(changes: readonly EffectsAt[]): string[] {
    const claims = changes.flatMap(({ effects: { claim, firedBefore = [] } }) =>
      claim ? [{ claim, firedBefore }] : [],
    );
    return [
      ...q.moveCounters(changes.flatMap(({ effects }) => effects.counters ?? [])),
      ...q.raiseUsages(claims.map(({ claim }) => claim.usage)),
      ...claims.flatMap(({ claim, firedBefore }) => q.setFiredThresholds(firedBefore, claim.firedThresholds)),
      ...q.insertEvents(
        changes.flatMap(({ effects, now }) =>
          [...(effects.events ?? []), ...(effects.claim?.events ?? [])].map((event) => ({ event, now })),
        ),
      ),
      ...q.insertAudits(
        changes.flatMap(({ effects, ctx, now }) =>
          [...(effects.audit ? [effects.audit] : []), ...(effects.audits ?? [])].map((draft) =>
            auditEntry(draft, ctx.actor, now),
          ),
        ),
      ),
    ];
  }

  /** The announcements of the parts a transaction altered, then COMMIT. */
  #commitStatements(touches: readonly SnapshotPart[]): string[] {
    return [...touches.flatMap((part) => q.announce(this.#schema, part)), 'COMMIT'];
  }

  /** After a commit: this instance's snapshot need not wait for its own notification. */
  #committed(touches: readonly SnapshotPart[]): void {
    for (const part of touches) this.#snapshot.invalidate(part);
  }

  /**
   * Once close() is asked, the store takes nothing new: the changes asked before are answered
   * (close() drains them), every later call is refused as on SQLite, and the snapshot answers no
   * more, its listener closing so that what it holds could go stale unseen.
   */
  protected get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** For this class's own entry points (the modules' are checked by ComposedStore). */
  #checkOpen(): void {
    if (this.closed) throw storeClosed();
  }

  async listLicenses(options: { includeDeleted?: boolean } = {}): Promise<readonly LicenseRecord[]> {
    this.#checkOpen();
    if (!options.includeDeleted) return (await this.#snapshot.licenses()).array();
    return q.licensesFromRows(
      await this.#reads.query(`SELECT ${q.LICENSE_COLUMNS} FROM licenses ORDER BY id`),
    );
  }

  async getLicense(id: number): Promise<LicenseRecord | undefined> {
    this.#checkOpen();
    // A bigint column refuses 1.5 with an error where SQLite finds nothing; answer as SQLite does.
    if (!Number.isSafeInteger(id)) return undefined;
    const rows = await this.#reads.query(sql`SELECT ${q.LICENSE_COLUMNS_SQL} FROM licenses WHERE id = ${id}`);
    return rows[0] && licenseFromRow(rows[0] as LicenseRow);
  }

  currentView(now: Date): ReadView | undefined {
    return this.closed ? undefined : this.#snapshot.currentView(now);
  }

  currentToken(hash: string): TokenRecord | null | undefined {
    return this.closed ? undefined : this.#snapshot.currentToken(hash);
  }

  async readView(now: Date): Promise<ReadView> {
    try {
      this.#checkOpen();
      return await this.#snapshot.view(now);
    } catch (err) {
      throw translate(err);
    }
  }

  async getSeatSettings(): Promise<SeatSettings> {
    try {
      this.#checkOpen();
      return await this.#snapshot.settings();
    } catch (err) {
      throw translate(err);
    }
  }

  async setSeatSettings(settings: SeatSettings, ctx: ChangeContext): Promise<SeatSettings> {
    this.#checkOpen();
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

  async usageSummary(since: Date): Promise<UsageSummary> {
    this.#checkOpen();
    return this.#reads.usageSummary(since);
  }

  async recordUsage(now: Date): Promise<UsageDay> {
    // No seat lock: the peak only ever rises (GREATEST), so racing a seat taker loses nothing.
    const { effective, activeByType } = await this.readView(now);
    return this.#reads.raiseUsage(usageRaise(now, activeByType, effective));
  }

  async usageHistory(fromDay: string, toDay: string): Promise<UsageDay[]> {
    this.#checkOpen();
    return this.#reads.usageHistory(fromDay, toDay);
  }

  async recordRefusal(entry: NewAuditEntry, events: readonly EventDraft[]): Promise<void> {
    this.#checkOpen();
    return this.#tx(async (client) => {
      await batch(client, [
        'BEGIN',
        ...events.map((e) => q.insertEvent(e, entry.at)),
        q.insertAudit(entry),
        'COMMIT',
      ]);
    });
  }

  async recordAuthFailures(counts: readonly AuthFailureCount[]): Promise<void> {
    this.#checkOpen();
    if (counts.length === 0) return;
    return this.#tx(async (client) => {
      await batch(client, ['BEGIN', ...counts.map(q.addAuthFailures), 'COMMIT']);
    });
  }

  async findTokenByHash(hash: string): Promise<TokenRecord | undefined> {
    try {
      this.#checkOpen();
      return await this.#snapshot.token(hash);
    } catch (err) {
      throw translate(err);
    }
  }

  async instanceIdentity(): Promise<InstanceIdentity> {
    this.#checkOpen();
    return this.#tx(readPostgresInstanceIdentity);
  }

  async ping(): Promise<void> {
    this.#checkOpen();
    await this.#reads.query('SELECT 1');
  }

  /**
   * Answers the batched changes already asked for (they commit as usual), then ends the listener
   * and the pool after its connections are returned; idempotent. The calls already waiting for a
   * connection are served first: pg's pool, once ended, serves no waiter, which would then hang
   * until its connect timeout and fail as "cannot be reached". Each waiter waits at most the connect
   * timeout. The store's calls after close() are refused, so only the calls already under way and
   * the webhook store (which the server stops before it closes the store) can still add waiters:
   * once they stop, so does this (docs/deployment.md#shutdown).
   */
  close(): Promise<void> {
    this.#closing ??= Promise.all(this.#batches.map((b) => b.drain()))
      .then(() => this.#coherence.close())
      .then(async () => {
        while (this.#pool.waitingCount > 0) await sleep(5);
      })
      .then(() => this.#pool.end());
    return this.#closing;
  }
}
